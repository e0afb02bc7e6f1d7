/**
 * Request pacing for rate-limited APIs (LookupEvents: 2 requests/s per account per region).
 *
 * A `RateLimiter` grants requests one at a time, first come first served, with at least
 * `intervalMs` between two grants measured on the injected clock at the moment of the grant (not
 * at reservation time), so a late timer never lets two requests through closer together.
 * Strictly spaced slots rather than a token bucket: a bucket with a burst of 2 would send two
 * requests back to back, which is exactly what a strict "2 per second" server throttles.
 *
 * `LimiterRegistry` shares limiters process-wide by key (`<account>/<region>`), so two scans of
 * the same account and region (a slash-command scan during the daily digest) share one budget.
 */

export interface Clock {
  /** Epoch milliseconds. Must not go backwards. */
  now(): number;
}

/** Resolves after `ms` milliseconds of the matching clock; rejects when `signal` aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Wall-clock epoch ms that never goes backwards (performance.now based). */
export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
};

export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener("abort", onAbort, { once: true });
  });

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The operation was aborted", "AbortError");
}

export interface RateLimiterOptions {
  /** Minimum milliseconds between two grants. 2 requests/s = 500. */
  intervalMs: number;
  clock?: Clock;
  sleep?: Sleep;
}

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
  done: boolean;
}

export class RateLimiter {
  readonly intervalMs: number;
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private lastGrant = Number.NEGATIVE_INFINITY;
  private notBefore = Number.NEGATIVE_INFINITY;
  private readonly queue: Waiter[] = [];
  private pumping = false;
  private grantsTotal = 0;
  private deferralsTotal = 0;

  constructor(opts: RateLimiterOptions) {
    if (!(opts.intervalMs > 0) || !Number.isFinite(opts.intervalMs)) {
      throw new RangeError(`RateLimiter intervalMs must be a positive number, got ${opts.intervalMs}`);
    }
    this.intervalMs = opts.intervalMs;
    this.clock = opts.clock ?? systemClock;
    this.sleep = opts.sleep ?? realSleep;
  }

  /** Resolves when the caller may send one request. Rejects (and gives up its place) on abort. */
  acquire(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const waiter: Waiter = { resolve, reject, done: false };
      const onAbort = (): void => {
        if (waiter.done) return;
        waiter.done = true;
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        reject(abortReason(signal!));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      waiter.resolve = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      this.queue.push(waiter);
      void this.pump();
    });
  }

  /**
   * Hold every grant back until `ms` from now (e.g. after the server said "throttled"), for all
   * users of this limiter, not only the one that was throttled.
   */
  defer(ms: number): void {
    if (!(ms > 0)) return;
    this.deferralsTotal++;
    this.notBefore = Math.max(this.notBefore, this.clock.now() + ms);
  }

  /**
   * The request granted last left later than its grant (SDK set-up, signing, a busy event loop,
   * a new connection): space the next grant from `at` instead. Never moves anything earlier.
   */
  markSent(at: number = this.clock.now()): void {
    if (at > this.lastGrant) this.lastGrant = at;
  }

  /** Earliest time the next request could be granted. */
  nextSlot(): number {
    return Math.max(this.lastGrant + this.intervalMs, this.notBefore);
  }

  get pending(): number {
    return this.queue.length;
  }

  get stats(): { grants: number; deferrals: number } {
    return { grants: this.grantsTotal, deferrals: this.deferralsTotal };
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const now = this.clock.now();
        const at = this.nextSlot();
        if (now < at) {
          // Timers may fire early or late; loop and re-check against the clock either way.
          await this.sleep(at - now);
          continue;
        }
        const waiter = this.queue.shift()!;
        if (waiter.done) continue;
        waiter.done = true;
        this.lastGrant = now;
        this.grantsTotal++;
        waiter.resolve();
      }
    } catch (e) {
      // The injected sleep failed: fail the waiters rather than leave them hanging.
      for (const w of this.queue.splice(0)) {
        if (!w.done) {
          w.done = true;
          w.reject(e);
        }
      }
    } finally {
      this.pumping = false;
    }
  }
}

export interface LimiterRegistryOptions {
  intervalMs: number;
  clock?: Clock;
  sleep?: Sleep;
}

/** Limiters by key, created on first use. Every caller using a key shares one request budget. */
export class LimiterRegistry {
  private readonly limiters = new Map<string, RateLimiter>();

  constructor(private readonly opts: LimiterRegistryOptions) {}

  get(key: string): RateLimiter {
    let l = this.limiters.get(key);
    if (!l) {
      l = new RateLimiter(this.opts);
      this.limiters.set(key, l);
    }
    return l;
  }

  get intervalMs(): number {
    return this.opts.intervalMs;
  }

  keys(): string[] {
    return [...this.limiters.keys()];
  }
}

/**
 * LookupEvents allows 2 requests/s per account and region. Slots are spaced 505 ms apart (1%
 * under the limit) so that a few milliseconds of network jitter between two requests does not
 * make the server see two of them inside 1 s; see the lookup benchmark.
 */
export const LOOKUP_EVENTS_INTERVAL_MS = 505;

/** The process-wide registry for LookupEvents (real time). */
export const lookupEventsLimiters = new LimiterRegistry({ intervalMs: LOOKUP_EVENTS_INTERVAL_MS });
