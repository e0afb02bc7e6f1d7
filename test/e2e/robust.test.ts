/**
 * Replays, malformed bodies, unknown ids and decisions, through the real Bolt app over HTTP with
 * signed requests (Socket Mode: socket-mode.test.ts). Figures for the report are printed at the
 * end: requests tried, acted on when they should not have been, and crashes (the process would
 * not answer the next request).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { formEncode, httpRequest } from "../../src/testing/slack-wire.js";
import { silentLogger } from "../../src/log.js";
import { onUnhandledRejection, installProcessGuards, shapeProblem } from "../../src/slack/robust.js";
import { TrailStore } from "../../src/store/store.js";
import { makeFinding } from "../slack/support/fixtures.js";
import { ADMIN, buttonClick, CHANNEL, SECRET, sign, startTestBot, USER, type TestBot } from "../slack/support/harness.js";

let bots: TestBot[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const b of bots) {
    await b.stop();
    expect(b.fake.unexpected).toEqual([]);
    expect(b.fake.invalid).toEqual([]);
  }
  bots = [];
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function bot(o: Parameters<typeof startTestBot>[0] = {}): Promise<TestBot> {
  const b = await startTestBot(o);
  bots.push(b);
  return b;
}

const tally = { tried: 0, actedOn: 0, crashes: 0 };

/** The bot still answers a normal request (after a malformed one). */
async function alive(t: TestBot): Promise<void> {
  const r = await t.command("help");
  if (r.status !== 200 || !r.body.includes("scan user NAME")) tally.crashes++;
  expect(r.status).toBe(200);
}

function rawPost(t: TestBot, body: string, headers: Record<string, string>) {
  return httpRequest(`${t.base}/slack/events`, "POST", { "content-type": "application/x-www-form-urlencoded", ...headers }, body);
}

describe("replays", () => {
  it("refuses a replay whatever is appended to the signature or however the timestamp is written, and audits it", async () => {
    const t = await bot();
    const body = t.commandBody("scan user alice0");
    const ts = Math.floor(Date.now() / 1000) - 30;
    const sig = sign(body, ts, SECRET);
    expect((await t.post(body, { ts })).status).toBe(200);
    const variants: Array<Record<string, string>> = [
      { "x-slack-signature": sig, "x-slack-request-timestamp": String(ts) }, // the same request again
      { "x-slack-signature": `${sig}=x`, "x-slack-request-timestamp": String(ts) }, // Bolt ignores what follows the digest
      { "x-slack-signature": `${sig}=`, "x-slack-request-timestamp": String(ts) },
      { "x-slack-signature": `${sig}=v0=${"0".repeat(64)}`, "x-slack-request-timestamp": String(ts) },
      { "x-slack-signature": sig.toUpperCase().replace("V0=", "v0="), "x-slack-request-timestamp": String(ts) },
      { "x-slack-signature": sig, "x-slack-request-timestamp": `${ts}.0` }, // Number() reads the same seconds
      { "x-slack-signature": sig, "x-slack-request-timestamp": ` ${ts}` },
      { "x-slack-signature": sig, "x-slack-request-timestamp": `0${ts}` },
      { "x-slack-signature": sig, "x-slack-request-timestamp": `0x${ts.toString(16)}` },
    ];
    for (const h of variants) {
      tally.tried++;
      const r = await rawPost(t, body, h);
      expect(r.status, JSON.stringify(h)).toBe(401);
      expect(r.ms).toBeLessThan(1000);
    }
    await t.fake.waitFor((c) => c.find((x) => x.method === "chat.update" && JSON.stringify(x.args.blocks ?? []).includes('"sum:h"')), 5000, "the one result");
    if (t.scans.requests.length !== 1) tally.actedOn += t.scans.requests.length - 1;
    expect(t.scans.requests).toHaveLength(1);
    const refused = t.store.auditLog(50).filter((e) => e.action === "refused");
    expect(refused.some((e) => e.target === "request:replay" && e.actor === USER)).toBe(true);
    expect(refused.some((e) => e.target === "request:signature" && e.actor === "unverified" && String(e.detail).includes("malformed signature header"))).toBe(true);
    // A fresh timestamp on the same body is a new request (Slack signs each one).
    expect((await t.post(body)).status).toBe(200);
  });

  it("refuses a replay after a restart (the guard is kept in the store)", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "th-replay-"));
    dirs.push(dir);
    const body = (t: TestBot) => t.commandBody("scan user alice0", { responseId: "fixed" }).replace(/trigger_id=[^&]*/, "trigger_id=1.2.3");
    const ts = Math.floor(Date.now() / 1000) - 10;

    const store1 = await TrailStore.open(dir);
    const first = await startTestBot({ deps: { store: store1 } });
    const b1 = body(first);
    expect((await first.post(b1, { ts })).status).toBe(200);
    await first.fake.waitFor((c) => c.find((x) => x.method === "chat.update" && JSON.stringify(x.args.blocks ?? []).includes('"sum:h"')), 5000, "the result");
    await first.stop();
    await store1.close();

    const store2 = await TrailStore.open(dir);
    const second = await startTestBot({ deps: { store: store2 } });
    try {
      // The fake Slack moved to another port: the body is the captured one, byte for byte.
      tally.tried += 2;
      expect((await second.post(b1, { ts })).status).toBe(401);
      expect((await second.post(b1, { ts, signature: `${sign(b1, ts, SECRET)}=again` })).status).toBe(401);
      tally.actedOn += second.scans.requests.length;
      expect(second.scans.requests).toHaveLength(0);
      await store2.flush();
      expect(store2.auditLog(20).some((e) => e.target === "request:replay")).toBe(true);
    } finally {
      await second.stop();
      await store2.close();
    }
  });
});

describe("malformed signed bodies", () => {
  const interactions: Array<[string, string]> = [
    ["payload=null", "null"],
    ["payload=[]", "[]"],
    ["payload=42", "42"],
    ['payload="x"', '"x"'],
    ["payload={}", "{}"],
    ["block_actions without actions", JSON.stringify({ type: "block_actions", user: { id: USER, team_id: "T0TEST" }, team: { id: "T0TEST" } })],
    ["actions not a list", JSON.stringify({ type: "block_actions", user: { id: USER }, team: { id: "T0TEST" }, actions: "finding_ack" })],
    ["action without id", JSON.stringify({ type: "block_actions", user: { id: USER }, team: { id: "T0TEST" }, actions: [{ value: "f0001" }] })],
    ["actions [null]", JSON.stringify({ type: "block_actions", user: { id: USER }, team: { id: "T0TEST" }, actions: [null] })],
    ["user null", JSON.stringify({ type: "block_actions", user: null, team: { id: "T0TEST" }, actions: [{ action_id: "finding_ack", value: "f0001" }] })],
    [
      "message blocks not a list",
      JSON.stringify({
        type: "block_actions",
        user: { id: USER },
        team: { id: "T0TEST" },
        message: { ts: "1.1", blocks: "x" },
        actions: [{ action_id: "finding_ack", value: "f0001" }],
      }),
    ],
    [
      "container a string",
      JSON.stringify({ type: "block_actions", user: { id: USER }, team: { id: "T0TEST" }, container: "x", actions: [{ action_id: "finding_details", value: "f0001" }] }),
    ],
    ["view null", JSON.stringify({ type: "view_submission", user: { id: ADMIN }, team: { id: "T0TEST" }, view: null })],
    [
      "view without state",
      JSON.stringify({ type: "view_submission", user: { id: ADMIN }, team: { id: "T0TEST" }, view: { callback_id: "suppress_modal", private_metadata: "{}" } }),
    ],
    [
      "private_metadata an object",
      JSON.stringify({
        type: "view_submission",
        user: { id: ADMIN },
        team: { id: "T0TEST" },
        view: { callback_id: "suppress_modal", private_metadata: { f: "f0001" }, state: { values: {} } },
      }),
    ],
    [
      "state values wrong",
      JSON.stringify({
        type: "view_submission",
        user: { id: ADMIN },
        team: { id: "T0TEST" },
        view: { callback_id: "suppress_modal", private_metadata: '{"f":"f0001"}', state: { values: { scope: null, reason: 5 } } },
      }),
    ],
    ["payload not JSON", "{"],
  ];

  it("answers each at once with no effect, and the bot keeps answering", async () => {
    const t = await bot();
    await t.store.recordFindings([makeFinding(1)], Date.now());
    for (const [name, payload] of interactions) {
      tally.tried++;
      const r = await t.post(formEncode({ payload }));
      expect([200, 400], name).toContain(r.status);
      expect(r.ms, name).toBeLessThan(1000);
      await alive(t);
    }
    // Form fields that are not strings (repeated keys), JSON sent as a form, form sent as JSON, a JSON null event body.
    const odd: Array<[string, string, string]> = [
      ["repeated user_id", t.commandBody("scan user alice0") + `&user_id=${ADMIN}`, "application/x-www-form-urlencoded"],
      ["repeated command", t.commandBody("status") + "&command=%2Fother", "application/x-www-form-urlencoded"],
      ["JSON as a form", JSON.stringify({ type: "event_callback", event: { type: "app_home_opened", user: USER, tab: "home" } }), "application/x-www-form-urlencoded"],
      ["form as JSON", t.commandBody("status"), "application/json"],
      ["JSON null", "null", "application/json"],
      ["JSON array", "[1,2]", "application/json"],
      ["event null", JSON.stringify({ type: "event_callback", team_id: "T0TEST", event: null }), "application/json"],
      ["event without type", JSON.stringify({ type: "event_callback", team_id: "T0TEST", event: { user: USER } }), "application/json"],
      ["charset in content type", t.commandBody("status"), "application/x-www-form-urlencoded; charset=utf-8"],
      ["empty body", "", "application/x-www-form-urlencoded"],
    ];
    for (const [name, body, contentType] of odd) {
      tally.tried++;
      const r = await t.post(body, { contentType });
      expect([200, 400], name).toContain(r.status);
      expect(r.ms, name).toBeLessThan(1000);
      await alive(t);
    }
    if (t.scans.requests.length > 0 || t.store.getFinding("f0001")!.status !== "open" || t.store.activeSuppressions(Date.now()).length > 0) tally.actedOn++;
    expect(t.scans.requests).toHaveLength(0);
    expect(t.store.getFinding("f0001")!.status).toBe("open");
    expect(t.store.activeSuppressions(Date.now())).toHaveLength(0);
    expect(t.store.auditLog(100).filter((e) => e.target === "request:malformed").length).toBeGreaterThan(10);
  }, 60000);

  it("unknown action ids, callback ids, commands and events are answered at once (no 3-second 404)", async () => {
    const t = await bot();
    const click = buttonClick(t.fake, { actionId: "no_such_action", value: "x", blockId: "b", message: { ts: "1.1", text: "x", blocks: [] } });
    const shortcut = { type: "shortcut", callback_id: "nope", trigger_id: "1.2.3", user: { id: USER, team_id: "T0TEST" }, team: { id: "T0TEST" } };
    const closed = { type: "view_closed", user: { id: USER, team_id: "T0TEST" }, team: { id: "T0TEST" }, view: { callback_id: "nope", id: "V1" } };
    const submitted = { type: "view_submission", user: { id: USER, team_id: "T0TEST" }, team: { id: "T0TEST" }, view: { callback_id: "nope", id: "V1", state: { values: {} } } };
    for (const p of [click, shortcut, closed, submitted]) {
      tally.tried++;
      const r = await t.interaction(p);
      expect(r.status).toBe(200);
      expect(r.ms).toBeLessThan(1000);
    }
    tally.tried++;
    const other = await t.post(t.commandBody("status").replace("command=%2Fcloudtrail", "command=%2Fother"));
    expect(other.status).toBe(200);
    expect(other.ms).toBeLessThan(1000);
    tally.tried++;
    const ev = JSON.stringify({
      token: "v",
      team_id: "T0TEST",
      api_app_id: "A0TEST",
      type: "event_callback",
      event_id: "Ev9",
      event_time: 1,
      event: { type: "reaction_added", user: USER },
    });
    const r = await t.post(ev, { contentType: "application/json" });
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(1000);
    await alive(t);
  });
});

describe("decisions", () => {
  it("acknowledging a suppressed finding keeps the suppression; a second acknowledgement keeps the first; all in the history", async () => {
    const t = await bot();
    await t.store.recordFindings([makeFinding(1), makeFinding(2)], Date.now());
    const f1 = t.store.getFinding("f0001")!.finding;
    const s = await t.store.suppress(
      { scope: "identity-detector", identityKey: f1.identity.key, detector: f1.detector, until: Date.now() + 86_400_000, reason: "known CI role", by: ADMIN },
      Date.now(),
    );
    expect(t.store.getFinding("f0001")!.status).toBe("suppressed");

    const message = { ts: "1.1", text: "x", blocks: [] };
    tally.tried++;
    await t.interaction(buttonClick(t.fake, { actionId: "finding_ack", value: "f0001", blockId: "fnd:0:a", message }));
    const note = await t.fake.waitFor((c) => c.find((x) => x.method === "respond" && String(x.json?.text).includes("suppression stays")), 5000, "the note");
    expect(String(note.json?.text)).toContain(s.id);
    const after = t.store.getFinding("f0001")!;
    if (after.status !== "suppressed") tally.actedOn++;
    expect(after).toMatchObject({ status: "suppressed", suppressedBy: s.id });
    expect(after.acknowledged).toBeUndefined();
    expect(after.history.map((h) => [h.action, h.by])).toEqual([
      ["suppress", ADMIN],
      ["ack", USER],
    ]);

    // f0002: acknowledged by USER, then by ADMIN: USER's stays.
    await t.interaction(buttonClick(t.fake, { actionId: "finding_ack", value: "f0002", blockId: "fnd:1:a", message }));
    await t.fake.waitFor(() => (t.store.getFinding("f0002")!.status === "acknowledged" ? true : undefined), 5000, "the first ack");
    tally.tried++;
    await t.interaction(buttonClick(t.fake, { actionId: "finding_ack", value: "f0002", blockId: "fnd:1:a", user: ADMIN, message }));
    const already = await t.fake.waitFor((c) => c.find((x) => x.method === "respond" && String(x.json?.text).includes("Already acknowledged")), 5000, "already");
    expect(String(already.json?.text)).toContain(`<@${USER}>`);
    const f2 = t.store.getFinding("f0002")!;
    if (f2.acknowledged?.by !== USER) tally.actedOn++;
    expect(f2.acknowledged?.by).toBe(USER);
    expect(f2.history.map((h) => [h.action, h.by])).toEqual([
      ["ack", USER],
      ["ack", ADMIN],
    ]);

    // Ending the suppression is in f0001's history too; a scan covering it again as well.
    await t.store.unsuppress(s.id, ADMIN, Date.now());
    expect(t.store.getFinding("f0001")!.history.at(-1)).toMatchObject({ action: "unsuppress", by: ADMIN });
    const s2 = await t.store.suppress({ scope: "identity", identityKey: f1.identity.key, until: Date.now() + 86_400_000, reason: "noisy", by: ADMIN }, Date.now());
    await t.store.recordFindings([makeFinding(1)], Date.now());
    expect(t.store.getFinding("f0001")!.suppressedBy).toBe(s2.id);
    expect(t.store.getFinding("f0001")!.history.at(-1)).toMatchObject({ action: "suppress" });
    expect(
      t.store
        .auditLog(20)
        .filter((e) => e.action === "ack")
        .map((e) => e.actor),
    ).toEqual(expect.arrayContaining([USER, ADMIN]));
    void CHANNEL;
  });
});

describe("process guard", () => {
  it("logs an unhandled rejection instead of ending the process", () => {
    const lines: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
    const log = { ...silentLogger, error: (msg: string, fields?: Record<string, unknown>) => void lines.push({ msg, ...(fields ? { fields } : {}) }) };
    const before = process.listenerCount("unhandledRejection");
    const remove = installProcessGuards(log);
    expect(process.listenerCount("unhandledRejection")).toBe(before + 1);
    onUnhandledRejection(log)(new Error("boom in a handler"));
    expect(lines[0]?.msg).toContain("unhandled rejection");
    expect(String((lines[0]?.fields?.err as Error | undefined)?.message)).toBe("boom in a handler");
    remove();
    expect(process.listenerCount("unhandledRejection")).toBe(before);
    expect(shapeProblem(null)).toContain("null");
  });
});

describe("figures", () => {
  it("nothing acted on, no crash", () => {
    console.log(`robustness (HTTP): ${tally.tried} requests tried, ${tally.actedOn} acted on when they should not have been, ${tally.crashes} crashes`);
    expect(tally.actedOn).toBe(0);
    expect(tally.crashes).toBe(0);
  });
});
