import type { TrailEvent } from "../events/types.js";
import { apiKey, arnName, draft, isAwsServiceCall, isIaC, novelty, q, re, rp, str, strings, who, type RuleHit } from "./lib/util.js";
import type { DetectorContext, EventDetector, FindingDraft } from "./types.js";

/**
 * New ways into the account through federation: SAML and OIDC identity providers created,
 * re-keyed or given new audiences. Whoever controls the provider can mint sessions for every
 * role that trusts it, with no IAM user or key to find later. Infrastructure as code does not
 * lower these (a provider is an external trust); IAM Identity Center managing its own provider
 * (service-linked role) is excluded.
 */

function rule(ev: TrailEvent): RuleHit | null {
  switch (ev.eventName) {
    case "CreateSAMLProvider": {
      const name = str(rp(ev, "name")) ?? arnName(str(re(ev, "sAMLProviderArn")) ?? "?");
      return { severity: "high", what: `created SAML identity provider ${q(name)}`, target: name };
    }
    case "UpdateSAMLProvider": {
      const arn = str(rp(ev, "sAMLProviderArn")) ?? str(rp(ev, "samlProviderArn")) ?? "?";
      return { severity: "high", what: `replaced the metadata (signing certificate) of SAML provider ${q(arnName(arn))}`, target: arnName(arn) };
    }
    case "DeleteSAMLProvider": {
      const arn = str(rp(ev, "sAMLProviderArn")) ?? str(rp(ev, "samlProviderArn")) ?? "?";
      return { severity: "low", what: `deleted SAML provider ${q(arnName(arn))}`, target: arnName(arn) };
    }
    case "CreateOpenIDConnectProvider": {
      const url = str(rp(ev, "url")) ?? "?";
      const aud = strings(rp(ev, "clientIDList"));
      return { severity: "medium", what: `created OIDC identity provider ${q(url)}${aud.length ? ` for audiences ${aud.map((a) => q(a, 60)).join(", ")}` : ""}`, target: url };
    }
    case "UpdateOpenIDConnectProviderThumbprint":
      return {
        severity: "medium",
        what: `changed the certificate thumbprint of OIDC provider ${q(arnName(str(rp(ev, "openIDConnectProviderArn")) ?? "?"))}`,
        target: arnName(str(rp(ev, "openIDConnectProviderArn")) ?? ""),
      };
    case "AddClientIDToOpenIDConnectProvider":
      return {
        severity: "medium",
        what: `added audience ${q(str(rp(ev, "clientID")) ?? "?")} to OIDC provider ${q(arnName(str(rp(ev, "openIDConnectProviderArn")) ?? "?"))}`,
        target: arnName(str(rp(ev, "openIDConnectProviderArn")) ?? ""),
      };
    default:
      return null;
  }
}

export const persistenceBackdoor: EventDetector = {
  kind: "event",
  id: "persistence-backdoor",
  title: "Federation backdoor: identity provider changed",
  description: "SAML or OIDC identity providers created, re-keyed or given new audiences: whoever controls the provider can obtain sessions for every role that trusts it.",
  severity: "high",
  cites: "The single call that created the backdoor (user, key, trust, access).",
  attack: ["T1484.002", "T1556.007"],
  investigate: [
    "Which roles trust this provider (iam list-roles, trust policies naming its ARN)?",
    "Is the provider's metadata/thumbprint the one of your real IdP? Compare with the IdP administrators.",
    "Delete the provider or restore its metadata if the change is not explained.",
  ],
  falsePositives: ["Onboarding a new identity provider or CI system (GitHub Actions OIDC).", "Scheduled IdP certificate rollover."],
  eventNames: [
    "CreateSAMLProvider",
    "UpdateSAMLProvider",
    "DeleteSAMLProvider",
    "CreateOpenIDConnectProvider",
    "UpdateOpenIDConnectProviderThumbprint",
    "AddClientIDToOpenIDConnectProvider",
  ],
  detect(ev: TrailEvent, ctx: DetectorContext): FindingDraft | null {
    if (ev.service !== "iam") return null;
    if (isAwsServiceCall(ev) && ev.principal.invokedBy !== "cloudformation.amazonaws.com") return null;
    const hit = rule(ev);
    if (!hit) return null;
    const nov = novelty(ctx, apiKey(ev), `iam:${ev.eventName}`);
    const iac = isIaC(ev) ? " It came from infrastructure as code, which does not make an external trust safe." : "";
    const why = `${who(ev.principal)} ${hit.what}.${iac} ${nov.text}`;
    return draft(ev, hit.severity, why, [ev.eventName, hit.target], { evidence: { target: hit.target } });
  },
};

export default persistenceBackdoor;
