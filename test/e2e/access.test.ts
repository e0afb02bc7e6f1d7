/**
 * Who sees what, through the real Bolt app over HTTP with signed requests: viewers
 * (TRAILHOUND_VIEWERS), guests, admins only when unset, TRAILHOUND_CHANNELS, the per-person scan
 * limit and `/cloudtrail audit`. Every refusal is private, acts on nothing and is audited.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.js";
import { deferred, makeFinding, makeReport } from "../slack/support/fixtures.js";
import { ADMIN, buttonClick, CHANNEL, homeOpened, startTestBot, USER, type TestBot } from "../slack/support/harness.js";

let t: TestBot | undefined;
afterEach(async () => {
  const cur = t;
  t = undefined;
  if (!cur) return;
  await cur.stop();
  expect(cur.fake.unexpected).toEqual([]);
  expect(cur.fake.invalid).toEqual([]);
});

const VIEWER = "U0VIEW";
/** Requests tried that should have been refused, and those acted on anyway (the report's figures). */
const tally = { tried: 0, actedOn: 0 };

function ackText(body: string): string {
  return String((JSON.parse(body) as { text?: string }).text);
}

function refusals(bot: TestBot, actor: string): string[] {
  return bot.store
    .auditLog(100)
    .filter((e) => e.action === "refused" && e.actor === actor)
    .map((e) => e.target);
}

describe("a workspace member who is not a viewer", () => {
  it("cannot scan, read status, suppressions, baselines or the audit log, open Home with findings, open Details or acknowledge", async () => {
    t = await startTestBot({ env: { TRAILHOUND_VIEWERS: `${VIEWER},S0VIEW` }, groups: { S0VIEW: ["U0GVIEW"] } });
    await t.store.recordFindings([makeFinding(1)], Date.now());

    for (const text of ["scan user alice0", "scan account 7d", "status", "suppressions", "baseline user alice0", "audit"]) {
      tally.tried++;
      const r = await t.command(text);
      expect(r.status, text).toBe(200);
      expect(r.ms, text).toBeLessThan(3000);
      expect(JSON.parse(r.body), text).toMatchObject({ response_type: "ephemeral" });
      expect(ackText(r.body), text).toMatch(/Only trailhound (viewers|admins)/);
      expect(r.body, text).not.toContain("alice0@"); // nothing about findings
    }
    expect(t.scans.requests).toHaveLength(0);
    expect(t.fake.of("chat.postMessage")).toHaveLength(0);

    // Home: a refusal, no finding, no suppression.
    tally.tried++;
    expect((await t.post(homeOpened("Ev1"), { contentType: "application/json" })).status).toBe(200);
    const home = await t.fake.waitFor((c) => c.find((x) => x.method === "views.publish"), 5000, "the Home tab");
    const homeJson = JSON.stringify(home.args.view);
    expect(homeJson).toContain("Only trailhound viewers");
    expect(homeJson).not.toContain("f0001");
    expect(homeJson).not.toContain("CreateAccessKey");

    // Details and Acknowledge on a finding in a channel message.
    const message = { ts: "1700000000.000100", text: "x", blocks: [] };
    tally.tried += 2;
    await t.interaction(buttonClick(t.fake, { actionId: "finding_details", value: "f0001", blockId: "fnd:0:a", message }));
    await t.interaction(buttonClick(t.fake, { actionId: "finding_ack", value: "f0001", blockId: "fnd:0:a", message }));
    await t.fake.waitFor((c) => (c.filter((x) => x.method === "respond").length >= 2 ? true : undefined), 5000, "two refusals");
    for (const r of t.fake.of("respond")) {
      expect(r.json).toMatchObject({ response_type: "ephemeral", replace_original: false });
      expect(String(r.json?.text)).toContain("Only trailhound viewers");
      expect(JSON.stringify(r.json)).not.toContain("CreateAccessKey");
    }
    // Details from Home (a modal) is refused the same way.
    tally.tried++;
    await t.interaction(buttonClick(t.fake, { actionId: "finding_details", value: "f0001", blockId: "fnd:0:a", view: true }));
    const modal = await t.fake.waitFor((c) => c.find((x) => x.method === "views.open"), 5000, "the refusal modal");
    expect(JSON.stringify(modal.args.view)).toContain("Only trailhound viewers");
    expect(JSON.stringify(modal.args.view)).not.toContain("CreateAccessKey");

    if (t.fake.of("chat.postMessage").length > 0 || t.scans.requests.length > 0 || t.store.getFinding("f0001")!.status !== "open") tally.actedOn++;
    expect(t.store.getFinding("f0001")!.status).toBe("open");
    expect(t.fake.of("chat.postMessage")).toHaveLength(0);
    const targets = refusals(t, USER);
    expect(targets).toEqual(
      expect.arrayContaining(["scan:user alice0", "scan:the whole account", "status", "suppressions", "baseline:user alice0", "audit", "home", "details:f0001", "ack:f0001"]),
    );

    // A viewer (directly, or through a user group) may.
    const ok = await t.command("status", { user: VIEWER });
    expect(ackText(ok.body)).not.toContain("Only trailhound");
    const viaGroup = await t.command("baseline user alice0", { user: "U0GVIEW" });
    expect(ackText(viaGroup.body)).not.toContain("Only trailhound");
  });

  it("TRAILHOUND_VIEWERS unset: admins only", async () => {
    const lines: string[] = [];
    t = await startTestBot({ env: { TRAILHOUND_VIEWERS: "" }, log: createLogger({ level: "warn", write: (l) => void lines.push(l) }) });
    expect(lines.some((l) => l.includes("TRAILHOUND_VIEWERS is not set: only admins may run scans"))).toBe(true);
    tally.tried++;
    const r = await t.command("scan user alice0");
    expect(ackText(r.body)).toContain("Only trailhound admins may see findings");
    expect(t.scans.requests).toHaveLength(0);
    const admin = await t.command("scan user alice0", { user: ADMIN });
    expect(ackText(admin.body)).toContain("Working on it");
    await t.fake.waitFor((c) => c.find((x) => x.method === "chat.update" && JSON.stringify(x.args.blocks ?? []).includes('"sum:h"')), 5000, "the admin's result");
    expect(t.scans.requests).toHaveLength(1);
  });
});

describe("guests", () => {
  it("are never viewers, not even with `*` or when listed, and a failed users.info refuses", async () => {
    t = await startTestBot({ env: { TRAILHOUND_VIEWERS: "*,U0GUEST2", TRAILHOUND_ADMINS: `${ADMIN},U0GUEST2` } });
    t.fake.users.set(USER, { is_restricted: true });
    t.fake.users.set("U0GUEST2", { is_ultra_restricted: true });
    t.fake.users.set("U0GONE", { deleted: true });
    t.fake.users.set("U0NOBODY", null);
    await t.store.recordFindings([makeFinding(1)], Date.now());
    for (const [user, want] of [
      [USER, "Guest accounts cannot use trailhound"],
      ["U0GUEST2", "Guest accounts cannot use trailhound"],
      ["U0GONE", "cannot use trailhound"],
      ["U0NOBODY", "could not check your Slack account"],
    ] as const) {
      tally.tried += 2;
      expect(ackText((await t.command("scan account", { user })).body), user).toContain(want);
      expect(ackText((await t.command("suppressions", { user })).body), user).toContain(want);
    }
    tally.tried++;
    await t.interaction(buttonClick(t.fake, { actionId: "finding_ack", value: "f0001", blockId: "fnd:0:a", message: { ts: "1.1", text: "x", blocks: [] } }));
    const r = await t.fake.waitFor((c) => c.find((x) => x.method === "respond"), 5000, "the refusal");
    expect(String(r.json?.text)).toContain("Guest accounts");
    expect(t.store.getFinding("f0001")!.status).toBe("open");
    expect(t.scans.requests).toHaveLength(0);
    // users.info is asked once per user and cached.
    expect(t.fake.of("users.info").filter((c) => c.args.user === USER)).toHaveLength(1);
    // A full member is a viewer with `*`.
    expect(ackText((await t.command("suppressions", { user: "U0MEMBER" })).body)).not.toContain("cannot");
  });
});

describe("TRAILHOUND_CHANNELS", () => {
  it("results and Details go privately outside the listed channels", async () => {
    t = await startTestBot({ env: { TRAILHOUND_CHANNELS: "C0SEC" } });
    t.scans.report = makeReport([makeFinding(1)]);
    const r = await t.command("scan user alice0", { responseId: "elsewhere" });
    expect(ackText(r.body)).toContain("Working on it");
    const result = await t.fake.waitFor(
      (c) => c.find((x) => x.method === "respond" && x.args.id === "elsewhere" && JSON.stringify(x.json?.blocks ?? []).includes("CreateAccessKey")),
      5000,
      "the private result",
    );
    expect(result.json?.response_type).toBe("ephemeral");
    expect(t.fake.of("chat.postMessage")).toHaveLength(0);
    await t.interaction(buttonClick(t.fake, { actionId: "finding_details", value: "f0001", blockId: "fnd:0:a", channel: CHANNEL, message: { ts: "1.1", text: "x", blocks: [] } }));
    const det = await t.fake.waitFor((c) => c.find((x) => x.method === "respond" && String(x.json?.text).startsWith("Details")), 5000, "private details");
    expect(det.json?.response_type).toBe("ephemeral");
    expect(t.fake.of("chat.postMessage")).toHaveLength(0);

    // In a listed channel: posted there as usual.
    await t.command("scan user alice0", { channel: "C0SEC" });
    const post = await t.fake.waitFor((c) => c.find((x) => x.method === "chat.postMessage"), 5000, "the channel post");
    expect(post.args.channel).toBe("C0SEC");
  });
});

describe("per-person scan limit", () => {
  it("refuses a third running or waiting scan from one person with a clear message; others still get theirs", async () => {
    t = await startTestBot({ deps: { maxConcurrentScans: 1 } });
    t.scans.gate = deferred();
    expect(ackText((await t.command("scan user a")).body)).toContain("Working on it");
    expect(ackText((await t.command("scan user b")).body)).toContain("Working on it");
    tally.tried++;
    const third = await t.command("scan user c");
    expect(ackText(third.body)).toContain("You already have 2 scans running or waiting");
    expect(ackText((await t.command("scan user d", { user: ADMIN })).body)).toContain("Working on it");
    expect(refusals(t, USER)).toContain("scan:user c");
    t.scans.gate.resolve();
    await t.fake.waitFor(
      (c) => (c.filter((x) => x.method === "chat.update" && JSON.stringify(x.args.blocks ?? []).includes('"sum:h"')).length >= 3 ? true : undefined),
      10000,
      "three results",
    );
    expect(t.scans.requests.map((r) => r.target.value).sort()).toEqual(["a", "b", "d"]);
    // Finished scans free the slots.
    expect(ackText((await t.command("scan user e")).body)).toContain("Working on it");
  }, 20000);
});

describe("/cloudtrail audit", () => {
  it("shows admins the newest entries (refusals included), privately; refuses everyone else", async () => {
    t = await startTestBot({ env: { TRAILHOUND_VIEWERS: VIEWER } });
    await t.command("scan user alice0"); // refused: USER is not a viewer
    tally.tried++;
    const refused = await t.command("audit", { user: VIEWER });
    expect(ackText(refused.body)).toContain("Only trailhound admins may read the audit log");
    const r = await t.command("audit 5", { user: ADMIN });
    const body = JSON.parse(r.body) as { response_type: string; blocks: unknown[] };
    expect(body.response_type).toBe("ephemeral");
    const json = JSON.stringify(body.blocks);
    expect(json).toContain(`<@${USER}>`);
    expect(json).toContain("refused");
    expect(json).toContain("scan:user alice0");
    expect(json).toContain(`<@${VIEWER}>`);
    expect(ackText((await t.command("audit 0", { user: ADMIN })).body)).toContain("did not understand");
  });
});

describe("figures", () => {
  it("no refused request was acted on", () => {
    // Printed for the report: requests tried that must be refused, and how many were acted on.
    console.log(`access: ${tally.tried} requests tried that must be refused, ${tally.actedOn} acted on`);
    expect(tally.actedOn).toBe(0);
  });
});
