import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import nock from "nock";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli.js";
import { createLogger } from "../../src/log.js";
import { asffFinding, asffTypes, exportToSecurityHub, formatExportResult, securityHubFactory, SecurityHubSync, type SecurityHubSettings } from "../../src/notify/securityhub.js";
import { exportCommand } from "../../src/notify/securityhub-cli.js";
import type { Finding } from "../../src/scan/report-types.js";
import { sdkStsFactory } from "../../src/sources/aws-accounts.js";
import { TrailStore } from "../../src/store/store.js";
import { ACCOUNT, OTHER, awsEnv, fakeAws, finding, rootFinding } from "../respond/support.js";

const T0 = Date.parse("2026-12-06T03:14:00.000Z");
const SETTINGS: SecurityHubSettings = { roleArns: [], minSeverity: "low", auto: false, region: "eu-west-1" };

type Asff = Record<string, unknown> & { Id: string; UpdatedAt: string; RecordState?: string; ProductArn: string; AwsAccountId: string };

/**
 * Security Hub's BatchImportFindings behind nock: keeps findings by Id (a second import of the
 * same Id replaces it, as Security Hub updates it), fails the ids in `failIds` (FailedFindings),
 * or the whole call with `callError`.
 */
class FakeSecurityHub {
  readonly findings = new Map<string, Asff>();
  readonly calls: Array<{ region: string; count: number }> = [];
  readonly failIds = new Set<string>();
  callError: { status: number; type: string; message: string } | undefined;

  constructor(regions: string[] = ["eu-west-1", "us-east-1"]) {
    for (const region of regions) {
      nock(`https://securityhub.${region}.amazonaws.com`)
        .persist()
        .post("/findings/import")
        .reply((_uri, body, cb) => {
          const req = (typeof body === "string" ? JSON.parse(body) : body) as { Findings: Asff[] };
          this.calls.push({ region, count: req.Findings.length });
          const headers = { "content-type": "application/json", "x-amzn-requestid": `sh-${this.calls.length}` };
          if (this.callError) {
            cb(null, [
              this.callError.status,
              JSON.stringify({ __type: this.callError.type, message: this.callError.message }),
              { ...headers, "x-amzn-errortype": this.callError.type },
            ]);
            return;
          }
          if (req.Findings.length > 100) {
            cb(null, [400, JSON.stringify({ __type: "InvalidInputException", message: "more than 100 findings" }), { ...headers, "x-amzn-errortype": "InvalidInputException" }]);
            return;
          }
          const failed: Array<{ Id: string; ErrorCode: string; ErrorMessage: string }> = [];
          for (const f of req.Findings) {
            const expected = `arn:aws:securityhub:${region}:${f.AwsAccountId}:product/${f.AwsAccountId}/default`;
            if (this.failIds.has(f.Id)) failed.push({ Id: f.Id, ErrorCode: "InvalidInput", ErrorMessage: "Finding does not adhere to ASFF" });
            else if (f.ProductArn !== expected) failed.push({ Id: f.Id, ErrorCode: "AccessDeniedException", ErrorMessage: `wrong product ${f.ProductArn}` });
            else this.findings.set(f.Id, f);
          }
          cb(null, [200, JSON.stringify({ FailedCount: failed.length, SuccessCount: req.Findings.length - failed.length, FailedFindings: failed }), headers]);
        });
    }
  }
}

function many(n: number, over: Partial<Finding> = {}): Finding[] {
  return Array.from({ length: n }, (_, i) => finding({ id: `F${String(i).padStart(16, "0")}`, ...over }));
}

beforeAll(() => nock.disableNetConnect());
beforeEach(() => {
  for (const [k, v] of Object.entries(awsEnv())) vi.stubEnv(k, v);
});
afterEach(() => {
  nock.cleanAll();
  vi.unstubAllEnvs();
});

const factory = (roleArns: string[] = []) => securityHubFactory({ roleArns, sts: sdkStsFactory({ region: "us-east-1" }), maxAttempts: 1 });

describe("ASFF", () => {
  it("maps a finding: required fields, the default product of the account, stable id, severity label, types and resources", () => {
    const f = finding({ severity: "critical", attack: ["T1078.004", "T1562.008"], investigate: ["Check the key"], evidence: { eventName: "StopLogging" } });
    const a = asffFinding(f, { now: new Date(T0), region: "eu-west-1", version: "9.9.9" })!;
    expect(a).toMatchObject({
      SchemaVersion: "2018-10-08",
      Id: `trailhound/${ACCOUNT}/${f.id}`,
      ProductArn: `arn:aws:securityhub:eu-west-1:${ACCOUNT}:product/${ACCOUNT}/default`,
      GeneratorId: "trailhound/new-source-network",
      AwsAccountId: ACCOUNT,
      CreatedAt: f.firstSeen,
      FirstObservedAt: f.firstSeen,
      LastObservedAt: f.lastSeen,
      UpdatedAt: new Date(T0).toISOString(),
      Severity: { Label: "CRITICAL" },
      FindingProviderFields: { Severity: { Label: "CRITICAL" }, Types: ["TTPs/Initial Access/T1078.004", "TTPs/Defense Evasion/T1562.008"] },
      Types: ["TTPs/Initial Access/T1078.004", "TTPs/Defense Evasion/T1562.008"],
      Title: f.title,
      Description: f.why,
      RecordState: "ACTIVE",
      Remediation: { Recommendation: { Text: "Check the key" } },
      Network: { Direction: "IN", SourceIpV4: "203.0.113.9" },
      Action: { ActionType: "AWS_API_CALL", AwsApiCallAction: { Api: "StopLogging", RemoteIpDetails: { IpAddressV4: "203.0.113.9" } } },
    });
    expect(a.Resources).toEqual([
      expect.objectContaining({ Type: "AwsIamUser", Id: `arn:aws:iam::${ACCOUNT}:user/alice`, Partition: "aws" }),
      expect.objectContaining({ Type: "AwsAccount", Id: `AWS::::Account:${ACCOUNT}` }),
    ]);
    expect(a.SourceUrl).toBe("https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/ev-1");
    expect(a.ProductFields).toMatchObject({ "trailhound/FindingId": f.id, "trailhound/Score": "70", "trailhound/EventIds": "ev-1,ev-2" });
  });

  it("a role session is exported as its role; root as the account; no account: not exported", () => {
    const role = finding({
      identity: { key: `role:${ACCOUNT}:Deploy`, type: "AssumedRole", arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Deploy/s1`, userName: "Deploy", sessionName: "s1" },
    });
    expect(asffFinding(role, { now: new Date(T0), region: "eu-west-1", version: "1" })!.Resources![0]).toMatchObject({
      Type: "AwsIamRole",
      Id: `arn:aws:iam::${ACCOUNT}:role/Deploy`,
    });
    const root = rootFinding();
    expect(asffFinding(root, { now: new Date(T0), region: "eu-west-1", version: "1" })!.Resources).toEqual([expect.objectContaining({ Type: "AwsAccount" })]);
    const { accountId: _, ...noAccount } = finding().identity;
    expect(asffFinding({ ...finding(), identity: noAccount }, { now: new Date(T0), region: "eu-west-1", version: "1" })).toBeUndefined();
  });

  it("caps Title at 256 and Description at 1024 characters, marking the cut; suppressed and resolved are ARCHIVED", () => {
    const a = asffFinding(finding({ title: "t".repeat(400), why: "w".repeat(2000) }), { now: new Date(T0), region: "eu-west-1", version: "1", status: "suppressed" })!;
    expect(a.Title).toHaveLength(256);
    expect(a.Title!.endsWith("…")).toBe(true);
    expect(a.Description).toHaveLength(1024);
    expect(a.RecordState).toBe("ARCHIVED");
    expect(asffFinding(finding(), { now: new Date(T0), region: "eu-west-1", version: "1", status: "resolved" })!.RecordState).toBe("ARCHIVED");
    expect(asffFinding(finding(), { now: new Date(T0), region: "eu-west-1", version: "1", status: "acknowledged" })!.RecordState).toBe("ACTIVE");
  });

  it("types: unmapped techniques fall back to unusual behaviour", () => {
    expect(asffTypes({ attack: [] })).toEqual(["Unusual Behaviors/User"]);
    expect(asffTypes({ attack: ["T9999"] })).toEqual(["Unusual Behaviors/User"]);
    expect(asffTypes({ attack: ["T1496"] })).toEqual(["Effects/Resource Consumption/T1496"]);
  });
});

describe("BatchImportFindings", () => {
  it("imports in batches of at most 100, per account and region, with the caller's account", async () => {
    const aws = fakeAws(ACCOUNT);
    const sh = new FakeSecurityHub();
    const items = [...many(230), ...many(3, { region: "us-east-1" }).map((f) => ({ ...f, id: f.id + "b" }))].map((f) => ({ finding: f }));
    const r = await exportToSecurityHub(items, { settings: { minSeverity: "low" }, factory: factory(), version: "1", now: () => T0 });
    expect(sh.calls.map((c) => `${c.region}:${c.count}`)).toEqual(["eu-west-1:100", "eu-west-1:100", "eu-west-1:30", "us-east-1:3"]);
    expect(r).toMatchObject({ considered: 233, attempted: 233, imported: 233, batches: 4, failed: [] });
    expect(r.requestIds).toEqual(["sh-1", "sh-2", "sh-3", "sh-4"]);
    expect(aws.sts.calls.map((c) => c.action)).toEqual(["GetCallerIdentity"]);
  });

  it("re-importing the same finding updates the same Security Hub id (later UpdatedAt, new state)", async () => {
    fakeAws(ACCOUNT);
    const sh = new FakeSecurityHub();
    const f = finding();
    await exportToSecurityHub([{ finding: f }], { settings: SETTINGS, factory: factory(), version: "1", now: () => T0 });
    const first = sh.findings.get(`trailhound/${ACCOUNT}/${f.id}`)!;
    expect(first.RecordState).toBe("ACTIVE");
    const later = { ...f, lastSeen: "2026-12-06T09:00:00.000Z", count: 9 };
    const r = await exportToSecurityHub([{ finding: later, status: "suppressed" }], { settings: SETTINGS, factory: factory(), version: "1", now: () => T0 + 3600_000 });
    expect(r.imported).toBe(1);
    expect([...sh.findings.keys()]).toEqual([`trailhound/${ACCOUNT}/${f.id}`]);
    const second = sh.findings.get(`trailhound/${ACCOUNT}/${f.id}`)!;
    expect(second.CreatedAt).toBe(first.CreatedAt);
    expect(Date.parse(second.UpdatedAt)).toBeGreaterThan(Date.parse(first.UpdatedAt));
    expect(second).toMatchObject({ RecordState: "ARCHIVED", LastObservedAt: "2026-12-06T09:00:00.000Z" });
  });

  it("partial failure: FailedCount and FailedFindings are counted and named, the rest imported", async () => {
    fakeAws(ACCOUNT);
    const sh = new FakeSecurityHub();
    const list = many(5);
    sh.failIds.add(`trailhound/${ACCOUNT}/${list[1]!.id}`);
    sh.failIds.add(`trailhound/${ACCOUNT}/${list[3]!.id}`);
    const r = await exportToSecurityHub(
      list.map((finding) => ({ finding })),
      { settings: SETTINGS, factory: factory(), version: "1", now: () => T0 },
    );
    expect(r.imported).toBe(3);
    expect(r.failed.map((f) => f.findingId)).toEqual([list[1]!.id, list[3]!.id]);
    expect(r.failed[0]).toMatchObject({ account: ACCOUNT, region: "eu-west-1", code: "InvalidInput", message: "Finding does not adhere to ASFF" });
    const text = formatExportResult(r, "low");
    expect(text).toContain("3 of 5 findings imported");
    expect(text).toContain(`2 failed`);
    expect(text).toContain(`2 in ${ACCOUNT} eu-west-1: InvalidInput: Finding does not adhere to ASFF (${list[1]!.id}, ${list[3]!.id})`);
  });

  it("a failed call (Security Hub not enabled) fails its whole batch; other accounts without a role are refused, not sent", async () => {
    fakeAws(ACCOUNT);
    const sh = new FakeSecurityHub();
    sh.callError = { status: 403, type: "InvalidAccessException", message: "Account is not subscribed to AWS Security Hub" };
    const other = finding({ id: "Fother00000000001", identity: { accountId: OTHER, arn: `arn:aws:iam::${OTHER}:user/bob`, key: `user:${OTHER}:bob`, userName: "bob" } });
    const r = await exportToSecurityHub([{ finding: finding() }, { finding: other }, { finding: finding({ id: "Finfo", severity: "info" }) }], {
      settings: SETTINGS,
      factory: factory(),
      version: "1",
      now: () => T0,
    });
    expect(r).toMatchObject({ considered: 3, belowSeverity: 1, attempted: 2, imported: 0 });
    expect(r.failed.find((f) => f.account === ACCOUNT)).toMatchObject({ code: "InvalidAccessException", message: expect.stringContaining("not subscribed") });
    expect(r.failed.find((f) => f.account === OTHER)).toMatchObject({ code: "NoRoleForAccount" });
    expect(sh.calls).toHaveLength(1);
    expect(formatExportResult(r, "low")).toContain("1 below low not exported");
  });

  it("a role per account is assumed for that account's findings", async () => {
    const aws = fakeAws(ACCOUNT);
    const sh = new FakeSecurityHub();
    const other = finding({ id: "Fother00000000001", identity: { accountId: OTHER, arn: `arn:aws:iam::${OTHER}:user/bob`, key: `user:${OTHER}:bob`, userName: "bob" } });
    const r = await exportToSecurityHub([{ finding: other }], {
      settings: SETTINGS,
      factory: factory([`arn:aws:iam::${OTHER}:role/TrailhoundSecurityHub`]),
      version: "1",
      now: () => T0,
    });
    expect(r.imported).toBe(1);
    expect(aws.sts.calls.map((c) => [c.action, c.params.RoleArn])).toEqual([["AssumeRole", `arn:aws:iam::${OTHER}:role/TrailhoundSecurityHub`]]);
    expect(sh.findings.get(`trailhound/${OTHER}/${other.id}`)?.ProductArn).toBe(`arn:aws:securityhub:eu-west-1:${OTHER}:product/${OTHER}/default`);
  });
});

describe("the bot's export (TRAILHOUND_SECURITYHUB=on)", () => {
  it("imports what a scan records, and updates the same id when the finding is suppressed", async () => {
    fakeAws(ACCOUNT);
    const sh = new FakeSecurityHub();
    const dir = await mkdtemp(path.join(tmpdir(), "th-sh-"));
    const store = await TrailStore.open(dir);
    try {
      const sync = new SecurityHubSync({
        settings: SETTINGS,
        factory: factory(),
        getFinding: (id) => {
          const s = store.getFinding(id);
          return s ? { finding: s.finding, status: s.status } : undefined;
        },
        log: createLogger({ level: "error" }),
        version: "1",
        now: () => T0,
      });
      store.onChange(sync.handle);
      const f = finding();
      await store.recordFindings([f], T0);
      await sync.idle();
      expect(sh.findings.get(`trailhound/${ACCOUNT}/${f.id}`)?.RecordState).toBe("ACTIVE");
      await store.suppress({ scope: "identity", identityKey: f.identity.key, until: T0 + 86_400_000, reason: "known", by: "U1" }, T0);
      await sync.idle();
      expect(sh.findings.size).toBe(1);
      expect(sh.findings.get(`trailhound/${ACCOUNT}/${f.id}`)?.RecordState).toBe("ARCHIVED");
      expect(sync.stats()).toMatchObject({ exports: 2, imported: 2, failed: 0 });
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("CLI", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "th-sh-cli-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function capture() {
    let err = "";
    return { err: (s: string) => void (err += s), text: () => err };
  }

  it("export securityhub: the stored findings with their state; a partial failure exits 2 and names the findings", async () => {
    fakeAws(ACCOUNT);
    const sh = new FakeSecurityHub();
    const store = await TrailStore.open(dir);
    const list = many(3);
    await store.recordFindings(list, T0);
    await store.acknowledge(list[0]!.id, "U1", T0);
    await store.close();
    const c = capture();
    const env = { ...awsEnv(), TRAILHOUND_SECURITYHUB_REGION: "eu-west-1" };
    expect(await exportCommand("securityhub", { store: dir }, { env, err: c.err, maxAttempts: 1 })).toBe(0);
    expect(c.text()).toContain("Security Hub: 3 of 3 findings imported (1 BatchImportFindings call)");
    expect(sh.findings.get(`trailhound/${ACCOUNT}/${list[0]!.id}`)?.ProductFields).toMatchObject({ "trailhound/Status": "acknowledged" });
    sh.failIds.add(`trailhound/${ACCOUNT}/${list[2]!.id}`);
    const c2 = capture();
    expect(await exportCommand("securityhub", { store: dir, status: "open" }, { env, err: c2.err, maxAttempts: 1 })).toBe(2);
    expect(c2.text()).toContain("1 of 2 findings imported");
    expect(c2.text()).toContain(list[2]!.id);
  });

  it("scan --export securityhub imports the scan's findings (exit 0), and exits 2 when Security Hub refuses them", async () => {
    fakeAws(ACCOUNT);
    const sh = new FakeSecurityHub();
    vi.stubEnv("TRAILHOUND_SECURITYHUB_REGION", "eu-west-1");
    vi.stubEnv("AWS_MAX_ATTEMPTS", "1");
    const events = path.join(dir, "events.jsonl");
    const rec = (id: string, eventName: string, source: string) => ({
      eventVersion: "1.08",
      eventID: id,
      eventTime: "2026-12-06T03:00:00Z",
      eventSource: source,
      eventName,
      awsRegion: "eu-west-1",
      sourceIPAddress: "203.0.113.9",
      userAgent: "aws-cli/2.15.0",
      requestParameters: { name: "main-trail" },
      userIdentity: {
        type: "IAMUser",
        userName: "alice",
        accountId: ACCOUNT,
        arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
        accessKeyId: "AKIAIOSFODNN7EXAMPLE",
        principalId: "AIDA1",
      },
    });
    await writeFile(
      events,
      [rec("ev-1", "StopLogging", "cloudtrail.amazonaws.com"), rec("ev-2", "DeleteTrail", "cloudtrail.amazonaws.com")].map((r) => JSON.stringify(r)).join("\n") + "\n",
    );
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      const code = await main(["node", "trailhound", "scan", "--input", events, "--no-store", "--no-geo", "--no-progress", "--format", "json", "--export", "securityhub"]);
      const err = stderr.mock.calls.map((c) => String(c[0])).join("");
      expect(err).toMatch(/Security Hub: (\d+) of \1 findings? imported/);
      expect(code).toBe(0);
      expect(sh.findings.size).toBeGreaterThan(0);
      for (const f of sh.findings.values()) expect(f.GeneratorId).toMatch(/^trailhound\//);
      sh.callError = { status: 403, type: "InvalidAccessException", message: "Account is not subscribed to AWS Security Hub" };
      stderr.mockClear();
      process.exitCode = undefined;
      const code2 = await main(["node", "trailhound", "scan", "--input", events, "--no-store", "--no-geo", "--no-progress", "--format", "json", "--export", "securityhub"]);
      expect(stderr.mock.calls.map((c) => String(c[0])).join("")).toContain("InvalidAccessException: Account is not subscribed to AWS Security Hub");
      expect(code2).toBe(2);
    } finally {
      stderr.mockRestore();
      stdout.mockRestore();
      process.exitCode = undefined;
    }
  });
});
