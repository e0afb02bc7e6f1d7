/**
 * Store file <-> StoreData: decoding (UTF-8, JSON, version, migrations, zod) with messages that
 * say what is wrong, and a serializer that keeps the write path lean.
 */
import { StoreError, recoveryHint } from "./errors.js";
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

/**
 * Serialises StoreData without pretty-printing, reusing the JSON of every baseline and finding
 * that has not been replaced since the last write: records are cached by object identity, and
 * the store replaces (never mutates) a baseline or finding when it changes. A store of 10,000
 * identities is tens of MB of JSON; re-stringifying it on every acknowledgement would cost
 * about half a second, re-using it costs a string join.
 */
export class StoreSerializer {
  #cache = new WeakMap<object, string>();
  /** Bytes (UTF-16 code units, close to bytes for this ASCII-heavy data) per section at the last serialisation. */
  sections: Record<Section, number> = { baselines: 0, findings: 0, audit: 0, other: 0 };

  /** Forget every cached record (after an update that may have mutated records in place). */
  invalidate(): void {
    this.#cache = new WeakMap();
  }

  /** Record the JSON of an object that will not change (computed eagerly, e.g. when a profile is stored). */
  remember(obj: object, json: string): void {
    this.#cache.set(obj, json);
  }

  serialize(data: StoreData): string {
    const parts: string[] = [`{"schemaVersion":${JSON.stringify(data.schemaVersion)},"baselines":`];
    const b = this.#map(data.baselines, parts);
    parts.push(`,"findings":`);
    const f = this.#map(data.findings, parts);
    const audit = JSON.stringify(data.audit);
    const rest =
      `,"suppressions":${JSON.stringify(data.suppressions)},"cursors":${JSON.stringify(data.cursors)}` +
      `,"scans":${JSON.stringify(data.scans)},"digests":${JSON.stringify(data.digests)},"digestRuns":${JSON.stringify(data.digestRuns)}`;
    parts.push(`,"audit":`, audit, rest, "}");
    this.sections = { baselines: b, findings: f, audit: audit.length, other: rest.length };
    return parts.join("");
  }

  #map(rec: Record<string, object>, parts: string[]): number {
    let size = 2;
    let sep = "{";
    for (const key in rec) {
      const v = rec[key];
      if (v === undefined) continue;
      let json = this.#cache.get(v);
      if (json === undefined) {
        json = JSON.stringify(v);
        this.#cache.set(v, json);
      }
      const frag = `${sep}${JSON.stringify(key)}:${json}`;
      parts.push(frag);
      size += frag.length;
      sep = ",";
    }
    parts.push(sep === "{" ? "{}" : "}");
    return size;
  }
}
