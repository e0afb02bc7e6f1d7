import nock from "nock";
import { FakeIam, FakeSts } from "../../src/testing/iam-fake.js";
import type { Finding } from "../../src/scan/report-types.js";
import { sdkStsFactory } from "../../src/sources/aws-accounts.js";
import { responderIamFactory } from "../../src/respond/iam.js";
import type { EventLookup } from "../../src/respond/events.js";

export const ACCOUNT = "111111111111";
export const OTHER = "222222222222";
export const KEY = "AKIAIOSFODNN7EXAMPLE";

/** IAM and STS behind nock (regional and global STS endpoints, both IAM endpoints). */
export function fakeAws(stsAccount = ACCOUNT): { iam: FakeIam; sts: FakeSts; done(): void } {
  const iam = new FakeIam();
  const sts = new FakeSts(stsAccount);
  for (const host of ["https://iam.amazonaws.com", "https://iam.global.api.aws"]) {
    nock(host)
      .persist()
      .post("/")
      .reply((_uri, body) => {
        const r = iam.handle(typeof body === "string" ? body : new URLSearchParams(body as Record<string, string>).toString());
        return [r.status, r.body, r.headers];
      });
  }
  for (const host of ["https://sts.us-east-1.amazonaws.com", "https://sts.amazonaws.com"]) {
    nock(host)
      .persist()
      .post("/")
      .reply((_uri, body) => {
        const r = sts.handle(typeof body === "string" ? body : new URLSearchParams(body as Record<string, string>).toString());
        return [r.status, r.body, r.headers];
      });
  }
  return { iam, sts, done: () => nock.cleanAll() };
}

/** The production IAM factory (SDK clients, STS AssumeRole), one attempt per call. */
export function iamFactory(roleArns: string[] = [`arn:aws:iam::${ACCOUNT}:role/TrailhoundResponder`]) {
  return responderIamFactory({ roleArns, sts: sdkStsFactory({ region: "us-east-1" }), maxAttempts: 1 });
}

export function finding(over: Partial<Omit<Finding, "identity">> & { identity?: Partial<Finding["identity"]> } = {}): Finding {
  const { identity, ...rest } = over;
  return {
    id: "Fkey0000000000001",
    detector: "new-source-network",
    title: "Credentials used from a new network",
    severity: "high",
    score: 70,
    identity: { key: `user:${ACCOUNT}:alice`, type: "IAMUser", arn: `arn:aws:iam::${ACCOUNT}:user/alice`, userName: "alice", accountId: ACCOUNT, ...identity },
    sourceIp: "203.0.113.9",
    region: "eu-west-1",
    eventIds: ["ev-1", "ev-2"],
    firstSeen: "2026-12-06T03:00:00.000Z",
    lastSeen: "2026-12-06T03:05:00.000Z",
    count: 2,
    why: "first use from this network",
    attack: [],
    investigate: [],
    falsePositives: [],
    failed: false,
    ...rest,
  };
}

/** A finding about the account's root user (no user name: nothing to contain). */
export function rootFinding(): Finding {
  return { ...finding({ id: "Froot000000000001" }), identity: { key: `root:${ACCOUNT}`, type: "Root", arn: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT } };
}

export function roleFinding(role = "Deploy", path = "/"): Finding {
  return finding({
    id: "Frole000000000001",
    identity: { key: `role:${ACCOUNT}:${role}`, type: "AssumedRole", arn: `arn:aws:iam::${ACCOUNT}:role${path}${role}`, userName: role, sessionName: "s1", accountId: ACCOUNT },
  });
}

/** Events as CloudTrail records, signed with `key` by alice. */
export function memoryEvents(key = KEY, user = "alice"): EventLookup & { asked: number } {
  const l = {
    asked: 0,
    async find(_f: Finding, ids: readonly string[]) {
      l.asked++;
      return {
        records: ids.map((id) => ({ eventID: id, userIdentity: { type: "IAMUser", userName: user, accessKeyId: key, accountId: ACCOUNT } })),
        missing: [],
        problems: [],
      };
    },
  };
  return l;
}

export function awsEnv(): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: "AKIDTESTENV", AWS_SECRET_ACCESS_KEY: "secret", AWS_REGION: "us-east-1", AWS_PROFILE: "" };
}
