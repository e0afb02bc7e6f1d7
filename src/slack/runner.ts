/**
 * Background work after an ack: scans run with bounded concurrency and a bounded queue, each with
 * an AbortSignal, so that shutdown can stop them and wait for them to settle.
 */

export class QueueFullError extends Error {
  readonly code = "trailhound_scan_queue_full";
  constructor(readonly limit: number) {
    super(`Too many scans waiting (${limit}); try again in a few minutes.`);
  }
}

/** One person already has as many scans running or waiting as allowed. */
export class UserLimitError extends Error {
  readonly code = "trailhound_user_scan_limit";
  constructor(readonly limit: number) {
    super(`You already have ${limit} scan${limit === 1 ? "" : "s"} running or waiting (the limit per person); wait for one to finish.`);
  }
}

export class ScanRunner {
  private active = 0;
  /** Scans running or waiting per owner (Slack user id). */
  private readonly perOwner = new Map<string, number>();
  private readonly waiters: Array<() => void> = [];
  private readonly controllers = new Set<AbortController>();
  private readonly tasks = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    readonly maxConcurrent = 2,
    readonly maxWaiting = 20,
    /** Scans one owner may have running or waiting at once. */
    readonly maxPerOwner = Number.POSITIVE_INFINITY,
  ) {}

  /** Scans running or waiting for this owner. */
  ownedBy(owner: string): number {
    return this.perOwner.get(owner) ?? 0;
  }

  /** Whether this owner may submit another scan now. */
  ownerMayQueue(owner: string): boolean {
    return this.ownedBy(owner) < this.maxPerOwner;
  }

  /** Scans running plus waiting. */
  get load(): { running: number; waiting: number } {
    return { running: this.active, waiting: this.waiters.length };
  }

  /** Whether a new job would be accepted (it may still have to wait for a slot). */
  get accepting(): boolean {
    return !this.closed && this.waiters.length < this.maxWaiting;
  }

  /**
   * Run `job` in the background once a slot is free; `onQueued(ahead)` is called first when it
   * has to wait. The job always runs, even when aborted while waiting (its signal says so), so
   * that it can report what happened; shutdown waits for it. Returns the job's promise.
   */
  submit<T>(job: (signal: AbortSignal) => Promise<T>, onQueued?: (ahead: number) => void, owner?: string): Promise<T> {
    if (!this.accepting) return Promise.reject(this.closed ? new Error("shutting down") : new QueueFullError(this.maxWaiting));
    if (owner !== undefined && !this.ownerMayQueue(owner)) return Promise.reject(new UserLimitError(this.maxPerOwner));
    if (owner !== undefined) this.perOwner.set(owner, this.ownedBy(owner) + 1);
    const release = () => {
      if (owner === undefined) return;
      const n = this.ownedBy(owner) - 1;
      if (n > 0) this.perOwner.set(owner, n);
      else this.perOwner.delete(owner);
    };
    const ctl = new AbortController();
    this.controllers.add(ctl);
    const run = async () => {
      if (this.active >= this.maxConcurrent) {
        onQueued?.(this.waiters.length + 1);
        await new Promise<void>((resolve) => this.waiters.push(resolve));
      }
      this.active++;
      try {
        return await job(ctl.signal);
      } finally {
        this.active--;
        this.waiters.shift()?.();
      }
    };
    const p = run().finally(() => {
      this.controllers.delete(ctl);
      release();
    });
    const tracked = p.catch(() => undefined);
    this.tasks.add(tracked);
    void tracked.finally(() => this.tasks.delete(tracked));
    return p;
  }

  /** Refuse new work, abort what runs or waits, and wait (bounded) for it to settle. */
  async shutdown(reason: string, timeoutMs = 5000): Promise<void> {
    this.closed = true;
    for (const c of this.controllers) c.abort(new Error(reason));
    for (const w of this.waiters.splice(0)) w();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.tasks]),
      new Promise((r) => {
        timer = setTimeout(r, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
}

/**
 * Coalesce frequent updates into at most one call per `intervalMs`, one at a time, always ending
 * with the latest value. `close()` drops what is pending and waits for the call in flight, so
 * that a final update sent afterwards is never overtaken by a progress one.
 */
export class Throttle<T> {
  private pending: { value: T } | undefined;
  private inflight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private last = 0;
  private closed = false;

  constructor(
    private readonly send: (value: T) => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
    private readonly now: () => number = Date.now,
  ) {}

  push(value: T): void {
    if (this.closed) return;
    this.pending = { value };
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.inflight || !this.pending) return;
    const wait = Math.max(0, this.last + this.intervalMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const p = this.pending;
      this.pending = undefined;
      if (!p || this.closed) return;
      this.last = this.now();
      this.inflight = this.send(p.value)
        .then(() => undefined, this.onError)
        .finally(() => {
          this.inflight = undefined;
          this.schedule();
        });
    }, wait);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.pending = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inflight;
  }
}
