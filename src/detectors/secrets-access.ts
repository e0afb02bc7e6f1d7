import type { Severity, TrailEvent } from "../events/types.js";
import { apiKey, bool, draft, get, isAwsServiceCall, isIaC, list, novelty, q, rp, str, strings, who } from "./lib/util.js";
import type { DetectorContext, EventDetector, FindingDraft } from "./types.js";

/**
 * Reading secrets: Secrets Manager values, decrypted SSM SecureString parameters, EC2 Windows
 * passwords. Applications read their own secret all day, so a single read is only a finding when
 * the identity has a history without it, when it is denied, or when one call retrieves many
 * secrets at once. Volumes across calls are judged by `bulk-sensitive-actions`.
 */

/** Names passed in one GetParameters call from which it counts as a bulk retrieval. */
export const MANY_PARAMETERS = 5;

/** Every name isSecretRead may take (its necessary condition, for mayTake). */
const SECRET_READS = new Set(["GetSecretValue", "BatchGetSecretValue", "GetParameter", "GetParameters", "GetParametersByPath", "GetPasswordData"]);

function isSecretRead(ev: TrailEvent): boolean {
  switch (ev.eventName) {
    case "GetSecretValue":
    case "BatchGetSecretValue":
      return ev.service === "secretsmanager";
    case "GetParameter":
    case "GetParameters":
    case "GetParametersByPath":
      return ev.service === "ssm" && bool(rp(ev, "withDecryption")) === true;
    case "GetPasswordData":
      return ev.service === "ec2";
    default:
      return false;
  }
}

/** A BatchGetSecretValue filter that matches (nearly) everything: a negated tag-key, or no filter at all. */
function catchAll(ev: TrailEvent): boolean {
  const filters = list(rp(ev, "filters"));
  const ids = list(rp(ev, "secretIdList"));
  if (filters.length === 0 && ids.length === 0) return true;
  return filters.length > 0 && filters.every((f) => strings(get(f, "values")).every((v) => v.startsWith("!")));
}

export const secretsAccess: EventDetector = {
  kind: "event",
  id: "secrets-access",
  title: "Secrets retrieved",
  description:
    "Secrets Manager values, decrypted SSM SecureString parameters or EC2 Windows administrator passwords retrieved in bulk, for the first time by an identity with history, or denied.",
  severity: "medium",
  cites: "The single secret read.",
  attack: ["T1555.006", "T1552"],
  investigate: [
    "Which secrets were read, and does this identity need them? Rotate any secret read without a reason.",
    "Look at what the identity did next with the secrets' targets (databases, third-party APIs).",
    "Check the source address and user agent against the identity's usual ones.",
  ],
  falsePositives: [
    "A new application release reading a new secret.",
    "Operators inspecting a secret while debugging.",
    "Secret rotation or synchronisation jobs.",
    "Infrastructure as code refreshing state (not reported).",
  ],
  select: isSecretRead,
  mayTake: { eventNames: [...SECRET_READS] },
  detect(ev: TrailEvent, ctx: DetectorContext): FindingDraft | null {
    // Infrastructure as code reads every secret it manages on each refresh: not a signal, unless denied.
    if (!isSecretRead(ev) || isAwsServiceCall(ev) || (isIaC(ev) && !ev.denied)) return null;
    const nov = novelty(ctx, apiKey(ev), `${ev.service}:${ev.eventName}`);
    const p = ev.principal;
    let sev: Severity | null = null;
    let what = "";
    let target = "";
    switch (ev.eventName) {
      case "GetSecretValue": {
        const id = str(rp(ev, "secretId")) ?? "?";
        target = id;
        what = `read secret ${q(id)}`;
        if (ev.denied) sev = "low";
        else if (nov.learned && !nov.known) sev = "medium";
        break;
      }
      case "BatchGetSecretValue": {
        const all = catchAll(ev);
        target = all ? "catch-all" : "batch";
        const ids = strings(rp(ev, "secretIdList"));
        what = all
          ? "retrieved secrets in bulk with a filter that matches every secret (BatchGetSecretValue)"
          : `retrieved secrets in bulk (BatchGetSecretValue${ids.length ? `, ${ids.length} ids` : ""}, filters ${q(JSON.stringify(rp(ev, "filters") ?? []), 100)})`;
        sev = nov.known ? (all ? "medium" : "low") : all ? "high" : "medium";
        break;
      }
      case "GetParameter":
      case "GetParameters":
      case "GetParametersByPath": {
        const names = ev.eventName === "GetParameter" ? strings(rp(ev, "name")) : strings(rp(ev, "names"));
        const path = str(rp(ev, "path"));
        const recursive = bool(rp(ev, "recursive")) === true;
        target = ev.eventName === "GetParametersByPath" ? `path:${path ?? "?"}` : names.length > 1 ? "many" : (names[0] ?? "?");
        what =
          ev.eventName === "GetParametersByPath"
            ? `decrypted SecureString parameters under ${q(path ?? "?")}${recursive ? " recursively" : ""}`
            : `decrypted ${names.length} SecureString parameter${names.length === 1 ? "" : "s"} (${names
                .slice(0, 4)
                .map((n) => q(n, 60))
                .join(", ")}${names.length > 4 ? ", …" : ""})`;
        const bulk = names.length >= MANY_PARAMETERS || (ev.eventName === "GetParametersByPath" && (path === "/" || recursive) && !nov.known);
        if (bulk) sev = nov.known ? "low" : "medium";
        else if (ev.denied) sev = "low";
        else if (nov.learned && !nov.known) sev = "medium";
        break;
      }
      case "GetPasswordData": {
        const inst = str(rp(ev, "instanceId")) ?? "?";
        target = "password-data";
        what = `retrieved the Windows administrator password data of instance ${q(inst)}`;
        sev = nov.known ? "low" : "medium";
        break;
      }
    }
    if (!sev) return null;
    const why = `${who(p)} ${what}. ${nov.text}`;
    // A denied secret read is reported as the attempt it is (already rated for it).
    return draft(ev, sev, why, [ev.eventName, target], { evidence: { target }, ...(ev.eventName === "GetSecretValue" && ev.denied ? { failedSeverity: sev } : {}) });
  },
};

export default secretsAccess;
