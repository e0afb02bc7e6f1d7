/**
 * What a secret-reading call reads: its distinct targets (issue 16, "judge by the right
 * quantity"). Bulk reads of secrets and parameters are judged by the number of distinct targets
 * against the identity's own history of targets (the baseline's `target` dimension), not against
 * how many calls it makes: a busy function that reads one secret a thousand times a day has one
 * target. Shared by the ingest (which trains the dimension) and the bulk-sensitive-actions
 * detector (which judges the window), so both name a target the same way.
 */

/** Calls whose request parameters name secrets or parameters read. */
export const TARGET_CALLS = new Set(["GetSecretValue", "BatchGetSecretValue", "GetParameter", "GetParameters", "GetParametersByPath"]);

export function readsTargets(eventName: string): boolean {
  return TARGET_CALLS.has(eventName);
}

/** A secret's name from its id (a name or an ARN, whose 6-character random suffix is dropped). */
export function secretName(id: string): string {
  if (!id.startsWith("arn:")) return id;
  const i = id.indexOf(":secret:");
  const name = i >= 0 ? id.slice(i + 8) : id.slice(id.lastIndexOf(":") + 1);
  return name.replace(/-[A-Za-z0-9]{6}$/, "");
}

function strs(v: unknown): string[] {
  if (typeof v === "string") return v.length > 0 ? [v] : [];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string" && x.length > 0);
  return [];
}

/**
 * The targets of one call, as values of the baseline's `target` dimension: `secret:<name>`,
 * `parameter:<name>` (a parameter path read by GetParametersByPath: `parameter-path:<path>`).
 * Empty for other calls or when the parameters do not say.
 */
export function targetsOf(eventName: string, rp: Record<string, unknown> | null): string[] {
  if (!rp || !TARGET_CALLS.has(eventName)) return [];
  switch (eventName) {
    case "GetSecretValue":
      return strs(rp.secretId).map((s) => "secret:" + secretName(s));
    case "BatchGetSecretValue":
      return strs(rp.secretIdList).map((s) => "secret:" + secretName(s));
    case "GetParameter":
    case "GetParameters":
      return [...strs(rp.name), ...strs(rp.names)].map((s) => "parameter:" + s.replace(/:\d+$/, ""));
    case "GetParametersByPath":
      return strs(rp.path).map((s) => "parameter-path:" + s);
    default:
      return [];
  }
}
