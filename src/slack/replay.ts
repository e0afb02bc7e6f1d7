/**
 * Replay protection for the HTTP receiver. Slack signs `v0:<timestamp>:<body>`; Bolt refuses
 * timestamps older than 5 minutes, and within those 5 minutes a captured request would be accepted
 * again. This guard remembers what was signed (the timestamp as a number and a hash of the body,
 * never the signature header, which can be varied without changing what it signs: Bolt ignores
 * anything after the hex digest, `v0=<hex>=x`) until it is out of the window, and refuses repeats.
 * Accepted keys are kept in the store with their expiry, so a restart does not forget them.
 */
import { createHash } from "node:crypto";
import type { Log } from "../log.js";

/** What the guard needs from the store (TrailStore has both). */
export interface ReplayStore {
  replayKeys(now: number): Array<[string, number]>;
  rememberRequests(entries: ReadonlyArray<readonly [string, number]>, now: number): Promise<void>;
}

/** The key of a signed request: SHA-256 of exactly what the signature covers. */
export function signedKey(timestampSec: number, rawBody: Buffer | string): string {
  return createHash("sha256").update(`v0:${timestampSec}:`).update(rawBody).digest("hex");
}

export class ReplayGuard {
  /** key -> forget after (epoch ms). */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly store?: ReplayStore,
    private readonly log?: Log,
    /** Bolt's window is 5 minutes; keep a minute more for clock skew. */
    private readonly windowMs = 6 * 60_000,
    private readonly maxEntries = 50_000,
  ) {
    if (store) for (const [k, until] of store.replayKeys(now())) this.seen.set(k, until);
  }

  /**
   * True when this key was already accepted (a replay); otherwise records it (in memory at once,
   * so that a concurrent copy is refused, and in the store) and returns false.
   */
  isReplay(key: string, timestampSec: number): boolean {
    const now = this.now();
    this.prune(now);
    const until = this.seen.get(key);
    if (until !== undefined && until > now) return true;
    const ts = Number.isFinite(timestampSec) ? timestampSec * 1000 : now;
    const forgetAt = Math.max(now, ts) + this.windowMs;
    this.seen.set(key, forgetAt);
    if (this.seen.size > this.maxEntries) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.store?.rememberRequests([[key, forgetAt]], now).catch((err: unknown) => this.log?.error("could not save the replay guard's key in the store", { err }));
    return false;
  }

  get size(): number {
    return this.seen.size;
  }

  private prune(now: number): void {
    for (const [k, until] of this.seen) if (until <= now) this.seen.delete(k);
  }
}
