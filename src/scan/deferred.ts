import { emptyBaselineFacts, readsRequestParameters, type BaselineFacts } from "../events/normalize.js";
import type { Principal } from "../events/types.js";
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
  private readonly time: Float64Array;
  private readonly flags: Uint8Array;
  private readonly api: string[];
  private readonly eventName: string[];
  private readonly region: string[];
  private readonly sourceIp: string[];
  private readonly uaFamily: string[];
  private readonly errorCode: Array<string | undefined>;
  private readonly requestParameters: Array<Record<string, unknown> | null>;
  private readonly principal: Principal[];
  private readonly facts: BaselineFacts = emptyBaselineFacts();

  constructor(readonly capacity = 1 << 17) {
    this.acc = new Int32Array(capacity);
    this.time = new Float64Array(capacity);
    this.flags = new Uint8Array(capacity);
    const strings = () => new Array<string>(capacity).fill("");
    this.api = strings();
    this.eventName = strings();
    this.region = strings();
    this.sourceIp = strings();
    this.uaFamily = strings();
    this.errorCode = new Array<string | undefined>(capacity).fill(undefined);
    this.requestParameters = new Array<Record<string, unknown> | null>(capacity).fill(null);
    this.principal = new Array<Principal>(capacity).fill(this.facts.principal);
  }

  get size(): number {
    return this.n;
  }

  /** Hold `f` for the accumulator numbered `acc`. Returns true when the batch is full. */
  push(acc: number, f: BaselineFacts): boolean {
    const i = this.n++;
    this.acc[i] = acc;
    this.time[i] = f.time;
    this.flags[i] = (f.failed ? 1 : 0) | (f.denied ? 2 : 0);
    this.api[i] = f.api;
    this.eventName[i] = f.eventName;
    this.region[i] = f.region;
    this.sourceIp[i] = f.sourceIp;
    this.uaFamily[i] = f.uaFamily;
    this.errorCode[i] = f.errorCode;
    // Only the calls whose parameters the baseline reads keep them: a batch must not hold parsed records.
    this.requestParameters[i] = f.requestParameters !== null && readsRequestParameters(f.eventName) ? f.requestParameters : null;
    this.principal[i] = f.principal;
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
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      f.time = this.time[i]!;
      const fl = this.flags[i]!;
      f.failed = (fl & 1) !== 0;
      f.denied = (fl & 2) !== 0;
      f.api = this.api[i]!;
      f.eventName = this.eventName[i]!;
      f.region = this.region[i]!;
      f.sourceIp = this.sourceIp[i]!;
      f.uaFamily = this.uaFamily[i]!;
      f.errorCode = this.errorCode[i];
      f.requestParameters = this.requestParameters[i]!;
      f.principal = this.principal[i]!;
      this.requestParameters[i] = null; // do not keep parsed records alive
      fold(accs[this.acc[i]!]!, f);
    }
    this.n = 0;
  }
}
