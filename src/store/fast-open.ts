/**
 * Opening a store file without parsing its baselines (issue 17, the warm path: "validate the store
 * once per load cheaply"). A file this build wrote starts `{"schemaVersion":N,"baselines":{` and
 * holds each baseline as one `"key":{...}` entry, the bytes its digest was made of (baselines.ts:
 * baselinesDigest). Here the entries are found in the bytes (their quotes and braces; a packed
 * part is one long base64 string, skipped with indexOf), hashed where they lie, and kept as views
 * of the file's buffer; only the rest of the file (findings, audit, scans...) is parsed as JSON.
 * A packed entry's readable fields (key, first/last seen, trainedUntil...) are not parsed here
 * either: the first call that needs its facts parses them (baselines.ts: lazyBaselineFromFile), so
 * a scan parses those of the baselines it touches, once.
 * When anything is not as this build writes it (another version, a file edited by hand, damage),
 * or the baselines do not match the digest, this gives up and the file is decoded in full
 * (codec.ts), which validates every baseline and says what is wrong.
 */
import { hash } from "node:crypto";
import { BaselineTable, baselinesDigest, lazyBaselineFromFile, trustedBaselineFromFile } from "./baselines.js";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

const PREFIX = Buffer.from('{"schemaVersion":');
const BASELINES = Buffer.from(',"baselines":{');
const PACKED = Buffer.from(',"packed":"');

/** Index just past the string whose opening quote is at `i` (-1 if it does not end). */
function skipString(b: Buffer, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = b.indexOf(QUOTE, j);
    if (q < 0) return -1;
    // Escaped when preceded by an odd number of backslashes.
    let k = q - 1;
    while (k > i && b[k] === BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) return q + 1;
    j = q + 1;
  }
}

/** Index just past the object or array that opens at `i` (-1 if it does not close). */
function skipValue(b: Buffer, i: number): number {
  let depth = 0;
  for (let j = i; j < b.length; ) {
    const c = b[j]!;
    if (c === QUOTE) {
      j = skipString(b, j);
      if (j < 0) return -1;
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (--depth === 0) return j + 1;
    }
    j++;
  }
  return -1;
}

/**
 * Whether `at` lies at the top level of the object that opens at `open`: not inside one of its
 * strings or nested values, and before the object closes.
 */
function atTopLevel(b: Buffer, open: number, at: number): boolean {
  // A byte loop (an entry's readable fields are a few hundred bytes of short strings: an indexOf
  // per string would cost more than it skips).
  let depth = 0;
  for (let j = open; j < at; j++) {
    const c = b[j]!;
    if (c === QUOTE) {
      for (j++; j < at; j++) {
        const d = b[j]!;
        if (d === BACKSLASH) j++;
        else if (d === QUOTE) break;
      }
      if (j >= at) return false;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --depth === 0) return false;
  }
  return depth === 1;
}

export interface FastOpened {
  /** The file's JSON without its baselines (`baselines` is `{}`). */
  json: Record<string, unknown>;
  table: BaselineTable;
}

/**
 * The baselines of a store file as a table of trusted entries and the rest of the file parsed,
 * when the file is exactly as this build writes it (schema version `version`) and its baselines
 * match their digest; undefined otherwise (decode it in full).
 */
export function openFast(bytes: Buffer, version: number, utf8: TextDecoder): FastOpened | undefined {
  if (bytes.length < PREFIX.length + BASELINES.length + 2 || bytes.compare(PREFIX, 0, PREFIX.length, 0, PREFIX.length) !== 0) return undefined;
  let i = PREFIX.length;
  const digitsAt = i;
  while (i < bytes.length && bytes[i]! >= 0x30 && bytes[i]! <= 0x39) i++;
  if (i === digitsAt || i - digitsAt > 6 || Number(bytes.toString("latin1", digitsAt, i)) !== version) return undefined;
  if (i + BASELINES.length > bytes.length || bytes.compare(BASELINES, 0, BASELINES.length, i, i + BASELINES.length) !== 0) return undefined;
  i += BASELINES.length;
  const keys: string[] = [];
  const entries: Array<{ bytes: Buffer; valueAt: number; digest: string }> = [];
  // Parsed fields of the entries walked brace by brace (undefined: packed, left unparsed), and where the packed part starts.
  const raws: Array<Record<string, unknown> | undefined> = [];
  const packedAts: number[] = [];
  if (bytes[i] !== CLOSE_BRACE) {
    for (;;) {
      if (bytes[i] !== QUOTE) return undefined;
      const keyEnd = skipString(bytes, i);
      if (keyEnd < 0 || bytes[keyEnd] !== COLON || bytes[keyEnd + 1] !== OPEN_BRACE) return undefined;
      const keyText = bytes.toString("utf8", i + 1, keyEnd - 1);
      let key: unknown = keyText;
      if (keyText.includes("\\")) {
        try {
          key = JSON.parse(bytes.toString("utf8", i, keyEnd));
        } catch {
          return undefined;
        }
      }
      if (typeof key !== "string") return undefined;
      const valueAt = keyEnd + 1;
      // A packed entry ends with its packed part, one base64 string: `,"packed":"<base64>"}`.
      // The guess holds when that `,"packed":"` is a field of this entry's object (walked to it:
      // not inside a string or a nested value, not another entry's); its other fields are then
      // left unparsed (read when first asked for: lazyBaselineFromFile). Otherwise the entry is
      // walked brace by brace and parsed now.
      let end = -1;
      let packedAt = -1;
      let raw: Record<string, unknown> | undefined;
      const p = bytes.indexOf(PACKED, valueAt);
      if (p > 0) {
        const q = bytes.indexOf(QUOTE, p + PACKED.length);
        if (q > 0 && bytes[q + 1] === CLOSE_BRACE && atTopLevel(bytes, valueAt, p)) {
          end = q + 2;
          packedAt = p;
        }
      }
      if (packedAt < 0) {
        end = skipValue(bytes, valueAt);
        if (end < 0) return undefined;
        raw = parseObject(bytes.toString("utf8", valueAt, end));
        if (raw === undefined) return undefined;
      }
      const entry = bytes.subarray(i, end);
      keys.push(key);
      raws.push(raw);
      packedAts.push(packedAt - i);
      entries.push({ bytes: entry, valueAt: valueAt - i, digest: hash("sha256", entry, "base64") });
      i = end;
      if (bytes[i] === COMMA) i++;
      else if (bytes[i] === CLOSE_BRACE) break;
      else return undefined;
    }
  }
  // The rest of the file, after the baselines' closing brace.
  let json: unknown;
  try {
    // 0 in place of the baselines: a second "baselines" further on (edited by hand) would be the one JSON.parse keeps.
    json = JSON.parse(`{"schemaVersion":${version},"baselines":0${utf8.decode(bytes.subarray(i + 1))}`);
  } catch {
    return undefined;
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  const rec = json as Record<string, unknown>;
  if (rec.baselines !== 0 || rec.schemaVersion !== version) return undefined;
  rec.baselines = {};
  if (entries.length > 0 && (typeof rec.baselinesDigest !== "string" || baselinesDigest(entries) !== rec.baselinesDigest)) return undefined;
  const table = new BaselineTable();
  for (let k = 0; k < entries.length; k++) {
    const raw = raws[k];
    table.set(keys[k]!, raw ? trustedBaselineFromFile(keys[k]!, raw, entries[k]!) : lazyBaselineFromFile(keys[k]!, entries[k]!, packedAts[k]!));
  }
  return { json: rec, table };
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const raw: unknown = JSON.parse(text);
    return typeof raw === "object" && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
