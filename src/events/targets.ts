/**
 * What a secret-reading call reads: its distinct targets (issue 16, "judge by the right
 * quantity"). Bulk reads of secrets, parameters and keys are judged by the number of distinct targets
 * against the identity's own history of targets (the baseline's `target` dimension), not against
 * how many calls it makes: a busy function that reads one secret a thousand times a day has one
 * target. Shared by the ingest (which trains the dimension) and the bulk-sensitive-actions
 * detector (which judges the window), so both name a target the same way.
 */

/** Calls whose request parameters name secrets or parameters read. */
export const TARGET_CALLS = new Set(["GetSecretValue", "BatchGetSecretValue", "GetParameter", "GetParameters", "GetParametersByPath"]);
/**
 * KMS calls that hand out plaintext under a key (Decrypt, data keys, ReEncrypt decrypts under its
 * source key): their targets are the keys (the record's `resources`, else `keyId`).
 */
export const KEY_CALLS = new Set(["Decrypt", "GenerateDataKey", "GenerateDataKeyPair", "ReEncrypt"]);

/**
 * The call names targets the baseline counts. With `invokedBy` (the record's
 * userIdentity.invokedBy): a key call made by an AWS service on the caller's behalf (S3 reading an
 * SSE-KMS object) is the service's doing, not a key read by the identity, and names no target.
 */
export function readsTargets(eventName: string, invokedBy?: unknown): boolean {
  if (TARGET_CALLS.has(eventName)) return true;
  return KEY_CALLS.has(eventName) && !(typeof invokedBy === "string" && invokedBy.length > 0);
}

/**
 * The baseline reads request parameters of these calls only (AssumeRole*: roleArn; RunInstances:
 * instanceType; secret and parameter reads: their targets).
 */
export function readsRequestParameters(eventName: string): boolean {
  return eventName === "RunInstances" || eventName.startsWith("AssumeRole") || readsTargets(eventName);
}

/** What `targetsOf` reads beside the request parameters, for key calls. */
export interface TargetContext {
  /** The record's `resources` (raw `ARN` or normalised `arn` entries). */
  resources?: unknown;
  /** Made by an AWS service on the caller's behalf, or from a service address: no key target. */
  viaService?: boolean;
}

/** A KMS key as a target: its ARN without `arn:<partition>:kms:` (`<region>:<account>:key/<id>`), else the id as given. */
export function keyName(id: string): string {
  const rest = kmsRest(id);
  // As /^arn:[^:]+:kms:(.*)$/ reads it: `.` stops at line terminators.
  return rest < 0 || hasLineTerminator(id, rest) ? id : id.slice(rest);
}

/** Where the text after `arn:<partition>:kms:` starts in `arn` (-1: it does not start so). */
function kmsRest(arn: string): number {
  if (!arn.startsWith("arn:")) return -1;
  const p = arn.indexOf(":", 4);
  return p > 4 && arn.startsWith("kms:", p + 1) ? p + 5 : -1;
}

const LINE_TERMINATOR = /[\n\r\u2028\u2029]/;

function hasLineTerminator(s: string, from: number): boolean {
  if (!LINE_TERMINATOR.test(s)) return false; // the usual case, at the regex engine's speed
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029) return true;
  }
  return false;
}

/** For a KMS key ARN (/^arn:[^:]+:kms:[^:]*:[^:]*:key\//): where its text after `kms:` starts, else -1. */
function keyArnRest(arn: string): number {
  const rest = kmsRest(arn);
  if (rest < 0) return -1;
  const region = arn.indexOf(":", rest);
  if (region < 0) return -1;
  const account = arn.indexOf(":", region + 1);
  return account >= 0 && arn.startsWith("key/", account + 1) ? rest : -1;
}

/** The ARN of a `resources` entry (raw `ARN`, else normalised `arn`). */
function entryArn(r: unknown): string | undefined {
  if (typeof r !== "object" || r === null) return undefined;
  const o = r as Record<string, unknown>;
  return typeof o.ARN === "string" ? o.ARN : typeof o.arn === "string" ? o.arn : undefined;
}

/** The key targets named in a record's `resources`, in order. */
function resourceKeys(resources: unknown, out: string[]): void {
  if (!Array.isArray(resources)) return;
  for (const r of resources as unknown[]) {
    const arn = entryArn(r);
    const rest = arn ? keyArnRest(arn) : -1;
    // keyName: as /^arn:[^:]+:kms:(.*)$/ reads it, `.` stops at line terminators.
    if (rest >= 0) out.push("key:" + (hasLineTerminator(arn!, rest) ? arn! : arn!.slice(rest)));
  }
}

/**
 * Whether `resources` names a key: then a key call's targets are read from it alone, and its
 * request parameters are not read.
 */
export function namesKeys(resources: unknown): boolean {
  if (!Array.isArray(resources)) return false;
  for (const r of resources as unknown[]) {
    const arn = entryArn(r);
    if (arn && keyArnRest(arn) >= 0) return true;
  }
  return false;
}

function keysOf(rp: Record<string, unknown> | null, ctx: TargetContext | undefined): string[] {
  if (ctx?.viaService) return [];
  const out: string[] = [];
  resourceKeys(ctx?.resources, out);
  if (out.length === 0 && rp) for (const k of [...strs(rp.keyId), ...strs(rp.sourceKeyId)]) out.push("key:" + keyName(k));
  // Distinct, in order of first mention (one key: as it is).
  return out.length < 2 ? out : [...new Set(out)];
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
 * `parameter:<name>` (a parameter path read by GetParametersByPath: `parameter-path:<path>`),
 * `key:<region>:<account>:key/<id>` for KMS keys (from `ctx.resources`, else `keyId`). Empty for
 * other calls or when the record does not say.
 */
export function targetsOf(eventName: string, rp: Record<string, unknown> | null, ctx?: TargetContext): string[] {
  if (KEY_CALLS.has(eventName)) return keysOf(rp, ctx);
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
