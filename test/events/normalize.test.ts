import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { classifySourceIp, isDeniedCode, normalizeEventName, normalizeRecord, principalOf, userAgentFamily } from "../../src/events/normalize.js";
import { explainRecord } from "../../src/events/raw-record.js";

const base = {
  eventID: "e1",
  eventTime: "2023-07-10T11:42:36Z",
  eventName: "ListBuckets",
  eventSource: "s3.amazonaws.com",
  awsRegion: "us-east-1",
  recipientAccountId: "1111",
  sourceIPAddress: "203.0.113.9",
  userAgent: "aws-cli/2.13.5 Python/3.11.4",
};

describe("identity keys (docs/CLOUDTRAIL.md section 2)", () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ["IAM user", { type: "IAMUser", arn: "arn:aws:iam::1111:user/alice", accountId: "1111", userName: "alice" }, "user:1111:alice"],
    [
      "assumed role keyed on the issuer, not the session",
      {
        type: "AssumedRole",
        arn: "arn:aws:sts::1111:assumed-role/R/s",
        sessionContext: { sessionIssuer: { arn: "arn:aws:iam::1111:role/path/R", accountId: "1111", userName: "R" } },
      },
      "role:1111:R",
    ],
    ["assumed role without issuer: parsed from the STS ARN", { type: "AssumedRole", arn: "arn:aws:sts::2222:assumed-role/Deploy/bob" }, "role:2222:Deploy"],
    ["root", { type: "Root", principalId: "1111", arn: "arn:aws:iam::1111:root", accountId: "1111" }, "root:1111"],
    [
      "federated user keyed on the broker",
      { type: "FederatedUser", arn: "arn:aws:sts::1111:federated-user/bob", sessionContext: { sessionIssuer: { userName: "broker" } } },
      "federated:1111:broker",
    ],
    ["AWS service", { type: "AWSService", invokedBy: "lambda.amazonaws.com" }, "service:lambda.amazonaws.com"],
    ["untyped service identity", { accountId: "1111", invokedBy: "cloudtrail.amazonaws.com" }, "service:cloudtrail.amazonaws.com"],
    ["AWS account", { type: "AWSAccount", principalId: "AIDAX", accountId: "7777" }, "account:7777"],
    [
      "Identity Center user",
      { type: "IdentityCenterUser", accountId: "1111", onBehalfOf: { userId: "5448", identityStoreArn: "arn:aws:identitystore::1111:identitystore/d-906" } },
      "idc:d-906:5448",
    ],
    ["SAML user", { type: "SAMLUser", principalId: "nq:sub", userName: "sub", identityProvider: "nq" }, "saml:nq:sub"],
    ["web identity", { type: "WebIdentityUser", userName: "u", identityProvider: "accounts.google.com" }, "web:accounts.google.com:u"],
    ["unknown", { type: "Unknown", accountId: "1111", userName: "anyuser" }, "unknown:1111:anyuser"],
  ];
  for (const [name, ui, key] of cases) {
    it(name, () => {
      expect(principalOf(ui, "1111").key).toBe(key);
    });
  }

  it("keeps the session name beside the key and the role ARN with its path", () => {
    const p = principalOf(
      {
        type: "AssumedRole",
        arn: "arn:aws:sts::1111:assumed-role/R/alice@example.com",
        principalId: "AROAX:alice@example.com",
        sessionContext: {
          sessionIssuer: { arn: "arn:aws:iam::1111:role/path/R", accountId: "1111", userName: "R" },
          attributes: { mfaAuthenticated: "true" },
        },
      },
      "1111",
    );
    expect(p).toMatchObject({ key: "role:1111:R", sessionName: "alice@example.com", arn: "arn:aws:iam::1111:role/path/R", mfa: true });
  });

  it("never keys on the bare Username of a session", () => {
    const a = principalOf({ type: "AssumedRole", arn: "arn:aws:sts::1111:assumed-role/R/s1", sessionContext: { sessionIssuer: { userName: "R", accountId: "1111" } } }, "1111");
    const b = principalOf({ type: "AssumedRole", arn: "arn:aws:sts::1111:assumed-role/R/s2", sessionContext: { sessionIssuer: { userName: "R", accountId: "1111" } } }, "1111");
    expect(a.key).toBe(b.key);
    expect(a.sessionName).not.toBe(b.sessionName);
  });
});

describe("source addresses", () => {
  it.each([
    ["203.0.113.9", "private"], // TEST-NET-3 is documentation space, not a real public address
    ["8.8.8.8", "public"],
    ["10.1.2.3", "private"],
    ["172.20.0.1", "private"],
    ["192.168.1.1", "private"],
    ["2600:1f18::1", "public"],
    ["fd00::1", "private"],
    ["ec2.amazonaws.com", "service"],
    ["AWS Internal", "internal"],
    ["", "none"],
    ["not-an-ip", "other"],
    // Dotted quads as parseIPv4 reads them (Number of each part of 1-3 characters).
    ["008.8.8.8", "public"],
    ["10.0.0.256", "other"],
    ["1.2.3", "other"],
    ["1.2.3.4.5", "other"],
    ["1..3.4", "other"],
    ["1.2.3.1234", "other"],
    [" 10.1.1.1", "private"],
    ["1e1.0.0.1", "private"],
    ["0xa.0.0.1", "private"],
    ["0x7f.0.0.1", "other"],
    ["198.51.100.1", "private"],
    ["::ffff:10.0.0.1", "private"],
    ["::ffff:8.8.8.8", "public"],
  ])("%s is %s", (ip, kind) => {
    expect(classifySourceIp(ip)).toBe(kind);
  });
});

describe("user agents", () => {
  it.each([
    ["[aws-cli/2.13.5 Python/3.11.4]", "aws-cli/2"],
    ["APN/1.0 HashiCorp/1.0 Terraform/1.5.3 aws-sdk-go/1.44.300", "terraform"],
    ["Boto3/1.28.12 Botocore/1.31.12", "python"],
    ["aws-sdk-go-v2/1.21.0 os/linux", "aws-sdk-go-v2"],
    ["Mozilla/5.0 (Macintosh)", "browser"],
    ["console.amazonaws.com", "console"],
    ["AWS Internal", "internal"],
    ["lambda.amazonaws.com", "aws-service"],
    ["Pacu/1.0 boto3", "offensive:pacu"],
    ["aws-cli/1.18 Python/3.8 Linux/5.10 kali", "offensive:kali"],
    ["curl/8.0", "http-client:curl"],
  ])("%s -> %s", (ua, fam) => {
    expect(userAgentFamily(ua)).toBe(fam);
  });
});

describe("event names and errors", () => {
  it("strips API-version suffixes and keeps others", () => {
    expect(normalizeEventName("UpdateFunctionCode20150331v2")).toBe("UpdateFunctionCode");
    expect(normalizeEventName("AddPermission20150331v2")).toBe("AddPermission");
    expect(normalizeEventName("CreateFunction20150331")).toBe("CreateFunction");
    expect(normalizeEventName("CreateDistribution2020_05_31")).toBe("CreateDistribution");
    expect(normalizeEventName("GetObject")).toBe("GetObject");
    expect(normalizeEventName("AssumeRoleWithSAML")).toBe("AssumeRoleWithSAML");
  });

  it("classifies denials", () => {
    for (const c of ["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Client.UnauthorizedOperation"]) expect(isDeniedCode(c)).toBe(true);
    for (const c of ["ThrottlingException", "NoSuchEntity", "Client.DryRunOperation"]) expect(isDeniedCode(c)).toBe(false);
  });

  it("a failed console login is a denied, failed event without errorCode", () => {
    const r = normalizeRecord({
      ...base,
      eventName: "ConsoleLogin",
      eventSource: "signin.amazonaws.com",
      userIdentity: { type: "IAMUser", accountId: "1111", userName: "alice" },
      responseElements: { ConsoleLogin: "Failure" },
      errorMessage: "Failed authentication",
    });
    expect(r.ok && r.event.failed && r.event.denied).toBe(true);
  });
});

describe("the boundary schema agrees with the hand-written fast path", () => {
  it("on every shared sample record and on broken variants", () => {
    const lines = readFileSync("test/fixtures/panther-rule-tests/tests.jsonl", "utf8").trim().split("\n");
    const records: unknown[] = lines.map((l) => (JSON.parse(l) as { record: unknown }).record);
    const good = { ...base, userIdentity: { type: "IAMUser", userName: "a", accountId: "1111" } };
    records.push(
      good,
      { ...good, eventTime: "nope" },
      { ...good, eventName: "" },
      { ...good, userIdentity: "x" },
      { ...good, eventID: undefined },
      { ...good, eventSource: 3 },
      null,
      [],
    );
    let ok = 0;
    for (const r of records) {
      const fast = normalizeRecord(r);
      const why = explainRecord(r);
      expect(fast.ok, JSON.stringify(r).slice(0, 200) + " " + why).toBe(why === undefined);
      if (fast.ok) ok++;
    }
    expect(ok).toBeGreaterThan(400);
  });
});
