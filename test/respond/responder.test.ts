import nock from "nock";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { TrailStore } from "../../src/store/store.js";
import { Responder } from "../../src/respond/responder.js";
import { containOptions, RespondError } from "../../src/respond/actions.js";
import { ACCOUNT, KEY, OTHER, awsEnv, fakeAws, finding, iamFactory, memoryEvents, roleFinding } from "./support.js";
import type { Finding } from "../../src/scan/report-types.js";

const T0 = Date.parse("2026-12-06T03:14:00.000Z");
const BOT_ROLES = [`arn:aws:iam::${ACCOUNT}:role/TrailhoundRead`, `arn:aws:iam::${ACCOUNT}:role/TrailhoundResponder`];
const guard = { protectedArns: BOT_ROLES };

beforeAll(() => nock.disableNetConnect());
beforeEach(() => {
  for (const [k, v] of Object.entries(awsEnv())) vi.stubEnv(k, v);
});
afterEach(() => {
  nock.cleanAll();
  vi.unstubAllEnvs();
});

async function setup(f: Finding | Finding[], opts: { approvalWindowMs?: number; now?: () => number } = {}) {
  const store = TrailStore.memory();
  await store.recordFindings(Array.isArray(f) ? f : [f], T0);
  let n = 0;
  const responder = new Responder({
    store,
    iam: iamFactory(),
    events: memoryEvents(),
    guard,
    now: opts.now ?? (() => T0),
    newId: () => `C${++n}`,
    ...(opts.approvalWindowMs !== undefined ? { approvalWindowMs: opts.approvalWindowMs } : {}),
  });
  return { store, responder };
}

describe("which actions fit a finding", () => {
  it("offers key deactivation and quarantine for an IAM user, revocation and quarantine for a role", () => {
    expect(containOptions(finding(), guard).options.map((o) => o.action)).toEqual(["deactivate-key", "quarantine"]);
    expect(containOptions(roleFinding(), guard).options.map((o) => o.action)).toEqual(["revoke-sessions", "quarantine"]);
  });

  it("refuses root, AWS services, service-linked roles, Identity Center roles and the bot's own roles", () => {
    const root = finding({ identity: { key: `root:${ACCOUNT}`, type: "Root", arn: `arn:aws:iam::${ACCOUNT}:root` } });
    expect(containOptions(root, guard)).toMatchObject({ options: [], refusals: [{ reason: expect.stringContaining("root user") }] });
    const svc = finding({ identity: { key: "service:lambda.amazonaws.com", type: "AWSService" } });
    expect(containOptions(svc, guard).options).toEqual([]);
    const slr = roleFinding("AWSServiceRoleForSupport", "/aws-service-role/support.amazonaws.com/");
    expect(containOptions(slr, guard)).toMatchObject({ options: [], refusals: [{ reason: expect.stringContaining("service-linked") }] });
    const sso = roleFinding("AWSReservedSSO_Admin_0123456789abcdef", "/aws-reserved/sso.amazonaws.com/eu-west-1/");
    expect(containOptions(sso, guard)).toMatchObject({ options: [], refusals: [{ reason: expect.stringContaining("Identity Center") }] });
    const own = roleFinding("TrailhoundRead");
    expect(containOptions(own, guard)).toMatchObject({ options: [], refusals: [{ reason: expect.stringContaining("trailhound's own") }] });
    // The same role in another account is not the bot's.
    const foreign = finding({ identity: { key: `role:${OTHER}:TrailhoundRead`, type: "AssumedRole", arn: `arn:aws:iam::${OTHER}:role/TrailhoundRead`, accountId: OTHER } });
    expect(containOptions(foreign, guard).options.map((o) => o.action)).toEqual(["revoke-sessions", "quarantine"]);
  });

  it("offers deleting a login profile and detaching a policy only when the finding shows them", () => {
    const lp = finding({ detector: "credential-for-other-user", evidence: { eventName: "CreateLoginProfile", targetUser: "bob" } });
    expect(containOptions(lp, guard).options.map((o) => `${o.action} ${o.target}`)).toContain(`delete-login-profile user bob in ${ACCOUNT}`);
    const failed = { ...lp, failed: true };
    expect(containOptions(failed, guard).options.map((o) => o.action)).not.toContain("delete-login-profile");
    const attach = finding({
      detector: "privilege-escalation",
      evidence: { eventName: "AttachRolePolicy", policyArn: "arn:aws:iam::aws:policy/AdministratorAccess", target: { kind: "role", name: "Deploy" } },
    });
    expect(containOptions(attach, guard).options.map((o) => `${o.action} ${o.target}`)).toContain(`detach-policy role Deploy in ${ACCOUNT}`);
    const toBot = finding({
      evidence: { eventName: "AttachRolePolicy", policyArn: "arn:aws:iam::aws:policy/AdministratorAccess", target: { kind: "role", name: "TrailhoundResponder" } },
    });
    expect(containOptions(toBot, guard).refusals.map((r) => r.action)).toContain("detach-policy");
  });
});

describe("Responder (IAM and STS through the SDK, behind nock)", () => {
  it("plans the exact calls, deactivates the key used with the responder role, audits each step with the request id, and undoes it", async () => {
    const aws = fakeAws();
    aws.iam.addKey("alice", KEY).addKey("alice", "AKIAOTHERKEY00000001");
    const { store, responder } = await setup(finding());
    const plan = await responder.plan("Fkey0000000000001", "deactivate-key");
    expect(plan).toMatchObject({
      account: ACCOUNT,
      resource: `arn:aws:iam::${ACCOUNT}:user/alice`,
      summary: "key AKIA...MPLE deactivated",
      calls: [{ api: "iam:UpdateAccessKey", input: { UserName: "alice", AccessKeyId: KEY, Status: "Inactive" } }],
    });
    expect(plan.breaks).toContain("InvalidClientTokenId");
    const rec = await responder.propose(plan, "U0RESP1");
    expect(rec.state).toBe("executed");
    expect(aws.iam.keyStatus("alice", KEY)).toBe("Inactive");
    expect(aws.iam.keyStatus("alice", "AKIAOTHERKEY00000001")).toBe("Active");
    // The responder role of the account was assumed, with the responder's name in the session.
    expect(aws.sts.calls[0]).toMatchObject({
      action: "AssumeRole",
      params: { RoleArn: `arn:aws:iam::${ACCOUNT}:role/TrailhoundResponder`, RoleSessionName: "trailhound-U0RESP1" },
    });
    const update = aws.iam.calls.find((c) => c.action === "UpdateAccessKey")!;
    expect(rec.steps.map((s) => s.step)).toEqual(["proposed", "approved", "executed"]);
    expect(rec.steps[2]).toMatchObject({ api: "iam:UpdateAccessKey", requestId: update.requestId });
    const audit = store.auditLog(10).reverse();
    expect(audit.map((a) => a.action)).toEqual(["contain-proposed", "contain-approved", "contain-executed"]);
    expect(audit[2]!.detail).toContain(`request ${update.requestId}`);
    expect(audit[2]!.target).toBe("Fkey0000000000001");

    const undone = await responder.undo(rec.id, "U0RESP1");
    expect(undone.state).toBe("undone");
    expect(aws.iam.keyStatus("alice", KEY)).toBe("Active");
    expect(store.auditLog(1)[0]).toMatchObject({ action: "contain-undone", actor: "U0RESP1" });
    await expect(responder.undo(rec.id, "U0RESP1")).rejects.toMatchObject({ code: "state" });
  });

  it("a dry run records and audits the plan but makes no AWS call at all", async () => {
    const aws = fakeAws();
    aws.iam.addKey("alice", KEY);
    const { store, responder } = await setup(finding());
    const rec = await responder.propose(await responder.plan("Fkey0000000000001", "deactivate-key"), "U0RESP1", { dryRun: true });
    expect(rec.state).toBe("dry-run");
    expect(aws.iam.calls).toEqual([]);
    expect(aws.sts.calls).toEqual([]);
    expect(aws.iam.keyStatus("alice", KEY)).toBe("Active");
    expect(store.auditLog(5).map((a) => a.action)).toEqual(["contain-dry-run", "contain-proposed"]);
  });

  it("two-person rule: the proposer cannot approve, a second responder can within the window, and a late approval executes nothing", async () => {
    const aws = fakeAws();
    aws.iam.addKey("alice", KEY);
    let now = T0;
    const { store, responder } = await setup(finding(), { approvalWindowMs: 10 * 60_000, now: () => now });
    const plan = await responder.plan("Fkey0000000000001", "deactivate-key");
    const rec = await responder.propose(plan, "U0RESP1");
    expect(rec).toMatchObject({ state: "awaiting-approval", approvalDeadline: "2026-12-06T03:24:00.000Z" });
    expect(aws.iam.calls).toEqual([]);
    await expect(responder.approve(rec.id, "U0RESP1")).rejects.toMatchObject({ code: "refused" });
    now += 5 * 60_000;
    const done = await responder.approve(rec.id, "U0RESP2");
    expect(done).toMatchObject({ state: "executed", approvedBy: "U0RESP2" });
    expect(aws.iam.keyStatus("alice", KEY)).toBe("Inactive");
    await expect(responder.approve(rec.id, "U0RESP3")).rejects.toMatchObject({ code: "state" });

    const late = await responder.propose(plan, "U0RESP1");
    now += 11 * 60_000;
    await expect(responder.approve(late.id, "U0RESP2")).rejects.toThrow(/approval window/);
    expect(store.getContainment(late.id)!.state).toBe("expired");
    expect(aws.iam.calls.filter((c) => c.action === "UpdateAccessKey")).toHaveLength(1);
    expect(store.auditLog(1)[0]!.action).toBe("contain-expired");
  });

  it("a failed call is recorded with AWS's error and request id, and nothing after it runs", async () => {
    const aws = fakeAws();
    aws.iam.addKey("alice", KEY);
    aws.iam.failNext.set("UpdateAccessKey", "AccessDenied");
    const { store, responder } = await setup(finding());
    const rec = await responder.propose(await responder.plan("Fkey0000000000001", "deactivate-key"), "U0RESP1");
    const failedCall = aws.iam.calls.find((c) => c.action === "UpdateAccessKey")!;
    expect(rec.state).toBe("failed");
    expect(rec.steps.at(-1)).toMatchObject({ step: "failed", api: "iam:UpdateAccessKey", requestId: failedCall.requestId, error: expect.stringContaining("AccessDenied") });
    expect(store.auditLog(1)[0]).toMatchObject({ action: "contain-failed", detail: expect.stringContaining(failedCall.requestId) });
    expect(aws.iam.keyStatus("alice", KEY)).toBe("Active");
  });

  it("revokes a role's sessions with AWSRevokeOlderSessions cut at the time of execution", async () => {
    const aws = fakeAws();
    let now = T0;
    const { responder } = await setup(roleFinding(), { now: () => now });
    const plan = await responder.plan("Frole000000000001", "revoke-sessions");
    now += 90_000;
    const rec = await responder.propose(plan, "U0RESP1");
    expect(rec.state).toBe("executed");
    const doc = JSON.parse(aws.iam.inline.get("role:Deploy")!.get("AWSRevokeOlderSessions")!);
    expect(doc.Statement[0]).toEqual({ Effect: "Deny", Action: ["*"], Resource: ["*"], Condition: { DateLessThan: { "aws:TokenIssueTime": "2026-12-06T03:15:30.000Z" } } });
    expect(rec.undo).toBeUndefined();
  });

  it("quarantines a user with a deny-all policy and removes it on undo", async () => {
    const aws = fakeAws();
    const { responder } = await setup(finding());
    const rec = await responder.propose(await responder.plan("Fkey0000000000001", "quarantine"), "U0RESP1");
    expect(JSON.parse(aws.iam.inline.get("user:alice")!.get("TrailhoundQuarantine")!).Statement[0]).toMatchObject({ Effect: "Deny", Action: ["*"], Resource: ["*"] });
    await responder.undo(rec.id, "U0RESP1");
    expect(aws.iam.inline.get("user:alice")!.has("TrailhoundQuarantine")).toBe(false);
  });

  it("deletes the login profile and detaches the policy the finding shows", async () => {
    const aws = fakeAws();
    aws.iam.loginProfiles.add("bob");
    aws.iam.attached.set("role:Deploy", new Set(["arn:aws:iam::aws:policy/AdministratorAccess"]));
    const lp = finding({ id: "Flp00000000000001", evidence: { eventName: "CreateLoginProfile", targetUser: "bob" } });
    const at = finding({
      id: "Fat00000000000001",
      evidence: { eventName: "AttachRolePolicy", policyArn: "arn:aws:iam::aws:policy/AdministratorAccess", target: { kind: "role", name: "Deploy" } },
    });
    const { responder } = await setup([lp, at]);
    expect((await responder.propose(await responder.plan(lp.id, "delete-login-profile"), "U0RESP1")).state).toBe("executed");
    expect(aws.iam.loginProfiles.has("bob")).toBe(false);
    expect((await responder.propose(await responder.plan(at.id, "detach-policy"), "U0RESP1")).state).toBe("executed");
    expect(aws.iam.attached.get("role:Deploy")!.size).toBe(0);
  });

  it("refuses a finding of another account without a responder role, before any IAM call", async () => {
    const aws = fakeAws();
    const other = finding({ id: "Fother00000000001", identity: { key: `user:${OTHER}:alice`, arn: `arn:aws:iam::${OTHER}:user/alice`, accountId: OTHER } });
    const store = TrailStore.memory();
    await store.recordFindings([other], T0);
    const responder = new Responder({ store, iam: iamFactory([]), events: memoryEvents(), guard, now: () => T0 });
    const rec = await responder.propose(await responder.plan(other.id, "quarantine"), "U0RESP1");
    expect(rec.state).toBe("failed");
    expect(rec.steps.at(-1)!.error).toContain(`no responder role for account ${OTHER}`);
    expect(aws.sts.calls.map((c) => c.action)).toEqual(["GetCallerIdentity"]);
    expect(aws.iam.calls).toEqual([]);
  });

  it("refuses an action that does not fit, and a key that is not long-term", async () => {
    fakeAws();
    const { responder } = await setup([finding(), roleFinding()]);
    await expect(responder.plan("Frole000000000001", "deactivate-key")).rejects.toBeInstanceOf(RespondError);
    await expect(responder.plan("Fkey0000000000001", "deactivate-key", { accessKeyIds: ["ASIATEMPORARY0000001"] })).rejects.toThrow(/temporary keys/);
    await expect(responder.plan("Fnope", "quarantine")).rejects.toMatchObject({ code: "not-found" });
  });
});

describe("undo under the two-person rule", () => {
  it("an undo is only a request until another responder approves it in time; the asker cannot approve; a late approval undoes nothing", async () => {
    const aws = fakeAws();
    aws.iam.addKey("alice", KEY);
    let now = T0;
    const { store, responder } = await setup(finding(), { approvalWindowMs: 10 * 60_000, now: () => now });
    const proposed = await responder.propose(await responder.plan("Fkey0000000000001", "deactivate-key"), "U0RESP1");
    const rec = await responder.approve(proposed.id, "U0RESP2");
    expect(aws.iam.keyStatus("alice", KEY)).toBe("Inactive");
    const calls = aws.iam.calls.length;

    const asked = await responder.undo(rec.id, "U0RESP1");
    expect(asked).toMatchObject({ state: "executed", undoRequest: { by: "U0RESP1", deadline: new Date(T0 + 10 * 60_000).toISOString() } });
    expect(aws.iam.calls.length).toBe(calls); // nothing called
    expect(store.auditLog(1)[0]).toMatchObject({ action: "contain-proposed", actor: "U0RESP1", detail: expect.stringContaining("undo: iam:UpdateAccessKey") });
    await expect(responder.undo(rec.id, "U0RESP2")).rejects.toMatchObject({ code: "state" }); // one request at a time
    await expect(responder.approveUndo(rec.id, "U0RESP1")).rejects.toMatchObject({ code: "refused", message: expect.stringContaining("two-person") });
    expect(aws.iam.keyStatus("alice", KEY)).toBe("Inactive");

    // Too late: nothing undone, the request is dropped.
    now += 11 * 60_000;
    await expect(responder.approveUndo(rec.id, "U0RESP2")).rejects.toMatchObject({ code: "state" });
    expect(aws.iam.keyStatus("alice", KEY)).toBe("Inactive");
    expect(store.getContainment(rec.id)).toMatchObject({ state: "executed" });
    expect(store.getContainment(rec.id)!.undoRequest).toBeUndefined();
    expect(store.auditLog(1)[0]).toMatchObject({ action: "contain-expired", detail: expect.stringContaining("nothing undone") });

    // Asked again, approved in time by another responder: the key is active again.
    await responder.undo(rec.id, "U0RESP1");
    now += 60_000;
    const undone = await responder.approveUndo(rec.id, "U0RESP2");
    expect(undone).toMatchObject({ state: "undone", undone: { by: "U0RESP2" } });
    expect(aws.iam.keyStatus("alice", KEY)).toBe("Active");
    expect(undone.steps.map((s) => s.step).slice(-5)).toEqual(["undo-proposed", "undo-expired", "undo-proposed", "undo-approved", "undo-executed"]);
    expect(store.auditLog(2).map((a) => a.action)).toEqual(["contain-undone", "contain-approved"]);
  });

  it("the bot's timer drops an undo request past its deadline", async () => {
    const aws = fakeAws();
    aws.iam.addKey("alice", KEY);
    let now = T0;
    const { responder } = await setup(finding(), { approvalWindowMs: 60_000, now: () => now });
    const rec = await responder.approve((await responder.propose(await responder.plan("Fkey0000000000001", "deactivate-key"), "U0RESP1")).id, "U0RESP2");
    await responder.undo(rec.id, "U0RESP2");
    expect(await responder.expire(rec.id)).toBeUndefined(); // not yet
    now += 2 * 60_000;
    const expired = await responder.expire(rec.id);
    expect(expired).toMatchObject({ state: "executed" });
    expect(expired!.undoRequest).toBeUndefined();
    expect(expired!.steps.at(-1)).toMatchObject({ step: "undo-expired", by: "trailhound" });
    expect(aws.iam.keyStatus("alice", KEY)).toBe("Inactive");
  });
});

describe("the documented responder role", () => {
  it("grants exactly the calls containment makes", async () => {
    const { readFile } = await import("node:fs/promises");
    const { RESPONDER_PERMISSIONS } = await import("../../src/respond/iam.js");
    const doc = await readFile(new URL("../../docs/RESPOND.md", import.meta.url), "utf8");
    const json = /```json\n([\s\S]*?)```/.exec(doc)![1]!;
    const policy = JSON.parse(json) as { Statement: Array<{ Effect: string; Action: string[] }> };
    expect([...policy.Statement[0]!.Action].sort()).toEqual(RESPONDER_PERMISSIONS);
  });
});
