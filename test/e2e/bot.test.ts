/**
 * The real bot over HTTP: Bolt's HTTP receiver on a random port, requests signed and encoded
 * exactly as Slack sends them, the Web API and response_urls answered by a local fake Slack that
 * also checks every payload against the Block Kit limits.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { emptyProfile } from "../../src/baseline/profile.js";
import type { ApiCall } from "../../src/testing/fake-slack.js";
import { deferred, makeFinding, makeReport } from "../slack/support/fixtures.js";
import { ADMIN, buttonClick, homeOpened, CHANNEL, httpRequest, SECRET, sign, startTestBot, suppressSubmission, USER, type TestBot } from "../slack/support/harness.js";

let t: TestBot;

afterEach(async () => {
  if (!t) return;
  const cur = t;
  t = undefined!; // each test starts its own bot
  await cur.stop();
  expect(cur.fake.unexpected).toEqual([]);
  expect(cur.fake.invalid).toEqual([]);
});

/** The last version of the result message (chat.update with finding blocks). */
async function resultMessage(bot: TestBot): Promise<{ ts: string; text: string; blocks: Array<Record<string, unknown>> }> {
  const call = await bot.fake.waitFor(
    (calls) => [...calls].reverse().find((c) => c.method === "chat.update" && JSON.stringify(c.args.blocks ?? []).includes('"sum:h"')),
    5000,
    "the result message",
  );
  return { ts: String(call.args.ts), text: String(call.args.text), blocks: call.args.blocks as Array<Record<string, unknown>> };
}

function latestUpdateOf(bot: TestBot, ts: string): ApiCall | undefined {
  return [...bot.fake.calls].reverse().find((c) => c.method === "chat.update" && c.args.ts === ts);
}

function blockIdOf(blocks: Array<Record<string, unknown>>, action: string, value: string): string {
  for (const b of blocks) {
    if (b.type !== "actions") continue;
    for (const e of b.elements as Array<Record<string, unknown>>) if (e.action_id === action && e.value === value) return String(b.block_id);
  }
  throw new Error(`no ${action} button for ${value}`);
}

describe("slash command /cloudtrail scan", () => {
  beforeEach(async () => {
    t = await startTestBot();
  });

  it("acks at once with an ephemeral working reply, shows progress, then the result with buttons", async () => {
    t.scans.gate = deferred();
    const started = t.scans.started();
    const res = await t.command("scan user alice0 24h");
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(3000);
    const ack = JSON.parse(res.body) as { response_type: string; text: string };
    expect(ack.response_type).toBe("ephemeral");
    expect(ack.text).toContain("Working on it");
    expect(ack.text).toContain("`user alice0`");
    await started;
    expect(t.scans.requests[0]).toEqual({ target: { kind: "user", value: "alice0" }, since: "24h", requestedBy: USER });

    const scanning = await t.fake.waitFor((c) => c.find((x) => x.method === "chat.postMessage"), 5000, "the scanning message");
    expect(scanning.args.channel).toBe(CHANNEL);
    expect(String(scanning.args.text)).toContain("Scanning");
    await t.fake.waitFor((c) => c.find((x) => x.method === "chat.update" && JSON.stringify(x.args.blocks).includes("reading us-east-1 page 1")), 5000, "progress");

    t.scans.gate.resolve();
    const result = await resultMessage(t);
    const json = JSON.stringify(result.blocks);
    expect(json).toContain("First CreateAccessKey by this identity");
    expect(json).toContain("41 days of history");
    expect(json).toContain("T1098.001");
    expect(json).toContain("Who created the key");
    expect(blockIdOf(result.blocks, "finding_ack", "f0001")).toBe("fnd:0:a");
    blockIdOf(result.blocks, "finding_suppress", "f0001");
    blockIdOf(result.blocks, "finding_details", "f0001");
    expect(result.text).toContain("1 finding");
    const audit = t.store.auditLog(10);
    expect(audit.some((e) => e.action === "scan" && e.actor === USER && e.target === "user alice0")).toBe(true);
  });

  it("acks within 3 seconds while a slow scan is still running", async () => {
    t.scans.delayMs = 4000;
    const first = t.command("scan account 7d");
    await t.scans.started();
    const second = await t.command("scan ip 203.0.113.7");
    expect(second.status).toBe(200);
    expect(second.ms).toBeLessThan(3000);
    expect(second.ms).toBeLessThan(500);
    expect((await first).status).toBe(200);
    // The first scan is still running: no result yet.
    expect(t.fake.calls.some((c) => c.method === "chat.update" && JSON.stringify(c.args.blocks ?? []).includes('"sum:h"'))).toBe(false);
    t.scans.delayMs = 0;
  }, 15000);

  it("continues large results in the thread, with the JSON report in chunks, all within Slack's limits", async () => {
    const findings = Array.from({ length: 120 }, (_, i) => makeFinding(i + 1, { severity: i % 7 === 0 ? "critical" : "medium" }));
    t.scans.report = makeReport(findings);
    await t.command("scan account");
    const result = await resultMessage(t);
    expect(JSON.stringify(result.blocks)).toContain("115 more findings continue in the thread");
    const thread = await t.fake.waitFor(
      (c) => {
        const posts = c.filter((x) => x.method === "chat.postMessage" && x.args.thread_ts === result.ts);
        const head = posts.find((p) => String(p.args.text).startsWith("JSON report"));
        const parts = Number(/\((\d+) parts?;/.exec(String(head?.args.text))?.[1] ?? NaN);
        return posts.filter((p) => !Array.isArray(p.args.blocks)).length === parts ? posts : undefined;
      },
      10000,
      "the thread",
    );
    const withFindings = thread.filter((p) => Array.isArray(p.args.blocks));
    const shown = withFindings.flatMap((p) => (p.args.blocks as Array<Record<string, unknown>>).filter((b) => b.type === "actions")).length;
    expect(shown).toBe(100); // maxInThread; the rest are in the JSON report
    const texts = thread.map((p) => String(p.args.text));
    expect(texts.some((x) => x.includes("15 more findings are not shown here"))).toBe(true);
    // The JSON parts, joined, parse back (summary form when the whole report is too big).
    const parts = thread
      .filter((p) => !Array.isArray(p.args.blocks))
      .map((p) =>
        String(p.args.text)
          .replace(/^[^\n]*\n(?=```)/, "")
          .replace(/^```|```$/g, ""),
      );
    const report = JSON.parse(parts.join("")) as { findings: Array<{ id: string }> };
    expect(report.findings).toHaveLength(120);
  }, 20000);

  it("reports a failed scan in the message", async () => {
    t.scans.error = new Error("AccessDenied: not authorized to perform cloudtrail:LookupEvents");
    await t.command("scan role Deploy");
    await t.fake.waitFor((c) => c.find((x) => x.method === "chat.update" && String(x.args.text).includes("failed")), 5000, "the failure");
    const upd = [...t.fake.calls].reverse().find((c) => c.method === "chat.update")!;
    expect(JSON.stringify(upd.args.blocks)).toContain("not authorized to perform cloudtrail:LookupEvents");
  });

  it("answers privately through response_url when it cannot post in the channel", async () => {
    t.fake.handlers.set("chat.postMessage", () => ({ ok: false, error: "not_in_channel" }));
    await t.command("scan user alice0", { responseId: "dm1" });
    const r = await t.fake.waitFor((c) => c.find((x) => x.method === "respond" && x.args.id === "dm1"), 5000, "respond");
    expect(r.json?.response_type).toBe("ephemeral");
    expect(JSON.stringify(r.json?.blocks)).toContain("First CreateAccessKey");
  });
});

describe("request authenticity", () => {
  beforeEach(async () => {
    t = await startTestBot();
  });

  it("refuses a forged signature, a wrong secret and a stale timestamp", async () => {
    const body = t.commandBody("status");
    const now = Math.floor(Date.now() / 1000);
    expect((await t.post(body, { signature: "v0=" + "0".repeat(64) })).status).toBe(401);
    expect((await t.post(body, { secret: "wrongsecretwrongsecret123" })).status).toBe(401);
    expect((await t.post(body, { ts: now - 6 * 60 })).status).toBe(401);
    expect((await t.post(body, { signature: "" })).status).toBe(401);
    expect((await t.post(body + "&text=scan", { signature: sign(body, now, SECRET), ts: now })).status).toBe(401);
    expect((await t.post(body)).status).toBe(200);
  });

  it("refuses a replayed request within the 5-minute window", async () => {
    const body = t.commandBody("scan user alice0");
    const ts = Math.floor(Date.now() / 1000) - 60;
    const first = await t.post(body, { ts });
    expect(first.status).toBe(200);
    const again = await t.post(body, { ts });
    expect(again.status).toBe(401);
    await resultMessage(t);
    expect(t.scans.requests).toHaveLength(1);
  });

  it("refuses requests from another workspace, says so, and audits it", async () => {
    const res = await t.command("status", { team: "T0OTHER", user: "U0EVIL" });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).text).toContain("only works in the workspace");
    const entry = t.store.auditLog(5).find((e) => e.action === "refused");
    expect(entry).toMatchObject({ actor: "U0EVIL", target: "team:T0OTHER" });

    // A button click from a user of another team is refused the same way.
    t.scans.report = makeReport([makeFinding(1)]);
    await t.store.recordFindings([makeFinding(1)], Date.now());
    const click = buttonClick(t.fake, {
      actionId: "finding_ack",
      value: "f0001",
      blockId: "fnd:0:a",
      user: "U0EVIL",
      team: "T0OTHER",
      message: { ts: "1.1", text: "x", blocks: [] },
    });
    expect((await t.interaction(click)).status).toBe(200);
    await t.fake.waitFor((c) => c.find((x) => x.method === "respond" && String(x.json?.text).includes("only works in the workspace")), 5000, "refusal");
    expect(t.store.getFinding("f0001")!.status).toBe("open");
  });

  it("serves /healthz", async () => {
    const r = await httpRequest(`${t.base}/healthz`, "GET", {});
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ ok: true, mode: "http" });
  });
});

describe("finding buttons", () => {
  beforeEach(async () => {
    t = await startTestBot({ groups: { S0SEC: ["U0GROUPIE"] }, env: { TRAILHOUND_ADMINS: `${ADMIN},S0SEC` } });
  });

  async function scanned(findings = [makeFinding(1), makeFinding(2, { severity: "medium" })]) {
    t.scans.report = makeReport(findings);
    await t.command("scan user alice0");
    return resultMessage(t);
  }

  it("Acknowledge updates the message in place and is audited", async () => {
    const msg = await scanned();
    const click = buttonClick(t.fake, { actionId: "finding_ack", value: "f0001", blockId: blockIdOf(msg.blocks, "finding_ack", "f0001"), message: msg });
    const res = await t.interaction(click);
    expect(res.status).toBe(200);
    expect(res.body).toBe("");
    const upd = await t.fake.waitFor(
      () => {
        const u = latestUpdateOf(t, msg.ts);
        return u && JSON.stringify(u.args.blocks).includes("Acknowledged by") ? u : undefined;
      },
      5000,
      "the acknowledged message",
    );
    const blocks = upd.args.blocks as Array<Record<string, unknown>>;
    expect(JSON.stringify(blocks)).toContain(`Acknowledged by <@${USER}>`);
    // The other finding keeps its Acknowledge button; this one lost it.
    expect(() => blockIdOf(blocks, "finding_ack", "f0001")).toThrow();
    blockIdOf(blocks, "finding_ack", "f0002");
    expect(blocks.length).toBe(msg.blocks.length + 1);
    expect(t.store.getFinding("f0001")).toMatchObject({ status: "acknowledged", acknowledged: { by: USER } });
    expect(t.store.auditLog(10).some((e) => e.action === "ack" && e.actor === USER && e.target === "f0001")).toBe(true);
  });

  it("refuses Suppress… to a non-admin, privately, and audits the attempt", async () => {
    const msg = await scanned();
    await t.interaction(buttonClick(t.fake, { actionId: "finding_suppress", value: "f0001", blockId: "fnd:0:a", message: msg, user: USER }));
    const r = await t.fake.waitFor((c) => c.find((x) => x.method === "respond"), 5000, "the refusal");
    expect(r.json).toMatchObject({ response_type: "ephemeral", replace_original: false });
    expect(String(r.json?.text)).toContain("Only trailhound admins");
    expect(t.fake.of("views.open")).toHaveLength(0);
    expect(t.store.auditLog(10).find((e) => e.action === "refused")).toMatchObject({ actor: USER, target: "suppress:f0001" });
    expect(t.store.activeSuppressions(Date.now())).toHaveLength(0);
  });

  it("refuses a forged suppress submission from a non-admin (authorisation is decided on the server)", async () => {
    await scanned();
    const meta = JSON.stringify({ f: "f0001", c: CHANNEL, t: "1700000000.000100", i: 0 });
    const res = await t.interaction(suppressSubmission({ privateMetadata: meta, user: USER }));
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body) as { response_action: string; errors: Record<string, string> };
    expect(body.response_action).toBe("errors");
    expect(body.errors.scope).toContain("Only trailhound admins");
    expect(t.store.activeSuppressions(Date.now())).toHaveLength(0);
    expect(t.store.auditLog(10).some((e) => e.action === "refused" && e.actor === USER)).toBe(true);
  });

  it("Suppress… opens the modal for an admin; a missing reason is an error; a valid one suppresses and updates the message", async () => {
    const msg = await scanned();
    await t.interaction(buttonClick(t.fake, { actionId: "finding_suppress", value: "f0001", blockId: "fnd:0:a", message: msg, user: ADMIN }));
    const open = await t.fake.waitFor((c) => c.find((x) => x.method === "views.open"), 5000, "views.open");
    const view = open.args.view as { callback_id: string; private_metadata: string; blocks: Array<{ block_id?: string }> };
    expect(view.callback_id).toBe("suppress_modal");
    expect(view.blocks.map((b) => b.block_id)).toEqual(expect.arrayContaining(["scope", "duration", "until", "reason"]));
    expect(JSON.parse(view.private_metadata)).toEqual({ f: "f0001", c: CHANNEL, t: msg.ts, i: 0 });

    const missing = await t.interaction(suppressSubmission({ privateMetadata: view.private_metadata, reason: null }));
    expect(missing.headers["content-type"]).toContain("application/json");
    expect(JSON.parse(missing.body)).toEqual({ response_action: "errors", errors: { reason: expect.stringContaining("Give a reason") } });
    const blank = await t.interaction(suppressSubmission({ privateMetadata: view.private_metadata, reason: "   " }));
    expect(JSON.parse(blank.body).errors.reason).toBeDefined();
    const noDate = await t.interaction(suppressSubmission({ privateMetadata: view.private_metadata, duration: "date", date: null }));
    expect(JSON.parse(noDate.body).errors.until).toBeDefined();
    expect(t.store.activeSuppressions(Date.now())).toHaveLength(0);

    const ok = await t.interaction(suppressSubmission({ privateMetadata: view.private_metadata, scope: "identity", duration: "7d", reason: "known CI role" }));
    expect(ok.status).toBe(200);
    expect(ok.body).toBe("");
    const [s] = t.store.activeSuppressions(Date.now());
    expect(s).toMatchObject({ scope: "identity", identityKey: "user:123456789012:alice1", by: ADMIN, reason: "known CI role" });
    expect(s!.detector).toBeUndefined();
    const days = (Date.parse(s!.until) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThan(7.1);
    const upd = await t.fake.waitFor(
      () => {
        const u = latestUpdateOf(t, msg.ts);
        return u && JSON.stringify(u.args.blocks).includes("Suppressed by") ? u : undefined;
      },
      5000,
      "the suppressed message",
    );
    expect(JSON.stringify(upd.args.blocks)).toContain(`Suppressed by <@${ADMIN}>`);
    expect(t.store.auditLog(20).some((e) => e.action === "suppress" && e.actor === ADMIN)).toBe(true);
  });

  it("admits members of an admin user group (membership looked up once, then cached)", async () => {
    const msg = await scanned();
    await t.interaction(buttonClick(t.fake, { actionId: "finding_suppress", value: "f0001", blockId: "fnd:0:a", message: msg, user: "U0GROUPIE" }));
    await t.fake.waitFor((c) => c.find((x) => x.method === "views.open"), 5000, "views.open");
    const meta = JSON.stringify({ f: "f0001" });
    const ok = await t.interaction(suppressSubmission({ privateMetadata: meta, user: "U0GROUPIE" }));
    expect(ok.body).toBe("");
    expect(t.fake.of("usergroups.users.list")).toHaveLength(1);
    expect(t.fake.of("usergroups.users.list")[0]!.args.usergroup).toBe("S0SEC");
  });

  it("Details posts the evidence in the thread", async () => {
    const msg = await scanned();
    await t.interaction(buttonClick(t.fake, { actionId: "finding_details", value: "f0002", blockId: "fnd:1:a", message: msg }));
    const post = await t.fake.waitFor((c) => c.find((x) => x.method === "chat.postMessage" && x.args.thread_ts === msg.ts), 5000, "details");
    const json = JSON.stringify(post.args.blocks);
    expect(json).toContain("ev-2-1");
    expect(json).toContain("CreateAccessKey");
    expect(json).toContain("Planned key rotation");
  });

  it("tells the user when the finding is not in the store", async () => {
    await t.interaction(buttonClick(t.fake, { actionId: "finding_ack", value: "nope", blockId: "fnd:0:a", message: { ts: "1.2", text: "x", blocks: [] } }));
    const r = await t.fake.waitFor((c) => c.find((x) => x.method === "respond"), 5000, "respond");
    expect(String(r.json?.text)).toContain("not in the store");
  });
});

describe("acknowledging restricted to admins (TRAILHOUND_ACK_ANYONE=false)", () => {
  it("refuses a non-admin privately and audits it; an admin may", async () => {
    t = await startTestBot({ env: { TRAILHOUND_ACK_ANYONE: "false" } });
    t.scans.report = makeReport([makeFinding(1)]);
    await t.command("scan user alice0");
    const msg = await resultMessage(t);
    await t.interaction(buttonClick(t.fake, { actionId: "finding_ack", value: "f0001", blockId: "fnd:0:a", message: msg, user: USER }));
    const r = await t.fake.waitFor((c) => c.find((x) => x.method === "respond"), 5000, "the refusal");
    expect(String(r.json?.text)).toContain("Only trailhound admins may acknowledge");
    expect(t.store.getFinding("f0001")!.status).toBe("open");
    expect(t.store.auditLog(10).find((e) => e.action === "refused")).toMatchObject({ actor: USER, target: "ack:f0001" });
    await t.interaction(buttonClick(t.fake, { actionId: "finding_ack", value: "f0001", blockId: "fnd:0:a", message: msg, user: ADMIN }));
    await t.fake.waitFor(() => t.store.getFinding("f0001")!.status === "acknowledged" || undefined, 5000, "acknowledged");
  });
});

describe("buttons outside channel messages", () => {
  beforeEach(async () => {
    t = await startTestBot();
    await t.store.recordFindings([makeFinding(1), makeFinding(2)], Date.now());
  });

  it("from the Home tab: Acknowledge republishes Home, Details opens a modal, Unsuppress is for admins", async () => {
    await t.interaction(buttonClick(t.fake, { actionId: "finding_ack", value: "f0001", blockId: "fnd:0:a", view: true }));
    const pub = await t.fake.waitFor((c) => c.find((x) => x.method === "views.publish"), 5000, "views.publish");
    expect(pub.args.user_id).toBe(USER);
    expect(JSON.stringify(pub.args.view)).toContain(`Acknowledged by <@${USER}>`);
    expect(t.store.getFinding("f0001")!.status).toBe("acknowledged");

    await t.interaction(buttonClick(t.fake, { actionId: "finding_details", value: "f0002", blockId: "fnd:1:a", view: true }));
    const modal = await t.fake.waitFor((c) => c.find((x) => x.method === "views.open"), 5000, "views.open");
    expect(JSON.stringify(modal.args.view)).toContain("ev-2-1");

    const s = await t.store.suppress({ scope: "detector", detector: "first-time-api", until: Date.now() + 3_600_000, reason: "noise", by: ADMIN }, Date.now());
    await t.interaction(buttonClick(t.fake, { actionId: "suppression_remove", value: s.id, blockId: "home:s:0", view: true, user: USER }));
    await t.fake.waitFor((c) => c.filter((x) => x.method === "views.open").length === 2 || undefined, 5000, "the refusal modal");
    expect(JSON.stringify(t.fake.of("views.open")[1]!.args.view)).toContain("Only trailhound admins");
    expect(t.store.activeSuppressions(Date.now())).toHaveLength(1);
    await t.interaction(buttonClick(t.fake, { actionId: "suppression_remove", value: s.id, blockId: "home:s:0", view: true, user: ADMIN }));
    await t.fake.waitFor(() => t.store.activeSuppressions(Date.now()).length === 0 || undefined, 5000, "unsuppressed");
  });

  it("from an ephemeral message (no message in the payload): the answer comes through response_url", async () => {
    const click = buttonClick(t.fake, { actionId: "finding_ack", value: "f0001", blockId: "fnd:0:a", message: { ts: "1.3", text: "x", blocks: [] } });
    delete click.message;
    (click.container as Record<string, unknown>).is_ephemeral = true;
    await t.interaction(click);
    const r = await t.fake.waitFor((c) => c.find((x) => x.method === "respond"), 5000, "respond");
    expect(String(r.json?.text)).toContain("Acknowledged");
    expect(t.store.getFinding("f0001")!.status).toBe("acknowledged");
    expect(t.fake.of("chat.update")).toHaveLength(0);
  });
});

describe("safe rendering end to end", () => {
  beforeEach(async () => {
    t = await startTestBot();
  });

  it("shows injection strings from CloudTrail as text everywhere they are posted", async () => {
    const evil = makeFinding(1, {
      title: "New API <!channel> `code` *bold*",
      identity: { key: "user:1:<!here>", type: "IAMUser", userName: "<@U0ADMIN> <!channel>", sessionName: "```<https://evil.example|AWS console>```" },
      sourceIp: "<!everyone>",
      why: "user agent <https://evil.example/login|Sign in to AWS> & more",
      investigate: ["<!subteam^S0SEC>"],
      evidence: { userAgent: "<https://evil.example|console>`", errorMessage: "<!channel> ``` break" },
    });
    t.scans.report = makeReport([evil]);
    await t.command("scan user x");
    const msg = await resultMessage(t);
    await t.interaction(buttonClick(t.fake, { actionId: "finding_details", value: "f0001", blockId: "fnd:0:a", message: msg }));
    await t.fake.waitFor((c) => c.find((x) => x.method === "chat.postMessage" && x.args.thread_ts === msg.ts), 5000, "details");
    const posted = t.fake.calls.filter((c) => c.method.startsWith("chat.")).map((c) => JSON.stringify([c.args.text, c.args.blocks]));
    for (const p of posted) {
      expect(p).not.toMatch(/<!channel>|<!here>|<!everyone>|<!subteam|<@U0ADMIN>|<https:\/\/evil/);
    }
    const all = posted.join("\n");
    expect(all).toContain("&lt;!channel&gt;");
    expect(all).toContain("&lt;https://evil.example|AWS console&gt;");
  });
});

describe("other commands", () => {
  beforeEach(async () => {
    t = await startTestBot();
  });

  it("help, and anything else gets the help privately saying what was not understood", async () => {
    const help = JSON.parse((await t.command("help")).body);
    expect(help.response_type).toBe("ephemeral");
    expect(JSON.stringify(help.blocks)).toContain("scan user NAME");
    const bad = JSON.parse((await t.command("frobnicate the <!channel>")).body);
    expect(bad.response_type).toBe("ephemeral");
    expect(bad.text).toContain("I did not understand");
    expect(JSON.stringify(bad.blocks)).toContain("`frobnicate` is not a command");
    expect(JSON.stringify(bad)).not.toContain("<!channel>");
  });

  it("status, suppressions and unsuppress (admins only, audited)", async () => {
    await t.store.recordFindings([makeFinding(1)], Date.now());
    const s = await t.store.suppress({ scope: "detector", detector: "first-time-api", until: Date.now() + 3_600_000, reason: "noisy <b>", by: ADMIN }, Date.now());
    const status = JSON.parse((await t.command("status")).body);
    expect(JSON.stringify(status.blocks)).toContain("Active suppressions*\\n1");
    const list = JSON.parse((await t.command("suppressions")).body);
    expect(JSON.stringify(list.blocks)).toContain(s.id);
    expect(JSON.stringify(list.blocks)).toContain("noisy &lt;b&gt;");

    const refused = JSON.parse((await t.command(`unsuppress ${s.id}`, { user: USER })).body);
    expect(refused.text).toContain("Only trailhound admins");
    expect(t.store.activeSuppressions(Date.now())).toHaveLength(1);
    expect(t.store.auditLog(5).find((e) => e.action === "refused")).toMatchObject({ actor: USER, target: `unsuppress:${s.id}` });

    const done = JSON.parse((await t.command(`unsuppress ${s.id}`, { user: ADMIN })).body);
    expect(done.text).toContain("ended by");
    expect(t.store.activeSuppressions(Date.now())).toHaveLength(0);
    expect(t.store.auditLog(5).some((e) => e.action === "unsuppress" && e.actor === ADMIN)).toBe(true);
    const unknown = JSON.parse((await t.command("unsuppress s-nope", { user: ADMIN })).body);
    expect(unknown.text).toContain("No suppression");
  });

  it("baseline user NAME shows what is normal for that identity", async () => {
    const p = emptyProfile("user:123456789012:alice", "IAMUser");
    Object.assign(p, { userName: "alice", accountId: "123456789012", first: Date.now() - 20 * 86_400_000, last: Date.now() - 3_600_000, events: 400 });
    p.days = Array.from({ length: 15 }, (_, i) => Math.floor(Date.now() / 86_400_000) - 20 + i);
    p.hours = p.hours.map((_, h) => (h >= 8 && h < 17 ? 30 : 0));
    p.dims.api = { DescribeInstances: [200, 0, 0, 0], GetObject: [150, 2, 0, 0] };
    p.dims.country = { FR: [390, 0, 0, 0] };
    await t.store.putBaselines([p]);
    const r = JSON.parse((await t.command("baseline user alice")).body);
    const json = JSON.stringify(r.blocks);
    expect(json).toContain("Baseline: alice");
    expect(json).toContain("DescribeInstances");
    expect(json).toContain("FR");
    expect(json).toContain("08-17h UTC");
    const none = JSON.parse((await t.command("baseline user bob")).body);
    expect(none.text).toContain("No baseline");
  });

  it("publishes the Home tab on app_home_opened", async () => {
    await t.store.recordFindings([makeFinding(1, { severity: "critical" }), makeFinding(2)], Date.now());
    const body = homeOpened("Ev01");
    const res = await t.post(body, { contentType: "application/json" });
    expect(res.status).toBe(200);
    const pub = await t.fake.waitFor((c) => c.find((x) => x.method === "views.publish"), 5000, "views.publish");
    expect(pub.args.user_id).toBe(USER);
    const json = JSON.stringify(pub.args.view);
    expect(json).toContain("Open findings* (2)");
    expect(json).toContain("CRITICAL");
  });
});

describe("shutdown", () => {
  it("aborts a running scan (its message says so) and calls onShutdown once", async () => {
    t = await startTestBot();
    t.scans.gate = deferred();
    await t.command("scan account");
    await t.scans.started();
    await t.fake.waitFor((c) => c.find((x) => x.method === "chat.postMessage"), 5000, "scanning");
    await t.running.stop();
    expect(t.scans.signals[0]!.aborted).toBe(true);
    const upd = [...t.fake.calls].reverse().find((c) => c.method === "chat.update");
    expect(String(JSON.stringify(upd?.args.blocks))).toContain("interrupted");
    const h = await httpRequest(`${t.base}/healthz`, "GET", {}).catch((e: Error) => e);
    expect(h).toBeInstanceOf(Error);
  });
});
