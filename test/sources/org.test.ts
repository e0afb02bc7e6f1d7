/**
 * A whole organisation (src/sources/org.ts): member accounts from Organizations (paged, suspended
 * and denied accounts skipped), one role per account from a template with an ExternalId, and each
 * account's enabled regions from account:ListRegions (an opt-in region included; the built-in
 * list only when ListRegions is not allowed). The SDK clients are reached through nock.
 */
import nock from "nock";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { sdkStsFactory, type AwsCredentials, type StsPort } from "../../src/sources/aws-accounts.js";
import { LookupEventsSource, type LookupEventsClient } from "../../src/sources/lookup-events.js";
import {
  discoverAccounts,
  discoverRegions,
  externalIdProblem,
  roleArnFromTemplate,
  roleTemplateProblem,
  sdkOrganizationsPort,
  sdkRegionsPort,
  type OrganizationsPort,
  type RegionsPort,
} from "../../src/sources/org.js";
import { COMMERCIAL_REGIONS } from "../../src/sources/aws-regions.js";
import { LimiterRegistry } from "../../src/sources/rate-limiter.js";

const TEMPLATE = "arn:aws:iam::{account}:role/TrailhoundRead";

beforeAll(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
  vi.unstubAllEnvs();
});

function creds(): void {
  vi.stubEnv("AWS_ACCESS_KEY_ID", "AKIDTEST");
  vi.stubEnv("AWS_SECRET_ACCESS_KEY", "secret");
  vi.stubEnv("AWS_PROFILE", "");
  vi.stubEnv("AWS_MAX_ATTEMPTS", "1");
}

describe("settings", () => {
  it("role templates and external ids are checked", () => {
    expect(roleTemplateProblem(TEMPLATE)).toBeUndefined();
    expect(roleTemplateProblem("arn:aws:iam::123456789012:role/X")).toMatch(/placeholder/);
    expect(roleTemplateProblem("arn:aws:iam::{account}:user/X")).toMatch(/role ARN/);
    expect(roleArnFromTemplate(TEMPLATE, "111122223333")).toBe("arn:aws:iam::111122223333:role/TrailhoundRead");
    expect(externalIdProblem("th-7f3c")).toBeUndefined();
    expect(externalIdProblem("x")).toMatch(/2 to 1224/);
    expect(externalIdProblem("a b")).toMatch(/only letters/);
  });
});

describe("Organizations ListAccounts (SDK over nock)", () => {
  it("reads every page, keeps active accounts, names suspended, denied and unknown allowed ones", async () => {
    creds();
    const bodies: Array<Record<string, unknown>> = [];
    nock("https://organizations.us-east-1.amazonaws.com")
      .post("/", (b: Record<string, unknown>) => (bodies.push(b), true))
      .reply(200, {
        Accounts: [
          { Id: "111111111111", State: "ACTIVE" },
          { Id: "222222222222", State: "SUSPENDED" },
        ],
        NextToken: "p2",
      })
      .post("/", (b: Record<string, unknown>) => (bodies.push(b), true))
      .reply(200, { Accounts: [], NextToken: "p3" }) // an empty page with a token: keep going
      .post("/", (b: Record<string, unknown>) => (bodies.push(b), true))
      .reply(200, {
        Accounts: [
          { Id: "333333333333", Status: "ACTIVE" },
          { Id: "444444444444", State: "ACTIVE" },
        ],
      });
    const out = await discoverAccounts({ org: sdkOrganizationsPort(), deny: ["444444444444"] });
    expect(out.accounts).toEqual(["111111111111", "333333333333"]);
    expect(out.skipped).toEqual([
      { account: "222222222222", reason: "account is suspended" },
      { account: "444444444444", reason: "in the deny list" },
    ]);
    expect(bodies.map((b) => b.NextToken)).toEqual([undefined, "p2", "p3"]);
    expect(nock.isDone()).toBe(true);
  });

  it("explains access denied (not the management account) and reads the caller's account outside an organisation", async () => {
    creds();
    nock("https://organizations.us-east-1.amazonaws.com").post("/").reply(400, { __type: "AccessDeniedException", message: "You don't have permissions" });
    const err = (await discoverAccounts({ org: sdkOrganizationsPort() }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/management account or a delegated administrator/);
    nock("https://organizations.us-east-1.amazonaws.com").post("/").reply(400, { __type: "AWSOrganizationsNotInUseException", message: "not in use" });
    expect(await discoverAccounts({ org: sdkOrganizationsPort() })).toMatchObject({ notInOrganization: true, accounts: [] });
  });

  it("an allow list keeps only its accounts and names those not in the organisation", async () => {
    const org: OrganizationsPort = {
      listAccounts: async () => ({
        accounts: [
          { id: "111111111111", state: "ACTIVE" },
          { id: "222222222222", state: "ACTIVE" },
        ],
      }),
    };
    const out = await discoverAccounts({ org, allow: ["222222222222", "999999999999"] });
    expect(out.accounts).toEqual(["222222222222"]);
    expect(out.skipped).toContainEqual({ account: "999999999999", reason: "not a member of the organisation" });
  });

  it("a NextToken that repeats ends the listing with an error instead of looping", async () => {
    const org: OrganizationsPort = { listAccounts: async () => ({ accounts: [{ id: "111111111111", state: "ACTIVE" }], nextToken: "same" }) };
    await expect(discoverAccounts({ org })).rejects.toThrow(/already returned/);
  });
});

describe("account:ListRegions (SDK over nock)", () => {
  it("keeps enabled and enabled-by-default regions, an opt-in region included, us-east-1 first", async () => {
    creds();
    let asked: unknown;
    nock("https://account.us-east-1.amazonaws.com")
      .post("/listRegions", (b: unknown) => ((asked = b), true))
      .reply(200, {
        Regions: [
          { RegionName: "eu-west-1", RegionOptStatus: "ENABLED_BY_DEFAULT" },
          { RegionName: "us-east-1", RegionOptStatus: "ENABLED_BY_DEFAULT" },
          { RegionName: "me-central-1", RegionOptStatus: "ENABLED" },
          { RegionName: "xx-future-9", RegionOptStatus: "ENABLED" },
        ],
      });
    const out = await discoverRegions({ port: sdkRegionsPort(), account: "111111111111" });
    expect(out).toEqual({ regions: ["us-east-1", "eu-west-1", "me-central-1", "xx-future-9"], from: "list-regions" });
    expect(asked).toMatchObject({ RegionOptStatusContains: ["ENABLED", "ENABLED_BY_DEFAULT"] });
  });

  const ec2Regions = (items: Array<[string, string]>) =>
    `<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId><regionInfo>${items
      .map(([n, st]) => `<item><regionName>${n}</regionName><regionEndpoint>ec2.${n}.amazonaws.com</regionEndpoint><optInStatus>${st}</optInStatus></item>`)
      .join("")}</regionInfo></DescribeRegionsResponse>`;

  it("asks ec2:DescribeRegions when ListRegions is not allowed: its enabled regions, an opted-in one and one unknown to this release included", async () => {
    creds();
    nock("https://account.us-east-1.amazonaws.com").post("/listRegions").reply(403, { message: "not authorized" }, { "x-amzn-errortype": "AccessDeniedException" });
    let body = "";
    nock("https://ec2.us-east-1.amazonaws.com")
      .post("/", (b: string) => ((body = typeof b === "string" ? b : new URLSearchParams(b as Record<string, string>).toString()), true))
      .reply(
        200,
        ec2Regions([
          ["eu-west-1", "opt-in-not-required"],
          ["us-east-1", "opt-in-not-required"],
          ["af-south-1", "opted-in"],
          ["xx-future-9", "opted-in"],
          ["me-south-1", "not-opted-in"],
        ]),
        { "content-type": "text/xml" },
      );
    const out = await discoverRegions({ port: sdkRegionsPort(), account: "111111111111" });
    expect(new URLSearchParams(body).get("Action")).toBe("DescribeRegions");
    expect(new URLSearchParams(body).get("AllRegions")).toBeNull(); // enabled regions only
    expect(out).toEqual({
      regions: ["us-east-1", "af-south-1", "eu-west-1", "xx-future-9"],
      from: "describe-regions",
      note: "account 111111111111: account:ListRegions is not allowed; its enabled regions come from ec2:DescribeRegions",
    });
  });

  it("falls back to the built-in list, with a note, only when neither ListRegions nor DescribeRegions is allowed", async () => {
    creds();
    nock("https://account.us-east-1.amazonaws.com").post("/listRegions").reply(403, { message: "not authorized" }, { "x-amzn-errortype": "AccessDeniedException" });
    nock("https://ec2.us-east-1.amazonaws.com")
      .post("/")
      .reply(
        403,
        `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>r-2</RequestID></Response>`,
        { "content-type": "text/xml" },
      );
    const out = await discoverRegions({ port: sdkRegionsPort(), account: "111111111111" });
    expect(out.from).toBe("built-in");
    expect(out.regions).toEqual([...COMMERCIAL_REGIONS]);
    expect(out.note).toMatch(/ListRegions is not allowed, ec2:DescribeRegions is not allowed either; reading the built-in region list/);
    expect(nock.isDone()).toBe(true);
  });
});

describe("STS AssumeRole with an ExternalId (SDK over nock)", () => {
  it("sends the ExternalId", async () => {
    creds();
    let body = "";
    nock("https://sts.us-east-1.amazonaws.com")
      .post("/", (b: string) => ((body = typeof b === "string" ? b : new URLSearchParams(b as Record<string, string>).toString()), true))
      .reply(
        200,
        `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::111111111111:assumed-role/TrailhoundRead/trailhound</Arn><AssumedRoleId>AROA:trailhound</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>`,
        { "content-type": "text/xml" },
      );
    const c = await sdkStsFactory({ region: "us-east-1" }).assumeRole(roleArnFromTemplate(TEMPLATE, "111111111111"), "trailhound", 3600, undefined, {
      externalId: "th-7f3c",
    });
    expect(c.accessKeyId).toBe("ASIAX");
    const params = new URLSearchParams(body);
    expect(params.get("Action")).toBe("AssumeRole");
    expect(params.get("ExternalId")).toBe("th-7f3c");
    expect(params.get("RoleArn")).toBe("arn:aws:iam::111111111111:role/TrailhoundRead");
  });
});

describe("LookupEventsSource over an organisation", () => {
  it("reads each active account through the template role and ExternalId, in the regions each has enabled", async () => {
    const assumed: Array<{ roleArn: string; externalId?: string }> = [];
    const sts: StsPort = {
      getCallerIdentity: async () => ({ account: "000000000000" }),
      async assumeRole(roleArn, _s, _d, _sig, opts): Promise<AwsCredentials> {
        assumed.push({ roleArn, ...(opts?.externalId ? { externalId: opts.externalId } : {}) });
        if (roleArn.includes("333333333333"))
          throw Object.assign(new Error("not authorized to perform sts:AssumeRole"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } });
        return { accessKeyId: `ASIA${roleArn.slice(13, 25)}`, secretAccessKey: "s", sessionToken: "t", expiration: new Date(Date.now() + 3_600_000) };
      },
    };
    const org: OrganizationsPort = {
      listAccounts: async () => ({
        accounts: [
          { id: "111111111111", state: "ACTIVE" },
          { id: "222222222222", state: "SUSPENDED" },
          { id: "333333333333", state: "ACTIVE" },
          { id: "444444444444", state: "ACTIVE" },
        ],
      }),
    };
    const regionsPort: RegionsPort = {
      async listRegions(credentials) {
        const c = await credentials!();
        // 111... has an opt-in region enabled; 444... only two regions.
        return c.accessKeyId.includes("111111111111")
          ? {
              regions: [
                { name: "us-east-1", status: "ENABLED_BY_DEFAULT" },
                { name: "af-south-1", status: "ENABLED" },
                { name: "eu-south-1", status: "DISABLED" },
              ],
            }
          : {
              regions: [
                { name: "us-east-1", status: "ENABLED_BY_DEFAULT" },
                { name: "eu-west-1", status: "ENABLED_BY_DEFAULT" },
              ],
            };
      },
    };
    const read: string[] = [];
    const now = Date.now();
    const source = new LookupEventsSource({
      startTime: now - 3_600_000,
      endTime: now,
      organization: { port: org, roleTemplate: TEMPLATE },
      externalId: "th-7f3c",
      regionsPort,
      stsFactory: () => sts,
      limiters: new LimiterRegistry({ intervalMs: 1 }),
      clientFactory: (cfg): LookupEventsClient => ({
        async send() {
          read.push(`${cfg.accountId}/${cfg.region}`);
          return { Events: [], $metadata: {} };
        },
      }),
    });
    const res = await source.read({ record: () => undefined, skip: () => undefined });
    expect(assumed.map((a) => a.roleArn)).toEqual([
      "arn:aws:iam::111111111111:role/TrailhoundRead",
      "arn:aws:iam::333333333333:role/TrailhoundRead",
      "arn:aws:iam::444444444444:role/TrailhoundRead",
    ]);
    expect(assumed.every((a) => a.externalId === "th-7f3c")).toBe(true);
    expect(read.sort()).toEqual(["111111111111/af-south-1", "111111111111/us-east-1", "444444444444/eu-west-1", "444444444444/us-east-1"]);
    expect(res.notes.join(" ")).toContain("account 222222222222 skipped: account is suspended");
    expect(res.partialReasons.join(" ")).toMatch(/333333333333.*sts:AssumeRole/);
  });
});
