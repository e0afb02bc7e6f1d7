/**
 * The CLI reads a whole organisation with the bot's options (issue 21): `trailhound scan
 * --role-template ... --external-id ...` lists the accounts with Organizations, skips the
 * suspended one and the excluded one, assumes the template role in each active account with the
 * ExternalId, and reads LookupEvents there, all through the real SDK clients against nock.
 * Malformed values are refused with the option named (exit 2).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nock from "nock";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { EXIT, main } from "../src/cli.js";
import { iamUser, rawRecord } from "./helpers/events.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "th-cli-org-"));
  nock.disableNetConnect();
});
afterAll(async () => {
  nock.enableNetConnect();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  nock.cleanAll();
  vi.unstubAllEnvs();
});

async function run(...args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = "";
  const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  process.exitCode = undefined;
  try {
    return { code: await main(["node", "trailhound", ...args]), stderr };
  } finally {
    spy.mockRestore();
    process.exitCode = undefined;
  }
}

const form = (b: unknown) => new URLSearchParams(typeof b === "string" ? b : (b as Record<string, string>));

describe("trailhound scan over an organisation", () => {
  it("--role-template and --external-id: every active account, not excluded, through its role with the ExternalId", async () => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", "AKIDTEST");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "secret");
    vi.stubEnv("AWS_PROFILE", "");
    vi.stubEnv("AWS_MAX_ATTEMPTS", "1");
    nock("https://organizations.us-east-1.amazonaws.com")
      .post("/")
      .reply(200, {
        Accounts: [
          { Id: "111111111111", Name: "prod", State: "ACTIVE" },
          { Id: "222222222222", Name: "old", State: "SUSPENDED" },
          { Id: "333333333333", Name: "sandbox", State: "ACTIVE" },
          { Id: "444444444444", Name: "dev", State: "ACTIVE" },
        ],
      });
    const assumed: Array<{ role: string | null; externalId: string | null }> = [];
    nock("https://sts.us-east-1.amazonaws.com")
      .persist()
      .post("/")
      .reply((_uri, body) => {
        const p = form(body);
        if (p.get("Action") === "GetCallerIdentity")
          return [
            200,
            `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::999999999999:role/trailhound</Arn><UserId>AROA:x</UserId><Account>999999999999</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
            { "content-type": "text/xml" },
          ];
        assumed.push({ role: p.get("RoleArn"), externalId: p.get("ExternalId") });
        const acct = /::(\d{12}):/.exec(p.get("RoleArn") ?? "")?.[1] ?? "";
        return [
          200,
          `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIA${acct}</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::${acct}:assumed-role/TrailhoundRead/trailhound</Arn><AssumedRoleId>AROA:trailhound</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>`,
          { "content-type": "text/xml" },
        ];
      });
    const looked: string[] = [];
    nock("https://cloudtrail.us-east-1.amazonaws.com")
      .persist()
      .post("/")
      .reply(function () {
        const key = String(this.req.headers.authorization ?? "");
        const acct = /Credential=ASIA(\d{12})\//.exec(key)?.[1] ?? "caller";
        looked.push(acct);
        const ev = rawRecord({
          eventName: "ListBuckets",
          eventSource: "s3.amazonaws.com",
          userIdentity: iamUser("alice", acct),
          time: Date.now() - 10 * 60_000,
          eventId: `ev-${acct}`,
        });
        return [
          200,
          { Events: [{ EventId: `ev-${acct}`, EventName: "ListBuckets", EventTime: (Date.now() - 10 * 60_000) / 1000, CloudTrailEvent: JSON.stringify(ev) }] },
          { "content-type": "application/x-amz-json-1.1" },
        ];
      });
    const out = join(dir, "org.json");
    const r = await run(
      "scan",
      "--role-template",
      "arn:aws:iam::{account}:role/TrailhoundRead",
      "--external-id",
      "th-7f3c",
      "--exclude-accounts",
      "333333333333",
      "--regions",
      "us-east-1",
      "--since",
      "1h",
      "--no-store",
      "--no-geo",
      "--format",
      "json",
      "--out",
      out,
    );
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(EXIT.ok);
    expect(assumed.sort((a, b) => String(a.role).localeCompare(String(b.role)))).toEqual([
      { role: "arn:aws:iam::111111111111:role/TrailhoundRead", externalId: "th-7f3c" },
      { role: "arn:aws:iam::444444444444:role/TrailhoundRead", externalId: "th-7f3c" },
    ]);
    expect(looked.sort()).toEqual(["111111111111", "444444444444"]);
    const report = JSON.parse(await readFile(out, "utf8")) as { stats: { events: number }; sources: Array<{ note?: string }> };
    expect(report.stats.events).toBe(2);
    const notes = report.sources.map((s) => s.note ?? "").join(" ");
    expect(notes).toContain("222222222222 skipped: account is suspended");
    expect(notes).toContain("333333333333 skipped: in the deny list");
  });

  it("refuses a template without {account} or an ExternalId STS would refuse, naming the option", async () => {
    let r = await run("scan", "--role-template", "arn:aws:iam::111111111111:role/X", "--since", "1h", "--no-store");
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/--role-template: .*no \{account\} placeholder/);
    r = await run("scan", "--role-template", "arn:aws:iam::{account}:role/X", "--external-id", "has space", "--since", "1h", "--no-store");
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/--external-id: the ExternalId may hold only/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
