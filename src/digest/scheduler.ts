/**
 * The digest scheduler: one node-cron task per configured digest (its time zone, `noOverlap`),
 * and one run at a time across all of them (scans share the store's cursors and the CPU).
 *
 * A run:
 *   1. sends what earlier digests left unsent (oldest first: the order in a channel is kept);
 *   2. scans incrementally from the cursors (runLiveScan, `incremental: true`), which updates the
 *      baselines and records findings before it resolves;
 *   3. plans what is new or worse for the channel (plan.ts) and builds the messages (messages.ts);
 *   4. writes the digest with all its parts, then its run time and the expiries it announces,
 *      to the store: from here on it is delivered exactly once, even across crashes;
 *   5. posts it (delivery.ts).
 *
 * Start-up: repair what a crash between the writes of step 4 left (run time, expiries), send the
 * unsent digests (looking in Slack for parts that went out unrecorded), then, for each digest
 * whose scheduled time passed while trailhound was not running, one catch-up run covering the
 * whole gap (from the last run to now). A scheduled tick that a catch-up already covered is
 * skipped. The window of a digest is [last run, now]; the first one covers `firstWindowMs`.
 */
import { schedule as cronSchedule, type ScheduledTask, type TaskContext, type TaskOptions } from "node-cron";
import { silentLogger, type Log } from "../log.js";
import type { Report } from "../scan/report-types.js";
import type { ScanFilters } from "../events/types.js";
import type { SourceCoverage } from "../sources/types.js";
import type { DigestSchedule, ScheduleFigures } from "../slack/ports.js";
import type { TrailStore } from "../store/store.js";
import type { DigestRecord } from "../store/types.js";
import type { DigestScheduleConfig } from "./config.js";
import { nextOccurrence } from "./cron.js";
import { DigestDelivery, defaultSleep, type DeliveryOutcome, type DigestSlack, type Sleep } from "./delivery.js";
import { DEFAULT_MESSAGE_OPTIONS, digestFailedMessage, digestMessages, findingPartsOf, type MessageOptions } from "./messages.js";
import { planDigest, type DigestPlan, type PlanInput } from "./plan.js";

/** One incremental scan for a digest (runLiveScan in production). It persists before resolving. */
/** `keys`: read exactly these new log files (S3 event notifications), not what is new by listing. */
/** `observe`: told what the source's read covered (account/regions, files, when they landed), when it says. */
export type DigestScan = (req: {
  start: number;
  end: number;
  filters: ScanFilters;
  by: string;
  target: string;
  signal: AbortSignal;
  keys?: string[];
  observe?: (c: SourceCoverage) => void;
}) => Promise<Report>;

export type DigestStore = Pick<
  TrailStore,
  | "getFinding"
  | "listFindings"
  | "matchSuppression"
  | "expiredUnannounced"
  | "markExpiryAnnounced"
  | "getSuppression"
  | "createDigest"
  | "markDigestPart"
  | "markDigestSent"
  | "markDigestFailed"
  | "pendingDigests"
  | "getDigest"
  | "digests"
  | "getDigestRun"
  | "setDigestRun"
  | "audit"
>;

export type ScheduleTask = (expr: string, fn: (ctx: TaskContext) => unknown, opts: TaskOptions) => ScheduledTask;

export interface DigestSchedulerOptions {
  schedules: readonly DigestScheduleConfig[];
  store: DigestStore;
  scan: DigestScan;
  slack: DigestSlack;
  log?: Log;
  now?: () => number;
  sleep?: Sleep;
  /** Creates the cron tasks; default node-cron's `schedule` (started). Tests pass `createTask` (not started). */
  scheduleTask?: ScheduleTask;
  /** Window of a digest's first run. Default 24 h. */
  firstWindowMs?: number;
  /** Longest window (LookupEvents keeps 90 days). Default 90 days. */
  maxWindowMs?: number;
  /** Retry unsent digests this often (0: only at runs and start). Default 10 min. */
  retryPendingMs?: number;
  messages?: Partial<MessageOptions>;
  /** Containment (src/respond): Contain… on the findings posted, as on scan results. */
  containState?: PlanInput["containState"];
  delivery?: { postIntervalMs?: number; maxRateLimitWaits?: number; maxRetries?: number; backoffMs?: number; maxRetryAfterMs?: number };
}

export type RunTrigger = "scheduled" | "catch-up" | "manual" | "push";

export interface DigestRunResult {
  schedule: string;
  trigger: RunTrigger;
  status: "posted" | "quiet" | "silent" | "skipped" | "scan-failed";
  digestId?: string;
  delivery?: DeliveryOutcome;
  plan?: DigestPlan;
  error?: string;
}

const DAY = 86_400_000;
/** How far back an alert run's window reaches (CloudTrail delivers a file up to about an hour after its events). */
export const ALERT_LOOKBACK_MS = 3_600_000;

export class DigestScheduler implements DigestSchedule {
  readonly #o: DigestSchedulerOptions;
  readonly #log: Log;
  readonly #now: () => number;
  readonly #delivery: DigestDelivery;
  readonly #tasks = new Map<string, ScheduledTask>();
  readonly #abort = new AbortController();
  /** Runs and deliveries, one at a time. */
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  /** Digests written by this process and not attempted yet: no need to look in Slack first. */
  readonly #fresh = new Set<string>();
  #started = false;
  #stopped = false;
  /** The alert schedule's channel (alerts.ts), whose announcements digests show as "alerted". */
  readonly #alertChannel: string | undefined;
  readonly #figures = new Map<string, ScheduleFigures>();

  constructor(o: DigestSchedulerOptions) {
    if (new Set(o.schedules.map((s) => s.name)).size !== o.schedules.length) throw new Error("digest schedule names must be unique");
    this.#o = o;
    this.#alertChannel = o.schedules.find((s) => s.kind === "alert")?.channel;
    for (const s of o.schedules)
      this.#figures.set(s.name, { name: s.name, kind: s.kind === "alert" ? "alert" : "digest", channel: s.channel, skippedTicks: 0, slowRuns: 0, landingToPost: [] });
    this.#log = (o.log ?? silentLogger).child({ src: "digest" });
    this.#now = o.now ?? Date.now;
    const sleep = o.sleep ?? defaultSleep;
    this.#delivery = new DigestDelivery({
      store: o.store,
      slack: o.slack,
      log: this.#log,
      now: this.#now,
      sleep,
      signal: this.#abort.signal,
      ...o.delivery,
    });
  }

  // ------------------------------------------------------------------ DigestSchedule (Home tab)

  #next(): { at: Date; s: DigestScheduleConfig } | null {
    let best: { at: Date; s: DigestScheduleConfig } | null = null;
    const now = this.#now();
    for (const s of this.#o.schedules) {
      const task = this.#tasks.get(s.name);
      const at = task ? nextOccurrence(s.cron, s.tz, now) : null;
      if (at && (!best || at < best.at)) best = { at, s };
    }
    return best;
  }

  /** The earliest next run of all digests (null before start). */
  nextRun(): Date | null {
    return this.#next()?.at ?? null;
  }

  get channel(): string | undefined {
    return this.#next()?.s.channel ?? this.#o.schedules[0]?.channel;
  }

  get cron(): string | undefined {
    return this.#next()?.s.cron ?? this.#o.schedules[0]?.cron;
  }

  get tz(): string | undefined {
    return this.#next()?.s.tz ?? this.#o.schedules[0]?.tz;
  }

  /** Each schedule's runs since start (`/cloudtrail status`). */
  figures(): ScheduleFigures[] {
    return [...this.#figures.values()].map((f) => ({ ...f, landingToPost: [...f.landingToPost] }));
  }

  // ------------------------------------------------------------------ lifecycle

  /** The cron task of a digest (tests drive runs with `task(name).execute()`). */
  task(name: string): ScheduledTask {
    const t = this.#tasks.get(name);
    if (!t) throw new Error(`no digest named ${name}`);
    return t;
  }

  /**
   * Create the cron tasks, then recover in the background (repair, resend, catch up). Returns the
   * recovery's promise (the bot does not wait for it; tests do).
   */
  start(): Promise<void> {
    if (this.#started) throw new Error("the digest scheduler is already started");
    this.#started = true;
    const make: ScheduleTask = this.#o.scheduleTask ?? ((expr, fn, opts) => cronSchedule(expr, fn, opts));
    const logger = {
      info: (m: string) => this.#log.info(`node-cron: ${m}`),
      warn: (m: string) => this.#log.warn(`node-cron: ${m}`),
      error: (m: string | Error, err?: Error) => this.#log.error("node-cron error", { err: err ?? m }),
      debug: (m: string | Error) => this.#log.debug(`node-cron: ${String(m)}`),
    };
    for (const s of this.#o.schedules) {
      const task = make(s.cron, (ctx) => this.#tick(s.name, ctx), {
        timezone: s.tz,
        name: `digest:${s.name}`,
        // A slow run never stacks: #tick skips (and reports) a tick while the schedule's previous
        // run is queued or going. node-cron's own noOverlap would drop it with an anonymous log line.
        noOverlap: false,
        logger,
      });
      this.#tasks.set(s.name, task);
    }
    this.#log.info("digests scheduled", {
      digests: this.#o.schedules.map((s) => ({ name: s.name, channel: s.channel, cron: s.cron, tz: s.tz, next: this.#nextOf(s)?.toISOString() })),
    });
    const retry = this.#o.retryPendingMs ?? 600_000;
    if (retry > 0) {
      this.#timer = setInterval(() => void this.#retryPending(), retry);
      this.#timer.unref();
    }
    return this.recover();
  }

  #nextOf(s: DigestScheduleConfig): Date | null {
    const t = this.#tasks.get(s.name);
    return t ? nextOccurrence(s.cron, s.tz, this.#now()) : null;
  }

  /** Stop the tasks, interrupt waits, let the current step finish. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped)
      return this.#queue.then(
        () => undefined,
        () => undefined,
      );
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    for (const t of this.#tasks.values()) {
      try {
        await t.destroy();
      } catch (err) {
        this.#log.warn("could not stop a digest task", { err });
      }
    }
    this.#abort.abort();
    await this.#queue.then(
      () => undefined,
      () => undefined,
    );
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  // ------------------------------------------------------------------ recovery

  /** Repair, resend what is unsent, then one catch-up run per digest that missed its time. */
  recover(): Promise<void> {
    return this.#exclusive(async () => {
      if (this.#stopped) return;
      await this.#repair();
      await this.#delivery.deliverPending({ resume: (d) => !this.#fresh.delete(d.id) });
    }).then(async () => {
      for (const s of this.#o.schedules) {
        if (this.#stopped) return;
        const last = this.#o.store.getDigestRun(s.name);
        if (last === undefined) continue;
        const task = this.#tasks.get(s.name);
        const missed = task ? nextOccurrence(s.cron, s.tz, Date.parse(last)) : null;
        if (missed && missed.getTime() <= this.#now()) {
          this.#log.info("digest missed while trailhound was not running: catching up", { digest: s.name, lastRun: last, missed: missed.toISOString() });
          await this.run(s.name, "catch-up");
        }
      }
    });
  }

  /** A crash between the writes of a run: its digest exists, but not its run time or its expiries. */
  async #repair(): Promise<void> {
    const store = this.#o.store;
    for (const d of store.pendingDigests()) {
      const last = store.getDigestRun(d.schedule);
      if (this.#o.schedules.some((s) => s.name === d.schedule) && (last === undefined || Date.parse(last) < Date.parse(d.window.end))) {
        await store.setDigestRun(d.schedule, d.window.end);
      }
      const unannounced = (d.expiries ?? []).filter((id) => store.getSuppression(id)?.expiryAnnounced !== true);
      if (unannounced.length) await store.markExpiryAnnounced(unannounced, this.#now());
    }
  }

  async #retryPending(): Promise<void> {
    if (this.#stopped || this.#o.store.pendingDigests().length === 0) return;
    await this.#exclusive(() => this.#delivery.deliverPending({ resume: (d) => !this.#fresh.delete(d.id), only: ["pending"] })).catch((err: unknown) =>
      this.#log.error("retrying unsent digests failed", { err }),
    );
  }

  // ------------------------------------------------------------------ runs

  #tick(name: string, ctx: TaskContext): Promise<DigestRunResult> {
    const trigger: RunTrigger = ctx.execution?.reason === "scheduled" ? "scheduled" : "manual";
    const f = this.#figures.get(name);
    if (f?.running) {
      // Runs never overlap and are never doubled: this tick is skipped, and said so.
      const now = this.#now();
      f.skippedTicks++;
      f.lastSkippedAt = now;
      this.#log.warn("the previous run is still going: this tick is skipped (runs never overlap)", {
        digest: name,
        tick: ctx.date.toISOString(),
        previous: f.running.trigger,
        since: new Date(f.running.since).toISOString(),
        forMs: now - f.running.since,
        skippedTicks: f.skippedTicks,
      });
      return Promise.resolve({ schedule: name, trigger, status: "skipped", error: "the previous run is still going" });
    }
    return trigger === "scheduled" ? this.run(name, "scheduled", ctx.date.getTime()) : this.run(name, "manual");
  }

  /**
   * Run one digest now (after whatever runs). Never throws: the result says what happened.
   * `slot`: the scheduled time of a cron tick, skipped when a run (a catch-up) already covered it.
   */
  run(name: string, trigger: RunTrigger = "manual", slot?: number): Promise<DigestRunResult> {
    const s = this.#o.schedules.find((x) => x.name === name);
    if (!s) return Promise.reject(new Error(`no digest named ${name}`));
    const f = this.#figures.get(name);
    const mark = f && !f.running ? (f.running = { trigger, since: this.#now() }) : undefined;
    return this.#exclusive(() => this.#run(s, trigger, slot))
      .catch((err: unknown) => {
        this.#log.error("digest run failed", { err, digest: name });
        return { schedule: name, trigger, status: "skipped" as const, error: err instanceof Error ? err.message : String(err) };
      })
      .finally(() => {
        if (f && mark && f.running === mark) delete f.running;
      });
  }

  /**
   * An alert (or digest) run over files that just landed (S3 event notifications through SQS),
   * after whatever runs: only `keys` are read, and the window reaches back `lookbackMs` (default
   * 1 h) whatever the last run, since a new file holds events from minutes before it landed. The
   * findings ledger keeps what was already posted from being posted again.
   */
  push(name: string, keys: string[], lookbackMs = ALERT_LOOKBACK_MS): Promise<DigestRunResult> {
    const s = this.#o.schedules.find((x) => x.name === name);
    if (!s) return Promise.reject(new Error(`no digest named ${name}`));
    return this.#exclusive(() => this.#run(s, "push", undefined, { keys, lookbackMs })).catch((err: unknown) => {
      this.#log.error("pushed run failed", { err, digest: name });
      return { schedule: name, trigger: "push" as const, status: "skipped" as const, error: err instanceof Error ? err.message : String(err) };
    });
  }

  /** One run, and its figures: how long, what it read; a run that went past the next tick is reported. */
  async #run(s: DigestScheduleConfig, trigger: RunTrigger, slot?: number, pushed?: { keys: string[]; lookbackMs: number }): Promise<DigestRunResult> {
    const startedAt = this.#now();
    const seen: { coverage?: SourceCoverage } = {};
    const res = await this.#runOnce(s, trigger, slot, pushed, seen);
    const f = this.#figures.get(s.name);
    if (!f || (res.status === "skipped" && !seen.coverage)) return res;
    const ended = this.#now();
    const c = seen.coverage;
    f.last = {
      trigger,
      startedAt,
      ms: ended - startedAt,
      status: res.status,
      ...(c ? { accountRegions: c.accountRegions } : {}),
      ...(c?.files !== undefined ? { files: c.files } : {}),
    };
    const next = trigger === "push" ? null : nextOccurrence(s.cron, s.tz, startedAt);
    if (next && ended > next.getTime()) {
      f.slowRuns++;
      this.#log.warn("a run took longer than its schedule's interval: the ticks it overran are skipped, not doubled", {
        digest: s.name,
        trigger,
        startedAt: new Date(startedAt).toISOString(),
        ms: ended - startedAt,
        nextTick: next.toISOString(),
        ...(c ? { accountRegions: c.accountRegions, files: c.files } : {}),
      });
    }
    return res;
  }

  async #runOnce(
    s: DigestScheduleConfig,
    trigger: RunTrigger,
    slot: number | undefined,
    pushed: { keys: string[]; lookbackMs: number } | undefined,
    seen: { coverage?: SourceCoverage },
  ): Promise<DigestRunResult> {
    const base = { schedule: s.name, trigger };
    if (this.#stopped) return { ...base, status: "skipped", error: "stopping" };
    const store = this.#o.store;
    const covered = store.getDigestRun(s.name);
    if (slot !== undefined && covered !== undefined && Date.parse(covered) >= slot) {
      this.#log.info("scheduled digest already covered by a catch-up run", { digest: s.name, slot: new Date(slot).toISOString() });
      return { ...base, status: "skipped", error: "already covered" };
    }
    // Earlier digests first, so that a channel reads them in order.
    await this.#delivery.deliverPending({ resume: (d) => !this.#fresh.delete(d.id) });

    const now = this.#now();
    const last = store.getDigestRun(s.name);
    const lastMs = last === undefined ? undefined : Date.parse(last);
    let start = lastMs === undefined ? now - (this.#o.firstWindowMs ?? DAY) : Math.max(lastMs, now - (this.#o.maxWindowMs ?? 90 * DAY));
    // An alert run reads only what is new (cursors), but a new file holds events from minutes (up
    // to about an hour) before it is delivered: its window reaches back that far, or those events
    // would only train baselines. The ledger keeps what was posted from being posted again.
    if (pushed) start = Math.min(start, now - pushed.lookbackMs);
    else if (s.kind === "alert") start = Math.min(start, now - ALERT_LOOKBACK_MS);
    if (start >= now) return { ...base, status: "skipped", error: "nothing to cover since the last run" };

    let report: Report;
    let coverage: SourceCoverage | undefined;
    try {
      // Unfiltered: the store's cursors are shared by every digest, so every scan must record
      // every account's findings; each digest then shows its own (filters apply in the plan).
      report = await this.#o.scan({
        start,
        end: now,
        filters: {},
        by: "trailhound",
        target: `digest ${s.name}`,
        signal: this.#abort.signal,
        ...(pushed ? { keys: pushed.keys } : {}),
        observe: (c) => {
          coverage = seen.coverage = c;
        },
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.#log.error("digest scan failed; the next run covers this window again", { digest: s.name, err });
      if (!this.#stopped) await this.#notifyFailure(s, { start, end: now }, message);
      return { ...base, status: "scan-failed", error: message };
    }
    if (this.#stopped) return { ...base, status: "skipped", error: "stopping" };

    // Expired suppressions are announced by the digests, not by the alert runs.
    const expired = s.kind === "alert" ? [] : store.expiredUnannounced(now);
    const plan = planDigest({
      schedule: s,
      window: { start, end: now },
      catchUp: trigger === "catch-up",
      report,
      changedSince: lastMs ?? start,
      getFinding: (id) => store.getFinding(id),
      findings: store.listFindings({ status: ["open", "suppressed"] }),
      digests: store.digests(),
      expired,
      activeSuppression: (f) => store.matchSuppression(f, now),
      ...(this.#alertChannel ? { alertChannel: this.#alertChannel } : {}),
      ...(this.#o.containState ? { containState: this.#o.containState } : {}),
    });
    const parts = digestMessages(plan, { ...DEFAULT_MESSAGE_OPTIONS, ...this.#o.messages });
    const window = { start: plan.window.start, end: plan.window.end };
    const summary = `${plan.items.length} new or worse, ${plan.stillOpen} still open, ${plan.suppressed} suppressed, ${plan.expiries.length} expired suppression(s)`;

    if (parts.length === 0) {
      await store.setDigestRun(s.name, now);
      await store.audit({
        at: new Date(now).toISOString(),
        actor: "trailhound",
        action: "digest",
        target: s.name,
        detail: `quiet, nothing posted (${summary}); ${window.start} → ${window.end}`,
      });
      return { ...base, status: "silent", plan };
    }

    // Written before anything is posted; then the run time and the expiries it announces.
    const severities: Record<string, (typeof plan.items)[number]["finding"]["severity"]> = {};
    for (const it of plan.items) severities[it.finding.id] = it.finding.severity;
    const d: DigestRecord = await store.createDigest(
      {
        schedule: s.name,
        channel: s.channel,
        window,
        findingIds: plan.items.map((it) => it.finding.id),
        parts,
        severities,
        expiries: plan.expiries.map((e) => e.suppression.id),
        findingParts: findingPartsOf(parts),
      },
      now,
    );
    this.#fresh.add(d.id);
    await store.setDigestRun(s.name, now);
    if (plan.expiries.length)
      await store.markExpiryAnnounced(
        plan.expiries.map((e) => e.suppression.id),
        now,
      );
    await store.audit({
      at: new Date(now).toISOString(),
      actor: "trailhound",
      action: "digest",
      target: d.id,
      detail: `written for ${s.channel} (${trigger}): ${parts.length} message(s); ${summary}; ${window.start} → ${window.end}`,
    });

    const delivery = await this.#delivery.deliver(d, !this.#fresh.delete(d.id));
    if (s.kind === "alert" && coverage?.arrivals?.length) this.#noteLandingToPost(s.name, plan, coverage.arrivals, delivery);
    return { ...base, status: plan.items.length || plan.expiries.length ? "posted" : "quiet", digestId: d.id, delivery, plan };
  }

  /**
   * Alert latency from the source: for each finding posted, from the landing in the bucket of the
   * earliest-landed file of this run that can hold its newest event (delivered in or after that
   * event's minute) to the post. Exact for a run over one file (a pushed one), an upper bound otherwise.
   */
  #noteLandingToPost(name: string, plan: DigestPlan, arrivals: NonNullable<SourceCoverage["arrivals"]>, delivery: DeliveryOutcome): void {
    const f = this.#figures.get(name);
    if (!f || delivery !== "sent") return;
    const postedAt = this.#now();
    for (const it of plan.items) {
      const newest = Math.floor(Date.parse(it.finding.lastSeen) / 60_000) * 60_000;
      let landed = Number.POSITIVE_INFINITY;
      for (const a of arrivals) if (a.deliveredAt >= newest && a.landedAt < landed) landed = a.landedAt;
      if (Number.isFinite(landed) && postedAt >= landed) f.landingToPost.push(postedAt - landed);
    }
    if (f.landingToPost.length > 200) f.landingToPost.splice(0, f.landingToPost.length - 200);
  }

  async #notifyFailure(s: DigestScheduleConfig, w: { start: number; end: number }, message: string): Promise<void> {
    const m = digestFailedMessage({ schedule: s, window: { start: new Date(w.start).toISOString(), end: new Date(w.end).toISOString() } }, message);
    try {
      await this.#o.slack.post({ channel: s.channel, text: m.text, blocks: m.blocks, metadata: { digest: `failed:${s.name}`, part: 0 } });
    } catch (err) {
      this.#log.warn("could not tell the channel that the digest scan failed", { err, digest: s.name });
    }
  }
}
