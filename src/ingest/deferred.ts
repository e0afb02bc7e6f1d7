import { emptyBaselineFacts, KeyTarget, readsRequestParameters, type BaselineFacts, type Place } from "./lean-facts.js";
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
   * requestParameters, principal, resources (KMS key reads only; a KeyTarget's target), place, a
   * KeyTarget's prefix (else null).
   */
  private readonly refs: unknown[];
  private readonly facts: BaselineFacts = emptyBaselineFacts();
  /**
   * The `resources` of the row being folded when the fast lane read it as a KeyTarget (a KMS key
   * read: a fifth of realistic records), filled from the row's two strings: the fold reads it and
   * keeps none of it (IdentityAcc.add keeps the target string; a fold worker's feeder copies it).
   * A batch spans several scavenges, and a KeyTarget per row held in it was promoted, then
   * dropped at the flush (8 MB of promoted garbage a million realistic records).
   */
  private readonly keyTarget = new KeyTarget("", "");
  /** The rows in accumulator order, while a batch is folded (allocated at the first flush, to the batch's size). */
  private sortedNums = new Float64Array(0);
  private sortedRefs: unknown[] = [];
  /**
   * Per accumulator, where its rows end (a flush's counting sort), kept from flush to flush: a
   * batch cut short by a record in the window (Ingest.addEvent) is flushed at once, and a new one
   * per flush (80 KB with 20,000 identities) was as many array buffers for the GC to track.
   */
  private ends = new Int32Array(0);

  /**
   * 65,536 rows: as fast as twice as many with 5,000 and with 20,000 identities (the sorted copy
   * makes the folding read in order), and the two copies take the memory one of those did.
   */
  constructor(readonly capacity = 1 << 16) {
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
    // KMS key reads name their key in `resources` (src/events/targets.ts). A key the fast lane read
    // (KeyTarget) is held as its two strings: see `keyTarget`.
    const res = f.resources;
    if (res === undefined || !KEY_CALLS.has(f.eventName)) r[o + 8] = r[o + 10] = null;
    else if (res instanceof KeyTarget) {
      r[o + 8] = res.target;
      r[o + 10] = res.prefix;
    } else {
      r[o + 8] = res;
      r[o + 10] = null;
    }
    r[o + 9] = f.place;
    return this.n === this.capacity;
  }

  /**
   * Hand every held record to `fold`, grouped by accumulator, each group in arrival order, then
   * empty the batch. `fold` gets a reused facts object.
   */
  flush(accs: readonly IdentityAcc[], fold: (acc: IdentityAcc, f: BaselineFacts) => void): void {
    const n = this.n;
    if (n === 0) return;
    // Stable counting sort of the rows by accumulator, copied in that order to the sorted rows:
    // the copy writes far apart (writes do not wait), the folding then reads in order.
    const na = accs.length;
    let end = this.ends;
    if (end.length < na + 1) this.ends = end = new Int32Array(Math.max(na + 1, 2 * end.length));
    else end.fill(0, 0, na + 1);
    const acc = this.acc;
    for (let i = 0; i < n; i++) end[acc[i]! + 1]!++;
    for (let a = 0; a < na; a++) end[a + 1]! += end[a]!;
    if (this.sortedNums.length < 2 * n) {
      // At least twice the last size: batches cut short by records in the window come in every size.
      const rows = Math.min(this.capacity, Math.max(n, this.sortedNums.length));
      this.sortedNums = new Float64Array(2 * rows);
      this.sortedRefs = new Array<unknown>(REFS * rows).fill(null);
    }
    const nums = this.nums;
    const r = this.refs;
    const sn = this.sortedNums;
    const sr = this.sortedRefs;
    for (let i = 0; i < n; i++) {
      const d = end[acc[i]!]!++;
      sn[2 * d] = nums[2 * i]!;
      sn[2 * d + 1] = nums[2 * i + 1]!;
      const o = REFS * i;
      const q = REFS * d;
      sr[q] = r[o];
      sr[q + 1] = r[o + 1];
      sr[q + 2] = r[o + 2];
      sr[q + 3] = r[o + 3];
      sr[q + 4] = r[o + 4];
      sr[q + 5] = r[o + 5];
      sr[q + 6] = r[o + 6];
      sr[q + 7] = r[o + 7];
      sr[q + 8] = r[o + 8];
      sr[q + 9] = r[o + 9];
      sr[q + 10] = r[o + 10];
      r[o + 6] = r[o + 8] = null; // do not keep parsed records alive
    }
    // Now end[a] is where the rows of accumulator a end.
    let k = 0;
    for (let a = 0; a < na; a++) {
      const e = end[a]!;
      if (k === e) continue;
      this.foldRows(accs[a]!, k, e, fold);
      k = e;
    }
    this.n = 0;
  }

  /**
   * Sorted rows [k, e) to `fold`, for `target`. A function of its own, called once per identity
   * of a batch: V8 optimises it as a function, not the flush's loop on the stack (on-stack
   * replacement, compiled again at each flush that found it deoptimised).
   */
  private foldRows(target: IdentityAcc, k: number, e: number, fold: (acc: IdentityAcc, f: BaselineFacts) => void): void {
    const f = this.facts;
    const sn = this.sortedNums;
    const sr = this.sortedRefs;
    for (; k < e; k++) {
      f.time = sn[2 * k]!;
      const fl = sn[2 * k + 1]!;
      f.failed = (fl & 1) !== 0;
      f.denied = (fl & 2) !== 0;
      const o = REFS * k;
      f.api = sr[o] as string;
      f.eventName = sr[o + 1] as string;
      f.region = sr[o + 2] as string;
      f.sourceIp = sr[o + 3] as string;
      f.uaFamily = sr[o + 4] as string;
      f.errorCode = sr[o + 5] as string | undefined;
      f.requestParameters = sr[o + 6] as Record<string, unknown> | null;
      f.principal = sr[o + 7] as Principal;
      const prefix = sr[o + 10] as string | null;
      if (prefix !== null) {
        const k = this.keyTarget as { prefix: string; target: string };
        k.prefix = prefix;
        k.target = sr[o + 8] as string;
        f.resources = k;
      } else f.resources = sr[o + 8] ?? undefined;
      f.place = sr[o + 9] as Place | undefined;
      sr[o + 6] = sr[o + 8] = null;
      fold(target, f);
    }
  }
}

/** Entries per row in `refs`. */
const REFS = 11;
