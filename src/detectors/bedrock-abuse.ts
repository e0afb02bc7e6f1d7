import type { TrailEvent } from "../events/types.js";
import { accountOf, apiKey, arnName, bool, draft, isAwsServiceCall, isHumanPrincipal, novelty, ownAccounts, q, rp, str, who, type RuleHit } from "./lib/util.js";
import type { DetectorContext, EventDetector, FindingDraft } from "./types.js";

/**
 * LLM hijacking ("LLMjacking") on Amazon Bedrock: enabling model access, rewiring or reading the
 * invocation-logging configuration (attackers check it before abusing models), guardrails
 * weakened, and models invoked by identities that never used Bedrock. Many distinct models in a
 * window are judged by `bulk-sensitive-actions`. Deleting invocation logging is reported by
 * `logging-tampering`.
 */

const INVOKE = new Set(["InvokeModel", "InvokeModelWithResponseStream", "Converse", "ConverseStream"]);
const ACCESS = new Set(["PutUseCaseForModelAccess", "CreateFoundationModelAgreement", "PutFoundationModelEntitlement"]);

function modelOf(ev: TrailEvent): string {
  return arnName(str(rp(ev, "modelId")) ?? str(rp(ev, "modelIdentifier")) ?? "?");
}

function rule(ev: TrailEvent, ctx: DetectorContext): RuleHit | null {
  const nov = novelty(ctx, apiKey(ev));
  const n = ev.eventName;
  if (INVOKE.has(n)) {
    // Novelty per API: listing models (or any other Bedrock call) does not make invoking them normal.
    if (nov.known) return null;
    const model = modelOf(ev);
    if (nov.learned) return { severity: "medium", what: `invoked Bedrock model ${q(model)} for the first time`, target: model };
    // Cold start: applications call models all day; a person calling a model is worth a note.
    return isHumanPrincipal(ev.principal) ? { severity: "low", what: `invoked Bedrock model ${q(model)}`, target: model } : null;
  }
  if (ACCESS.has(n))
    return {
      severity: nov.known ? "low" : "medium",
      what: `requested or accepted access to Bedrock foundation models (${q(n)}${str(rp(ev, "modelId")) ? ` for ${q(str(rp(ev, "modelId")))}` : ""})`,
      target: n,
    };
  switch (n) {
    case "PutModelInvocationLoggingConfiguration": {
      const cfg = rp(ev, "loggingConfig");
      const own = ownAccounts(ev, ctx);
      const bucket = str(rp(ev, "loggingConfig", "s3Config", "bucketName"));
      const role = str(rp(ev, "loggingConfig", "cloudWatchConfig", "roleArn"));
      const roleAcct = role ? accountOf(role) : undefined;
      const off = ["textDataDeliveryEnabled", "imageDataDeliveryEnabled", "embeddingDataDeliveryEnabled"].filter((k) => bool(rp(ev, "loggingConfig", k)) === false);
      if (roleAcct && !own.has(roleAcct))
        return { severity: "high", what: `sent Bedrock invocation logs to a role of account ${q(roleAcct)} outside the organisation`, target: "invocation-logging" };
      if (cfg !== undefined && off.length >= 3)
        return { severity: "high", what: "turned off Bedrock invocation logging of text, images and embeddings", target: "invocation-logging" };
      return {
        severity: nov.known ? "low" : "medium",
        what: `changed Bedrock model invocation logging${bucket ? ` (bucket ${q(bucket)})` : ""}${off.length ? `; delivery off for ${off.join(", ")}` : ""}`,
        target: "invocation-logging",
      };
    }
    case "UpdateGuardrail":
      return { severity: "low", what: `changed Bedrock guardrail ${q(str(rp(ev, "guardrailIdentifier")) ?? "?")}`, target: str(rp(ev, "guardrailIdentifier")) ?? "" };
    case "DeleteGuardrail":
      return { severity: "medium", what: `deleted Bedrock guardrail ${q(str(rp(ev, "guardrailIdentifier")) ?? "?")}`, target: str(rp(ev, "guardrailIdentifier")) ?? "" };
    default:
      return null;
  }
}

export const bedrockAbuse: EventDetector = {
  kind: "event",
  id: "bedrock-abuse",
  title: "Bedrock model abuse (LLM hijacking)",
  description:
    "Model access enabled, invocation logging rewired, guardrails weakened, or models invoked by identities that never used Bedrock: the pattern of stolen credentials used to run (and resell) generative AI at the victim's expense.",
  severity: "medium",
  cites: "The single call that triggered it (a first Bedrock model access or invocation, or a guardrail/logging change).",
  attack: ["T1496", "T1562.008"],
  investigate: [
    "Check Bedrock costs and invocation metrics per model; compare with the teams that use Bedrock.",
    "Verify the invocation logging configuration still delivers to your bucket or log group.",
    "If unexplained: deactivate the caller's credentials and remove model access.",
  ],
  falsePositives: ["Teams starting to use Bedrock.", "Administrators enabling model access or tuning guardrails."],
  eventNames: [...INVOKE, ...ACCESS, "PutModelInvocationLoggingConfiguration", "UpdateGuardrail", "DeleteGuardrail"],
  detect(ev: TrailEvent, ctx: DetectorContext): FindingDraft | null {
    if (ev.service !== "bedrock" || isAwsServiceCall(ev)) return null;
    const hit = rule(ev, ctx);
    if (!hit) return null;
    const nov = novelty(ctx, apiKey(ev), `bedrock:${ev.eventName}`);
    const why = `${who(ev.principal)} ${hit.what}. ${nov.text}`;
    return draft(ev, hit.severity, why, [ev.eventName, hit.target], { evidence: { target: hit.target } });
  },
};

export default bedrockAbuse;
