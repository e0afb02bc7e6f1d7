import { describe, expect, it } from "vitest";
import { capDim, DEFAULT_BASELINE_CONFIG, statRecord, type Dim } from "../../src/baseline/profile.js";
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

describe("an identity without a stored profile lets go of values that cannot make its profile's caps", () => {
  it("keeps each capped dimension's profile (capDim of its values) the same as an accumulator that keeps every value", () => {
    const caps = { ...DEFAULT_BASELINE_CONFIG.caps, session: 5, ip: 40, target: 7 };
    const r = rng(23);
    const p = { key: "role:1:app", type: "AssumedRole" };
    const all = new IdentityAcc(p, -Infinity);
    const capped = new IdentityAcc(p, -Infinity, caps);
    // A stored profile: nothing is let go (its values would be merged with the scan's).
    const stored = new IdentityAcc(p, T0 - 1, caps);
    let prev: { ev: EventFacts; targets: string[] } | undefined;
    for (let i = 0; i < 6000; i++) {
      // Times mostly descending (files read newest first), some out of order; most sessions and
      // addresses seen once, some again much later, some in the next event; a few seen often.
      const t = T0 + (6000 - i) * 60_000 + Math.floor(r() * 50) * 60_000;
      const often = r() < 0.2;
      let ev: EventFacts = {
        id: `e${i}`,
        time: t,
        api: "kms:Decrypt",
        eventName: "Decrypt",
        region: "us-east-1",
        sourceIp: often ? `10.0.0.${Math.floor(r() * 30)}` : `10.${Math.floor(r() * 4)}.${Math.floor(r() * 250)}.${Math.floor(r() * 250)}`,
        ipKind: "private",
        uaFamily: "aws-cli/2",
        failed: r() < 0.1,
        denied: false,
        requestParameters: null,
        principal: { sessionName: often ? `s${Math.floor(r() * 4)}` : `sess-${Math.floor(r() * 5000)}` },
      };
      let targets = [often ? `arn:aws:kms:us-east-1:1:key/k${Math.floor(r() * 10)}` : `arn:aws:kms:us-east-1:1:key/${Math.floor(r() * 8000)}`];
      if (prev !== undefined && r() < 0.1) {
        ev = { ...prev.ev, id: `e${i}`, time: t };
        targets = prev.targets;
      }
      prev = { ev, targets };
      // The last hours are the moving window: values there are never let go.
      const inWindow = i < 300;
      for (const acc of [all, capped, stored]) acc.add(ev, undefined, inWindow, T0 + 5700 * 60_000, undefined, targets);
    }
    const record = (acc: IdentityAcc, d: Dim) => {
      const rec = statRecord();
      acc.eachValue(d, (k, n, err, first, last) => void (rec[k] = [n, err, first, last]));
      return rec;
    };
    for (const d of ["session", "ip", "target"] as const) {
      const full = record(all, d);
      const kept = record(capped, d);
      // Values were let go, and the rest is still over the cap (the profile is capDim's choice either way).
      expect(Object.keys(kept).length, d).toBeLessThan(Object.keys(full).length / 2);
      expect(Object.keys(kept).length, d).toBeGreaterThan(caps[d]);
      expect(capDim(kept, caps[d]), d).toEqual(capDim(full, caps[d]));
      expect(Object.keys(capDim(kept, caps[d])), d).toEqual(Object.keys(capDim(full, caps[d])));
      expect([...stored.dim(d)], d).toEqual([...all.dim(d)]);
      // Every value the capped accumulator still names has the same counts as in the full one.
      for (const k of Object.keys(kept)) expect(kept[k], `${d} ${k}`).toEqual(full[k]);
    }
    // The window is the same.
    const wa = all.toWindow(T0 + 5700 * 60_000, 2 ** 53, () => undefined);
    const wc = capped.toWindow(T0 + 5700 * 60_000, 2 ** 53, () => undefined);
    expect([...wc.sessions]).toEqual([...wa.sessions]);
    expect([...(wc.targets ?? [])]).toEqual([...(wa.targets ?? [])]);
    expect([...wc.ips]).toEqual([...wa.ips]);
  });
});
