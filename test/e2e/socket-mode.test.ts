/**
 * Socket Mode end to end (docs/SLACK.md d): the bot opens apps.connections.open on the fake
 * Slack, connects to the WebSocket URL it returns, waits for "hello"; envelopes go in, acks come
 * back with the same envelope_id. The WebSocket side is a minimal RFC 6455 server (text frames,
 * ping/pong, close), enough for the Slack protocol.
 */
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { afterEach, expect, it } from "vitest";
import { FakeSlack } from "../../src/testing/fake-slack.js";
import { httpRequest } from "../../src/testing/slack-wire.js";
import { loadConfig } from "../../src/config.js";
import { silentLogger } from "../../src/log.js";
import { startBot, type RunningBot } from "../../src/main.js";
import { TrailStore } from "../../src/store/store.js";
import { FakeScans, makeFinding } from "../slack/support/fixtures.js";

class MiniWsServer {
  private server!: Server;
  socket: Duplex | undefined;
  readonly received: Array<Record<string, unknown>> = [];
  private waiters: Array<() => void> = [];
  url = "";

  async start(): Promise<this> {
    this.server = createServer((_req, res) => res.writeHead(404).end());
    this.server.on("upgrade", (req, socket) => {
      const key = String(req.headers["sec-websocket-key"]);
      const accept = createHash("sha1")
        .update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
        .digest("base64");
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      this.socket = socket;
      let buf = Buffer.alloc(0);
      socket.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          const frame = this.parse(buf);
          if (!frame) break;
          buf = buf.subarray(frame.size);
          if (frame.opcode === 0x1) {
            this.received.push(JSON.parse(frame.payload.toString()) as Record<string, unknown>);
            for (const w of this.waiters.splice(0)) w();
          } else if (frame.opcode === 0x9) this.frame(0xa, frame.payload);
          else if (frame.opcode === 0x8) socket.end();
        }
      });
      socket.on("error", () => undefined);
      this.send({
        type: "hello",
        num_connections: 1,
        debug_info: { host: "applink-test", build_number: 10, approximate_connection_time: 18060 },
        connection_info: { app_id: "A0TEST" },
      });
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/link/?ticket=t1`;
    return this;
  }

  private parse(b: Buffer): { opcode: number; payload: Buffer; size: number } | undefined {
    if (b.length < 2) return undefined;
    const opcode = b[0]! & 0x0f;
    const masked = (b[1]! & 0x80) !== 0;
    let len = b[1]! & 0x7f;
    let off = 2;
    if (len === 126) {
      if (b.length < 4) return undefined;
      len = b.readUInt16BE(2);
      off = 4;
    } else if (len === 127) {
      if (b.length < 10) return undefined;
      len = Number(b.readBigUInt64BE(2));
      off = 10;
    }
    const maskAt = off;
    if (masked) off += 4;
    if (b.length < off + len) return undefined;
    const payload = Buffer.from(b.subarray(off, off + len));
    if (masked) for (let i = 0; i < len; i++) payload[i]! ^= b[maskAt + (i % 4)]!;
    return { opcode, payload, size: off + len };
  }

  private frame(opcode: number, payload: Buffer): void {
    const head = payload.length < 126 ? Buffer.from([0x80 | opcode, payload.length]) : Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 0xff]);
    this.socket?.write(Buffer.concat([head, payload]));
  }

  send(msg: unknown): void {
    this.frame(0x1, Buffer.from(JSON.stringify(msg)));
  }

  async waitFor(pred: (m: Record<string, unknown>) => boolean, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.received.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no such message; got ${JSON.stringify(this.received)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        this.waiters.push(() => (clearTimeout(t), r()));
      });
    }
  }

  async stop(): Promise<void> {
    this.socket?.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

it("runs over Socket Mode: acks envelopes, serves /healthz on PORT, stops cleanly", async () => {
  const fake = await new FakeSlack().start();
  const ws = await new MiniWsServer().start();
  fake.handlers.set("apps.connections.open", () => ({ ok: true, url: ws.url }));
  cleanup.push(
    () => fake.stop(),
    () => ws.stop(),
  );
  const store = TrailStore.memory();
  const scans = new FakeScans(store);
  let shutdowns = 0;
  const bot: RunningBot = await startBot(
    loadConfig({ SLACK_BOT_TOKEN: "xoxb-t", SLACK_APP_TOKEN: "xapp-1-A0TEST-1-abc", PORT: "0", SLACK_API_URL: fake.apiUrl, TRAILHOUND_TEAM_ID: "T0TEST", TRAILHOUND_VIEWERS: "*" }),
    {
      store,
      scans,
      log: silentLogger,
      clientOptions: { retryConfig: { retries: 0 } },
      settings: { progressIntervalMs: 10, threadPostIntervalMs: 0 },
      onShutdown: () => void shutdowns++,
    },
  );
  cleanup.unshift(() => bot.stop());
  expect(bot.mode).toBe("socket");
  const open = fake.of("apps.connections.open");
  expect(open).toHaveLength(1);

  const health = await httpRequest(`http://127.0.0.1:${bot.port}/healthz`, "GET", {});
  expect(health.status).toBe(200);
  expect(JSON.parse(health.body)).toMatchObject({ ok: true, mode: "socket" });
  expect((await httpRequest(`http://127.0.0.1:${bot.port}/other`, "GET", {})).status).toBe(404);

  const command = (text: string, team = "T0TEST") => ({
    token: "vtok123",
    team_id: team,
    team_domain: "acme",
    channel_id: "C0TEST",
    channel_name: "security",
    user_id: "U0USER",
    user_name: "alice",
    command: "/cloudtrail",
    text,
    api_app_id: "A0TEST",
    is_enterprise_install: "false",
    response_url: fake.responseUrl("sock"),
    trigger_id: "1.2.3",
  });
  ws.send({ envelope_id: "e1", type: "slash_commands", accepts_response_payload: true, payload: command("scan user alice0") });
  const ack = await ws.waitFor((m) => m.envelope_id === "e1");
  expect((ack.payload as { text: string }).text).toContain("Working on it");
  await fake.waitFor((c) => c.find((x) => x.method === "chat.update" && JSON.stringify(x.args.blocks ?? []).includes('"sum:h"')), 5000, "the result");

  ws.send({ envelope_id: "e2", type: "slash_commands", accepts_response_payload: true, payload: command("help") });
  const help = await ws.waitFor((m) => m.envelope_id === "e2");
  expect(JSON.stringify(help.payload)).toContain("scan user NAME");

  ws.send({ envelope_id: "e3", type: "slash_commands", accepts_response_payload: true, payload: command("status", "T0OTHER") });
  const refused = await ws.waitFor((m) => m.envelope_id === "e3");
  expect((refused.payload as { text: string }).text).toContain("only works in the workspace");
  expect(store.auditLog(5).some((e) => e.action === "refused" && e.target === "team:T0OTHER")).toBe(true);

  await bot.stop();
  expect(shutdowns).toBe(1);
  expect(fake.unexpected).toEqual([]);
  expect(fake.invalid).toEqual([]);
});

it("/healthz answers 503 when the Socket Mode connection drops or the store cannot save, 200 again when it reconnects", async () => {
  const fake = await new FakeSlack().start();
  const ws = await new MiniWsServer().start();
  fake.handlers.set("apps.connections.open", () => ({ ok: true, url: ws.url }));
  cleanup.push(
    () => fake.stop(),
    () => ws.stop(),
  );
  let storeOk = true;
  const bot: RunningBot = await startBot(
    loadConfig({ SLACK_BOT_TOKEN: "xoxb-t", SLACK_APP_TOKEN: "xapp-1-A0TEST-1-abc", PORT: "0", SLACK_API_URL: fake.apiUrl, TRAILHOUND_TEAM_ID: "T0TEST" }),
    { store: TrailStore.memory(), scans: new FakeScans(TrailStore.memory()), log: silentLogger, clientOptions: { retryConfig: { retries: 0 } }, storeHealthy: () => storeOk },
  );
  cleanup.unshift(() => bot.stop());
  const health = async () => {
    const r = await httpRequest(`http://127.0.0.1:${bot.port}/healthz`, "GET", {});
    return [r.status, JSON.parse(r.body) as Record<string, unknown>] as const;
  };
  expect(await health()).toMatchObject([200, { ok: true, slack: true, store: true }]);
  storeOk = false;
  expect(await health()).toMatchObject([503, { ok: false, slack: true, store: false }]);
  storeOk = true;
  // The server drops the connection: down at once; up again when the client has reconnected.
  const client = (bot.app as unknown as { receiver: { client: { once(ev: string, fn: () => void): void } } }).receiver.client;
  const event = (ev: string) => new Promise<void>((r) => client.once(ev, r));
  const closed = event("close");
  ws.socket?.destroy();
  await closed;
  expect(await health()).toMatchObject([503, { ok: false, slack: false }]);
  const connected = event("connected");
  await connected;
  expect(await health()).toMatchObject([200, { ok: true, slack: true }]);
});

it("over Socket Mode: malformed payloads and unknown ids are acked at once, non-viewers refused, the bot keeps running", async () => {
  const fake = await new FakeSlack().start();
  const ws = await new MiniWsServer().start();
  fake.handlers.set("apps.connections.open", () => ({ ok: true, url: ws.url }));
  cleanup.push(
    () => fake.stop(),
    () => ws.stop(),
  );
  const store = TrailStore.memory();
  const scans = new FakeScans(store);
  await store.recordFindings([makeFinding(1)], Date.now());
  const bot: RunningBot = await startBot(
    loadConfig({
      SLACK_BOT_TOKEN: "xoxb-t",
      SLACK_APP_TOKEN: "xapp-1-A0TEST-1-abc",
      SLACK_API_URL: fake.apiUrl,
      TRAILHOUND_TEAM_ID: "T0TEST",
      TRAILHOUND_VIEWERS: "U0VIEW",
      TRAILHOUND_ADMINS: "U0ADMIN",
    }),
    { store, scans, log: silentLogger, clientOptions: { retryConfig: { retries: 0 } }, settings: { progressIntervalMs: 10, threadPostIntervalMs: 0 } },
  );
  cleanup.unshift(() => bot.stop());
  const command = (text: string, user: string) => ({
    token: "vtok123",
    team_id: "T0TEST",
    team_domain: "acme",
    channel_id: "C0TEST",
    channel_name: "security",
    user_id: user,
    user_name: "x",
    command: "/cloudtrail",
    text,
    api_app_id: "A0TEST",
    is_enterprise_install: "false",
    response_url: fake.responseUrl("sock"),
    trigger_id: "1.2.3",
  });
  let n = 0;
  let tried = 0;
  const roundTrip = async (type: string, payload: unknown): Promise<Record<string, unknown>> => {
    const id = `m${++n}`;
    const t0 = Date.now();
    ws.send({ envelope_id: id, type, accepts_response_payload: true, payload });
    const ack = await ws.waitFor((m) => m.envelope_id === id, 2000);
    expect(Date.now() - t0, `${type} ${JSON.stringify(payload)}`).toBeLessThan(1000);
    return ack;
  };
  const malformed: Array<[string, unknown]> = [
    ["interactive", null],
    ["interactive", []],
    ["interactive", 42],
    ["interactive", {}],
    ["interactive", { type: "block_actions", user: { id: "U0VIEW" }, team: { id: "T0TEST" } }],
    ["interactive", { type: "block_actions", user: { id: "U0VIEW" }, team: { id: "T0TEST" }, actions: [null] }],
    ["interactive", { type: "view_submission", user: { id: "U0ADMIN" }, team: { id: "T0TEST" }, view: null }],
    ["slash_commands", null],
    ["slash_commands", { command: "/cloudtrail", text: "scan", user_id: ["U0VIEW"], channel_id: "C0TEST", team_id: "T0TEST" }],
    ["events_api", null],
    ["events_api", { type: "event_callback", team_id: "T0TEST", event: null }],
  ];
  for (const [type, payload] of malformed) {
    tried++;
    await roundTrip(type, payload);
    const help = await roundTrip("slash_commands", command("help", "U0VIEW"));
    expect(JSON.stringify(help.payload)).toContain("scan user NAME");
  }
  // Unknown action id: acked at once.
  tried++;
  await roundTrip("interactive", {
    type: "block_actions",
    user: { id: "U0VIEW", team_id: "T0TEST" },
    team: { id: "T0TEST" },
    actions: [{ action_id: "nope", value: "x", block_id: "b" }],
    container: { type: "message", channel_id: "C0TEST", message_ts: "1.1" },
  });
  // A non-viewer: refused privately, audited; the viewer gets the scan.
  tried++;
  const refused = await roundTrip("slash_commands", command("scan user alice0", "U0USER"));
  expect((refused.payload as { text: string }).text).toContain("Only trailhound viewers");
  const ok = await roundTrip("slash_commands", command("scan user alice0", "U0VIEW"));
  expect((ok.payload as { text: string }).text).toContain("Working on it");
  await fake.waitFor((c) => c.find((x) => x.method === "chat.update" && JSON.stringify(x.args.blocks ?? []).includes('"sum:h"')), 5000, "the result");
  expect(scans.requests.map((r) => r.requestedBy)).toEqual(["U0VIEW"]);
  // The audit: for the admin, not for the viewer.
  tried++;
  expect(((await roundTrip("slash_commands", command("audit", "U0VIEW"))).payload as { text: string }).text).toContain("Only trailhound admins");
  const audit = await roundTrip("slash_commands", command("audit 50", "U0ADMIN"));
  expect(JSON.stringify(audit.payload)).toContain("request:malformed");
  expect(JSON.stringify(audit.payload)).toContain("scan:user alice0");
  expect(store.getFinding("f0001")!.status).toBe("open");
  console.log(`robustness (Socket Mode): ${tried} requests tried, ${scans.requests.length - 1} acted on when they should not have been, 0 crashes`);
  expect(fake.unexpected).toEqual([]);
  expect(fake.invalid).toEqual([]);
});
