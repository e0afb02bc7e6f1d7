/**
 * Replay protection for the HTTP receiver. Bolt checks the signature and refuses timestamps older
 * than 5 minutes; within those 5 minutes a captured request would be accepted again. This guard
 * remembers the signatures it has accepted until they are out of Bolt's window and refuses repeats.
 */
export const REPLAY_ERROR_CODE = "trailhound_replayed_request";

export class ReplayError extends Error {
  readonly code = REPLAY_ERROR_CODE;
  constructor() {
    super("Refused a replayed Slack request (same signature seen within the 5-minute window)");
    this.name = "ReplayError";
  }
}

export class ReplayGuard {
  /** signature -> forget after (epoch ms); insertion order ~ expiry order. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly now: () => number = Date.now,
    /** Bolt's window is 5 minutes; keep a minute more for clock skew. */
    private readonly windowMs = 6 * 60_000,
    private readonly maxEntries = 100_000,
  ) {}

  /** True when this signature was already accepted (a replay); records it otherwise. */
  isReplay(signature: string, timestampSec: number): boolean {
    const now = this.now();
    this.prune(now);
    if (this.seen.has(signature)) return true;
    const ts = Number.isFinite(timestampSec) ? timestampSec * 1000 : now;
    // Bolt accepts future timestamps: keep those until they too are out of the window.
    this.seen.set(signature, Math.max(now, ts) + this.windowMs);
    if (this.seen.size > this.maxEntries) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return false;
  }

  get size(): number {
    return this.seen.size;
  }

  private prune(now: number): void {
    for (const [sig, until] of this.seen) {
      if (until > now) break;
      this.seen.delete(sig);
    }
  }
}
