/**
 * Containment, end to end: plan an action for a stored finding, record the proposal, wait for a
 * second responder when the two-person rule is on, execute the IAM calls one by one, and undo
 * where possible. Every step (proposed, approved, dry-run, executed, failed, expired, undone) is
 * written to the containment record and the audit log in one store write, with the AWS request id
 * of each call. Who may ask is decided by the caller (Slack: TRAILHOUND_RESPONDERS; CLI: whoever
 * holds the responder credentials); what may be done to which identity is decided here.
 */
import { randomBytes } from "node:crypto";
import type { TrailStore } from "../store/store.js";
import type { AuditEntry, ContainmentCall, ContainmentRecord, ContainmentStep } from "../store/types.js";
import {
  buildPlan,
  containOptions,
  identityTarget,
  RespondError,
  revokePolicy,
  type ActionOption,
  type ContainAction,
  type GuardConfig,
  type Plan,
  type Refusal,
} from "./actions.js";
import { keysInRecords, type EventLookup } from "./events.js";
import { IamCallError, type IamFactory, type IamPort } from "./iam.js";

export type ResponderStore = Pick<TrailStore, "getFinding" | "getContainment" | "containmentsFor" | "putContainment" | "audit">;

export interface ResponderOptions {
  store: ResponderStore;
  iam: IamFactory;
  /** Finds the access key a finding's events were signed with (deactivate-key). */
  events?: EventLookup;
  guard: GuardConfig;
  now?: () => number;
  /** Two-person rule: a second responder must approve within this many ms. Unset: the proposer's confirmation executes. */
  approvalWindowMs?: number;
  newId?: () => string;
}

export interface ProposeOptions {
  dryRun?: boolean;
  /** Where the finding is shown in Slack (kept on the record to update it). */
  slack?: ContainmentRecord["slack"];
}

function callText(c: ContainmentCall): string {
  const input = Object.entries(c.input)
    .filter(([k]) => k !== "PolicyDocument")
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  return `${c.api} ${input}`;
}

export class Responder {
  readonly #o: ResponderOptions;
  readonly #now: () => number;

  constructor(o: ResponderOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  get twoPerson(): boolean {
    return this.#o.approvalWindowMs !== undefined;
  }

  #finding(findingId: string) {
    const stored = this.#o.store.getFinding(findingId);
    if (!stored) throw new RespondError("not-found", `no finding ${findingId} in the store (scan first, or it was pruned)`);
    return stored.finding;
  }

  /** The actions that fit the finding, and the refusals. */
  options(findingId: string): { options: ActionOption[]; refusals: Refusal[] } {
    return containOptions(this.#finding(findingId), this.#o.guard);
  }

  /** Audit a refused containment (root, a service-linked role, the bot's own identity, ...): who tried, on what, why not. */
  async refused(findingId: string, by: string, reasons: readonly string[], action?: string): Promise<void> {
    await this.#o.store.audit({
      at: new Date(this.#now()).toISOString(),
      actor: by,
      action: "contain-refused",
      target: findingId,
      detail: `${action ? `${action}: ` : ""}${reasons.join("; ")}`.slice(0, 2000),
    });
  }

  /**
   * The exact plan of `action`; for deactivate-key, the key is read from the finding's events unless
   * given. `by`: who asks; a refusal is then audited (contain-refused).
   */
  async plan(findingId: string, action: ContainAction, opts: { accessKeyIds?: string[]; by?: string } = {}): Promise<Plan> {
    try {
      return await this.#plan(findingId, action, opts);
    } catch (e) {
      if (opts.by && e instanceof RespondError && e.code === "refused") await this.refused(findingId, opts.by, [e.message], action);
      throw e;
    }
  }

  async #plan(findingId: string, action: ContainAction, opts: { accessKeyIds?: string[] }): Promise<Plan> {
    const finding = this.#finding(findingId);
    let keys = opts.accessKeyIds;
    let keyNote: string | undefined;
    const now = new Date(this.#now());
    if (action === "deactivate-key" && !keys?.length) {
      // Refusals first: no event lookup for a finding that cannot be contained anyway.
      buildPlan({ finding, action, guard: this.#o.guard, accessKeyIds: ["AKIAXXXXXXXXXXXXXXXX"], now });
      const user = identityTarget(finding).target!.name;
      if (!this.#o.events) throw new RespondError("unavailable", "no source to read the finding's events from, to find the access key used; name the key");
      const found = await this.#o.events.find(finding, finding.eventIds, { limit: 5 });
      keys = keysInRecords(found.records, user);
      const read = found.records.length;
      keyNote = `Key found in the finding's events (${read} of ${finding.eventIds.length} read${found.problems.length ? `; ${found.problems.join("; ")}` : ""}).`;
      if (keys.length === 0)
        throw new RespondError(
          "not-found",
          `no access key of user ${user} in the finding's events (${read} of ${finding.eventIds.length} found${found.problems.length ? `: ${found.problems.join("; ")}` : ""}); name the key (CLI: --access-key-id)`,
        );
    } else if (keys?.length) keyNote = "Key named by the responder.";
    return buildPlan({ finding, action, guard: this.#o.guard, ...(keys ? { accessKeyIds: keys } : {}), ...(keyNote ? { keyNote } : {}), now });
  }

  #audit(rec: ContainmentRecord, action: AuditEntry["action"], by: string, detail: string): AuditEntry {
    return { at: new Date(this.#now()).toISOString(), actor: by, action, target: rec.findingId, detail: `${rec.id} ${rec.action} account ${rec.account}: ${detail}` };
  }

  #step(by: string, step: ContainmentStep["step"], extra: Partial<ContainmentStep> = {}): ContainmentStep {
    return { at: new Date(this.#now()).toISOString(), by, step, ...extra };
  }

  /**
   * Record a plan as proposed. Dry run: recorded and audited, nothing called. Two-person rule: it
   * waits for `approve` by another responder. Otherwise it executes now (the proposer's
   * confirmation is the approval).
   */
  async propose(plan: Plan, by: string, opts: ProposeOptions = {}): Promise<ContainmentRecord> {
    const id = this.#o.newId?.() ?? "C" + randomBytes(6).toString("hex");
    const now = this.#now();
    const dryRun = opts.dryRun === true;
    const twoPerson = !dryRun && this.twoPerson;
    const rec = await this.#o.store.putContainment(id, (prev) => {
      if (prev) throw new RespondError("state", `containment ${id} exists`);
      const r: ContainmentRecord = {
        id,
        findingId: plan.findingId,
        action: plan.action,
        account: plan.account,
        resource: plan.resource,
        summary: plan.summary,
        calls: plan.calls,
        breaks: plan.breaks,
        ...(plan.undo ? { undo: plan.undo } : {}),
        dryRun,
        state: dryRun ? "dry-run" : "awaiting-approval",
        proposedBy: by,
        proposedAt: new Date(now).toISOString(),
        ...(twoPerson ? { approvalDeadline: new Date(now + this.#o.approvalWindowMs!).toISOString() } : {}),
        steps: [this.#step(by, "proposed")],
        ...(opts.slack ? { slack: opts.slack } : {}),
      };
      const audit = [this.#audit(r, "contain-proposed", by, plan.calls.map(callText).join("; "))];
      if (dryRun) {
        r.steps.push(this.#step(by, "dry-run"));
        audit.push(this.#audit(r, "contain-dry-run", by, "dry run: no AWS call made"));
      }
      return { record: r, audit };
    });
    if (dryRun || twoPerson) return rec;
    return this.approve(id, by, { self: true });
  }

  /**
   * Approve and execute. With the two-person rule the approver must be another responder than the
   * proposer, before the deadline (past it the proposal is marked expired). `self`: the proposer's
   * own confirmation (no two-person rule).
   */
  async approve(id: string, by: string, opts: { self?: boolean } = {}): Promise<ContainmentRecord> {
    let expired = false;
    const rec = await this.#o.store.putContainment(id, (prev) => {
      if (!prev) throw new RespondError("not-found", `no containment ${id}`);
      if (prev.state !== "awaiting-approval") throw new RespondError("state", `containment ${id} is ${prev.state}, not awaiting approval`);
      if (!opts.self && this.twoPerson && by === prev.proposedBy)
        throw new RespondError("refused", "the two-person rule needs another responder to approve: the proposer cannot approve their own containment");
      if (opts.self && by !== prev.proposedBy) throw new RespondError("refused", "only the proposer confirms their own containment");
      if (prev.approvalDeadline && this.#now() > Date.parse(prev.approvalDeadline)) {
        expired = true;
        return {
          record: { ...prev, state: "expired", steps: [...prev.steps, this.#step(by, "expired")] },
          audit: [this.#audit(prev, "contain-expired", by, `approval deadline ${prev.approvalDeadline} passed; nothing executed`)],
        };
      }
      return {
        record: { ...prev, state: "executing", approvedBy: by, steps: [...prev.steps, this.#step(by, "approved")] },
        audit: [this.#audit(prev, "contain-approved", by, opts.self ? "confirmed by the proposer" : `approved by a second responder (proposed by ${prev.proposedBy})`)],
      };
    });
    if (expired) throw new RespondError("state", `the approval window of containment ${id} closed at ${rec.approvalDeadline}: nothing was done; propose it again`);
    return this.#execute(rec, by);
  }

  /** Cancel or expire proposals (and undo requests) past their deadline (called by the bot's timer). */
  async expire(id: string, by = "trailhound"): Promise<ContainmentRecord | undefined> {
    const cur = this.#o.store.getContainment(id);
    if (cur?.state === "executed" && cur.undoRequest) {
      if (this.#now() <= Date.parse(cur.undoRequest.deadline)) return undefined;
      return this.#o.store.putContainment(id, (prev) => {
        if (!prev?.undoRequest || this.#now() <= Date.parse(prev.undoRequest.deadline)) throw new RespondError("state", `the undo of ${id} is no longer waiting for approval`);
        const { undoRequest: req, ...rest } = prev;
        return {
          record: { ...rest, steps: [...prev.steps, this.#step(by, "undo-expired")] },
          audit: [this.#audit(prev, "contain-expired", by, `undo: approval deadline ${req.deadline} passed; nothing undone`)],
        };
      });
    }
    if (cur?.state !== "awaiting-approval" || !cur.approvalDeadline || this.#now() <= Date.parse(cur.approvalDeadline)) return undefined;
    return this.#o.store.putContainment(id, (prev) => {
      if (prev?.state !== "awaiting-approval") throw new RespondError("state", `containment ${id} is no longer awaiting approval`);
      return {
        record: { ...prev, state: "expired", steps: [...prev.steps, this.#step(by, "expired")] },
        audit: [this.#audit(prev, "contain-expired", by, `approval deadline ${prev.approvalDeadline} passed; nothing executed`)],
      };
    });
  }

  async #port(rec: ContainmentRecord, by: string): Promise<IamPort> {
    return this.#o.iam(rec.account, by);
  }

  async #fail(rec: ContainmentRecord, by: string, api: string | undefined, e: unknown): Promise<ContainmentRecord> {
    const requestId = e instanceof IamCallError ? e.requestId : undefined;
    const error = e instanceof Error ? e.message : String(e);
    return this.#o.store.putContainment(rec.id, (prev) => {
      const p = prev ?? rec;
      return {
        record: { ...p, state: "failed", steps: [...p.steps, this.#step(by, "failed", { ...(api ? { api } : {}), ...(requestId ? { requestId } : {}), error })] },
        audit: [this.#audit(p, "contain-failed", by, `${api ?? "before any call"}${requestId ? ` (request ${requestId})` : ""}: ${error}`)],
      };
    });
  }

  async #execute(rec: ContainmentRecord, by: string): Promise<ContainmentRecord> {
    let iam: IamPort;
    try {
      iam = await this.#port(rec, by);
    } catch (e) {
      return this.#fail(rec, by, undefined, e);
    }
    let calls = rec.calls;
    let undo = rec.undo;
    if (rec.action === "revoke-sessions") {
      // The cut-off is the moment of execution (an approval may come minutes after the proposal).
      const cutoff = new Date(this.#now());
      calls = calls.map((c) => ({ ...c, input: { ...c.input, PolicyDocument: revokePolicy(cutoff) } }));
    }
    if (rec.action === "deactivate-key") {
      // The state before: only keys that were active are deactivated, and only those reactivated by undo.
      const user = calls[0]!.input.UserName!;
      let listed: Array<{ id: string; status: string }>;
      try {
        listed = (await iam.listAccessKeys(user)).keys;
      } catch (e) {
        return this.#fail(rec, by, "iam:ListAccessKeys", e);
      }
      const status = new Map(listed.map((k) => [k.id, k.status]));
      const missing = calls.filter((c) => !status.has(c.input.AccessKeyId!)).map((c) => c.input.AccessKeyId!);
      if (missing.length) return this.#fail(rec, by, "iam:ListAccessKeys", new Error(`user ${user} has no key ${missing.join(", ")} (deleted, or the wrong user)`));
      const active = new Set(calls.filter((c) => status.get(c.input.AccessKeyId!) === "Active").map((c) => c.input.AccessKeyId!));
      undo = undo?.filter((c) => active.has(c.input.AccessKeyId!));
      calls = calls.filter((c) => active.has(c.input.AccessKeyId!));
      if (calls.length === 0) {
        return this.#o.store.putContainment(rec.id, (prev) => {
          const { undo: _none, ...p } = prev ?? rec;
          return {
            record: {
              ...p,
              calls: [],
              state: "executed",
              executedAt: new Date(this.#now()).toISOString(),
              summary: `${p.summary} (already inactive: nothing to do)`,
              steps: [...p.steps, this.#step(by, "executed", { error: "already inactive" })],
            },
            audit: [this.#audit(p, "contain-executed", by, "every key was already inactive: no call made")],
          };
        });
      }
    }
    let cur = await this.#o.store.putContainment(rec.id, (prev) => {
      const p = prev ?? rec;
      const { undo: _drop, ...rest } = p;
      return { record: { ...rest, calls, ...(undo?.length ? { undo } : {}) } };
    });
    for (const call of calls) {
      let requestId: string | undefined;
      try {
        requestId = (await iam.call(call.api, call.input)).requestId;
      } catch (e) {
        return this.#fail(cur, by, call.api, e);
      }
      cur = await this.#o.store.putContainment(rec.id, (prev) => {
        const p = prev ?? cur;
        return {
          record: { ...p, steps: [...p.steps, this.#step(by, "executed", { api: call.api, ...(requestId ? { requestId } : {}) })] },
          audit: [this.#audit(p, "contain-executed", by, `${callText(call)}${requestId ? ` (request ${requestId})` : ""}`)],
        };
      });
    }
    return this.#o.store.putContainment(rec.id, (prev) => ({ record: { ...(prev ?? cur), state: "executed", executedAt: new Date(this.#now()).toISOString() } }));
  }

  #undoable(rec: ContainmentRecord | undefined, id: string): ContainmentRecord {
    if (!rec) throw new RespondError("not-found", `no containment ${id}`);
    if (rec.state !== "executed") throw new RespondError("state", `containment ${id} is ${rec.state}: only an executed containment can be undone`);
    if (!rec.undo?.length) throw new RespondError("refused", `${rec.action} cannot be undone by trailhound`);
    return rec;
  }

  /**
   * Undo an executed containment (reactivate the keys that were active, remove the quarantine
   * policy), guarded like the containment itself: with the two-person rule this only records the
   * request (`undoRequest`, audited), which another responder approves with `approveUndo` before
   * its deadline; without it the calls are made now.
   */
  async undo(id: string, by: string): Promise<ContainmentRecord> {
    if (!this.twoPerson) return this.#undo(id, by);
    const now = this.#now();
    return this.#o.store.putContainment(id, (prev) => {
      const p = this.#undoable(prev, id);
      if (p.undoRequest && now <= Date.parse(p.undoRequest.deadline))
        throw new RespondError("state", `an undo of ${id} asked for by ${p.undoRequest.by} is already waiting for approval until ${p.undoRequest.deadline}`);
      const deadline = new Date(now + this.#o.approvalWindowMs!).toISOString();
      return {
        record: { ...p, undoRequest: { by, at: new Date(now).toISOString(), deadline }, steps: [...p.steps, this.#step(by, "undo-proposed")] },
        audit: [this.#audit(p, "contain-proposed", by, `undo: ${p.undo!.map(callText).join("; ")}; another responder must approve by ${deadline}`)],
      };
    });
  }

  /** Two-person rule: another responder than the one who asked approves the undo, before its deadline; then it is made. */
  async approveUndo(id: string, by: string): Promise<ContainmentRecord> {
    let expired: string | undefined;
    await this.#o.store.putContainment(id, (prev) => {
      const p = this.#undoable(prev, id);
      const req = p.undoRequest;
      if (!req) throw new RespondError("state", `no undo of containment ${id} is waiting for approval`);
      if (by === req.by) throw new RespondError("refused", "the two-person rule needs another responder to approve: who asked for the undo cannot approve it");
      const { undoRequest: _done, ...rest } = p;
      if (this.#now() > Date.parse(req.deadline)) {
        expired = req.deadline;
        return {
          record: { ...rest, steps: [...p.steps, this.#step(by, "undo-expired")] },
          audit: [this.#audit(p, "contain-expired", by, `undo: approval deadline ${req.deadline} passed; nothing undone`)],
        };
      }
      return {
        record: { ...rest, steps: [...p.steps, this.#step(by, "undo-approved")] },
        audit: [this.#audit(p, "contain-approved", by, `undo approved by a second responder (asked for by ${req.by})`)],
      };
    });
    if (expired) throw new RespondError("state", `the approval window of the undo of ${id} closed at ${expired}: nothing was undone; ask again`);
    return this.#undo(id, by);
  }

  async #undo(id: string, by: string): Promise<ContainmentRecord> {
    const rec = this.#undoable(this.#o.store.getContainment(id), id);
    let iam: IamPort;
    try {
      iam = await this.#port(rec, by);
    } catch (e) {
      throw e instanceof RespondError ? e : new RespondError("unavailable", (e as Error).message, { cause: e });
    }
    let cur = rec;
    for (const call of rec.undo ?? []) {
      let requestId: string | undefined;
      try {
        requestId = (await iam.call(call.api, call.input)).requestId;
      } catch (e) {
        const rid = e instanceof IamCallError ? e.requestId : undefined;
        const error = (e as Error).message;
        await this.#o.store.putContainment(id, (prev) => {
          const p = prev ?? cur;
          return {
            record: { ...p, steps: [...p.steps, this.#step(by, "undo-failed", { api: call.api, ...(rid ? { requestId: rid } : {}), error })] },
            audit: [this.#audit(p, "contain-failed", by, `undo ${call.api}${rid ? ` (request ${rid})` : ""}: ${error}`)],
          };
        });
        throw new RespondError("unavailable", `undo of ${id} failed at ${call.api}: ${error}`, { cause: e });
      }
      cur = await this.#o.store.putContainment(id, (prev) => {
        const p = prev ?? cur;
        return {
          record: { ...p, steps: [...p.steps, this.#step(by, "undo-executed", { api: call.api, ...(requestId ? { requestId } : {}) })] },
          audit: [this.#audit(p, "contain-undone", by, `${callText(call)}${requestId ? ` (request ${requestId})` : ""}`)],
        };
      });
    }
    return this.#o.store.putContainment(id, (prev) => {
      const p = prev ?? cur;
      return { record: { ...p, state: "undone", undone: { by, at: new Date(this.#now()).toISOString() } } };
    });
  }
}
