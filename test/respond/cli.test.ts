import { createHmac } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import nock from "nock";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli.js";
import { containCommand, showCommand, type CliIo } from "../../src/respond/cli.js";
import { TrailStore } from "../../src/store/store.js";
import { ACCOUNT, KEY, awsEnv, fakeAws, finding, rootFinding } from "./support.js";

const T0 = Date.parse("2026-12-06T03:14:00.000Z");
let dir: string;
let events: string;

function io(env: Record<string, string> = {}, answer?: boolean): CliIo & { text(): string } {
  let out = "";
  return {
    out: (s) => void (out += s),
    err: (s) => void (out += s),
    env: { ...awsEnv(), TRAILHOUND_RESPONDER_ROLE_ARNS: `arn:aws:iam::${ACCOUNT}:role/TrailhoundResponder`, ...env },
    ...(answer !== undefined ? { confirm: async () => answer } : {}),
    text: () => out,
  };
}

beforeAll(() => nock.disableNetConnect());
beforeEach(async () => {
  for (const [k, v] of Object.entries(awsEnv())) vi.stubEnv(k, v);
  dir = await mkdtemp(path.join(tmpdir(), "th-contain-"));
  const store = await TrailStore.open(dir);
  await store.recordFindings([finding(), rootFinding()], T0);
  await store.close();
  events = path.join(dir, "events.jsonl");
  const rec = (id: string) => ({
    eventVersion: "1.08",
    eventID: id,
    eventTime: "2026-12-06T03:00:00Z",
    eventSource: "s3.amazonaws.com",
    eventName: "ListBuckets",
    awsRegion: "eu-west-1",
    sourceIPAddress: "203.0.113.9",
    userIdentity: { type: "IAMUser", userName: "alice", accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/alice`, accessKeyId: KEY },
  });
  await writeFile(events, [rec("ev-1"), rec("ev-2"), rec("ev-unrelated")].map((r) => JSON.stringify(r)).join("\n") + "\n");
});
afterEach(async () => {
  nock.cleanAll();
  vi.unstubAllEnvs();
  await rm(dir, { recursive: true, force: true });
});

describe("trailhound contain", () => {
  it("lists the actions that fit without --action", async () => {
    const o = io();
    expect(await containCommand("Fkey0000000000001", { store: dir }, o)).toBe(0);
    expect(o.text()).toContain("deactivate-key");
    expect(o.text()).toContain("quarantine");
  });

  it("--dry-run prints the exact calls and audits them, with no AWS call", async () => {
    const aws = fakeAws();
    aws.iam.addKey("alice", KEY);
    const o = io();
    expect(await containCommand("Fkey0000000000001", { store: dir, action: "deactivate-key", dryRun: true, input: [events] }, o)).toBe(0);
    expect(o.text()).toContain(`iam:UpdateAccessKey {"UserName":"alice","AccessKeyId":"${KEY}","Status":"Inactive"}`);
    expect(o.text()).toContain("DRY RUN");
    expect(aws.iam.calls).toEqual([]);
    expect(aws.sts.calls).toEqual([]);
    const store = await TrailStore.open(dir);
    expect(store.auditLog(2).map((a) => a.action)).toEqual(["contain-dry-run", "contain-proposed"]);
    await store.close();
  });

  it("asks before calling, refuses to run unattended without --yes, and with --yes deactivates the key", async () => {
    const aws = fakeAws();
    aws.iam.addKey("alice", KEY);
    const no = io({}, false);
    expect(await containCommand("Fkey0000000000001", { store: dir, action: "deactivate-key", input: [events] }, no)).toBe(2);
    expect(aws.iam.calls).toEqual([]);
    await expect(containCommand("Fkey0000000000001", { store: dir, action: "deactivate-key", input: [events] }, io())).rejects.toThrow(/--yes/);
    const yes = io();
    expect(await containCommand("Fkey0000000000001", { store: dir, action: "deactivate-key", input: [events], yes: true }, yes)).toBe(0);
    expect(aws.iam.keyStatus("alice", KEY)).toBe("Inactive");
    expect(yes.text()).toMatch(/executed iam:UpdateAccessKey request req-UpdateAccessKey-\d+/);
    const id = /Containment (C[0-9a-f]+): executed/.exec(yes.text())![1]!;
    expect(await containCommand("Fkey0000000000001", { store: dir, undo: id, yes: true }, io())).toBe(0);
    expect(aws.iam.keyStatus("alice", KEY)).toBe("Active");
  });

  it("exits 2 with a clear message for root, and for an unknown action", async () => {
    const errs: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((s) => (errs.push(String(s)), true));
    vi.stubEnv("TRAILHOUND_DATA_DIR", dir);
    expect(await main(["node", "trailhound", "contain", "Froot000000000001", "--action", "quarantine", "--store", dir, "--dry-run"])).toBe(2);
    expect(errs.join("")).toMatch(/root user/);
    expect(errs.join("")).not.toMatch(/\n\s+at /);
    const store = await TrailStore.open(dir);
    expect(store.auditLog(1)[0]).toMatchObject({
      action: "contain-refused",
      actor: expect.stringMatching(/^cli:/),
      target: "Froot000000000001",
      detail: expect.stringContaining("root user"),
    });
    await store.close();
    expect(await main(["node", "trailhound", "contain", "Fkey0000000000001", "--action", "delete-everything", "--store", dir])).toBe(2);
    vi.restoreAllMocks();
  });
});

describe("trailhound contain: notifications", () => {
  it("sends what the Slack flow sends: PagerDuty resolve and the signed webhook's finding.contained, once; a dry run and the undo send nothing", async () => {
    const aws = fakeAws();
    aws.iam.addKey("alice", KEY);
    const got: Array<{ body: string; sig: string | undefined }> = [];
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        got.push({ body: Buffer.concat(chunks).toString("utf8"), sig: req.headers["x-trailhound-signature"] as string | undefined });
        res.writeHead(200);
        res.end("ok");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    nock.enableNetConnect("127.0.0.1");
    const pd: Array<Record<string, unknown>> = [];
    nock("https://events.pagerduty.com")
      .persist()
      .post("/v2/enqueue")
      .reply(202, (_uri, body) => {
        pd.push((typeof body === "string" ? JSON.parse(body) : body) as Record<string, unknown>);
        return { status: "success" };
      });
    const secret = "whsec-0123456789abcdef";
    const env = {
      TRAILHOUND_WEBHOOK_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
      TRAILHOUND_WEBHOOK_SECRET: secret,
      TRAILHOUND_PAGERDUTY_ROUTING_KEY: "R0UTINGKEY0123456789abcdefABCDEF",
    };
    try {
      const dry = io(env);
      expect(await containCommand("Fkey0000000000001", { store: dir, action: "deactivate-key", input: [events], dryRun: true }, dry)).toBe(0);
      expect(pd).toEqual([]);
      expect(got).toEqual([]);

      const o = io(env);
      expect(await containCommand("Fkey0000000000001", { store: dir, action: "deactivate-key", input: [events], yes: true }, o)).toBe(0);
      expect(aws.iam.keyStatus("alice", KEY)).toBe("Inactive");
      expect(pd).toEqual([{ routing_key: env.TRAILHOUND_PAGERDUTY_ROUTING_KEY, event_action: "resolve", dedup_key: "Fkey0000000000001" }]);
      expect(got).toHaveLength(1);
      const hook = JSON.parse(got[0]!.body) as { type: string; findingId: string; containment: { action: string; summary: string } };
      expect(hook).toMatchObject({
        type: "finding.contained",
        findingId: "Fkey0000000000001",
        containment: { action: "deactivate-key", summary: expect.stringContaining("deactivated") },
      });
      expect(got[0]!.sig).toBe("sha256=" + createHmac("sha256", secret).update(got[0]!.body).digest("hex"));
      expect(o.text()).toContain("notifications: 2 delivered");

      const id = /Containment (C[0-9a-f]+): executed/.exec(o.text())![1]!;
      expect(await containCommand("Fkey0000000000001", { store: dir, undo: id, yes: true }, io(env))).toBe(0);
      expect(pd).toHaveLength(1);
      expect(got).toHaveLength(1);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it("a webhook that stays down is a dead letter, said on stderr; the containment itself is done", async () => {
    const aws = fakeAws();
    aws.iam.addKey("alice", KEY);
    nock("https://hooks.example.test").persist().post("/hook").reply(503);
    const o = io({ TRAILHOUND_WEBHOOK_URL: "https://hooks.example.test/hook", TRAILHOUND_WEBHOOK_SECRET: "whsec-0123456789abcdef" });
    const slept: number[] = [];
    const code = await containCommand(
      "Fkey0000000000001",
      { store: dir, action: "deactivate-key", input: [events], yes: true },
      o,
      {},
      { attempts: 3, sleep: async (ms) => void slept.push(ms), backoffMs: (n) => n * 10 },
    );
    expect(code).toBe(0);
    expect(aws.iam.keyStatus("alice", KEY)).toBe("Inactive");
    expect(slept).toEqual([10, 20]);
    expect(o.text()).toContain(`notifications: 0 delivered, 1 not delivered (kept in ${path.join(dir, "dead-letters.jsonl")})`);
  });
});

describe("trailhound show", () => {
  it("prints the finding and its cited records with a CloudTrail console link each", async () => {
    const o = io();
    expect(await showCommand("Fkey0000000000001", { store: dir, events: true, input: [events] }, o)).toBe(0);
    expect(o.text()).toContain("Fkey0000000000001  HIGH 70");
    expect(o.text()).toContain("--- ev-1  https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/ev-1");
    expect(o.text()).toContain("2 of 2 events found");
    expect(o.text()).not.toContain("ev-unrelated");
    const j = io();
    await showCommand("Fkey0000000000001", { store: dir, events: true, input: [events], format: "json" }, j);
    const parsed = JSON.parse(j.text());
    expect(parsed.events.records.map((r: { eventID: string }) => r.eventID)).toEqual(["ev-1", "ev-2"]);
    expect(parsed.finding.status).toBe("open");
  });

  it("says which events were not found", async () => {
    await writeFile(events, "");
    const o = io();
    await showCommand("Fkey0000000000001", { store: dir, events: true, input: [events] }, o);
    expect(o.text()).toContain("0 of 2 events found; not found: ev-1, ev-2");
  });
});
