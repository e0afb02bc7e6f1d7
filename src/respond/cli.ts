/**
 * `trailhound contain FINDING_ID --action A [--dry-run]` and `trailhound show FINDING_ID [--events]`.
 */
import { existsSync } from "node:fs";
import { userInfo } from "node:os";
import { createInterface } from "node:readline/promises";
import { createLogger } from "../log.js";
import { deadLetterPath, Notifier, notifySettings, type NotifierOptions } from "../notify/index.js";
import { storeFile } from "../store/maintenance.js";
import { TrailStore } from "../store/store.js";
import type { ContainmentRecord, StoredFinding } from "../store/types.js";
import { CONTAIN_ACTIONS, RespondError, type ContainAction, type Plan } from "./actions.js";
import { consoleEventUrl, fileEventLookup, type EventLookupResult } from "./events.js";
import { buildResponder, liveEventLookup, respondSettings, type ResponderWiring } from "./wiring.js";

export interface CliIo {
  out(s: string): void;
  err(s: string): void;
  /** Ask a yes/no question (TTY only); undefined: no terminal to ask on. */
  confirm?(question: string): Promise<boolean>;
  env: Record<string, string | undefined>;
}

export function processIo(): CliIo {
  const tty = process.stdin.isTTY && process.stderr.isTTY;
  return {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    env: process.env,
    ...(tty
      ? {
          async confirm(q: string) {
            const rl = createInterface({ input: process.stdin, output: process.stderr });
            try {
              return /^y(es)?$/i.test((await rl.question(q)).trim());
            } finally {
              rl.close();
            }
          },
        }
      : {}),
  };
}

/** A usage or refusal problem: printed without a stack, exit code 2. */
export class RespondUsageError extends Error {
  readonly code = "invalid-argument";
}

async function openStore(dir: string): Promise<TrailStore> {
  if (!existsSync(storeFile(dir))) throw new RespondUsageError(`no store in ${dir} (scan with --store ${dir} first, or pass --store)`);
  return TrailStore.open(dir);
}

export function formatPlanText(plan: Plan, dryRun: boolean): string {
  const lines = [
    `${dryRun ? "DRY RUN: nothing will be called. " : ""}Containment of finding ${plan.findingId}: ${plan.action}`,
    `  account   ${plan.account}`,
    `  resource  ${plan.resource}`,
    `  calls:`,
    ...plan.calls.map((c) => `    ${c.api} ${JSON.stringify(c.input)}`),
    `  breaks    ${plan.breaks}`,
    `  undo      ${plan.undo ? plan.undo.map((c) => `${c.api} ${JSON.stringify(c.input)}`).join("; ") : "not possible with trailhound"}`,
    ...plan.notes.map((n) => `  note      ${n}`),
  ];
  return lines.join("\n") + "\n";
}

export function formatRecordText(rec: ContainmentRecord): string {
  const steps = rec.steps.map(
    (s) => `    ${s.at} ${s.step}${s.api ? ` ${s.api}` : ""}${s.requestId ? ` request ${s.requestId}` : ""}${s.error ? `: ${s.error}` : ""} (by ${s.by})`,
  );
  return [`Containment ${rec.id}: ${rec.state}${rec.state === "executed" ? ` (${rec.summary})` : ""}`, ...steps].join("\n") + "\n";
}

export interface ContainCliOptions {
  action?: string;
  dryRun?: boolean;
  yes?: boolean;
  accessKeyId?: string[];
  input?: string[];
  store: string;
  undo?: string;
}

/** Test hooks of the CLI's notifications (the same Notifier as the bot's). */
export type CliNotifyHooks = Partial<Pick<NotifierOptions, "fetch" | "sleep" | "attempts" | "backoffMs">>;

/**
 * Exit codes: 0 done (or dry run, or options listed), 1 the AWS calls failed, 2 refused or bad input.
 * Sends the same notifications as the Slack flow (TRAILHOUND_WEBHOOK_*, TRAILHOUND_PAGERDUTY_*): an
 * executed containment resolves the PagerDuty alert and posts finding.contained to the webhook.
 */
export async function containCommand(
  findingId: string,
  o: ContainCliOptions,
  io: CliIo = processIo(),
  wiring: Partial<ResponderWiring> = {},
  notify: CliNotifyHooks = {},
): Promise<number> {
  const store = (wiring.store as TrailStore | undefined) ?? (await openStore(o.store));
  const notifier = new Notifier({
    settings: notifySettings(io.env),
    getFinding: (id) => store.getFinding(id),
    log: createLogger({ level: "error", write: (l) => io.err(l) }),
    deadLetterFile: deadLetterPath(o.store),
    ...notify,
  });
  const unsubscribe = notifier.enabled ? store.onChange(notifier.handle) : undefined;
  try {
    const settings = respondSettings(io.env);
    // The CLI has no second person: the operator running it is the approval.
    delete settings.approvalWindowMs;
    const responder = buildResponder({ ...wiring, store, settings, ...(o.input?.length ? { inputs: o.input } : {}) });
    const actor = `cli:${safeUser()}`;
    if (o.undo) {
      const rec = store.getContainment(o.undo);
      if (!rec || rec.findingId !== findingId) throw new RespondUsageError(`no containment ${o.undo} of finding ${findingId}`);
      if (!o.yes && !(await ask(io, `Undo ${rec.id} (${rec.undo?.map((c) => c.api).join(", ") ?? "nothing"})? [y/N] `))) return 2;
      const done = await responder.undo(o.undo, actor);
      io.out(formatRecordText(done));
      return 0;
    }
    if (!o.action) {
      const { options, refusals } = responder.options(findingId);
      io.out(`Finding ${findingId}: actions that fit (--action ...):\n`);
      for (const x of options) io.out(`  ${x.action.padEnd(22)} ${x.label}: ${x.target}${x.undoable ? " (undoable)" : ""}\n`);
      if (options.length === 0) io.out("  none\n");
      for (const r of refusals) io.out(`  refused${r.action ? ` ${r.action}` : ""}: ${r.reason}\n`);
      return 0;
    }
    if (!(CONTAIN_ACTIONS as readonly string[]).includes(o.action)) throw new RespondUsageError(`--action ${o.action}: expected one of ${CONTAIN_ACTIONS.join(", ")}`);
    const plan = await responder.plan(findingId, o.action as ContainAction, { by: actor, ...(o.accessKeyId?.length ? { accessKeyIds: o.accessKeyId } : {}) });
    io.out(formatPlanText(plan, o.dryRun === true));
    if (!o.dryRun && !o.yes && !(await ask(io, "Make these calls? [y/N] "))) {
      io.err("trailhound: not confirmed; nothing was called\n");
      return 2;
    }
    const rec = await responder.propose(plan, actor, { dryRun: o.dryRun === true });
    io.out(formatRecordText(rec));
    return rec.state === "failed" ? 1 : 0;
  } catch (e) {
    if (e instanceof RespondError && e.code !== "unavailable") throw new RespondUsageError(e.message);
    throw e;
  } finally {
    if (unsubscribe) {
      await notifier.idle();
      unsubscribe();
      const sent = notifier.delivered();
      const dead = notifier.deadLetters();
      if (sent + dead > 0) io.err(`notifications: ${sent} delivered${dead ? `, ${dead} not delivered (kept in ${deadLetterPath(o.store)})` : ""}\n`);
    }
    if (!wiring.store) await store.close();
  }
}

async function ask(io: CliIo, q: string): Promise<boolean> {
  if (!io.confirm) throw new RespondUsageError("no terminal to confirm on: add --yes to make the calls without a prompt (or --dry-run)");
  return io.confirm(q);
}

function safeUser(): string {
  try {
    return userInfo().username || "unknown";
  } catch {
    return "unknown";
  }
}

export interface ShowCliOptions {
  events?: boolean;
  input?: string[];
  store: string;
  format?: string;
}

export function formatFindingText(s: StoredFinding, containments: ContainmentRecord[]): string {
  const f = s.finding;
  const lines = [
    `${f.id}  ${f.severity.toUpperCase()} ${f.score}  ${f.title}  [${s.status}]`,
    `  detector   ${f.detector}`,
    `  identity   ${f.identity.key}${f.identity.arn ? ` (${f.identity.arn})` : ""}${f.identity.sessionName ? ` session ${f.identity.sessionName}` : ""}`,
    ...(f.sourceIp ? [`  source ip  ${f.sourceIp}`] : []),
    ...(f.region ? [`  region     ${f.region}`] : []),
    `  seen       ${f.firstSeen} .. ${f.lastSeen}, ${f.count} event${f.count === 1 ? "" : "s"}${f.failed ? " (all failed)" : ""}; in ${s.seenInScans} scan${s.seenInScans === 1 ? "" : "s"}`,
    `  why        ${f.why}`,
    `  events     ${f.eventIds.join(", ")}${f.count > f.eventIds.length ? ` (${f.eventIds.length} of ${f.count} ids kept)` : ""}`,
  ];
  if (f.evidence) lines.push(`  evidence   ${JSON.stringify(f.evidence)}`);
  for (const c of containments) lines.push(`  contained  ${c.id} ${c.action} ${c.state}: ${c.summary} (by ${c.approvedBy ?? c.proposedBy} at ${c.executedAt ?? c.proposedAt})`);
  return lines.join("\n") + "\n";
}

function formatEventsText(r: EventLookupResult, region: string): string {
  const out: string[] = [];
  for (const rec of r.records) {
    const id = String(rec.eventID ?? "");
    const reg = typeof rec.awsRegion === "string" ? rec.awsRegion : region;
    out.push(`--- ${id}  ${consoleEventUrl(id, reg)}`, JSON.stringify(rec, null, 2));
  }
  out.push(`${r.records.length} of ${r.records.length + r.missing.length} events found${r.missing.length ? `; not found: ${r.missing.join(", ")}` : ""}`);
  for (const p of r.problems) out.push(`problem: ${p}`);
  return out.join("\n") + "\n";
}

export async function showCommand(findingId: string, o: ShowCliOptions, io: CliIo = processIo(), wiring: Partial<ResponderWiring> = {}): Promise<number> {
  const format = o.format ?? "text";
  if (format !== "text" && format !== "json") throw new RespondUsageError(`--format ${format}: expected text or json`);
  const store = (wiring.store as TrailStore | undefined) ?? (await openStore(o.store));
  try {
    const stored = store.getFinding(findingId);
    if (!stored) throw new RespondUsageError(`no finding ${findingId} in the store`);
    const containments = store.containmentsFor(findingId);
    let events: EventLookupResult | undefined;
    if (o.events) {
      const lookup = wiring.events ?? (o.input?.length ? fileEventLookup(o.input) : liveEventLookup(respondSettings(io.env), wiring.stsFactory, wiring.maxAttempts));
      events = await lookup.find(stored.finding, stored.finding.eventIds);
    }
    if (format === "json") {
      io.out(JSON.stringify({ finding: stored, containments, ...(events ? { events } : {}) }, null, 2) + "\n");
    } else {
      io.out(formatFindingText(stored, containments));
      if (events) io.out(formatEventsText(events, stored.finding.region ?? "us-east-1"));
    }
    return 0;
  } finally {
    if (!wiring.store) await store.close();
  }
}
