import { describe, expect, test } from "vitest";
import { persistenceBackdoor as d } from "../../src/detectors/persistence-backdoor.js";
import { assumedRole, ev, runEvent } from "../helpers/events.js";

describe("persistence-backdoor", () => {
  test("fires high on a new SAML provider and on re-keyed SAML metadata", () => {
    expect(runEvent(d, ev({ eventName: "CreateSAMLProvider", requestParameters: { name: "Okta2", sAMLMetadataDocument: "<xml/>" } }))[0]?.severity).toBe("high");
    expect(runEvent(d, ev({ eventName: "UpdateSAMLProvider", requestParameters: { sAMLProviderArn: "arn:aws:iam::111111111111:saml-provider/Okta" } }))[0]?.fingerprint).toEqual([
      "UpdateSAMLProvider",
      "Okta",
    ]);
  });

  test("fires medium on a new OIDC provider, even from CloudFormation", () => {
    const e = ev({
      eventName: "CreateOpenIDConnectProvider",
      userIdentity: { ...assumedRole("cfn"), invokedBy: "cloudformation.amazonaws.com" },
      requestParameters: { url: "https://token.actions.githubusercontent.com", clientIDList: ["sts.amazonaws.com"] },
    });
    const [f] = runEvent(d, e);
    expect(f?.severity).toBe("medium");
    expect(f?.why).toContain("infrastructure as code");
  });

  test("stays quiet when IAM Identity Center manages its own SAML provider", () => {
    const e = ev({
      eventName: "CreateSAMLProvider",
      sourceIPAddress: "sso.amazonaws.com",
      userIdentity: { ...assumedRole("AWSServiceRoleForSSO", "AWS-SSO"), invokedBy: "sso.amazonaws.com" },
      requestParameters: { name: "AWSSSO_x_DO_NOT_DELETE" },
    });
    expect(runEvent(d, e)).toEqual([]);
    expect(runEvent(d, ev({ eventName: "ListSAMLProviders", eventSource: "iam.amazonaws.com" }))).toEqual([]);
  });
});
