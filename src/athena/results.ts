/**
 * Query results back into the core's shapes: baseline marginals become `Profile`s (fed to the
 * scanner as stored profiles), detection-window rows become CloudTrail-shaped records (pushed into
 * the scanner like records read from files).
 *
 * Rows are `Record<column, string | null>`, as Athena's GetQueryResults returns them (every value
 * as text, NULL as a missing value).
 */
import { DEFAULT_BASELINE_CONFIG, DIMS, capDim, emptyProfile, statOf, type BaselineConfig, type Dim, type Profile, type Stat } from "../baseline/profile.js";
import { classifySourceIp } from "../events/normalize.js";
import type { GeoResolver } from "../geo/types.js";
import { columnsFor, col, type ColType, type Field, type TableFlavor } from "./schema.js";

export type Row = Record<string, string | null>;

const num = (v: string | null | undefined): number => (v === null || v === undefined || v === "" ? NaN : Number(v));

export interface ProfileBuildOptions {
  /**
   * Newest time folded into these profiles (usually window start - 1): the scanner counts only
   * later events on top of them.
   */
  trainedUntil: number;
  baseline?: BaselineConfig;
  /** Derive the `network` and `country` dimensions from the returned IPs, as the scanner does. */
  geo?: GeoResolver;
}

const SQL_DIM_NAMES = new Set<string>(DIMS);

/** Baseline marginal rows (see `baselineQuery`) -> one profile per identity. */
export function profilesFromRows(rows: Iterable<Row>, o: ProfileBuildOptions): Map<string, Profile> {
  const cfg = o.baseline ?? DEFAULT_BASELINE_CONFIG;
  const out = new Map<string, Profile>();
  const hourly = new Map<string, Array<[number, number, number]>>();
  const get = (key: string, type?: string | null): Profile => {
    let p = out.get(key);
    if (!p) {
      p = emptyProfile(key, type ?? "Unknown");
      out.set(key, p);
    }
    return p;
  };
  for (const r of rows) {
    const key = r.ident;
    const dim = r.dim;
    if (!key || !dim) continue;
    const p = get(key, r.p_type);
    const n = num(r.n);
    const err = num(r.err);
    const first = num(r.first_ms);
    const last = num(r.last_ms);
    const value = r.value ?? "";
    if (dim === "total") {
      if (r.p_type) p.type = r.p_type;
      p.events = n;
      p.errors = err;
      p.denied = num(r.den);
      p.first = first;
      p.last = last;
      const bm = num(r.breadth_max);
      const bb = num(r.breadth_buckets);
      p.breadth = [Number.isFinite(bm) ? bm : 0, Number.isFinite(bb) ? bb : 0];
    } else if (dim === "hod") p.hours[num(value)] = n;
    else if (dim === "dow") p.weekdays[num(value)] = n;
    else if (dim === "day") p.days.push(num(value));
    else if (dim === "hour") {
      let h = hourly.get(key);
      if (!h) hourly.set(key, (h = []));
      h.push([num(value), n, err]);
    } else if (SQL_DIM_NAMES.has(dim)) {
      p.dims[dim as Dim][value] = [n, err, first, last];
    }
  }
  for (const [key, p] of out) {
    p.trainedUntil = o.trainedUntil;
    p.days.sort((a, b) => a - b);
    p.hourly = (hourly.get(key) ?? []).sort((a, b) => a[0] - b[0]);
    if (o.geo) addGeoDims(p, o.geo);
    for (const d of DIMS) p.dims[d] = capDim(p.dims[d], cfg.caps[d]);
  }
  return out;
}

/** `network` (AS number) and `country` from the public IPs, like the scanner's per-event lookups. */
function addGeoDims(p: Profile, geo: GeoResolver): void {
  const add = (dim: Dim, value: string, s: Stat) => {
    const cur = statOf(p.dims[dim], value);
    p.dims[dim][value] = cur ? [cur[0] + s[0], cur[1] + s[1], Math.min(cur[2], s[2]), Math.max(cur[3], s[3])] : [...s];
  };
  for (const [ip, s] of Object.entries(p.dims.ip)) {
    if (classifySourceIp(ip) !== "public") continue;
    const g = geo.lookup(ip);
    if (!g) continue;
    if (g.asn !== undefined) add("network", "AS" + g.asn, s);
    if (g.country) add("country", g.country, s);
  }
}

// ---------------------------------------------------------------------------------------------
// Window rows -> CloudTrail records

/**
 * Rebuild a CloudTrail record from one row of `windowEventsQuery`: camelCase names, JSON-text
 * columns parsed, booleans restored, struct columns (JSON text with lowercase keys) renamed with
 * the schema. NULLs are left out, as in delivered files.
 */
export function recordFromRow(row: Row, flavor: TableFlavor = "trailhound"): Record<string, unknown> {
  const rec: Record<string, unknown> = {};
  for (const c of columnsFor(flavor)) {
    const v = row[col(c)];
    if (v === null || v === undefined) continue;
    if (c.type === "string") {
      if (c.jsonText) {
        const parsed = parseJson(v);
        if (parsed !== undefined) rec[c.json] = parsed;
      } else if (c.bool && (v === "true" || v === "false")) rec[c.json] = v === "true";
      else rec[c.json] = v;
      continue;
    }
    const parsed = parseJson(v);
    const rebuilt = parsed === undefined ? undefined : rename(parsed, c.type);
    if (rebuilt !== undefined) rec[c.json] = rebuilt;
  }
  return rec;
}

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** Lowercase-keyed JSON of a struct (or positional array, from engines that cast ROW to an array) -> camelCase. */
function rename(v: unknown, t: ColType): unknown {
  if (v === null || v === undefined) return undefined;
  if (t === "string") return typeof v === "string" ? v : JSON.stringify(v);
  if ("array" in t) {
    if (!Array.isArray(v)) return undefined;
    return v.map((x) => rename(x, t.array)).filter((x) => x !== undefined);
  }
  if ("map" in t) return typeof v === "object" && !Array.isArray(v) ? v : undefined;
  const fields: Field[] = t.struct;
  const out: Record<string, unknown> = {};
  if (Array.isArray(v)) {
    fields.forEach((f, i) => {
      const x = rename(v[i], f.type);
      if (x !== undefined) out[f.json] = x;
    });
  } else if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    for (const f of fields) {
      const x = rename(o[col(f)] ?? o[f.json], f.type);
      if (x !== undefined) out[f.json] = x;
    }
  } else return undefined;
  return out;
}
