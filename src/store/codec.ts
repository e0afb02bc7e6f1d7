/**
 * Store file <-> StoreData: decoding (UTF-8, JSON, version, migrations, zod) with messages that
 * say what is wrong, and a serializer that keeps the write path lean.
 */
import type { Profile } from "../baseline/profile.js";
import { StoreError, recoveryHint } from "./errors.js";
import { packProfile } from "./pack.js";
import { detectVersion, migrate } from "./migrations.js";
import { StoreDataSchema, describeIssues } from "./schema.js";
import { STORE_SCHEMA_VERSION, type StoreData } from "./types.js";

export interface Decoded {
  data: StoreData;
  /** Schema version of the file as read (< STORE_SCHEMA_VERSION when it was migrated). */
  from: number;
  applied: string[];
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decode the bytes of a store (or backup) file. Throws StoreError: "damaged" (not UTF-8, not
 * JSON, truncated, not matching the schema, failed migration) or "newer-version".
 * `where` names the file in messages; `dir` is the --store directory for recovery hints.
 */
export function decodeStore(bytes: Uint8Array, where: string, dir?: string): Decoded {
  const hint = dir === undefined ? "" : ` trailhound did not change it. ${recoveryHint(dir)}`;
  const damaged = (what: string, cause?: unknown) => new StoreError("damaged", `The store file ${where} is damaged: ${what}.${hint}`, { cause });
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (e) {
    throw damaged("it is not UTF-8 text", e);
  }
  if (text.trim() === "") throw damaged(`it is empty (${bytes.length} bytes)`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /at position (\d+)/.exec(msg);
    const truncated = /end of (JSON )?input|Unterminated/i.test(msg) || (pos !== null && Number(pos[1]) >= text.trimEnd().length - 1);
    throw damaged(`it is not valid JSON (${msg}${truncated ? `; it ends early after ${bytes.length} bytes: the file looks truncated` : ""})`, e);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw damaged("it does not hold a JSON object");
  const version = detectVersion(raw as Record<string, unknown>);
  if (Number.isNaN(version)) throw damaged(`its schemaVersion is not a whole number (${JSON.stringify((raw as Record<string, unknown>).schemaVersion)})`);
  if (version > STORE_SCHEMA_VERSION) {
    throw new StoreError(
      "newer-version",
      `The store file ${where} was written by a newer trailhound (schema version ${version}; this build understands up to ` +
        `${STORE_SCHEMA_VERSION}). trailhound did not change it. Upgrade trailhound` +
        (dir === undefined ? "." : `, or restore a backup written by this version: ${recoveryHint(dir)}`),
    );
  }
  let json = raw as Record<string, unknown>;
  let applied: string[] = [];
  if (version < STORE_SCHEMA_VERSION) {
    try {
      const m = migrate(json);
      json = m.data;
      applied = m.applied;
    } catch (e) {
      throw damaged(`migrating it from schema version ${version} failed (${(e as Error).message})`, e);
    }
  }
  const parsed = StoreDataSchema.safeParse(json);
  if (!parsed.success) {
    throw damaged(`it does not match the store schema v${STORE_SCHEMA_VERSION}: ${describeIssues(parsed.error).join("; ")}`, parsed.error);
  }
  return { data: parsed.data as unknown as StoreData, from: version, applied };
}

export type Section = "baselines" | "findings" | "audit" | "other";

const COMMA = Buffer.from(",");
const OPEN_ARRAY = Buffer.from("[");
const CLOSE_ARRAY = Buffer.from("]");
const OPEN_OBJECT = Buffer.from("{");
const CLOSE_OBJECT = Buffer.from("}");

/**
 * Serialises StoreData without pretty-printing, straight to bytes, re-using the encoded JSON of
 * every baseline and finding that has not been replaced since the last write: records are cached
 * by object identity (the store replaces, never mutates, a baseline or finding when it changes).
 * A store of 10,000 identities is tens of MB of JSON: re-stringifying and re-encoding it on
 * every acknowledgement would cost about a second on a busy machine, re-using it costs a memcpy.
 * Baselines are written in their packed form (pack.ts).
 */
export class StoreSerializer {
  #cache = new WeakMap<object, { key: string; bytes: Buffer }>();
  /** Bytes per section at the last serialisation. */
  sections: Record<Section, number> = { baselines: 0, findings: 0, audit: 0, other: 0 };

  /** Forget every cached record (after an update that may have mutated records in place). */
  invalidate(): void {
    this.#cache = new WeakMap();
  }

  /** Encode a baseline now (when it is stored), so that the write itself stays cheap. */
  rememberBaseline(p: Profile): void {
    this.#cache.set(p, { key: p.key, bytes: fragment(p.key, encodeBaseline(p)) });
  }

  /**
   * Re-use the bytes of the baselines as they are in the file just read (when it was not
   * migrated): each `"key":{...}` entry of `baselines` is cached for the profile decoded from
   * it, so that opening a large store does not re-encode every profile. Returns how many were
   * adopted; anything the scan cannot place is simply encoded by `warm`.
   */
  adoptBaselines(file: Buffer, baselines: Record<string, Profile>): number {
    const top = objectEntries(file, skipWs(file, 0));
    const b = top?.entries.find((e) => e.key === "baselines");
    if (!b) return 0;
    const inner = objectEntries(file, b.valueStart);
    if (!inner) return 0;
    let n = 0;
    for (const e of inner.entries) {
      const p = Object.hasOwn(baselines, e.key) ? baselines[e.key] : undefined;
      if (!p) continue;
      this.#cache.set(p, { key: e.key, bytes: file.subarray(e.start, e.end) });
      n++;
    }
    return n;
  }

  /** Encode every baseline and finding not cached yet (at open, so that the first save is as cheap as the next). */
  warm(data: StoreData): void {
    this.#map(data.baselines, [], encodeBaseline);
    this.#map(data.findings, [], (x) => JSON.stringify(x));
  }

  serialize(data: StoreData): Buffer {
    return Buffer.concat(this.serializeParts(data));
  }

  /** The file's bytes as a list of chunks (written with one writev, no 50 MB concatenation). */
  serializeParts(data: StoreData): Buffer[] {
    const parts: Buffer[] = [Buffer.from(`{"schemaVersion":${JSON.stringify(data.schemaVersion)},"baselines":`)];
    const b = this.#map(data.baselines, parts, encodeBaseline);
    parts.push(Buffer.from(`,"findings":`));
    const f = this.#map(data.findings, parts, (x) => JSON.stringify(x));
    parts.push(Buffer.from(`,"audit":`));
    const a = this.#array(data.audit, parts);
    const n0 = parts.length;
    parts.push(Buffer.from(`,"suppressions":`));
    this.#array(data.suppressions, parts);
    parts.push(Buffer.from(`,"cursors":`));
    this.#map(data.cursors, parts, (x) => JSON.stringify(x));
    parts.push(Buffer.from(`,"scans":`));
    this.#array(data.scans, parts);
    parts.push(Buffer.from(`,"digests":`));
    this.#array(data.digests, parts);
    parts.push(Buffer.from(`,"digestRuns":${JSON.stringify(data.digestRuns)}}`));
    let other = 0;
    for (let i = n0; i < parts.length; i++) other += parts[i]!.length;
    this.sections = { baselines: b, findings: f, audit: a, other };
    return parts;
  }

  /** Arrays of records that are replaced, never mutated, when they change (audit, suppressions, scans, digests). */
  #array(arr: readonly object[], parts: Buffer[]): number {
    parts.push(OPEN_ARRAY);
    let size = 2;
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i]!;
      let c = this.#cache.get(v);
      if (c === undefined || c.key !== "") {
        c = { key: "", bytes: Buffer.from(JSON.stringify(v)) };
        this.#cache.set(v, c);
      }
      if (i > 0) parts.push(COMMA);
      parts.push(c.bytes);
      size += c.bytes.length + (i > 0 ? 1 : 0);
    }
    parts.push(CLOSE_ARRAY);
    return size;
  }

  #map<T extends object>(rec: Record<string, T>, parts: Buffer[], encode: (v: T) => string): number {
    let size = 2;
    let first = true;
    parts.push(OPEN_OBJECT);
    for (const key in rec) {
      const v = rec[key];
      if (v === undefined) continue;
      let c = this.#cache.get(v);
      if (c === undefined || c.key !== key) {
        c = { key, bytes: fragment(key, encode(v)) };
        this.#cache.set(v, c);
      }
      if (!first) parts.push(COMMA);
      parts.push(c.bytes);
      size += c.bytes.length + (first ? 0 : 1);
      first = false;
    }
    parts.push(CLOSE_OBJECT);
    return size;
  }
}

function encodeBaseline(p: Profile): string {
  return JSON.stringify(packProfile(p) ?? p);
}

function fragment(key: string, json: string): Buffer {
  return Buffer.from(`${JSON.stringify(key)}:${json}`);
}

// A minimal scanner over JSON bytes: where the entries of an object are. It relies on the
// text being valid JSON (it has just been parsed) and only finds boundaries.

const WS = new Uint8Array(256);
WS[0x20] = WS[0x09] = WS[0x0a] = WS[0x0d] = 1;

function skipWs(b: Uint8Array, i: number): number {
  while (i < b.length && WS[b[i]!]) i++;
  return i;
}

/** Index just past the string starting at `i` (b[i] is the opening quote). */
function skipString(b: Uint8Array, i: number): number {
  i++;
  while (i < b.length) {
    const c = b[i]!;
    if (c === 0x5c) i += 2;
    else if (c === 0x22) return i + 1;
    else i++;
  }
  throw new Error("unterminated string");
}

/** Index just past the value starting at `i`. */
function skipValue(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c === 0x22) return skipString(b, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    while (i < b.length) {
      const x = b[i]!;
      if (x === 0x22) {
        i = skipString(b, i);
        continue;
      }
      if (x === 0x7b || x === 0x5b) depth++;
      else if (x === 0x7d || x === 0x5d) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    throw new Error("unterminated value");
  }
  while (i < b.length) {
    const x = b[i]!;
    if (x === 0x2c || x === 0x7d || x === 0x5d || WS[x]) break;
    i++;
  }
  return i;
}

interface Entry {
  key: string;
  /** From the key's opening quote... */
  start: number;
  valueStart: number;
  /** ...to just past the value. */
  end: number;
}

/** The entries of the object starting at `i`, or undefined when `i` is not an object. */
function objectEntries(b: Buffer, i: number): { entries: Entry[]; end: number } | undefined {
  if (b[i] !== 0x7b) return undefined;
  const entries: Entry[] = [];
  i = skipWs(b, i + 1);
  if (b[i] === 0x7d) return { entries, end: i + 1 };
  for (;;) {
    if (b[i] !== 0x22) return undefined;
    const start = i;
    const keyEnd = skipString(b, i);
    const key = JSON.parse(b.toString("utf8", start, keyEnd)) as string;
    i = skipWs(b, keyEnd);
    if (b[i] !== 0x3a) return undefined;
    const valueStart = skipWs(b, i + 1);
    const end = skipValue(b, valueStart);
    entries.push({ key, start, valueStart, end });
    i = skipWs(b, end);
    if (b[i] === 0x2c) {
      i = skipWs(b, i + 1);
      continue;
    }
    if (b[i] === 0x7d) return { entries, end: i + 1 };
    return undefined;
  }
}
