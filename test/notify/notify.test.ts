import { createHmac } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import nock from "nock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.js";
import { Notifier, PAGERDUTY_URL, type NotifySettings } from "../../src/notify/index.js";
import { TrailStore } from "../../src/store/store.js";
import { statusMessage } from "../../src/slack/views/status.js";
import { finding } from "../respond/support.js";

const SECRET = "whsec-0123456789abcdef";
const ROUTING = "R0UTINGKEY0123456789abcdefABCDEF";
const T0 = Date.parse("2026-12-06T03:14:00Z");

interface Received {
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** A webhook receiver that answers from a script of status codes (then 200). */
async function receiver(script: number[]): Promise<{ url: string; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      got.push({ body: Buffer.concat(chunks).toString("utf8"), headers: req.headers });
      res.writeHead(script.shift() ?? 200);
      res.end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=abc`, got, close: () => new Promise((r) => server.close(() => r())) };
}

function setup(settings: NotifySettings, dir?: string) {
  const lines: string[] = [];
  const store = TrailStore.memory();
  const sleeps: number[] = [];
  const n = new Notifier({
    settings,
    getFinding: (id) => store.getFinding(id),
    log: createLogger({ level: "debug", write: (l) => lines.push(l) }),
    attempts: 4,
    backoffMs: (k) => 100 * 2 ** (k - 1),
    sleep: async (ms) => void sleeps.push(ms),
    ...(dir ? { deadLetterFile: path.join(dir, "dead-letters.jsonl") } : {}),
  });
  store.onChange(n.handle);
  return { store, n, lines, sleeps };
}

beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1/);
});
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

describe("webhook", () => {
  it("posts new findings at or above its severity as JSON signed with HMAC-SHA256 of the body", async () => {
    const r = await receiver([]);
    try {
      const { store, n } = setup({ webhook: { url: r.url, secret: SECRET, minSeverity: "high" } });
      await store.recordFindings([finding(), finding({ id: "Flow0000000000001", severity: "low" })], T0);
      await n.idle();
      expect(r.got).toHaveLength(1);
      const { body, headers } = r.got[0]!;
      expect(headers["x-trailhound-signature"]).toBe("sha256=" + createHmac("sha256", SECRET).update(body).digest("hex"));
      expect(headers["content-type"]).toBe("application/json");
      const j = JSON.parse(body);
      expect(j).toMatchObject({ type: "finding.new", findingId: "Fkey0000000000001", finding: { id: "Fkey0000000000001", severity: "high" } });
      // The same finding again is not news.
      await store.recordFindings([finding()], T0 + 60_000);
      await n.idle();
      expect(r.got).toHaveLength(1);
      await store.acknowledge("Fkey0000000000001", "U0X", T0 + 120_000);
      await n.idle();
      expect(JSON.parse(r.got[1]!.body)).toMatchObject({ type: "finding.acknowledged", by: "U0X" });
      expect(n.delivered()).toBe(2);
    } finally {
      await r.close();
    }
  });

  it("retries 5xx and 429 with growing backoff, keeping the same delivery id", async () => {
    const r = await receiver([500, 429, 503]);
    try {
      const { store, n, sleeps } = setup({ webhook: { url: r.url, secret: SECRET, minSeverity: "info" } });
      await store.recordFindings([finding()], T0);
      await n.idle();
      expect(r.got).toHaveLength(4);
      expect(sleeps).toEqual([100, 200, 400]);
      expect(new Set(r.got.map((g) => g.headers["x-trailhound-delivery"])).size).toBe(1);
      expect(n.deadLetters()).toBe(0);
    } finally {
      await r.close();
    }
  });

  it("dead-letters what keeps failing (counted, written without secrets), and does not retry a 400", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "th-notify-"));
    const r = await receiver([503, 503, 503, 503, 400]);
    try {
      const { store, n, lines } = setup({ webhook: { url: r.url, secret: SECRET, minSeverity: "info" } }, dir);
      await store.recordFindings([finding()], T0);
      await n.idle();
      expect(n.deadLetters()).toBe(1);
      expect(r.got).toHaveLength(4);
      await store.acknowledge("Fkey0000000000001", "U0X", T0);
      await n.idle();
      expect(r.got).toHaveLength(5); // the 400 was not retried
      expect(n.deadLetters()).toBe(2);
      const dead = (await readFile(path.join(dir, "dead-letters.jsonl"), "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(dead.map((d) => d.error)).toEqual(["HTTP 503", "HTTP 400"]);
      expect(dead[0].host).toBe(new URL(r.url).host);
      const all = JSON.stringify(dead) + lines.join("\n");
      expect(all).not.toContain(SECRET);
      expect(all).not.toContain("token=abc");
      expect(
        statusMessage({ stats: store.stats(T0), scans: [], learning: [], notifications: { delivered: n.delivered(), deadLetters: n.deadLetters() } }).text +
          JSON.stringify(statusMessage({ stats: store.stats(T0), scans: [], learning: [], notifications: { delivered: 0, deadLetters: 2 } }).blocks),
      ).toContain("2 dead letters");
    } finally {
      await r.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("PagerDuty Events API v2", () => {
  it("triggers with dedup_key = finding id, acknowledges on ack, resolves on suppression and containment; the routing key is never logged", async () => {
    const seen: Array<Record<string, unknown>> = [];
    nock("https://events.pagerduty.com")
      .persist()
      .post("/v2/enqueue")
      .reply(202, (_u, body) => {
        seen.push(body as Record<string, unknown>);
        return { status: "success", message: "Event processed", dedup_key: (body as { dedup_key: string }).dedup_key };
      });
    expect(PAGERDUTY_URL).toBe("https://events.pagerduty.com/v2/enqueue");
    const { store, n, lines } = setup({ pagerduty: { routingKey: ROUTING, minSeverity: "high" } });
    const a = finding({ severity: "critical" });
    const b = finding({ id: "Fsecond0000000001" });
    const low = finding({ id: "Flow0000000000001", severity: "medium" });
    await store.recordFindings([a, b, low], T0);
    await n.idle();
    expect(seen.map((s) => `${s.event_action} ${s.dedup_key}`)).toEqual(["trigger Fkey0000000000001", "trigger Fsecond0000000001"]);
    expect(seen[0]).toMatchObject({ routing_key: ROUTING, payload: { severity: "critical", source: "aws:111111111111", timestamp: a.lastSeen } });
    expect(seen[1]).toMatchObject({ payload: { severity: "error" } });
    await store.acknowledge(a.id, "U0X", T0);
    await store.suppress({ scope: "identity-detector", identityKey: b.identity.key, detector: b.detector, until: T0 + 86_400_000, reason: "known", by: "U0ADMIN" }, T0);
    await n.idle();
    expect(seen.slice(2).map((s) => `${s.event_action} ${s.dedup_key}`)).toEqual(["acknowledge Fkey0000000000001", "resolve Fsecond0000000001"]);
    expect(seen[2]).toEqual({ routing_key: ROUTING, event_action: "acknowledge", dedup_key: a.id });
    // A dry run resolves nothing; an executed containment resolves.
    const rec = {
      id: "C1",
      findingId: a.id,
      action: "deactivate-key",
      account: "111111111111",
      resource: "arn",
      summary: "key deactivated",
      calls: [],
      breaks: "",
      dryRun: true,
      state: "dry-run" as const,
      proposedBy: "U0R",
      proposedAt: new Date(T0).toISOString(),
      steps: [],
    };
    await store.putContainment("C1", () => ({ record: rec }));
    await store.putContainment("C2", () => ({ record: { ...rec, id: "C2", dryRun: false, state: "executed", executedAt: new Date(T0).toISOString() } }));
    await n.idle();
    expect(seen.slice(4).map((s) => `${s.event_action} ${s.dedup_key}`)).toEqual(["resolve Fkey0000000000001"]);
    expect(lines.join("\n")).not.toContain(ROUTING);
  });

  it("does not retry a 400, retries a 429", async () => {
    let calls = 0;
    nock("https://events.pagerduty.com")
      .post("/v2/enqueue")
      .reply(429, () => (calls++, {}))
      .post("/v2/enqueue")
      .reply(202, () => (calls++, {}));
    const { store, n } = setup({ pagerduty: { routingKey: ROUTING, minSeverity: "info" } });
    await store.recordFindings([finding()], T0);
    await n.idle();
    expect(calls).toBe(2);
    expect(n.deadLetters()).toBe(0);
    nock("https://events.pagerduty.com")
      .post("/v2/enqueue")
      .reply(400, () => (calls++, { status: "invalid event" }));
    await store.acknowledge("Fkey0000000000001", "U0X", T0);
    await n.idle();
    expect(calls).toBe(3);
    expect(n.deadLetters()).toBe(1);
  });
});
