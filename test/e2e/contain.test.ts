/**
 * Containment through the real bot over HTTP (signed requests, Bolt's receiver, the fake Slack),
 * with the real IAM and STS SDK clients answered by nock (the IAM/STS fake of src/testing/iam-fake.ts).
 */
import nock from "nock";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { findingBlocks } from "../../src/slack/views/finding.js";
import { ACCOUNT, KEY, awsEnv, fakeAws, finding, memoryEvents, rootFinding } from "../respond/support.js";
import { buttonClick, CHANNEL, homeOpened, startTestBot, TEAM, USER, viewSubmission, type TestBot } from "../slack/support/harness.js";
import type { Finding } from "../../src/scan/report-types.js";

const R1 = "U0RESP1";
const R2 = "U0RESP2";
const MSG_TS = "1700000000.000100";
let t: TestBot | undefined;

beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1|localhost/);
});
beforeEach(() => {
  for (const [k, v] of Object.entries(awsEnv())) vi.stubEnv(k, v);
});
afterEach(async () => {
  nock.cleanAll();
  vi.unstubAllEnvs();
  if (!t) return;
  const cur = t;
  t = undefined;
  await cur.stop();
  expect(cur.fake.unexpected).toEqual([]);
  expect(cur.fake.invalid).toEqual([]);
});

async function start(env: Record<string, string> = {}, findings: Finding[] = [finding()]) {
  t = await startTestBot({
    env: { TRAILHOUND_RESPONDERS: `${R1},${R2}`, TRAILHOUND_RESPONDER_ROLE_ARNS: `arn:aws:iam::${ACCOUNT}:role/TrailhoundResponder`, ...env },
    deps: { respond: { maxAttempts: 1, events: memoryEvents() } },
  });
  await t.store.recordFindings(findings, Date.parse("2026-12-06T03:10:00Z"));
  return t;
}

function message(f: Finding) {
  const blocks = findingBlocks(f, 0, { status: "open", containable: true });
  return { ts: MSG_TS, text: "trailhound finding", blocks };
}

function submission(viewId: string, privateMetadata: string, user: string, action: string | null, dryRun = false, team = TEAM): Record<string, unknown> {
  return viewSubmission({
    team,
    user: { id: user, name: user.toLowerCase() },
    triggerId: "123.456.sub",
    viewId,
    callbackId: "contain_modal",
    title: "Contain",
    privateMetadata,
    values: {
      cnt_action: { cnt_action_sel: { type: "radio_buttons", selected_option: action ? { text: { type: "plain_text", text: action }, value: action } : null } },
      cnt_mode: { cnt_mode_sel: { type: "checkboxes", selected_options: dryRun ? [{ text: { type: "plain_text", text: "Dry run" }, value: "dry-run" }] : [] } },
    },
  });
}

/** Click Contain…, wait for the plan modal; returns its view id, metadata and JSON. */
async function openPlan(bot: TestBot, f: Finding, user = R1) {
  const before = bot.fake.of("views.update").length;
  const res = await bot.interaction(buttonClick(bot.fake, { actionId: "finding_contain", value: f.id, blockId: "fnd:0:a", user, message: message(f) }));
  expect(res.status).toBe(200);
  const open = await bot.fake.waitFor((c) => [...c].reverse().find((x) => x.method === "views.open"), 5000, "the modal");
  const update = await bot.fake.waitFor((c) => c.filter((x) => x.method === "views.update")[before], 5000, "the plan");
  const view = update.args.view as { private_metadata: string; blocks: unknown[]; submit?: unknown };
  expect(String((open.args.view as { callback_id: string }).callback_id)).toBe("contain_modal");
  return { viewId: String(update.args.view_id), meta: view.private_metadata, json: JSON.stringify(view.blocks), view };
}

function threadPosts(bot: TestBot) {
  return bot.fake.of("chat.postMessage").filter((c) => c.args.thread_ts === MSG_TS);
}

describe("Contain… through the real Bolt app", () => {
  it("shows the exact calls, deactivates the key on confirmation, reports in the thread with the request id, marks the finding, and undoes", async () => {
    const aws = fakeAws();
    aws.iam.addKey("alice", KEY);
    const bot = await start();
    const f = finding();
    const plan = await openPlan(bot, f);
    expect(plan.json).toContain("iam:UpdateAccessKey");
    expect(plan.json).toContain(`\\"AccessKeyId\\":\\"${KEY}\\"`);
    expect(plan.json).toContain(`arn:aws:iam::${ACCOUNT}:user/alice`);
    expect(plan.json).toContain("InvalidClientTokenId");
    expect(aws.iam.calls).toEqual([]); // nothing before the confirmation

    const res = await bot.interaction(submission(plan.viewId, plan.meta, R1, "deactivate-key"));
    expect(res.status).toBe(200);
    const done = await bot.fake.waitFor(
      (c) => c.find((x) => x.method === "chat.postMessage" && x.args.thread_ts === MSG_TS && String(x.args.text).includes("executed")),
      5000,
      "the thread report",
    );
    expect(aws.iam.keyStatus("alice", KEY)).toBe("Inactive");
    const update = aws.iam.calls.find((c) => c.action === "UpdateAccessKey")!;
    expect(JSON.stringify(done.args.blocks)).toContain(update.requestId);
    const marked = await bot.fake.waitFor(
      (c) => c.find((x) => x.method === "chat.update" && x.args.ts === MSG_TS && JSON.stringify(x.args.blocks).includes("Contained by <@U0RESP1>")),
      5000,
      "the finding marked contained",
    );
    expect(JSON.stringify(marked.args.blocks)).toContain("key AKIA...MPLE deactivated");
    expect(bot.store.auditLog(10).map((a) => a.action)).toEqual(expect.arrayContaining(["contain-proposed", "contain-approved", "contain-executed"]));

    // Undo, from the thread message, by another responder.
    const threadMsg = { ts: "1700000001.000001", text: String(done.args.text), blocks: done.args.blocks as unknown[], thread_ts: MSG_TS };
    const undoId = (done.args.blocks as Array<{ type: string; elements?: Array<{ action_id: string; value: string }> }>)
      .find((b) => b.type === "actions")!
      .elements!.find((e) => e.action_id === "contain_undo")!.value;
    await bot.interaction(buttonClick(bot.fake, { actionId: "contain_undo", value: undoId, blockId: "cnt:act", user: R2, message: threadMsg }));
    await bot.fake.waitFor((c) => c.find((x) => x.method === "chat.update" && JSON.stringify(x.args.blocks ?? []).includes("Undone by")), 5000, "undone");
    expect(aws.iam.keyStatus("alice", KEY)).toBe("Active");
  });

  it("refuses a non-responder (audited), with no modal and no AWS call", async () => {
    const aws = fakeAws();
    const bot = await start();
    await bot.interaction(buttonClick(bot.fake, { actionId: "finding_contain", value: "Fkey0000000000001", blockId: "fnd:0:a", user: "U0USER", message: message(finding()) }));
    const reply = await bot.fake.waitFor((c) => c.find((x) => x.method === "respond"), 5000, "the refusal");
    expect(String(reply.args.text)).toContain("Only trailhound responders");
    expect(bot.fake.of("views.open")).toEqual([]);
    expect(bot.store.auditLog(1)[0]).toMatchObject({ action: "refused", actor: "U0USER", target: "contain:Fkey0000000000001" });
    // A submission forged by a non-responder is refused too.
    await bot.interaction(submission("V999", JSON.stringify({ f: "Fkey0000000000001" }), "U0USER", "deactivate-key"));
    expect(aws.iam.calls).toEqual([]);
    expect(aws.sts.calls).toEqual([]);
  });

  it("refuses a request from another workspace before anything else", async () => {
    const aws = fakeAws();
    const bot = await start();
    await bot.interaction(
      buttonClick(bot.fake, { actionId: "finding_contain", value: "Fkey0000000000001", blockId: "fnd:0:a", user: R1, team: "T0OTHER", message: message(finding()) }),
    );
    await bot.interaction(submission("V999", JSON.stringify({ f: "Fkey0000000000001" }), R1, "deactivate-key", false, "T0OTHER"));
    await bot.fake.waitFor(() => bot.store.auditLog(5).filter((a) => a.action === "refused" && a.target === "team:T0OTHER").length >= 2 || undefined, 5000, "two refusals");
    expect(bot.fake.of("views.open")).toEqual([]);
    expect(aws.iam.calls).toEqual([]);
  });

  it("offers nothing for root: the modal says why and has no submit", async () => {
    fakeAws();
    const root = rootFinding();
    const bot = await start({}, [root]);
    const plan = await openPlan(bot, root);
    expect(plan.json).toContain("root user");
    expect(plan.view.submit).toBeUndefined();
    expect(bot.store.auditLog(5).find((a) => a.action === "contain-refused")).toMatchObject({ actor: R1, target: root.id, detail: expect.stringContaining("root user") });
    // A forged submission for root is refused and audited too, and calls nothing.
    await bot.interaction(submission(plan.viewId, plan.meta, R1, "quarantine"));
    await bot.fake.waitFor(() => bot.store.auditLog(10).filter((a) => a.action === "contain-refused").length >= 2 || undefined, 5000, "the second refusal");
    expect(bot.store.auditLog(1)[0]).toMatchObject({ action: "contain-refused", detail: expect.stringMatching(/^quarantine: quarantine does not fit/) });
    expect(bot.store.containmentsFor(root.id)).toEqual([]);
  });

  it("a dry run from the modal audits and makes no AWS call", async () => {
    const aws = fakeAws();
    aws.iam.addKey("alice", KEY);
    const bot = await start();
    const plan = await openPlan(bot, finding());
    await bot.interaction(submission(plan.viewId, plan.meta, R1, "deactivate-key", true));
    await bot.fake.waitFor((c) => c.find((x) => x.method === "chat.postMessage" && String(x.args.text).includes("dry-run")), 5000, "the dry-run report");
    expect(aws.iam.calls).toEqual([]);
    expect(aws.sts.calls).toEqual([]);
    expect(bot.store.auditLog(5).map((a) => a.action)).toContain("contain-dry-run");
  });

  it("two-person rule: the proposer cannot approve; a second responder approves in the thread and the key goes inactive", async () => {
    const aws = fakeAws();
    aws.iam.addKey("alice", KEY);
    const bot = await start({ TRAILHOUND_TWO_PERSON_MINUTES: "5" });
    const plan = await openPlan(bot, finding());
    expect(plan.json).toContain("Two-person rule");
    await bot.interaction(submission(plan.viewId, plan.meta, R1, "deactivate-key"));
    const proposed = await bot.fake.waitFor(
      (c) => c.find((x) => x.method === "chat.postMessage" && x.args.thread_ts === MSG_TS && String(x.args.text).includes("awaiting-approval")),
      5000,
      "the proposal",
    );
    expect(aws.iam.calls).toEqual([]);
    const id = (proposed.args.blocks as Array<{ type: string; elements?: Array<{ action_id: string; value: string }> }>)
      .find((b) => b.type === "actions")!
      .elements!.find((e) => e.action_id === "contain_approve")!.value;
    const threadMsg = { ts: "1700000001.000001", text: String(proposed.args.text), blocks: proposed.args.blocks as unknown[], thread_ts: MSG_TS };

    await bot.interaction(buttonClick(bot.fake, { actionId: "contain_approve", value: id, blockId: "cnt:act", user: R1, message: threadMsg }));
    const refused = await bot.fake.waitFor((c) => c.find((x) => x.method === "respond" && String(x.args.text).includes("two-person")), 5000, "the refusal");
    expect(refused).toBeTruthy();
    expect(aws.iam.calls).toEqual([]);

    await bot.interaction(buttonClick(bot.fake, { actionId: "contain_approve", value: id, blockId: "cnt:act", user: R2, message: threadMsg }));
    await bot.fake.waitFor((c) => c.find((x) => x.method === "chat.update" && String(x.args.text).includes(": executed")), 5000, "executed");
    expect(aws.iam.keyStatus("alice", KEY)).toBe("Inactive");
    expect(bot.store.getContainment(id)).toMatchObject({ state: "executed", proposedBy: R1, approvedBy: R2 });
    expect(threadPosts(bot)).toHaveLength(1); // one thread message, edited as it progressed
    expect(CHANNEL).toBe(String(proposed.args.channel));
  });
});

describe("Undo through the real Bolt app", () => {
  type Blocks = Array<{ type: string; elements?: Array<{ action_id: string; value: string }> }>;
  const button = (blocks: unknown, actionId: string) => (blocks as Blocks).find((b) => b.type === "actions")?.elements?.find((e) => e.action_id === actionId);

  it("follows the containment's guards: responders only, and with the two-person rule another responder approves the undo", async () => {
    const aws = fakeAws();
    aws.iam.addKey("alice", KEY);
    const bot = await start({ TRAILHOUND_TWO_PERSON_MINUTES: "5" });
    const plan = await openPlan(bot, finding());
    await bot.interaction(submission(plan.viewId, plan.meta, R1, "deactivate-key"));
    const proposed = await bot.fake.waitFor((c) => c.find((x) => x.method === "chat.postMessage" && x.args.thread_ts === MSG_TS), 5000, "the proposal");
    const id = button(proposed.args.blocks, "contain_approve")!.value;
    const threadMsg = (m: { args: Record<string, unknown> }) => ({ ts: "1700000001.000001", text: String(m.args.text), blocks: m.args.blocks as unknown[], thread_ts: MSG_TS });
    await bot.interaction(buttonClick(bot.fake, { actionId: "contain_approve", value: id, blockId: "cnt:act", user: R2, message: threadMsg(proposed) }));
    const executed = await bot.fake.waitFor((c) => c.find((x) => x.method === "chat.update" && String(x.args.text).includes(": executed")), 5000, "executed");
    expect(aws.iam.keyStatus("alice", KEY)).toBe("Inactive");
    expect(button(executed.args.blocks, "contain_undo")).toBeTruthy();

    // A non-responder's Undo is refused and audited; nothing is called.
    await bot.interaction(buttonClick(bot.fake, { actionId: "contain_undo", value: id, blockId: "cnt:act", user: USER, message: threadMsg(executed) }));
    await bot.fake.waitFor((c) => c.find((x) => x.method === "respond" && String(x.args.text).includes("Only trailhound responders")), 5000, "the refusal");
    expect(bot.store.auditLog(1)[0]).toMatchObject({ action: "refused", actor: USER, target: `contain-undo:${id}` });

    // R1 asks for the undo: only a request; the thread message offers Approve undo.
    const iamCalls = aws.iam.calls.length;
    await bot.interaction(buttonClick(bot.fake, { actionId: "contain_undo", value: id, blockId: "cnt:act", user: R1, message: threadMsg(executed) }));
    const asked = await bot.fake.waitFor((c) => c.find((x) => x.method === "chat.update" && String(x.args.text).includes("undo awaiting approval")), 5000, "the undo request");
    expect(JSON.stringify(asked.args.blocks)).toContain("asks to undo it");
    expect(button(asked.args.blocks, "contain_undo")).toBeUndefined();
    const approveUndo = button(asked.args.blocks, "contain_undo_approve")!;
    expect(approveUndo.value).toBe(id);
    expect(aws.iam.calls.length).toBe(iamCalls);

    // R1 cannot approve their own undo.
    await bot.interaction(buttonClick(bot.fake, { actionId: "contain_undo_approve", value: id, blockId: "cnt:act", user: R1, message: threadMsg(asked) }));
    await bot.fake.waitFor((c) => c.find((x) => x.method === "respond" && String(x.args.text).includes("who asked for the undo cannot approve")), 5000, "the refusal");
    expect(aws.iam.keyStatus("alice", KEY)).toBe("Inactive");

    // R2 approves: the key is active again.
    await bot.interaction(buttonClick(bot.fake, { actionId: "contain_undo_approve", value: id, blockId: "cnt:act", user: R2, message: threadMsg(asked) }));
    await bot.fake.waitFor((c) => c.find((x) => x.method === "chat.update" && String(x.args.text).includes(": undone")), 5000, "undone");
    expect(aws.iam.keyStatus("alice", KEY)).toBe("Active");
    expect(bot.store.getContainment(id)).toMatchObject({ state: "undone", undone: { by: R2 } });
  });
});

describe("Contain… on Home", () => {
  it("shows Contain… on Home to responders only, and a containment from Home reports privately and refreshes Home", async () => {
    const aws = fakeAws();
    aws.iam.addKey("alice", KEY);
    const bot = await start();
    const homeOf = async (user: string, ev: string) => {
      const before = bot.fake.of("views.publish").length;
      await bot.post(homeOpened(ev, user), { contentType: "application/json" });
      const pub = await bot.fake.waitFor((c) => c.filter((x) => x.method === "views.publish")[before], 5000, "views.publish");
      expect(pub.args.user_id).toBe(user);
      return JSON.stringify(pub.args.view);
    };
    expect(await homeOf(R1, "Ev01")).toContain('"action_id":"finding_contain"');
    const viewer = await homeOf(USER, "Ev02");
    expect(viewer).toContain("finding_ack");
    expect(viewer).not.toContain("finding_contain");

    const published = bot.fake.of("views.publish").length;
    await bot.interaction(buttonClick(bot.fake, { actionId: "finding_contain", value: "Fkey0000000000001", blockId: "fnd:0:a", user: R1, view: true }));
    const update = await bot.fake.waitFor((c) => c.find((x) => x.method === "views.update"), 5000, "the plan");
    const view = update.args.view as { private_metadata: string };
    await bot.interaction(submission(String(update.args.view_id), view.private_metadata, R1, "deactivate-key"));
    const dm = await bot.fake.waitFor(
      (c) => c.find((x) => x.method === "chat.postMessage" && x.args.channel === R1 && String(x.args.text).includes("executed")),
      5000,
      "the private report",
    );
    expect(JSON.stringify(dm.args.blocks)).toContain("contain_undo");
    expect(aws.iam.keyStatus("alice", KEY)).toBe("Inactive");
    const home = await bot.fake.waitFor(
      (c) =>
        c
          .filter((x) => x.method === "views.publish")
          .slice(published)
          .find((x) => JSON.stringify(x.args.view).includes("Contained by")),
      5000,
      "Home refreshed",
    );
    expect(home.args.user_id).toBe(R1);
  });
});

describe("Details", () => {
  it("links each CloudTrail event id to the console's event history for its region", async () => {
    const { findingDetailsBlocks } = await import("../../src/slack/views/details.js");
    const id = "3b9f6c7e-1234-4cde-8f00-0123456789ab";
    const blocks = findingDetailsBlocks({
      id: "F1",
      status: "open",
      firstSeen: "",
      lastSeen: "",
      seenInScans: 1,
      severity: "high",
      severityHistory: [],
      history: [],
      finding: finding({ eventIds: [id, "not|a>uuid"], region: "eu-west-1" }),
    });
    const json = JSON.stringify(blocks);
    expect(json).toContain(`<https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/${id}|${id}>`);
    expect(json).toContain("not|a&gt;uuid");
    expect(json).not.toContain("events/not");
  });
});
