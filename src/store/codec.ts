/**
 * Store file <-> StoreData: decoding (UTF-8, JSON, version, migrations, zod) with messages that
 * say what is wrong, and a serializer that keeps the write path lean.
 */
import type { Profile } from "../baseline/profile.js";
import { openFast } from "./fast-open.js";
import { BaselineTable, baselineFromFile, baselinesDigest, fileEntryBytes, tableOf, trustedBaselineFromFile, type StoredBaseline } from "./baselines.js";
import { StoreError, recoveryHint } from "./errors.js";
import { detectVersion, migrate } from "./migrations.js";
import { fastStoreRecords } from "./fast-validate.js";
import { describeIssues, storeSchemas, type Issue } from "./schema.js";
import { STORE_SCHEMA_VERSION, type StoreData } from "./types.js";

export interface Decoded {
  data: StoreData;
  /** Schema version of the file as read (< STORE_SCHEMA_VERSION when it was migrated). */
  from: number;
  applied: string[];
  /**
   * How the baselines were checked: "digest" (they match the digest written with them: exactly
   * what trailhound wrote, not decoded again), "full" (each decoded and validated: a file
   * without a digest, as older versions wrote, or whose baselines no longer match it, or `full`
   * asked for). "none" when there are no baselines.
   */
  baselinesChecked: "digest" | "full" | "none";
}

/** The file's field holding the baselines' digest (baselines.ts: baselinesDigest). Not part of StoreData. */
export const BASELINES_DIGEST = "baselinesDigest";

/** What a store file written by this build looks like (schema version and the optional parts it writes): for benches that keep a store between runs. */
export const STORE_FORMAT = `v${STORE_SCHEMA_VERSION}+${BASELINES_DIGEST}`;

export interface DecodeOptions {
  /** Decode and validate every baseline even when the file's digest matches (`trailhound store check`). */
  full?: boolean;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decode the bytes of a store (or backup) file. Throws StoreError: "damaged" (not UTF-8, not
 * JSON, truncated, not matching the schema, failed migration) or "newer-version".
 * `where` names the file in messages; `dir` is the --store directory for recovery hints.
 */
export function decodeStore(bytes: Uint8Array, where: string, dir?: string, opts: DecodeOptions = {}): Decoded {
  const hint = dir === undefined ? "" : ` trailhound did not change it. ${recoveryHint(dir)}`;
  const damaged = (what: string, cause?: unknown) => new StoreError("damaged", `The store file ${where} is damaged: ${what}.${hint}`, { cause });
  // A file as this build writes it, whose baselines match their digest: its baselines are not parsed (fast-open.ts).
  const fast = opts.full ? undefined : openFast(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), STORE_SCHEMA_VERSION, utf8);
  let json: Record<string, unknown>;
  let version = STORE_SCHEMA_VERSION;
  let applied: string[] = [];
  if (fast) json = fast.json;
  else {
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
    version = detectVersion(raw as Record<string, unknown>);
    if (Number.isNaN(version)) throw damaged(`its schemaVersion is not a whole number (${JSON.stringify((raw as Record<string, unknown>).schemaVersion)})`);
    if (version > STORE_SCHEMA_VERSION) {
      throw new StoreError(
        "newer-version",
        `The store file ${where} was written by a newer trailhound (schema version ${version}; this build understands up to ` +
          `${STORE_SCHEMA_VERSION}). trailhound did not change it. Upgrade trailhound` +
          (dir === undefined ? "." : `, or restore a backup written by this version: ${recoveryHint(dir)}`),
      );
    }
    json = raw as Record<string, unknown>;
    if (version < STORE_SCHEMA_VERSION) {
      try {
        const m = migrate(json);
        json = m.data;
        applied = m.applied;
      } catch (e) {
        throw damaged(`migrating it from schema version ${version} failed (${(e as Error).message})`, e);
      }
    }
  }
  // Baselines are kept in their stored form (baselines.ts): decoding them all at once would build
  // ~250 MB of objects for a 10,000-identity store. When the file carries the digest of its
  // baselines and they match it, they are exactly what trailhound encoded (each validated then):
  // nothing to decode. Otherwise (an older file, a file changed by hand or damaged) each is
  // decoded and validated, one at a time, and the first problems are reported.
  const rawBaselines = json.baselines;
  const isRecord = typeof rawBaselines === "object" && rawBaselines !== null && !Array.isArray(rawBaselines);
  // A file as this build writes it: its other records are checked without zod when they certainly
  // match (fast-validate.ts; the same result as the schema's), by the schema otherwise.
  const records = isRecord ? { ...json, baselines: {} } : json;
  const checkedFast = fast ? fastStoreRecords(records) : undefined;
  const parsed: { success: true; data: unknown; error?: undefined } | ReturnType<ReturnType<typeof storeSchemas>["StoreDataSchema"]["safeParse"]> =
    checkedFast !== undefined ? { success: true, data: checkedFast } : storeSchemas().StoreDataSchema.safeParse(records);
  const issues: Issue[] = [];
  const table = fast?.table ?? new BaselineTable();
  let checked: Decoded["baselinesChecked"] = fast && fast.table.size > 0 ? "digest" : "none";
  if (isRecord && !fast) {
    const rec = rawBaselines as Record<string, unknown>;
    const keys = Object.keys(rec);
    const digest = json[BASELINES_DIGEST];
    let trusted: StoredBaseline[] | undefined;
    if (typeof digest === "string" && !opts.full && keys.length > 0) {
      const read = keys.map((k) => fileEntryBytes(k, rec[k]));
      if (baselinesDigest(read) === digest) {
        trusted = keys.map((k, i) => trustedBaselineFromFile(k, rec[k] as Record<string, unknown>, read[i]!));
      }
    }
    if (trusted) {
      checked = "digest";
      for (let i = 0; i < keys.length; i++) table.set(keys[i]!, trusted[i]!);
    } else {
      if (keys.length > 0) checked = "full";
      for (const key of keys) {
        const raw = rec[key];
        const p = storeSchemas().StoredProfileSchema.safeParse(raw);
        if (!p.success) {
          for (const i of p.error.issues) issues.push({ ...i, path: ["baselines", key, ...i.path] });
        } else if (issues.length === 0) {
          table.set(key, baselineFromFile(key, raw, p.data as unknown as Profile));
        }
      }
    }
  }
  if (!parsed.success) issues.push(...parsed.error.issues);
  if (issues.length > 0) {
    throw damaged(`it does not match the store schema v${STORE_SCHEMA_VERSION}: ${describeIssues(issues).join("; ")}`, parsed.error ?? issues);
  }
  const data = parsed.data as unknown as StoreData;
  data.baselines = table.view;
  return { data, from: version, applied, baselinesChecked: checked };
}

export type Section = "baselines" | "findings" | "audit" | "other";

const COMMA = Buffer.from(",");
const OPEN_ARRAY = Buffer.from("[");
const CLOSE_ARRAY = Buffer.from("]");
const OPEN_OBJECT = Buffer.from("{");
const CLOSE_OBJECT = Buffer.from("}");

/**
 * Serialises StoreData without pretty-printing, straight to bytes. Baselines are held in memory
 * as the bytes they are written as (baselines.ts); the encoded JSON of every other record that
 * has not been replaced since the last write is re-used: records are cached by object identity
 * (the store replaces, never mutates, a finding when it changes). A store of 10,000 identities
 * is tens of MB of JSON: re-stringifying and re-encoding it on every acknowledgement would cost
 * about a second on a busy machine, re-using it costs a memcpy.
 */
export class StoreSerializer {
  #cache = new WeakMap<object, { key: string; bytes: Buffer }>();
  /** Bytes per section at the last serialisation. */
  sections: Record<Section, number> = { baselines: 0, findings: 0, audit: 0, other: 0 };

  /** Forget every cached record (after an update that may have mutated records in place). */
  invalidate(): void {
    this.#cache = new WeakMap();
  }

  /** Encode every finding not cached yet (at open, so that the first save is as cheap as the next). */
  warm(data: StoreData): void {
    this.#map(data.findings, [], (x) => JSON.stringify(x));
  }

  serialize(data: StoreData): Buffer {
    return Buffer.concat(this.serializeParts(data));
  }

  /** The file's bytes as a list of chunks (written with one writev, no 50 MB concatenation). */
  serializeParts(data: StoreData): Buffer[] {
    const parts: Buffer[] = [Buffer.from(`{"schemaVersion":${JSON.stringify(data.schemaVersion)},"baselines":`)];
    const b = this.#baselines(data.baselines, parts);
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
    parts.push(Buffer.from(`,"digestRuns":${JSON.stringify(data.digestRuns)}`));
    // Written only once there is one: a store without containments keeps its exact bytes.
    if (data.containments !== undefined) {
      parts.push(Buffer.from(`,"containments":`));
      this.#map(data.containments, parts, (x) => JSON.stringify(x));
    }
    // Written only when there is something in it: stores the HTTP bot never used stay byte-identical.
    if (data.replay && Object.keys(data.replay).length > 0) parts.push(Buffer.from(`,"replay":${JSON.stringify(data.replay)}`));
    // The baselines' digest (baselines.ts), when there are baselines: lets the next load trust them without decoding them.
    if (b.digest !== undefined) parts.push(Buffer.from(`,"${BASELINES_DIGEST}":${JSON.stringify(b.digest)}`));
    parts.push(CLOSE_OBJECT);
    let other = 0;
    for (let i = n0; i < parts.length; i++) other += parts[i]!.length;
    this.sections = { baselines: b.bytes, findings: f, audit: a, other };
    return parts;
  }

  /** The baselines' stored bytes as they are (a plain object, as in tests, is encoded first). */
  #baselines(rec: Record<string, Profile>, parts: Buffer[]): { bytes: number; digest: string | undefined } {
    const table = tableOf(rec) ?? BaselineTable.fromProfiles(rec, 0);
    parts.push(OPEN_OBJECT);
    let first = true;
    for (const e of table.entries()) {
      if (!first) parts.push(COMMA);
      parts.push(e[1].bytes);
      first = false;
    }
    parts.push(CLOSE_OBJECT);
    const digest = table.size > 0 ? baselinesDigest(table.values()) : undefined;
    return { bytes: 2 + table.bytes + Math.max(0, table.size - 1), digest };
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

function fragment(key: string, json: string): Buffer {
  return Buffer.from(`${JSON.stringify(key)}:${json}`);
}
