import { emptyRecordFields, KeyTarget, type ArnMemo, type Place, type RecordFields } from "./lean-facts.js";
import { KEY_CALLS, namesKeys, readsRequestParameters, readsTargets } from "../events/targets.js";
import { apiOf, uncachedUserAgentFamily, userAgentFamily, type ApiNames } from "../events/normalize.js";
import {
  COMPLEX,
  F_ERRCODE,
  F_ERRMSG,
  F_ID,
  F_IP,
  F_NAME,
  F_RECIPIENT,
  F_REGION,
  F_RES,
  F_RP,
  F_RP_ITYPE,
  F_RP_PATH,
  F_RP_PNAME,
  F_RP_PNAMES,
  F_RP_ROLEARN,
  F_RP_SECRETID,
  F_RP_SECRETLIST,
  F_SOURCE,
  F_TIME,
  F_UA,
  F_UA_FAM,
  F_UI,
  F_UI_ARN,
  F_UI_INVOKEDBY,
  F_UI_TYPE,
  fieldAt,
  indexRecords,
  Interner,
  recordTime,
  recordEnd,
  recordFlags,
  recordStart,
  type RecordIndex,
  UA_FAMILIES,
} from "./record-bytes.js";
import { InternedStrings, nativeWalk, ownInterned, releaseInterned } from "./native-walk.js";
import type { OffThreadData, Places, WalkedFile } from "./walk-off-thread.js";
import type { BytesReader } from "../sources/types.js";

/** A key of requestParameters the walk reads: its name, its field, and a number of its own. */
interface ParamKey {
  name: string;
  field: number;
  index: number;
}
const ROLE_KEYS: readonly ParamKey[] = [
  { name: "roleArn", field: F_RP_ROLEARN, index: 0 },
  { name: "instanceType", field: F_RP_ITYPE, index: 1 },
];
/** What targetsOf (events/targets.ts) reads. */
const TARGET_KEYS: readonly ParamKey[] = [
  { name: "secretId", field: F_RP_SECRETID, index: 2 },
  { name: "secretIdList", field: F_RP_SECRETLIST, index: 3 },
  { name: "name", field: F_RP_PNAME, index: 4 },
  { name: "names", field: F_RP_PNAMES, index: 5 },
  { name: "path", field: F_RP_PATH, index: 6 },
];

/** A key call's request parameters when its `resources` names the key: present, and not read. */
const UNREAD_PARAMS: Record<string, unknown> = Object.freeze({});

/**
 * A KMS call's `resources` in CloudTrail's usual form, one entry of plain strings without spaces
 * (`[{"accountId":"..","type":"AWS::KMS::Key","ARN":".."}]`, bytes [s, e) of `b`, which the walk
 * validated as JSON): what targetsOf reads of it (the entry's ARN when it is a string, the last one
 * when repeated), without decoding and parsing the rest: a KeyTarget when the ARN is a key's (its
 * target read off the bytes, as targetsOf names it), else `[{ ARN }]`. Undefined for any other
 * form (no ARN, an escape, a byte above 0x7f, another value or entry, whitespace): the caller
 * parses the span as before.
 */
function oneKeyResource(b: Buffer, s: number, e: number): KeyTarget | Array<{ ARN: string }> | undefined {
  if (e - s < 4 || b[s] !== 0x5b || b[s + 1] !== 0x7b) return undefined;
  let i = s + 2;
  let as = -1;
  let ae = -1;
  for (;;) {
    if (b[i] !== 0x22) return undefined;
    const ks = ++i;
    for (let c = b[i]!; c !== 0x22; c = b[++i]!) if (c === 0x5c || c >= 0x80 || i >= e) return undefined;
    const isArn = i - ks === 3 && b[ks] === 0x41 && b[ks + 1] === 0x52 && b[ks + 2] === 0x4e; // "ARN"
    if (b[++i] !== 0x3a || b[++i] !== 0x22) return undefined;
    const vs = ++i;
    for (let c = b[i]!; c !== 0x22; c = b[++i]!) if (c === 0x5c || c >= 0x80 || i >= e) return undefined;
    if (isArn) {
      as = vs;
      ae = i;
    }
    i++;
    if (b[i] === 0x2c) {
      i++;
      continue;
    }
    if (b[i] !== 0x7d || b[i + 1] !== 0x5d || i + 2 !== e || as < 0) return undefined;
    // Plain ASCII without escapes (nor line terminators, which JSON strings hold only escaped): the bytes are the string's characters.
    const rest = keyArnRest(b, as, ae);
    if (rest < 0) return [{ ARN: b.toString("latin1", as, ae) }];
    return new KeyTarget(keyPrefix(b, as, rest), keyTarget(b, rest, ae));
  }
}

/** Work space of keyTarget: "key:" and room for the rest of a target. */
const targetScratch = Buffer.from("key:".padEnd(256, " "), "latin1");

/**
 * "key:" + the ASCII text [s, e) of `b`, as one flat string: the concatenation was a cons string
 * over a decoded slice, flattened (a third string) when the accumulator first hashed it or compared
 * it with another target, and held as two objects after. The same characters.
 */
function keyTarget(b: Buffer, s: number, e: number): string {
  const n = e - s;
  if (n + 4 > targetScratch.length) return "key:" + b.toString("latin1", s, e);
  b.copy(targetScratch, 4, s, e);
  return targetScratch.toString("latin1", 0, n + 4);
}

/**
 * keyArnRest of events/targets.ts on the ASCII bytes [s, e) of `b`: for a KMS key ARN
 * (/^arn:[^:]+:kms:[^:]*:[^:]*:key\//), where its text after `kms:` starts, else -1.
 */
function keyArnRest(b: Buffer, s: number, e: number): number {
  if (e - s < 4 || b[s] !== 0x61 || b[s + 1] !== 0x72 || b[s + 2] !== 0x6e || b[s + 3] !== 0x3a) return -1; // "arn:"
  let p = s + 4;
  while (p < e && b[p] !== 0x3a) p++;
  if (p === s + 4 || p + 5 > e || b[p + 1] !== 0x6b || b[p + 2] !== 0x6d || b[p + 3] !== 0x73 || b[p + 4] !== 0x3a) return -1; // ":kms:"
  const rest = p + 5;
  let region = rest;
  while (region < e && b[region] !== 0x3a) region++;
  let account = region + 1;
  while (account < e && b[account] !== 0x3a) account++;
  // "key/" after the account's colon
  return account + 5 <= e && b[account + 1] === 0x6b && b[account + 2] === 0x65 && b[account + 3] === 0x79 && b[account + 4] === 0x2f ? rest : -1;
}

/** The last key ARN prefix (`arn:<partition>:kms:`) read: the same string for every key of a partition. */
let lastKeyPrefix = "";

/** The text [s, e) of `b` (ASCII), as the last prefix when it is the same. */
function keyPrefix(b: Buffer, s: number, e: number): string {
  const p = lastKeyPrefix;
  if (p.length === e - s) {
    let k = 0;
    while (k < p.length && p.charCodeAt(k) === b[s + k]) k++;
    if (k === p.length) return p;
  }
  return (lastKeyPrefix = b.toString("latin1", s, e));
}

/** What the fast lane hands records to (the Ingest). */
export interface LaneSink {
  record(raw: unknown, origin: string): void;
  /**
   * A record's baseline fields, read from the file bytes without parsing the record. True when
   * that was all the sink needed; false, and the record is parsed and given to `record`. The
   * object is reused: copy what you keep.
   */
  fields(f: RecordFields, origin: string): boolean;
  /**
   * From this time (epoch ms) on, the sink reads `RecordFields.eventId`; it may be left empty for
   * earlier records (the time may change as records arrive).
   */
  eventIdsFrom(): number;
  /** Optional: what the off-thread walk's setup is given (walk-off-thread.ts, OffThreadData). */
  offThreadData?(): OffThreadData | undefined;
  /**
   * Optional: the Place of each address of `places` (located by the read worker on thread `thread`,
   * walk-off-thread.ts), given before the file's records; undefined: the sink left them aside.
   */
  located?(thread: number, places: Places): Place[] | undefined;
  /** Optional: the Place of a source address (RecordFields.place), asked once per intern id. */
  placeFor?(ip: string): Place;
}

/** What the lane needs to know of a call, by its raw event name (for one eventSource). */
interface CallInfo {
  /** The eventSource it holds for. */
  source: string;
  names: ApiNames;
  /** The raw name is a KMS key call (KEY_CALLS): its targets are in `resources`. */
  keyCall: boolean;
  /** readsRequestParameters and readsTargets of the raw name. */
  readsParams: boolean;
  targets: boolean;
  /** The same raw name under another eventSource. */
  next: CallInfo | undefined;
}

function callInfo(source: string, rawName: string, next: CallInfo | undefined): CallInfo {
  return {
    next,
    source,
    names: apiOf(source, rawName),
    keyCall: KEY_CALLS.has(rawName),
    readsParams: readsRequestParameters(rawName),
    targets: readsTargets(rawName),
  };
}

/** `a[i] = v`, keeping `a` packed (intern ids are dense, but met in any order). */
function setAt<T>(a: Array<T | undefined>, i: number, v: T): void {
  while (a.length < i) a.push(undefined);
  a[i] = v;
}

/**
 * What the lane derives from the values of one native intern table (this thread's, or a read
 * worker's), by intern id, for the table's current generation: ids are per table and per
 * generation, so each table has its own, dropped when the table starts afresh.
 */
class TableCache {
  private generation = -1;
  /** By the intern id of the raw event name. */
  calls: Array<CallInfo | undefined> = [];
  /** userAgentFamily, by the intern id of the user agent. */
  uaFamilies: Array<string | undefined> = [];
  /** The sink's memo by ARN (see RecordFields.arnMemo), by the intern id of the ARN. */
  readonly arns: ArnMemo = { epoch: -1, entries: [] };
  /** RecordFields.place, by the intern id of the source address. */
  places: Array<Place | undefined> = [];

  constructor(readonly strings: InternedStrings) {}

  sync(g: number): void {
    this.strings.sync(g);
    if (g !== this.generation) {
      this.generation = g;
      this.renew();
    }
  }

  /**
   * A new generation of the table: every slot emptied, the arrays' lengths (and storage) kept.
   * A generation's ids run about as far as the one before (the table starts afresh at a bound), and
   * arrays emptied to length 0 grew again by copying, leaving each old copy (1.5 times smaller,
   * up to a megabyte) as garbage, most of it promoted first: 21 MB a scan (realistic, 1M events,
   * 20,000 identities) for the user agents' alone. The memo by ARN is emptied by its reader
   * (Ingest.fields: its epoch no longer matches).
   */
  private renew(): void {
    this.calls.fill(undefined);
    this.uaFamilies.fill(undefined);
    this.places.fill(undefined);
    this.arns.epoch = -1;
  }

  /**
   * Emptied in place, not replaced: a new empty array starts with another elements kind, and
   * the optimised code reading these (offer, Ingest.fields) was thrown away and compiled again at
   * every new generation of the intern table. The read is over: the storage goes too.
   */
  clear(): void {
    this.calls.length = 0;
    this.uaFamilies.length = 0;
    this.places.length = 0;
    this.arns.epoch = -1;
    this.arns.entries.length = 0;
  }
}

/**
 * Hands the records of an S3 delivery file (`{"Records":[...]}`, as bytes) to a sink: each record
 * is first offered as fields (read by the byte walk of record-bytes.ts), and parsed with
 * JSON.parse only when the sink declines or the walk could not read it exactly. The sources reach
 * it through RecordSink.bytesReader; one instance per read (its interned values live as long as
 * it does).
 */
export class FastLane implements BytesReader {
  private readonly interner = new Interner();
  private readonly scratch: RecordFields = emptyRecordFields();
  /** Request parameters of one read key, by its value, then by the key's index (see `params`). */
  private readonly paramCache = new Map<string, Array<Record<string, unknown> | undefined>>();
  /** The index in hand carries native intern ids (else the JS walk's hashes, for `interner`). */
  private ids = false;
  /** The strings of the intern table the index in hand refers to: this thread's, or a read worker's. */
  private strings: InternedStrings = ownInterned;
  /** What is cached by intern id for that table. */
  private table: TableCache;
  private readonly own = new TableCache(ownInterned);
  /** Read workers' intern tables, by thread id. */
  private readonly workers = new Map<number, TableCache>();
  /** Calls by raw event name, for indexes without intern ids (the JavaScript walk). */
  private readonly callsByName = new Map<string, CallInfo>();
  /** Sources may walk files in their read workers with this module (BytesReader.offThread). */
  readonly offThread = new URL("./walk-off-thread.js", import.meta.url).href;
  readonly offThreadData: OffThreadData | undefined;

  constructor(private readonly sink: LaneSink) {
    this.table = this.own;
    this.offThreadData = sink.offThreadData?.();
  }

  /**
   * Deliver every record of `b` to `sink` and return how many there were; undefined (nothing
   * delivered) when `b` is not valid JSON of that form: the caller then reads it the general
   * way, with the same outcome.
   */
  deliver(b: Buffer, origin: string): number | undefined {
    const ix = indexRecords(b);
    if (!ix) return undefined;
    this.ids = ix.ids;
    this.strings = ownInterned;
    this.table = this.own;
    if (ix.ids) this.own.sync(nativeWalk!.generation());
    return this.take(b, ix, origin);
  }

  /**
   * `deliver`, for bytes a read worker walked (`prepareOffThread` of walk-off-thread.ts): the
   * same records, in the same order, with the same values.
   */
  deliverPrepared(b: Buffer, prepared: unknown, origin: string): number | undefined {
    const w = prepared as WalkedFile | null;
    if (w === null) return undefined;
    this.ids = w.ids;
    if (w.ids) {
      let table = this.workers.get(w.thread);
      if (!table) this.workers.set(w.thread, (table = new TableCache(new InternedStrings())));
      table.sync(w.generation);
      this.table = table;
      this.strings = table.strings;
    }
    if (w.places !== undefined && w.ids) {
      const given = this.sink.located?.(w.thread, w.places);
      if (given !== undefined) {
        const ids = w.places.ids;
        const places = this.table.places;
        for (let i = 0; i < given.length; i++) setAt(places, ids[i]!, given[i]!);
      }
    }
    return this.take(b, { meta: w.meta, count: w.count, ids: w.ids }, origin);
  }

  private take(b: Buffer, ix: RecordIndex, origin: string): number {
    const sink = this.sink;
    const n = ix.count;
    // What is the same for every record of the file, set once: a new file's buffer is a young
    // object, and storing it into the (old) scratch object took V8's write barrier's slow path
    // at every record.
    const f = this.scratch;
    f.bytes = b;
    f.index = ix.meta;
    f.arnMemo = this.ids ? this.table.arns : undefined;
    for (let r = 0; r < n; r++) {
      if ((recordFlags(ix, r) & COMPLEX) === 0 && this.offer(b, ix, r, origin, sink)) continue;
      sink.record(JSON.parse(b.toString("utf8", recordStart(ix, r), recordEnd(ix, r))), origin);
    }
    return n;
  }

  /** Forget the interned values (the read is over). */
  release(): void {
    releaseInterned();
    this.workers.clear();
    this.own.clear();
    this.strings = ownInterned;
    this.table = this.own;
  }

  /** What the lane needs of a call: by the intern id of its raw name when the index has ids. */
  private callOf(nameId: number, source: string, rawName: string): CallInfo {
    const first = this.ids ? this.table.calls[nameId] : this.callsByName.get(rawName);
    let c = first;
    let n = 0;
    while (c !== undefined && c.source !== source) {
      c = c.next;
      n++;
    }
    if (c !== undefined) return c;
    c = callInfo(source, rawName, n < 8 ? first : undefined);
    if (this.ids) setAt(this.table.calls, nameId, c);
    else {
      if (this.callsByName.size >= 65_536) this.callsByName.clear();
      this.callsByName.set(rawName, c);
    }
    return c;
  }

  /** The sink's Place of a source address, by its intern id (undefined: the sink gives none). */
  private placeOf(id: number, ip: string): Place | undefined {
    const places = this.table.places;
    let p = places[id];
    if (p === undefined && this.sink.placeFor !== undefined) setAt(places, id, (p = this.sink.placeFor(ip)));
    return p;
  }

  /**
   * userAgentFamily of a user agent, by its intern id: worked out here once per id (and generation
   * of the table), not through userAgentFamily's cache by string: most user agents of a scan
   * are met under one id only (realistic: 40,000 of 57,000 lookups missed it), and that cache
   * kept 20,000 of them alive and was refilled from empty every 20,000 (36 MB of promoted garbage
   * with 20,000 identities, Maps and strings).
   */
  private uaFamilyOf(id: number, ua: string, code: number): string {
    const fams = this.table.uaFamilies;
    let f = fams[id];
    // `code`: the family as the native walk worked it out (record-bytes.ts F_UA_FAM), 0: not.
    if (f === undefined) setAt(fams, id, (f = code > 0 ? UA_FAMILIES[code]! : uncachedUserAgentFamily(ua)));
    return f;
  }

  /** The interned string of a field (undefined when the record has no such key). */
  private val(b: Buffer, m: Int32Array, at: number): string | undefined {
    const s = m[at]!;
    if (s < 0) return undefined;
    // Mostly a value met before: one array read, in a function small enough to be inlined at each field.
    const v = this.ids ? this.strings.strs[m[at + 2]!] : undefined;
    return v !== undefined ? v : this.decode(b, m, at);
  }

  /** `val` of a field whose value this table has not decoded yet (or read by the JavaScript walk). */
  private decode(b: Buffer, m: Int32Array, at: number): string {
    const s = m[at]!;
    return this.ids ? this.strings.get(m[at + 2]!, b, s, m[at + 1]!) : this.interner.get(b, s, m[at + 1]!, m[at + 2]!);
  }

  /**
   * The read keys of a record's requestParameters object (the keys of `keys` it has, with their
   * string values), as an object. The same object for the same single key and value: the
   * baseline only reads it, and a batch of held-back records then holds no copies.
   */
  private params(b: Buffer, m: Int32Array, r: number, keys: readonly ParamKey[]): Record<string, unknown> {
    let o: Record<string, unknown> | undefined;
    let one: ParamKey | undefined;
    let oneValue = "";
    for (const k of keys) {
      const v = this.val(b, m, fieldAt(r, k.field));
      if (v === undefined) continue;
      if (one === undefined && o === undefined) {
        one = k;
        oneValue = v;
        continue;
      }
      if (o === undefined) {
        o = {};
        o[one!.name] = oneValue;
      }
      o[k.name] = v;
    }
    if (o !== undefined) return o;
    if (one === undefined) return {};
    let c = this.paramCache.get(oneValue);
    if (c === undefined) {
      if (this.paramCache.size >= 65_536) this.paramCache.clear();
      this.paramCache.set(oneValue, (c = []));
    }
    let p = c[one.index];
    if (p === undefined) {
      p = {};
      p[one.name] = oneValue;
      c[one.index] = p;
    }
    return p;
  }

  private offer(b: Buffer, ix: RecordIndex, r: number, origin: string, sink: LaneSink): boolean {
    const m = ix.meta;
    const t = fieldAt(r, F_TIME),
      src = fieldAt(r, F_SOURCE),
      name = fieldAt(r, F_NAME),
      id = fieldAt(r, F_ID);
    // What the record checks need and the fast lane cannot say: let the full path decide.
    const ui = fieldAt(r, F_UI);
    if (m[t]! < 0 || m[ui]! < 0) return false;
    if (m[src]! < 0 || m[src + 1] === m[src] || m[name]! < 0 || m[name + 1] === m[name] || m[id]! < 0 || m[id + 1] === m[id]) return false;
    // recordTime, with the native walk's seconds read here (a call not inlined returned a new heap number per record).
    const secs = this.ids ? m[t + 2]! >>> 0 : 0;
    const time = secs !== 0 ? secs * 1000 : recordTime(b, ix, r);
    if (Number.isNaN(time)) return false;
    const f = this.scratch;
    f.time = time;
    f.record = r;
    f.uiStart = m[ui]!;
    f.uiEnd = m[ui + 1]!;
    // Event ids are unique: decoded only where the sink reads them.
    f.eventId = time < sink.eventIdsFrom() ? "" : b.toString("utf8", m[id]!, m[id + 1]!);
    const eventSource = (f.eventSource = this.val(b, m, src)!);
    const eventName = (f.eventName = this.val(b, m, name)!);
    const call = this.callOf(m[name + 2]!, eventSource, eventName);
    f.names = call.names;
    f.awsRegion = this.val(b, m, fieldAt(r, F_REGION));
    const ip = fieldAt(r, F_IP);
    f.sourceIPAddress = this.val(b, m, ip);
    f.place = this.ids && m[ip]! >= 0 ? this.placeOf(m[ip + 2]!, f.sourceIPAddress!) : undefined;
    const ua = fieldAt(r, F_UA);
    // A user agent whose family is known by its intern id is not looked up (RecordFields.userAgent).
    const family = this.ids && m[ua]! >= 0 ? this.table.uaFamilies[m[ua + 2]!] : undefined;
    if (family !== undefined) {
      f.userAgent = undefined;
      f.uaFamily = family;
    } else {
      const userAgent = (f.userAgent = this.val(b, m, ua));
      f.uaFamily = userAgent === undefined ? undefined : this.ids ? this.uaFamilyOf(m[ua + 2]!, userAgent, m[fieldAt(r, F_UA_FAM) + 2]!) : userAgentFamily(userAgent);
    }
    f.errorCode = this.val(b, m, fieldAt(r, F_ERRCODE));
    // Messages are often unique (they name resources): decoded, not interned, and only for errors.
    const msg = fieldAt(r, F_ERRMSG);
    f.errorMessage = f.errorCode !== undefined && m[msg]! >= 0 ? b.toString("utf8", m[msg]!, m[msg + 1]!) : undefined;
    f.recipientAccountId = this.val(b, m, fieldAt(r, F_RECIPIENT));
    f.identityType = this.val(b, m, fieldAt(r, F_UI_TYPE));
    const arn = fieldAt(r, F_UI_ARN);
    f.identityArn = this.val(b, m, arn);
    f.arnId = this.ids && m[arn]! >= 0 ? m[arn + 2]! : -1;
    const invokedBy = (f.invokedBy = this.val(b, m, fieldAt(r, F_UI_INVOKEDBY)));
    // The parameters the baseline reads (AssumeRole*: roleArn, RunInstances: instanceType, secret
    // and parameter reads: their targets), only for those calls. A KMS key read names its key in
    // `resources` (else requestParameters.keyId/sourceKeyId): both read as the full path reads them,
    // JSON.parse of their spans alone (the walk validated them); the parameters only when
    // `resources` names no key (targetsOf reads them only then).
    f.resources = undefined;
    if (call.keyCall && !(invokedBy !== undefined && invokedBy.length > 0)) {
      const rs = fieldAt(r, F_RES);
      if (m[rs]! >= 0) f.resources = oneKeyResource(b, m[rs]!, m[rs + 1]!) ?? JSON.parse(b.toString("utf8", m[rs]!, m[rs + 1]!));
      const rp = fieldAt(r, F_RP);
      f.requestParameters =
        m[rp]! < 0 || m[rp + 2] === 0
          ? null
          : f.resources instanceof KeyTarget || namesKeys(f.resources)
            ? UNREAD_PARAMS
            : (JSON.parse(b.toString("utf8", m[rp]!, m[rp + 1]!)) as Record<string, unknown>);
    } else if (call.readsParams) {
      const rp = fieldAt(r, F_RP);
      f.requestParameters = m[rp]! < 0 || m[rp + 2] === 0 ? null : this.params(b, m, r, call.targets ? TARGET_KEYS : ROLE_KEYS);
    } else f.requestParameters = null;
    return sink.fields(f, origin);
  }
}
