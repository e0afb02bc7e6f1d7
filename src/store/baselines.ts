/**
 * The baselines of a store, kept in memory in the form they are written to disk.
 *
 * Baselines are most of a store (a 10,000-identity store holds ~30 MB of packed profiles, which
 * decode to ~250 MB of JS objects). Keeping them decoded made every full garbage collection
 * trace a quarter of a gigabyte, and one landing inside a save made it slow. So each baseline is
 * kept as the bytes of its `"key":{...}` entry in the file (pack.ts form, off the JS heap), with
 * a few facts of the profile (`BaselineFacts`: first/last seen, trainedUntil, events, active days,
 * ARN, user name) for the callers that need no more (prune, stats, the scanner's first look at an
 * identity, /cloudtrail status): a save copies the bytes as they are, a getter decodes (inflate +
 * JSON.parse, a fraction of a millisecond for a typical profile) and a small cache keeps the last
 * few decoded profiles for callers that ask for the same one again. The facts are taken from the
 * profile whenever an entry is made, or, at the load of a file whose baselines match their digest
 * (nothing decoded), from the fields a stored profile keeps readable (trustedBaselineFromFile), so
 * they always agree with what decoding the entry gives.
 *
 * `BaselineTable.view` is a `Record<string, Profile>` look-alike (a Proxy) for `StoreData.baselines`,
 * so that `store.data` and `update(fn)` keep their shape: reading a key decodes it, assigning
 * one encodes it, deleting one drops it. Profiles read through the view while an `update(fn)`
 * runs are re-encoded after it, so in-place changes made there are kept.
 */
import { createHash, hash } from "node:crypto";
import { handOver, statRecord, withSafeDims, type Dim, type Profile, type Stat } from "../baseline/profile.js";
import { StoreError } from "./errors.js";
import { inflateBytes, inflateJson } from "./inflate.js";
import { type PartData, packProfile, takePart, unpackFields, unpackProfile, unpackedFields } from "./pack.js";
import type { StoreData } from "./types.js";

/**
 * What is known of a stored baseline without decoding it: a few fields of its profile, equal to
 * those of the decoded profile (`decodeBaseline`). Enough to tell whether an identity is still
 * learning (`learningAt` in baseline/view.ts) or to find an identity by name.
 */
export interface BaselineFacts {
  /** The profile's `key` (the key it is stored under, for profiles put with putBaselines). */
  readonly key: string;
  readonly arn?: string;
  readonly userName?: string;
  /** First and last event time (+Infinity / -Infinity for an empty profile). */
  readonly first: number;
  readonly last: number;
  /** Newest event time folded into the profile (-Infinity for an empty profile). */
  readonly trainedUntil: number;
  /** Decayed event count. */
  readonly events: number;
  /** Epoch days with activity, as in the profile (read-only). */
  readonly days: readonly number[];
}

/** One baseline as kept in memory: its bytes, and its facts beside them. */
export interface StoredBaseline {
  /** `"key":<json>`, exactly as written in the store file. */
  readonly bytes: Buffer;
  /** Offset of the value (`{...}`) in `bytes`. */
  readonly valueAt: number;
  /** SHA-256 of `bytes` (base64): what the file's baselines digest is made of (`baselinesDigest`). */
  readonly digest: string;
  /** Frozen: handed out as they are (TrailStore.getBaselineFacts). */
  readonly facts: BaselineFacts;
  /**
   * Present when one dimension of the profile may be read alone (decodeDim): the profile holds
   * no held-back values (src/baseline/held.ts; releasing them may change any dimension) and this
   * is its `accountId`. Absent: decode the whole profile.
   */
  readonly light?: LightFields | undefined;
  /**
   * Where `,"packed":"` starts in `bytes`, when known (an entry found in a file by fast-open.ts):
   * the readable fields end there, the packed part (base64) runs from after it to the closing `"}`.
   */
  readonly packedAt?: number;
}

/** The fields besides a dimension's values that reading it alone needs (StoredBaseline.light). */
export interface LightFields {
  readonly accountId: string | undefined;
}

/** The light fields of a profile or of a stored entry's readable fields (undefined: not light). */
function lightOf(p: { readonly held?: unknown; readonly accountId?: unknown }): LightFields | undefined {
  if (p.held !== undefined && !(Array.isArray(p.held) && p.held.length === 0)) return undefined;
  if (p.accountId !== undefined && typeof p.accountId !== "string") return undefined;
  return { accountId: p.accountId };
}

/** Decoded profiles kept for callers that read the same one again (a scan reads each twice). */
export const DECODED_CACHE = 256;

/** A number as it reads back from JSON (-0 is written as 0). */
function asRead(x: number): number {
  return x === 0 ? 0 : x;
}

/** The facts of a profile (see BaselineFacts), kept beside its stored bytes. */
function factsOf(key: string, p: Profile): BaselineFacts {
  const facts: { -readonly [K in keyof BaselineFacts]: BaselineFacts[K] } = {
    // The table's key string when they are equal (nothing more to hold).
    key: p.key === key ? key : p.key,
    first: asRead(p.first),
    last: asRead(p.last),
    trainedUntil: asRead(p.trainedUntil),
    events: asRead(p.events),
    // A copy (the store keeps no reference to a caller's profile), exactly sized.
    days: Object.freeze(Array.from(p.days, asRead)),
  };
  // Strings only: a stored profile has no other ARN or user name (schema.ts).
  if (typeof p.arn === "string") facts.arn = p.arn;
  if (typeof p.userName === "string") facts.userName = p.userName;
  return Object.freeze(facts);
}

/** `"key":` as it starts the key's entry. */
function entryHead(key: string): string {
  return `${JSON.stringify(key)}:`;
}

function entryOf(key: string, json: string, p: Profile): StoredBaseline {
  const head = entryHead(key);
  const bytes = Buffer.from(head + json);
  return withLight({ bytes, valueAt: Buffer.byteLength(head), digest: entryDigest(bytes), facts: factsOf(key, p) }, lightOf(p));
}

function withLight(e: StoredBaseline, light: LightFields | undefined): StoredBaseline {
  if (light) (e as { light?: LightFields }).light = light;
  return e;
}

function entryDigest(bytes: Buffer): string {
  return hash("sha256", bytes, "base64");
}

/**
 * The digest of a table's baselines, written in the store file beside them (`baselinesDigest`):
 * SHA-256 over the entries' own digests, in file order. Made from the digests each entry keeps,
 * so a save costs one small hash, not a pass over every baseline's bytes. On load, a file whose
 * baselines give the digest it carries holds exactly what trailhound wrote (validated when it
 * was encoded), so its profiles need not be decoded and validated again (codec.ts).
 */
export function baselinesDigest(entries: Iterable<{ readonly digest: string }>): string {
  const h = createHash("sha256");
  for (const e of entries) h.update(e.digest);
  return `sha256:${h.digest("base64")}`;
}

/** The `"key":<json>` bytes of a baseline read from a file (its parsed JSON), and their digest. */
export function fileEntryBytes(key: string, raw: unknown): { bytes: Buffer; valueAt: number; digest: string } {
  const head = `${JSON.stringify(key)}:`;
  const bytes = Buffer.from(head + JSON.stringify(raw));
  return { bytes, valueAt: Buffer.byteLength(head), digest: entryDigest(bytes) };
}

function readTime(x: unknown, empty: number): number {
  return typeof x === "number" ? asRead(x) : empty;
}

/**
 * A baseline read from a file whose digest matched (see baselinesDigest): kept as it is, without
 * decoding. Its facts come from the fields a stored profile keeps readable beside the packed part
 * (key, first/last seen, trainedUntil, events, ARN, user name); the active days are inside the
 * packed part, so they are decoded the first time they are asked for (then kept).
 */
export function trustedBaselineFromFile(key: string, raw: Record<string, unknown>, e: { bytes: Buffer; valueAt: number; digest: string }): StoredBaseline {
  const entry: StoredBaseline = withLight({ ...e, facts: undefined as unknown as BaselineFacts }, lightOf(raw));
  (entry as { facts: BaselineFacts }).facts = factsFromFile(key, raw, entry);
  return entry;
}

/** The facts of a trusted entry from its readable fields (see trustedBaselineFromFile). */
function factsFromFile(key: string, raw: Record<string, unknown>, entry: StoredBaseline): BaselineFacts {
  const facts: Record<string, unknown> = {
    key: typeof raw.key === "string" && raw.key !== key ? raw.key : key,
    first: readTime(raw.first, Infinity),
    last: readTime(raw.last, -Infinity),
    trainedUntil: readTime(raw.trainedUntil, -Infinity),
    events: readTime(raw.events, 0),
  };
  if (Array.isArray(raw.days)) facts.days = Object.freeze(Array.from(raw.days as number[], asRead));
  else {
    let days: readonly number[] | undefined;
    Object.defineProperty(facts, "days", {
      enumerable: true,
      get: () => (days ??= Object.freeze(Array.from(decodeBaseline(entry).days, asRead))),
    });
  }
  if (typeof raw.arn === "string") facts.arn = raw.arn;
  if (typeof raw.userName === "string") facts.userName = raw.userName;
  return Object.freeze(facts) as unknown as BaselineFacts;
}

/**
 * A packed baseline read from a file whose digest matched (see trustedBaselineFromFile), its
 * readable fields (before `packedAt`) not parsed yet: they are parsed, once, by the first caller
 * that needs its facts or light fields (a scan: the baselines of the identities it meets; most of
 * a store's are never read by a day's scan). Fields that do not parse (a file crafted to match
 * its own digest: trailhound never writes such a file) throw StoreError "damaged" then.
 */
export function lazyBaselineFromFile(key: string, e: { bytes: Buffer; valueAt: number; digest: string }, packedAt: number): StoredBaseline {
  return new FileBaseline(key, e.bytes, e.valueAt, e.digest, packedAt);
}

class FileBaseline implements StoredBaseline {
  #facts: BaselineFacts | undefined;
  /** null: read, and not light. */
  #light: LightFields | null | undefined;

  constructor(
    readonly key: string,
    readonly bytes: Buffer,
    readonly valueAt: number,
    readonly digest: string,
    readonly packedAt: number,
  ) {}

  get facts(): BaselineFacts {
    if (this.#facts === undefined) this.#read();
    return this.#facts!;
  }

  get light(): LightFields | undefined {
    if (this.#light === undefined) this.#read();
    return this.#light ?? undefined;
  }

  /**
   * `facts.trainedUntil`, found in the readable fields' bytes without parsing them (a scan asks it
   * of every stored identity it meets, and needs no other fact: parsing the fields for it cost
   * ~10 µs per identity, 45 ms on the realistic warm day's 4,390). Anything unusual (the field
   * not found once at the top level, not a plain JSON number or null): the facts are read.
   */
  trainedUntil(): number {
    if (this.#facts === undefined) {
      const t = scanTrainedUntil(this.bytes, this.valueAt, this.packedAt);
      if (t !== undefined) return t;
    }
    return this.facts.trainedUntil;
  }

  #read(): void {
    let raw: unknown;
    try {
      raw = JSON.parse(`${this.bytes.toString("utf8", this.valueAt, this.packedAt)}}`);
    } catch (e) {
      throw damagedBaseline(this.key, `its fields are not valid JSON (${(e as Error).message})`, e);
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw damagedBaseline(this.key, "it is not a JSON object");
    const r = raw as Record<string, unknown>;
    this.#light = lightOf(r) ?? null;
    this.#facts = factsFromFile(this.key, r, this);
  }
}

const TRAINED_UNTIL = Buffer.from('"trainedUntil":');
/** A JSON number (or null) as the bytes of a readable field hold it. */
const JSON_NUMBER = /^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|null)$/;

/**
 * `readTime(JSON.parse(fields).trainedUntil, -Infinity)` for the readable fields `bytes[valueAt, end)`
 * of an entry as this build writes them (`{"v":1,"key":"...","type":"...","first":N,"last":N,"trainedUntil":N,...`),
 * read from the bytes: the fields before it are walked (strings and plain values only); undefined
 * when it is not certainly that (then parse the fields): a nested value or an escape before it,
 * an escape after it (`\u0074` may spell a second "trainedUntil", and JSON.parse keeps the last of
 * two equal keys), a second one, or a value that is not a plain JSON number or null.
 */
export function scanTrainedUntil(bytes: Buffer, valueAt: number, end: number): number | undefined {
  if (bytes[valueAt] !== 0x7b) return undefined;
  let j = valueAt + 1;
  for (;;) {
    // A key: `"name":`, without escapes.
    if (bytes[j] !== 0x22) return undefined;
    const keyAt = j;
    for (j++; j < end && bytes[j] !== 0x22; j++) if (bytes[j] === 0x5c) return undefined;
    if (j >= end || bytes[j + 1] !== 0x3a) return undefined;
    j += 2;
    if (j - keyAt === TRAINED_UNTIL.length && bytes.compare(TRAINED_UNTIL, 0, TRAINED_UNTIL.length, keyAt, j) === 0) break;
    // Its value: a string, or a number, true, false or null; anything nested: undefined.
    if (bytes[j] === 0x22) {
      for (j++; j < end && bytes[j] !== 0x22; j++) if (bytes[j] === 0x5c) return undefined;
      j++;
    } else {
      while (j < end && bytes[j] !== 0x2c && bytes[j] !== 0x7d && bytes[j] !== 0x7b && bytes[j] !== 0x5b) j++;
    }
    if (j >= end || bytes[j] !== 0x2c) return undefined;
    j++;
  }
  // To the `,` or `}` after it (`end` itself: the `,` of `,"packed":"`).
  const from = j;
  while (j < end && j - from <= 32 && bytes[j] !== 0x2c && bytes[j] !== 0x7d) j++;
  if (j - from > 32) return undefined;
  for (let k = j; k < end; k++) if (bytes[k] === 0x5c) return undefined;
  const again = bytes.indexOf(TRAINED_UNTIL, j);
  if (again >= 0 && again < end) return undefined;
  const text = bytes.toString("latin1", from, j);
  if (!JSON_NUMBER.test(text)) return undefined;
  return text === "null" ? -Infinity : asRead(Number(text));
}

/** A stored baseline that does not decode (only a file changed outside trailhound to match its own digest can hold one). */
function damagedBaseline(key: string, what: string, cause?: unknown): StoreError {
  return new StoreError(
    "damaged",
    `The stored baseline of ${key} is damaged: ${what}. trailhound did not change the store file; check it with \`trailhound store check\`, then restore the newest good backup with \`trailhound store restore\`.`,
    { cause },
  );
}

/** Encode a profile as it is written to disk (packed when lossless, see pack.ts). */
export function encodeBaseline(key: string, p: Profile): StoredBaseline {
  return entryOf(key, JSON.stringify(packProfile(p) ?? p), p);
}

/**
 * A profile packed up to its packed part's JSON: the entry's bytes are `head`, then the base64 of
 * `deflatePart(json)`, then `"}` (`finishEntry`), exactly what encodeBaseline writes, where `json`
 * is the part's JSON that `partJson` makes from what `halfEncodeBaseline` took into a PartData.
 * Lets the writing of that JSON and its deflating, most of an encoding's cost, happen elsewhere
 * (encode-off-thread.ts).
 */
export interface HalfEncoded {
  key: string;
  /** `"key":{<the profile's other fields>,"packed":"`. */
  head: string;
  /** Bytes of `"key":` at the start of head. */
  valueAt: number;
  facts: BaselineFacts;
  light: LightFields | undefined;
}

/** The end of a half-encoded entry, after the base64 of its deflated part. */
export const ENTRY_TAIL = '"}';

/**
 * Validate a profile (checkProfile: StoreError "invalid") and pack it up to its packed part's JSON
 * (see HalfEncoded), the part taken into `part` (pack.ts takePart); or encode it whole when it
 * cannot be packed losslessly (then it is stored unpacked: nothing is taken into `part`).
 */
export function halfEncodeBaseline(key: string, p: Profile, part: PartData): HalfEncoded | StoredBaseline {
  checkProfile(p, true);
  // A stray `packed` field would take the packed part's place in the field order: encoded whole.
  // Packing checks every statistic as it reads it (strict): one that is not four finite numbers
  // with whole-millisecond times is left to checkProfile, which names it (or, valid with a
  // fractional time, the profile is stored unpacked).
  const n0 = part.n;
  const len0 = part.len;
  if ("packed" in p || !takePart(p, part)) {
    checkProfile(p);
    return encodeBaseline(key, p);
  }
  let fields: string;
  try {
    // JSON.stringify(packProfile(p)) without its last field, `packed`.
    fields = JSON.stringify(unpackedFields(p));
  } catch (e) {
    // Nothing kept of this profile.
    part.n = n0;
    part.len = len0;
    throw e;
  }
  const h = entryHead(key);
  const head = `${h}${fields.length > 2 ? `${fields.slice(0, -1)},` : "{"}"packed":"`;
  return { key, head, valueAt: Buffer.byteLength(h), facts: factsOf(key, p), light: lightOf(p) };
}

/** The stored entry of a half-encoded profile, from its deflated part (`deflatePart` of its part's JSON). */
export function finishEntry(h: HalfEncoded, deflated: Buffer): StoredBaseline {
  const bytes = Buffer.from(h.head + deflated.toString("base64") + ENTRY_TAIL);
  return withLight({ bytes, valueAt: h.valueAt, digest: entryDigest(bytes), facts: h.facts }, h.light);
}

/** A stored entry from its bytes (made elsewhere, by finishEntry's steps) and its half-encoded form. */
export function entryFromBytes(h: HalfEncoded, bytes: Buffer, digest: string): StoredBaseline {
  return withLight({ bytes, valueAt: h.valueAt, digest, facts: h.facts }, h.light);
}

/**
 * Keep a baseline read from a file as it is (`raw`: its parsed JSON, already validated), unless
 * it is not packed (an older file): then pack `decoded` once now. `decoded` is the validated
 * profile (the facts are taken from it: no second decode).
 */
export function baselineFromFile(key: string, raw: unknown, decoded: Profile): StoredBaseline {
  if (typeof raw === "object" && raw !== null && "packed" in raw) return entryOf(key, JSON.stringify(raw), decoded);
  return encodeBaseline(key, decoded);
}

/** What opens a stored entry's packed part (its base64, up to the closing `"}`). */
export const PACKED_FIELD = Buffer.from(',"packed":"');

/** Where a stored entry's packed part lies in its bytes: from its `,"packed":"` to the closing `"}`. */
export function packedSpan(e: { readonly bytes: Buffer; readonly valueAt: number; readonly packedAt?: number | undefined }): [number, number] | undefined {
  const b = e.bytes;
  const n = b.length;
  if (n < 2 || b[n - 2] !== 0x22 || b[n - 1] !== 0x7d) return undefined;
  const p = e.packedAt ?? b.lastIndexOf(PACKED_FIELD);
  return p > e.valueAt ? [p, n - 2] : undefined;
}

/**
 * The profile held in an entry. The bytes were validated when read or written: no schema check
 * here (a file crafted to match its own digest may still hold a profile that does not decode:
 * StoreError "damaged", naming the baseline).
 */
export function decodeBaseline(e: StoredBaseline, inflated?: Buffer): Profile {
  try {
    return decodeEntry(e, inflated);
  } catch (err) {
    throw err instanceof StoreError ? err : damagedBaseline(entryKey(e), (err as Error).message, err);
  }
}

function decodeEntry(e: StoredBaseline, inflated: Buffer | undefined): Profile {
  let packed: boolean;
  let p: Record<string, unknown>;
  const packedAt = e.packedAt;
  if (packedAt !== undefined) {
    // The readable fields alone (a new object: the profile is made in it), then the packed part.
    let fields: Record<string, unknown>;
    try {
      fields = JSON.parse(`${e.bytes.toString("utf8", e.valueAt, packedAt)}}`) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`its fields are not valid JSON (${(err as Error).message})`, { cause: err });
    }
    let json: string;
    try {
      json = inflated ? inflated.toString("utf8") : inflateJson(e.bytes.toString("latin1", packedAt + PACKED_FIELD.length, e.bytes.length - ENTRY_TAIL.length));
    } catch (err) {
      throw new Error(`packed: cannot be inflated (${(err as Error).message})`, { cause: err });
    }
    packed = true;
    // An entry of a file whose digest matched: written by trailhound (each dimension's values
    // from its record, in order): some dimensions may be kept as lists (dim-list.ts).
    p = unpackFields(fields, JSON.parse(json), true, true);
  } else {
    const raw = JSON.parse(e.bytes.toString("utf8", e.valueAt)) as Record<string, unknown>;
    packed = "packed" in raw;
    p = unpackProfile(raw) as Record<string, unknown>;
  }
  // JSON has no Infinity: an empty profile's times are written as null (see schema.ts).
  if (p.first === null) p.first = Infinity;
  if (p.last === null) p.last = -Infinity;
  if (p.trainedUntil === null) p.trainedUntil = -Infinity;
  // A profile stored unpacked holds its dims as JSON.parse made them (plain objects): made prototype-less like the packed ones.
  return packed ? (p as unknown as Profile) : withSafeDims(p as unknown as Profile);
}

/** The key an entry is stored under (for messages). */
function entryKey(e: StoredBaseline): string {
  try {
    return String(JSON.parse(e.bytes.toString("utf8", 0, e.valueAt - 1)));
  } catch {
    return e.bytes.toString("utf8", 0, Math.min(e.valueAt, 200));
  }
}

/** An entry's packed part inflated (its JSON's bytes); undefined when it is not packed or does not inflate. */
export function inflatedPart(e: StoredBaseline): Buffer | undefined {
  const span = packedSpan(e);
  if (!span) return undefined;
  try {
    return inflateBytes(e.bytes.toString("latin1", span[0] + PACKED_FIELD.length, span[1]));
  } catch {
    return undefined;
  }
}

/** One dimension of a stored profile and the fields reading it needs (decodeDim). */
export interface StoredDim {
  readonly trainedUntil: number;
  readonly accountId: string | undefined;
  readonly dims: Partial<Record<Dim, Record<string, Stat>>>;
}

const T0_AT = Buffer.from('{"t0":');
const DIMS_AT = Buffer.from('"dims":{');

/**
 * One dimension's values of a light entry (StoredBaseline.light), as `decodeBaseline(e).dims[dim]`
 * holds them, read from its packed part without building the rest of the profile: the scan asks
 * for the regions each account knew (Scanner.finish) before it settles the identities, and
 * decoding every stored profile for that held them all at once. Undefined when the entry is not
 * light or not packed, or its packed part is not laid out as this build writes it: then decode
 * the whole profile.
 */
export function decodeDim(e: StoredBaseline, dim: Dim, inflated?: Buffer): StoredDim | undefined {
  if (!e.light) return undefined;
  const buf = inflated ?? inflatedPart(e);
  if (buf === undefined) return undefined;
  const start = 0;
  const end = buf.length;
  // `{"t0":<number>,"dims":{...,"<dim>":[...],...},...` (JSON.stringify of a PackedPart).
  if (end - start < T0_AT.length || buf.compare(T0_AT, 0, T0_AT.length, start, start + T0_AT.length) !== 0) return undefined;
  const t0End = buf.indexOf(0x2c, start + T0_AT.length);
  const dimsAt = buf.indexOf(DIMS_AT, start);
  if (t0End < 0 || dimsAt !== t0End + 1 || dimsAt >= end) return undefined;
  const t0 = Number(buf.toString("latin1", start + T0_AT.length, t0End));
  if (!Number.isFinite(t0)) return undefined;
  const head = Buffer.from(`${JSON.stringify(dim)}:[`);
  // A dimension's name in `dims` is a key: within a string its quotes would be escaped, so this
  // finds the key (a value of another dimension cannot hold `"region":[` with bare quotes).
  const at = buf.indexOf(head, dimsAt + DIMS_AT.length);
  const values = statRecord();
  if (at < 0 || at >= end) return undefined;
  const arrEnd = arrayEnd(buf, at + head.length - 1, end);
  if (arrEnd < 0) return undefined;
  let flat: unknown;
  try {
    flat = JSON.parse(buf.toString("utf8", at + head.length - 1, arrEnd));
  } catch {
    return undefined;
  }
  if (!Array.isArray(flat) || flat.length % 5 !== 0) return undefined;
  for (let i = 0; i < flat.length; i += 5) {
    const v = flat[i];
    const n = flat[i + 1];
    const er = flat[i + 2];
    const f = flat[i + 3];
    const dl = flat[i + 4];
    if (typeof v !== "string" || typeof n !== "number" || typeof er !== "number" || typeof f !== "number" || typeof dl !== "number") return undefined;
    // As unpackFields restores them.
    const first = t0 + Math.round(f * 1000);
    values[v] = [n, er, first, first + Math.round(dl * 1000)];
  }
  return { trainedUntil: e.facts.trainedUntil, accountId: e.light.accountId, dims: { [dim]: values } };
}

/** Index just past the array opening at `i` (strings skipped), or -1 when it does not close before `end`. */
function arrayEnd(b: Buffer, i: number, end: number): number {
  let depth = 0;
  for (let j = i; j < end; j++) {
    const c = b[j]!;
    if (c === 0x22) {
      // A string: to its closing quote (one not escaped).
      for (j++; j < end && b[j] !== 0x22; j++) if (b[j] === 0x5c) j++;
      continue;
    }
    if (c === 0x5b) depth++;
    else if (c === 0x5d && --depth === 0) return j + 1;
  }
  return -1;
}

function requireText(v: unknown, what: string): void {
  if (typeof v !== "string" || v.trim() === "") throw new StoreError("invalid", `${what} is required`);
}

function isFiniteNumber(x: unknown): boolean {
  return typeof x === "number" && Number.isFinite(x);
}

function checkFinite(x: unknown, where: string): void {
  if (typeof x !== "number" || !Number.isFinite(x)) throw new StoreError("invalid", `Profile ${where} is not a finite number (${String(x)})`);
}

/**
 * Reject a profile whose JSON would not read back (NaN, strings for numbers...): better now than a
 * store that will not open. `fieldsOnly`: all but the per-value statistics (dims), the numbers of
 * the active days and the hourly rows, which packing checks as it reads them (halfEncodeBaseline).
 */
export function checkProfile(p: Profile, fieldsOnly = false): void {
  if (typeof p !== "object" || p === null) throw new StoreError("invalid", "A baseline profile must be an object");
  requireText(p.key, "Profile key");
  const k = p.key;
  for (const f of ["first", "last", "trainedUntil"] as const) {
    if (typeof p[f] !== "number" || Number.isNaN(p[f])) throw new StoreError("invalid", `Profile ${k}.${f} is not a number`);
  }
  checkFinite(p.events, `${k}.events`);
  checkFinite(p.errors, `${k}.errors`);
  checkFinite(p.denied, `${k}.denied`);
  // The places are named only when something is wrong: a profile holds thousands of numbers.
  // `fieldsOnly`: the days and hourly rows are left to packing too (each read there anyway).
  for (const f of ["days", "hours", "weekdays"] as const) {
    if (!Array.isArray(p[f])) throw new StoreError("invalid", `Profile ${k}.${f} is not an array`);
    if (fieldsOnly && f === "days") continue;
    for (const x of p[f]) if (!isFiniteNumber(x)) checkFinite(x, `${k}.${f}`);
  }
  if (typeof p.dims !== "object" || p.dims === null) throw new StoreError("invalid", `Profile ${k}.dims is not an object`);
  if (!Array.isArray(p.hourly)) throw new StoreError("invalid", `Profile ${k}.hourly is not an array`);
  if (!fieldsOnly) {
    for (const h of p.hourly) {
      if (!Array.isArray(h) || h.length !== 3) throw new StoreError("invalid", `Profile ${k}.hourly has an entry that is not [hour, calls, errors]`);
      if (!isFiniteNumber(h[0]) || !isFiniteNumber(h[1]) || !isFiniteNumber(h[2])) for (const x of h) checkFinite(x, `${k}.hourly`);
    }
  }
  if (!Array.isArray(p.breadth) || p.breadth.length !== 2) throw new StoreError("invalid", `Profile ${k}.breadth is not [max, buckets]`);
  checkFinite(p.breadth[0], `${k}.breadth`);
  checkFinite(p.breadth[1], `${k}.breadth`);
  if (fieldsOnly) return;
  for (const d of Object.keys(p.dims)) {
    const rec = p.dims[d as Dim];
    for (const v in rec) {
      const s = rec[v]!;
      if (!Array.isArray(s) || s.length !== 4) throw new StoreError("invalid", `Profile ${k}.dims.${d}[${v}] is not [n, err, first, last]`);
      if (!isFiniteNumber(s[0]) || !isFiniteNumber(s[1]) || !isFiniteNumber(s[2]) || !isFiniteNumber(s[3])) {
        for (const x of s) checkFinite(x, `${k}.dims.${d}[${v}]`);
      }
    }
  }
}

const TABLES = new WeakMap<object, BaselineTable>();

/** The table behind a `StoreData.baselines` view (undefined for a plain object). */
export function tableOf(baselines: object): BaselineTable | undefined {
  return TABLES.get(baselines);
}

/** Number of baselines of a `StoreData.baselines` (a view or a plain object). */
export function baselineCount(baselines: Record<string, Profile>): number {
  return tableOf(baselines)?.size ?? Object.keys(baselines).length;
}

export class BaselineTable {
  readonly #entries = new Map<string, StoredBaseline>();
  #bytes = 0;
  /** Packed parts inflated by `dim` (one dimension read), for the decode of the whole profile that follows. */
  readonly #inflated = new WeakMap<StoredBaseline, Buffer>();
  /** Least recently read last (Map order). */
  readonly #decoded = new Map<string, { entry: StoredBaseline; profile: Profile }>();
  /** Profiles handed out by the view during an update(fn): re-encoded after it. */
  #tracked: Map<string, { entry: StoredBaseline; profile: Profile }> | undefined;
  /** `Record<string, Profile>` look-alike over this table (see the file comment). */
  readonly view: Record<string, Profile>;

  constructor(readonly cacheSize = DECODED_CACHE) {
    const viewGet = (k: string): Profile | undefined => {
      const entry = this.#entries.get(k);
      if (!entry) return undefined;
      const profile = this.#decode(k, entry);
      if (this.#tracked && !this.#tracked.has(k)) this.#tracked.set(k, { entry, profile });
      return profile;
    };
    this.view = new Proxy(Object.create(null) as Record<string, Profile>, {
      get: (_t, k) => (typeof k === "string" ? viewGet(k) : undefined),
      set: (_t, k, v) => {
        if (typeof k !== "string") return false;
        checkProfile(v as Profile);
        this.set(k, encodeBaseline(k, v as Profile));
        return true;
      },
      defineProperty: (_t, k, d) => {
        if (typeof k !== "string" || !("value" in d)) return false;
        checkProfile(d.value as Profile);
        this.set(k, encodeBaseline(k, d.value as Profile));
        return true;
      },
      deleteProperty: (_t, k) => {
        if (typeof k === "string") this.delete(k);
        return true;
      },
      has: (_t, k) => typeof k === "string" && this.#entries.has(k),
      ownKeys: () => [...this.#entries.keys()],
      getOwnPropertyDescriptor: (_t, k) => {
        if (typeof k !== "string" || !this.#entries.has(k)) return undefined;
        return { value: viewGet(k), writable: true, enumerable: true, configurable: true };
      },
    });
    TABLES.set(this.view, this);
  }

  /** A table holding these profiles (validated: a profile that would not read back throws StoreError "invalid"). */
  static fromProfiles(rec: Record<string, Profile>, cacheSize = DECODED_CACHE): BaselineTable {
    const t = new BaselineTable(cacheSize);
    for (const k of Object.keys(rec)) {
      const p = rec[k];
      if (p === undefined) continue;
      checkProfile(p);
      t.set(k, encodeBaseline(k, p));
    }
    return t;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Bytes of all entries (without the commas between them). */
  get bytes(): number {
    return this.#bytes;
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  keys(): IterableIterator<string> {
    return this.#entries.keys();
  }

  entry(key: string): StoredBaseline | undefined {
    return this.#entries.get(key);
  }

  /** The facts of a baseline, without decoding it. */
  facts(key: string): BaselineFacts | undefined {
    return this.#entries.get(key)?.facts;
  }

  /** `facts(key)?.trainedUntil`, without reading the other facts where it can (FileBaseline.trainedUntil). */
  trainedUntil(key: string): number | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    return e instanceof FileBaseline ? e.trainedUntil() : e.facts.trainedUntil;
  }

  entries(): IterableIterator<[string, StoredBaseline]> {
    return this.#entries.entries();
  }

  values(): IterableIterator<StoredBaseline> {
    return this.#entries.values();
  }

  /** The decoded profile (a shared object: treat it as read-only). */
  get(key: string): Profile | undefined {
    const entry = this.#entries.get(key);
    return entry ? this.#decode(key, entry) : undefined;
  }

  /**
   * The decoded profile, not kept in the cache (a scan reads each stored profile once, then merges
   * it into a new one: cached, the decoded copies would outlive the young generation and be
   * copied by every scavenge until the scan ends). Returns the cached copy when there is one;
   * a fresh decode is handed over (profile.ts handOver): the caller owns it, and mergeProfile
   * ages its dimensions in place.
   */
  read(key: string): Profile | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    const hit = this.#decoded.get(key);
    // A fresh decode is the caller's alone: handed over (a scan's mergeProfile ages it in place).
    return hit && hit.entry === entry ? hit.profile : handOver(decodeBaseline(entry, this.#takeInflated(entry)));
  }

  /**
   * One dimension of a stored profile (decodeDim), or the whole profile decoded when the entry
   * cannot answer alone (held-back values, not packed). Not kept in the cache. Read-only.
   */
  dim(key: string, dim: Dim): StoredDim | Profile | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    const hit = this.#decoded.get(key);
    if (hit && hit.entry === entry) return hit.profile;
    if (!entry.light) return this.read(key);
    // Inflated once: the part is kept until the profile is decoded (Scanner.finish asks an
    // identity's regions, then settles it: 2,107 of the realistic warm day's 4,382).
    let inflated = this.#inflated.get(entry);
    if (inflated === undefined) {
      inflated = inflatedPart(entry);
      if (inflated !== undefined) this.#inflated.set(entry, inflated);
    }
    return decodeDim(entry, dim, inflated) ?? this.read(key);
  }

  /** The entry's part inflated by `dim`, if any, no longer kept. */
  #takeInflated(entry: StoredBaseline): Buffer | undefined {
    const b = this.#inflated.get(entry);
    if (b !== undefined) this.#inflated.delete(entry);
    return b;
  }

  set(key: string, entry: StoredBaseline): void {
    const old = this.#entries.get(key);
    if (old) this.#bytes -= old.bytes.length;
    this.#entries.set(key, entry);
    this.#bytes += entry.bytes.length;
    this.#decoded.delete(key);
  }

  delete(key: string): boolean {
    const old = this.#entries.get(key);
    if (!old) return false;
    this.#entries.delete(key);
    this.#bytes -= old.bytes.length;
    this.#decoded.delete(key);
    return true;
  }

  #decode(key: string, entry: StoredBaseline): Profile {
    const hit = this.#decoded.get(key);
    if (hit && hit.entry === entry) {
      // Most recently used last.
      this.#decoded.delete(key);
      this.#decoded.set(key, hit);
      return hit.profile;
    }
    const profile = decodeBaseline(entry, this.#takeInflated(entry));
    if (this.cacheSize > 0) {
      this.#decoded.delete(key);
      this.#decoded.set(key, { entry, profile });
      while (this.#decoded.size > this.cacheSize) this.#decoded.delete(this.#decoded.keys().next().value!);
    }
    return profile;
  }

  /** From now on, remember the profiles read through the view (an update(fn) starts). */
  track(): void {
    this.#tracked ??= new Map();
  }

  /**
   * The update(fn) is over: re-encode the profiles read through the view that it changed in place.
   * Throws StoreError "invalid" (after keeping every valid change) when one no longer reads back;
   * that profile keeps its previous stored form.
   */
  settle(): void {
    const tracked = this.#tracked;
    this.#tracked = undefined;
    if (!tracked) return;
    let error: unknown;
    for (const [key, { entry, profile }] of tracked) {
      // Replaced or deleted through the view meanwhile: that is the newer state.
      if (this.#entries.get(key) !== entry) continue;
      this.#decoded.delete(key);
      try {
        checkProfile(profile);
        const next = encodeBaseline(key, profile);
        if (!next.bytes.equals(entry.bytes)) this.set(key, next);
      } catch (e) {
        error ??= e;
      }
    }
    if (error) throw error;
  }
}

// -------------------------------------------------------------------------------------------------
// The store's baselines (the operations of TrailStore on them)

/**
 * The table of `data.baselines` (which is its view). A plain object put there (the in-memory
 * twin's initial data, an update(fn) that replaced the whole object) is encoded now.
 */
export function baselineTable(data: StoreData): BaselineTable {
  let t = tableOf(data.baselines);
  if (!t) {
    t = BaselineTable.fromProfiles(data.baselines);
    data.baselines = t.view;
  }
  return t;
}

/** The given profiles (those that exist), or all of them, each decoded from its stored form. */
export function getBaselines(data: StoreData, keys?: Iterable<string>): Map<string, Profile> {
  const t = baselineTable(data);
  const out = new Map<string, Profile>();
  for (const k of keys ?? t.keys()) {
    const p = t.get(k);
    if (p !== undefined) out.set(k, p);
  }
  return out;
}

/** The facts of the given baselines (those that exist), or of all of them, without decoding any. */
export function getBaselineFacts(data: StoreData, keys?: Iterable<string>): Map<string, BaselineFacts> {
  const t = baselineTable(data);
  const out = new Map<string, BaselineFacts>();
  for (const k of keys ?? t.keys()) {
    const f = t.facts(k);
    if (f !== undefined) out.set(k, f);
  }
  return out;
}

/** Validate and encode profiles now; the returned function puts them in the data (replacing by key). */
export function prepBaselines(profiles: readonly Profile[]): (data: StoreData) => void {
  const encoded: Array<[string, StoredBaseline]> = profiles.map((p) => {
    checkProfile(p);
    return [p.key, encodeBaseline(p.key, p)];
  });
  return (data) => {
    const t = baselineTable(data);
    for (const [k, e] of encoded) t.set(k, e);
  };
}
