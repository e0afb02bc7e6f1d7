/**
 * IP range -> autonomous system tables loaded from the `@ip-location-db/asn` CSV files
 * (`start,end,asn,organisation`, inclusive ranges, sorted by start). Held in typed arrays and
 * binary-searched: about 400k IPv4 rows take ~5 MB and a lookup is ~20 comparisons.
 */
import { ipv4ToInt, ipv6ToWords } from "./ip.js";

export interface AsnHit {
  asn: number;
  org?: string;
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
    private readonly orgs: Map<number, string>,
  ) {}

  get size(): number {
    return this.starts.length;
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
    if (found < 0 || this.ends[found]! < ip) return undefined;
    const asn = this.asns[found]!;
    const org = this.orgs.get(asn);
    return org === undefined ? { asn } : { asn, org };
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
    private readonly orgs: Map<number, string>,
  ) {}

  get size(): number {
    return this.asns.length;
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
