import { emptyBaselineFacts, readsRequestParameters, type BaselineFacts } from "./lean-facts.js";
import type { Principal } from "../events/types.js";
import { KEY_CALLS } from "../events/targets.js";
import type { IdentityAcc } from "./accumulator.js";

/**
 * Records before the detection window, held back and folded in per identity.
 *
 * Why: a record touches a few dozen scattered objects of its identity (a map and a counter per
 * dimension, hour and day tallies). With thousands of identities interleaved in the input, each
 * of those is a cache miss, and memory latency, not arithmetic, was most of a scan's time.
 * Folding a batch identity by identity keeps one identity's state hot for all of its records.
 *
 * Exactness: each identity still sees its own records in arrival order (a stable counting sort),
 * and identities do not share state, so the baselines are the same as folding each record on
 * arrival. The scanner flushes before anything else touches an identity (a window record, the
 * end of the scan).
 */
export class DeferredRecords {
  private n = 0;
  private readonly acc: Int32Array;
  /** Per row: time, flags (failed 1, denied 2). */
  private readonly nums: Float64Array;
  /**
   * Per row, side by side (one or two cache lines, not one per column: the flush visits rows in
   * identity order, far apart): api, eventName, region, sourceIp, uaFamily, errorCode,
   * requestParameters, principal, resources (KMS key reads only).
   */
  private readonly refs: unknown[];
  private readonly facts: BaselineFacts = emptyBaselineFacts();

  constructor(readonly capacity = 1 << 17) {
    this.acc = new Int32Array(capacity);
    this.nums = new Float64Array(2 * capacity);
    this.refs = new Array<unknown>(REFS * capacity).fill(null);
  }

  get size(): number {
    return this.n;
  }

  /** Hold `f` for the accumulator numbered `acc`. Returns true when the batch is full. */
  push(acc: number, f: BaselineFacts): boolean {
    const i = this.n++;
    this.acc[i] = acc;
    this.nums[2 * i] = f.time;
    this.nums[2 * i + 1] = (f.failed ? 1 : 0) | (f.denied ? 2 : 0);
    const o = REFS * i;
    const r = this.refs;
    r[o] = f.api;
    r[o + 1] = f.eventName;
    r[o + 2] = f.region;
    r[o + 3] = f.sourceIp;
    r[o + 4] = f.uaFamily;
    r[o + 5] = f.errorCode;
    // Only the calls whose parameters the baseline reads keep them: a batch must not hold parsed records.
    r[o + 6] = f.requestParameters !== null && readsRequestParameters(f.eventName) ? f.requestParameters : null;
    r[o + 7] = f.principal;
    // KMS key reads name their key in `resources` (src/events/targets.ts).
    r[o + 8] = f.resources !== undefined && KEY_CALLS.has(f.eventName) ? f.resources : null;
    return this.n === this.capacity;
  }

  /**
   * Hand every held record to `fold`, grouped by accumulator, each group in arrival order, then
   * empty the batch. `fold` gets a reused facts object.
   */
  flush(accs: readonly IdentityAcc[], fold: (acc: IdentityAcc, f: BaselineFacts) => void): void {
    const n = this.n;
    if (n === 0) return;
    // Stable counting sort of row numbers by accumulator.
    const start = new Int32Array(accs.length + 1);
    for (let i = 0; i < n; i++) start[this.acc[i]! + 1]!++;
    for (let a = 0; a < accs.length; a++) start[a + 1]! += start[a]!;
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[start[this.acc[i]!]!++] = i;
    const f = this.facts;
    const r = this.refs;
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      f.time = this.nums[2 * i]!;
      const fl = this.nums[2 * i + 1]!;
      f.failed = (fl & 1) !== 0;
      f.denied = (fl & 2) !== 0;
      const o = REFS * i;
      f.api = r[o] as string;
      f.eventName = r[o + 1] as string;
      f.region = r[o + 2] as string;
      f.sourceIp = r[o + 3] as string;
      f.uaFamily = r[o + 4] as string;
      f.errorCode = r[o + 5] as string | undefined;
      f.requestParameters = r[o + 6] as Record<string, unknown> | null;
      f.principal = r[o + 7] as Principal;
      f.resources = r[o + 8] ?? undefined;
      r[o + 6] = r[o + 8] = null; // do not keep parsed records alive
      fold(accs[this.acc[i]!]!, f);
    }
    this.n = 0;
  }
}

/** Entries per row in `refs`. */
const REFS = 9;
