import { describe, expect, it } from "vitest";
import type { Dim } from "../../src/baseline/profile.js";
import type { EventFacts } from "../../src/events/types.js";
import { IdentityAcc, type ValueStat } from "../../src/ingest/accumulator.js";
import { rng } from "../../src/util/rng.js";

const T0 = Date.UTC(2024, 2, 1);
const DIMS = ["api", "ip", "region", "ua", "session", "errorCode"] as const;

/** Sessions alike in their length and first and last eight characters (they collide in a hash of the ends). */
const alike = (i: number) => `sess-AAA${String(i).padStart(6, "0")}-BBBBBBBB`;

describe("an identity's values (one table over its dimensions)", () => {
  it("gives every dimension's values in first-seen order with their counts, as a Map per dimension would", () => {
    const r = rng(7);
    const acc = new IdentityAcc({ key: "user:1:alice", type: "IAMUser" }, T0 + 500 * 60_000);
    const expected = new Map<Dim, Map<string, ValueStat>>(DIMS.map((d) => [d, new Map()]));
    const note = (d: Dim, v: string, t: number, counted: boolean, failed: boolean) => {
      const m = expected.get(d)!;
      let s = m.get(v);
      if (!s) m.set(v, (s = { n: 0, err: 0, first: Infinity, last: -Infinity }));
      s.first = Math.min(s.first, t);
      s.last = Math.max(s.last, t);
      if (counted) {
        s.n++;
        if (failed) s.err++;
      }
    };
    for (let i = 0; i < 3000; i++) {
      // Times in any order; values shared between dimensions ("x" is an IP, a session and an error code).
      const t = T0 + Math.floor(r() * 1000) * 60_000;
      const failed = r() < 0.2;
      const ev: EventFacts = {
        id: `e${i}`,
        time: t,
        api: `svc${Math.floor(r() * 5)}:Call${Math.floor(r() * 40)}`,
        eventName: "Call",
        region: ["us-east-1", "eu-west-1", "x"][Math.floor(r() * 3)]!,
        sourceIp: r() < 0.1 ? "x" : `10.0.${Math.floor(r() * 3)}.${Math.floor(r() * 250)}`,
        ipKind: "private",
        uaFamily: r() < 0.5 ? "aws-cli/2" : "Boto3/1",
        failed,
        denied: false,
        requestParameters: null,
        principal: { sessionName: r() < 0.1 ? "x" : alike(Math.floor(r() * 400)) },
      };
      if (failed) ev.errorCode = r() < 0.5 ? "x" : "AccessDenied";
      acc.add(ev, undefined, false, -Infinity, undefined);
      const counted = t > T0 + 500 * 60_000;
      note("api", ev.api, t, counted, failed);
      note("region", ev.region, t, counted, failed);
      note("ip", ev.sourceIp, t, counted, failed);
      note("ua", ev.uaFamily, t, counted, failed);
      note("session", ev.principal.sessionName!, t, counted, failed);
      if (ev.errorCode) note("errorCode", ev.errorCode, t, counted, failed);
    }
    for (const d of DIMS) expect([...acc.dim(d)], d).toEqual([...expected.get(d)!]);
    expect(acc.dim("session").size).toBeGreaterThan(300);
    // Services: the APIs' prefixes, summed, in the order their first API was met.
    const services = new Map<string, ValueStat>();
    for (const [api, s] of expected.get("api")!) {
      const svc = api.slice(0, api.indexOf(":"));
      const o = services.get(svc) ?? { n: 0, err: 0, first: Infinity, last: -Infinity };
      services.set(svc, { n: o.n + s.n, err: o.err + s.err, first: Math.min(o.first, s.first), last: Math.max(o.last, s.last) });
    }
    expect([...acc.dim("service")]).toEqual([...services]);
    expect([...acc.dim("api")]).toEqual([...expected.get("api")!]);
  });
});

describe("an identity's values seen once (kept in one number until their second event)", () => {
  it("gives the same counts and window as values seen more often, whatever the event's time", () => {
    const r = rng(11);
    const trainedUntil = T0 + 100 * 60_000;
    const wStart = T0 + 200 * 60_000;
    const acc = new IdentityAcc({ key: "role:1:app", type: "AssumedRole" }, trainedUntil);
    const expected = new Map<string, ValueStat>();
    const inWin = new Map<string, number>();
    // Times a single number cannot hold exactly (negative, fractional, beyond 2^51 ms) beside whole milliseconds.
    const odd = [-5 * 60_000, -1, 0.5, T0 + 0.25, 2 ** 51, 2 ** 52 + 2];
    for (let i = 0; i < 2000; i++) {
      const t = r() < 0.05 ? odd[Math.floor(r() * odd.length)]! : T0 + Math.floor(r() * 300) * 60_000 + Math.floor(r() * 1000);
      const failed = r() < 0.3;
      // Most sessions once, some twice or more.
      const session = r() < 0.7 ? `once-${i}` : `again-${Math.floor(r() * 50)}`;
      const window = t >= wStart && t < 2 ** 45; // (MStat takes times up to the year 7074)
      const ev: EventFacts = {
        id: `e${i}`,
        time: t,
        api: "sts:AssumeRole",
        eventName: "AssumeRole",
        region: "us-east-1",
        sourceIp: "10.0.0.1",
        ipKind: "private",
        uaFamily: "Boto3/1",
        failed,
        denied: false,
        requestParameters: null,
        principal: { sessionName: session },
      };
      acc.add(ev, undefined, window, wStart, undefined);
      const s = expected.get(session) ?? { n: 0, err: 0, first: Infinity, last: -Infinity };
      s.first = Math.min(s.first, t);
      s.last = Math.max(s.last, t);
      if (t > trainedUntil) {
        s.n++;
        if (failed) s.err++;
      }
      expected.set(session, s);
      if (window) inWin.set(session, (inWin.get(session) ?? 0) + 1);
    }
    expect([...acc.dim("session")]).toEqual([...expected]);
    const w = acc.toWindow(wStart, 2 ** 53, () => undefined);
    expect(new Map([...w.sessions.map((s) => [s, 0] as const)]).size).toBe(inWin.size);
    expect([...w.apis.values()][0]!.n).toBe([...inWin.values()].reduce((a, b) => a + b, 0));
  });
});

describe("an identity's services in its window (summed from its APIs' window sides)", () => {
  /** An accumulator of `n` events over APIs of five services, most inside the moving window from `wmin`. */
  function filled(seed: number, wmin: number): IdentityAcc {
    const r = rng(seed);
    const acc = new IdentityAcc({ key: "user:1:bob", type: "IAMUser" }, T0);
    for (let i = 0; i < 800; i++) {
      const t = T0 + Math.floor(r() * 600) * 60_000;
      const failed = r() < 0.2;
      const ev: EventFacts = {
        id: `e${seed}-${i}`,
        time: t,
        api: `svc${Math.floor(r() * 5)}:Call${Math.floor(r() * 30)}`,
        eventName: "Call",
        region: "us-east-1",
        sourceIp: "10.0.0.1",
        ipKind: "private",
        uaFamily: "aws-cli/2",
        failed,
        denied: failed && r() < 0.5,
        requestParameters: null,
        principal: { sessionName: `s${Math.floor(r() * 3)}` },
      };
      acc.add(ev, undefined, t >= wmin, wmin, undefined);
    }
    return acc;
  }

  it("are the same whether the services were derived just before or another identity's were derived in between", () => {
    const wmin = T0 + 200 * 60_000;
    const wEnd = T0 + 600 * 60_000;
    // Derived by toWindow itself.
    const plain = filled(3, wmin).toWindow(wmin, wEnd, () => undefined);
    // Derived first (a view asking a service), then another identity's derived before the window is built.
    const asked = filled(3, wmin);
    asked.dim("service");
    filled(4, wmin).dim("service");
    const later = asked.toWindow(wmin, wEnd, () => undefined);
    expect(plain.services.size).toBe(5);
    expect([...later.services]).toEqual([...plain.services]);
    expect([...later.idSessions!]).toEqual([...plain.idSessions!]);
    // Each service's counts: its APIs' summed.
    for (const [svc, st] of plain.services) {
      let n = 0;
      for (const [api, a] of plain.apis) if (api.startsWith(`${svc}:`)) n += a.n;
      expect(st.n, svc).toBe(n);
    }
  });
});

describe("an identity's targets (KMS key targets kept short)", () => {
  it("gives every target as it came, in first-seen order, with its counts and window, whatever its form", () => {
    const r = rng(23);
    const trainedUntil = T0 + 100 * 60_000;
    const wStart = T0 + 900 * 60_000;
    const acc = new IdentityAcc({ key: "role:1:kms-user", type: "AssumedRole" }, trainedUntil);
    const hex = (n: number) => Array.from({ length: n }, () => "0123456789abcdef"[Math.floor(r() * 16)]).join("");
    const uuid = () => `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;
    const keys = Array.from({ length: 60 }, () => `key:${["us-east-1", "eu-west-1"][Math.floor(r() * 2)]}:${String(Math.floor(r() * 3)).padStart(12, "7")}:key/${uuid()}`);
    // Values that look packed or escaped, near misses of the usual form, aliases, the short and the odd.
    const odd = [
      "\u0001" + keys[0]!.slice(1),
      "\u0002abc",
      "\u0001",
      "",
      "key:x:" + uuid().toUpperCase(),
      "key:" + uuid(),
      "key:us-east-1:1:key/" + uuid().replaceAll("-", "_"),
      "key:us-east-1:1:key/" + uuid() + "0",
      "key:alias/prod",
      "secret:db",
      "key:é:ü:key/" + uuid(),
      "key:€:1:key/" + uuid(),
      keys[1]!.slice(0, -1) + "g",
    ];
    const values = [...keys, ...odd];
    const expected = new Map<string, ValueStat>();
    const inWin = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const t = T0 + Math.floor(r() * 1000) * 60_000;
      // Most values seen once, some often.
      const v = r() < 0.5 ? values[Math.floor(r() * 8)]! : values[Math.floor(r() * values.length)]!;
      const ev: EventFacts = {
        id: `e${i}`,
        time: t,
        api: "kms:Decrypt",
        eventName: "Decrypt",
        region: "us-east-1",
        sourceIp: "10.0.0.1",
        ipKind: "private",
        uaFamily: "aws-cli/2",
        failed: false,
        denied: false,
        requestParameters: {},
        principal: { sessionName: "s" },
      };
      acc.add(ev, undefined, t >= wStart, wStart, undefined, [v]);
      const s = expected.get(v) ?? { n: 0, err: 0, first: Infinity, last: -Infinity };
      expected.set(v, { n: s.n + (t > trainedUntil ? 1 : 0), err: 0, first: Math.min(s.first, t), last: Math.max(s.last, t) });
      if (t >= wStart) inWin.set(v, (inWin.get(v) ?? 0) + 1);
    }
    expect(expected.size).toBe(values.length);
    expect([...acc.dim("target")]).toEqual([...expected]);
    for (const [v, s] of expected) expect(acc.valueStat("target", v), v).toEqual([s.n, s.err, s.first, s.last]);
    for (const v of ["key:us-east-1:777777777770:key/" + uuid(), "\u0001xyz", "key:none"]) expect(acc.valueStat("target", v)).toBeUndefined();
    const w = acc.toWindow(wStart, T0 + 1000 * 60_000, () => undefined);
    expect(new Map([...w.targets!].map(([k, st]) => [k, st.n]))).toEqual(new Map([...expected.keys()].filter((k) => inWin.has(k)).map((k) => [k, inWin.get(k)!])));
  });
});
