/**
 * IP range -> autonomous system tables loaded from the `@ip-location-db/asn` CSV files
 * (`start,end,asn,organisation`, inclusive ranges, sorted by start). Held in typed arrays and
 * binary-searched: about 400k IPv4 rows take ~5 MB and a lookup is ~20 comparisons.
 *
 * Parsing the 21 MB IPv4 CSV costs ~100-170 ms of every scan's start; `npm run build` therefore
 * also writes each parsed table in binary form (`toBinary`, src/geo/build-tables.ts), which
 * `fromBinary` maps back in a few milliseconds: typed-array views on the file's bytes, organisation
 * names decoded on demand. The binary file names the CSV it came from (`source`: its package
 * version, size, first and last bytes); a table built from another CSV is refused, and the CSV is
 * parsed instead.
 */
import { ipv4ToInt, ipv6ToWords } from "./ip.js";

export interface AsnHit {
  asn: number;
  org?: string;
}

/** Organisation names by AS number: a Map (parsed from the CSV) or a packed table (binary). */
interface OrgNames {
  get(asn: number): string | undefined;
}

/** Names packed as sorted AS numbers, offsets and one latin1 blob (the CSV is read as latin1). */
class PackedOrgs implements OrgNames {
  private readonly decoded = new Map<number, string>();
  constructor(
    private readonly keys: Uint32Array,
    private readonly offsets: Uint32Array,
    private readonly blob: Buffer,
  ) {}
  get(asn: number): string | undefined {
    const hit = this.decoded.get(asn);
    if (hit !== undefined) return hit;
    const k = this.keys;
    let lo = 0;
    let hi = k.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = k[mid]!;
      if (v === asn) {
        const name = this.blob.toString("latin1", this.offsets[mid]!, this.offsets[mid + 1]!);
        this.decoded.set(asn, name);
        return name;
      }
      if (v < asn) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }
}

// Binary layout (native byte order, every section 4-byte aligned): eight u32 header fields
// [magic, format, byte-order probe, words per address (1 or 4), rows, organisations, blob bytes,
// source bytes], the source key (padded), starts and ends (rows x words), AS numbers (rows),
// organisation AS numbers (sorted), their offsets (+1) into the blob, the blob.
const MAGIC = 0x4e534174; // "tASN" in little-endian bytes
const FORMAT = 1;
const PROBE = 0x01020304;
const HEADER = 8;

const pad4 = (n: number): number => (n + 3) & ~3;

function packTable(words: 1 | 4, starts: Uint32Array, ends: Uint32Array, asns: Uint32Array, names: OrgNames, source: Uint8Array): Buffer {
  if (!(names instanceof Map)) throw new Error("toBinary: only a table parsed from its CSV can be written");
  const orgs = names as Map<number, string>;
  const rows = asns.length;
  const keys = Uint32Array.from([...orgs.keys()].sort((a, b) => a - b));
  const list = [...keys].map((k) => orgs.get(k)!);
  for (const n of list) for (let i = 0; i < n.length; i++) if (n.charCodeAt(i) > 255) throw new Error(`an organisation name is not latin1: ${JSON.stringify(n)}`);
  const blob = Buffer.from(list.join(""), "latin1");
  const offsets = new Uint32Array(keys.length + 1);
  for (let i = 0, o = 0; i < list.length; i++) offsets[i + 1] = o += list[i]!.length;
  const header = Uint32Array.of(MAGIC, FORMAT, PROBE, words, rows, keys.length, blob.length, source.length);
  const parts: Uint8Array[] = [new Uint8Array(header.buffer), source, new Uint8Array(pad4(source.length) - source.length)];
  for (const a of [starts, ends, asns, keys, offsets]) parts.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  parts.push(blob);
  return Buffer.concat(parts);
}

function unpackTable(bytes: Buffer, words: 1 | 4, source: Uint8Array): { starts: Uint32Array; ends: Uint32Array; asns: Uint32Array; orgs: OrgNames } | undefined {
  if (bytes.length < HEADER * 4) return undefined;
  // Typed-array views need 4-byte alignment (a file read whole is aligned; a pooled slice may not be).
  const buf = bytes.byteOffset % 4 === 0 ? bytes : Buffer.from(bytes);
  const h = new Uint32Array(buf.buffer, buf.byteOffset, HEADER);
  if (h[0] !== MAGIC || h[1] !== FORMAT || h[2] !== PROBE || h[3] !== words) return undefined;
  const rows = h[4]!;
  const nOrgs = h[5]!;
  const blobBytes = h[6]!;
  const sourceBytes = h[7]!;
  let off = HEADER * 4;
  if (sourceBytes !== source.length || !buf.subarray(off, off + sourceBytes).equals(source)) return undefined;
  off += pad4(sourceBytes);
  const total = off + 4 * (2 * rows * words + rows + nOrgs + nOrgs + 1) + blobBytes;
  if (buf.length !== total) return undefined;
  const take = (n: number): Uint32Array => {
    const a = new Uint32Array(buf.buffer, buf.byteOffset + off, n);
    off += 4 * n;
    return a;
  };
  const starts = take(rows * words);
  const ends = take(rows * words);
  const asns = take(rows);
  const keys = take(nOrgs);
  const offsets = take(nOrgs + 1);
  if (offsets[nOrgs] !== blobBytes) return undefined;
  return { starts, ends, asns, orgs: new PackedOrgs(keys, offsets, buf.subarray(off, off + blobBytes)) };
}

/** Split one CSV line `a,b,asn,org` where org may be quoted (`"Amazon.com, Inc."`). */
function splitLine(line: string): [string, string, string, string] | null {
  const c1 = line.indexOf(",");
  if (c1 < 0) return null;
  const c2 = line.indexOf(",", c1 + 1);
  if (c2 < 0) return null;
  const c3 = line.indexOf(",", c2 + 1);
  const asn = c3 < 0 ? line.slice(c2 + 1) : line.slice(c2 + 1, c3);
  let org = c3 < 0 ? "" : line.slice(c3 + 1);
  if (org.length >= 2 && org.charCodeAt(0) === 34 && org.charCodeAt(org.length - 1) === 34) {
    org = org.slice(1, -1).replace(/""/g, '"');
  }
  return [line.slice(0, c1), line.slice(c1 + 1, c2), asn, org];
}

function* lines(text: string): Generator<string> {
  let i = 0;
  while (i < text.length) {
    let j = text.indexOf("\n", i);
    if (j < 0) j = text.length;
    let line = text.slice(i, j);
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (line.length > 0) yield line;
    i = j + 1;
  }
}

/** IPv4 ranges. Accepts numeric (`16777216,16777471,...`) or dotted (`1.0.0.0,1.0.0.255,...`) bounds. */
export class AsnTableV4 {
  private constructor(
    private readonly starts: Uint32Array,
    private readonly ends: Uint32Array,
    private readonly asns: Uint32Array,
    private readonly orgs: OrgNames,
  ) {}

  get size(): number {
    return this.starts.length;
  }

  /** The table in binary form (see the top of this file); `source` names the CSV it was parsed from. */
  toBinary(source: Uint8Array): Buffer {
    return packTable(1, this.starts, this.ends, this.asns, this.orgs, source);
  }

  /** A table written by `toBinary` from the same `source`, or undefined (another source, another format, damaged). */
  static fromBinary(bytes: Buffer, source: Uint8Array): AsnTableV4 | undefined {
    const t = unpackTable(bytes, 1, source);
    return t && new AsnTableV4(t.starts, t.ends, t.asns, t.orgs);
  }

  static fromCsv(text: string): AsnTableV4 {
    let cap = 1024;
    let starts = new Uint32Array(cap);
    let ends = new Uint32Array(cap);
    let asns = new Uint32Array(cap);
    const orgs = new Map<number, string>();
    let n = 0;
    let sorted = true;
    const push = (s: number, e: number, a: number): void => {
      if (n === cap) {
        cap *= 2;
        const s2 = new Uint32Array(cap);
        s2.set(starts);
        starts = s2;
        const e2 = new Uint32Array(cap);
        e2.set(ends);
        ends = e2;
        const a2 = new Uint32Array(cap);
        a2.set(asns);
        asns = a2;
      }
      if (n > 0 && s < starts[n - 1]!) sorted = false;
      starts[n] = s;
      ends[n] = e;
      asns[n] = a;
      n++;
    };
    /** Any line, the general way (dotted bounds, odd numbers, quoted organisations). */
    const general = (line: string): void => {
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line.length === 0) return;
      const f = splitLine(line);
      if (!f) return;
      const s = f[0].includes(".") ? ipv4ToInt(f[0]) : Number(f[0]);
      const e = f[1].includes(".") ? ipv4ToInt(f[1]) : Number(f[1]);
      const a = Number(f[2]);
      if (!(s >= 0) || !(e >= s) || !Number.isInteger(a) || a <= 0) return;
      push(s, e, a);
      if (f[3] && !orgs.has(a)) orgs.set(a, f[3]);
    };
    // The packaged file is `start,end,asn,org` with plain decimal numbers: read those without
    // splitting the line (400k rows at start-up); anything else takes the general way.
    const L = text.length;
    const v = [0, 0, 0];
    let i = 0;
    while (i < L) {
      let j = text.indexOf("\n", i);
      if (j < 0) j = L;
      let p = i;
      let k = 0;
      for (; k < 3; k++) {
        const from = p;
        let x = 0;
        let c = text.charCodeAt(p);
        while (c >= 48 && c <= 57 && p - from < 10) {
          x = x * 10 + (c - 48);
          c = text.charCodeAt(++p);
        }
        if (p === from || !(c === 44 || p === j || (c === 13 && p === j - 1)) || (k < 2 && c !== 44)) break; // not a plain number field
        v[k] = x;
        if (c === 44) p++;
      }
      const s = v[0]!,
        e = v[1]!,
        a = v[2]!;
      if (k < 3 || !(e >= s) || a <= 0 || e > 0xffffffff) general(text.slice(i, j));
      else {
        push(s, e, a);
        if (text.charCodeAt(p - 1) === 44 && !orgs.has(a)) {
          // The organisation: the rest of the line, unquoted.
          let org = text.slice(p, text.charCodeAt(j - 1) === 13 ? j - 1 : j);
          if (org.length >= 2 && org.charCodeAt(0) === 34 && org.charCodeAt(org.length - 1) === 34) org = org.slice(1, -1).replace(/""/g, '"');
          if (org) orgs.set(a, org);
        }
      }
      i = j + 1;
    }
    starts = starts.slice(0, n);
    ends = ends.slice(0, n);
    asns = asns.slice(0, n);
    if (!sorted) {
      const idx = Array.from({ length: n }, (_, i) => i).sort((x, y) => starts[x]! - starts[y]!);
      starts = Uint32Array.from(idx, (i) => starts[i]!);
      ends = Uint32Array.from(idx, (i) => ends[i]!);
      asns = Uint32Array.from(idx, (i) => asns[i]!);
    }
    return new AsnTableV4(starts, ends, asns, orgs);
  }

  /** The AS of an address given as an unsigned 32-bit integer. */
  lookupInt(ip: number): AsnHit | undefined {
    const asn = this.asnOfInt(ip);
    if (asn < 0) return undefined;
    const org = this.orgs.get(asn);
    return org === undefined ? { asn } : { asn, org };
  }

  /** The AS number of an address given as an unsigned 32-bit integer; -1 when no range holds it. */
  asnOfInt(ip: number): number {
    const st = this.starts;
    let lo = 0;
    let hi = st.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (st[mid]! <= ip) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // Whether every address of ip's /24 has this answer: no range starts inside it but the one
    // found, which holds all or none of it.
    const net = ip - (ip % 256);
    const last = net + 255;
    const end = found < 0 ? -1 : this.ends[found]!;
    this.same24 = (found < 0 || (st[found]! <= net && (end >= last || end < net))) && (found + 1 >= st.length || st[found + 1]! > last);
    if (found < 0 || end < ip) return -1;
    return this.asns[found]!;
  }

  /** Whether the last `asnOfInt` answer holds for every address of that address's /24. */
  same24 = false;

  /** The organisation of AS `asn`, if the table names it. */
  orgOf(asn: number): string | undefined {
    return this.orgs.get(asn);
  }

  lookup(ip: string): AsnHit | undefined {
    const n = ipv4ToInt(ip);
    return n < 0 ? undefined : this.lookupInt(n);
  }
}

type W4 = [number, number, number, number];

function cmp(a: Uint32Array, i: number, w: W4): number {
  const o = i * 4;
  for (let k = 0; k < 4; k++) {
    const d = a[o + k]! - w[k]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** IPv6 ranges from the textual CSV (`2001:200::,2001:200:ffff:...,2500,WIDE Project`), exact 128-bit bounds. */
export class AsnTableV6 {
  private constructor(
    private readonly starts: Uint32Array,
    private readonly ends: Uint32Array,
    private readonly asns: Uint32Array,
    private readonly orgs: OrgNames,
  ) {}

  get size(): number {
    return this.asns.length;
  }

  /** The table in binary form (see the top of this file); `source` names the CSV it was parsed from. */
  toBinary(source: Uint8Array): Buffer {
    return packTable(4, this.starts, this.ends, this.asns, this.orgs, source);
  }

  /** A table written by `toBinary` from the same `source`, or undefined (another source, another format, damaged). */
  static fromBinary(bytes: Buffer, source: Uint8Array): AsnTableV6 | undefined {
    const t = unpackTable(bytes, 4, source);
    return t && new AsnTableV6(t.starts, t.ends, t.asns, t.orgs);
  }

  static fromCsv(text: string): AsnTableV6 {
    const s: number[] = [];
    const e: number[] = [];
    const a: number[] = [];
    const orgs = new Map<number, string>();
    let prev: W4 | null = null;
    for (const line of lines(text)) {
      const f = splitLine(line);
      if (!f) continue;
      const ws = ipv6ToWords(f[0]);
      const we = ipv6ToWords(f[1]);
      const asn = Number(f[2]);
      if (!ws || !we || !Number.isInteger(asn) || asn <= 0) continue;
      // The packaged file is sorted; skip the rare out-of-order row rather than sorting 100k rows.
      if (prev && (ws[0] < prev[0] || (ws[0] === prev[0] && ws[1] < prev[1]))) continue;
      prev = ws;
      s.push(...ws);
      e.push(...we);
      a.push(asn);
      if (f[3] && !orgs.has(asn)) orgs.set(asn, f[3]);
    }
    return new AsnTableV6(Uint32Array.from(s), Uint32Array.from(e), Uint32Array.from(a), orgs);
  }

  lookupWords(w: W4): AsnHit | undefined {
    let lo = 0;
    let hi = this.asns.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp(this.starts, mid, w) <= 0) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0 || cmp(this.ends, found, w) < 0) return undefined;
    const asn = this.asns[found]!;
    const org = this.orgs.get(asn);
    return org === undefined ? { asn } : { asn, org };
  }

  lookup(ip: string): AsnHit | undefined {
    const w = ipv6ToWords(ip);
    return w ? this.lookupWords(w) : undefined;
  }
}
