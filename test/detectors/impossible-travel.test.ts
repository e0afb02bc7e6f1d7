/**
 * impossible-travel. Locations come from a static table of illustrative addresses
 * (test/helpers/window.ts `GEN_GEO`): the shared CloudTrail samples carry no real public
 * addresses. Normal weeks are generated (seeded) for the quiet cases.
 */
import { describe, expect, test } from "vitest";
import { DAY, HOUR } from "../../src/baseline/profile.js";
import { impossibleTravel } from "../../src/detectors/impossible-travel.js";
import { OfflineGeoResolver } from "../../src/geo/offline.js";
import { StaticGeoResolver } from "../../src/geo/types.js";
import { assumedRole } from "../helpers/events.js";
import { DETECTOR_CONFIG, GEN_END, GEN_GEO, GEN_GEO_TABLE, GEN_IPS, UA, generate, invictusWindows, make, normalDays, run, scenario } from "../helpers/window.js";

const W = { start: GEN_END, end: GEN_END + DAY };
const T = GEN_END + 10 * HOUR;

function hops(
  kind: "console-person" | "ci-role",
  steps: Array<[minutes: number, ip: string, identity?: Record<string, unknown>]>,
  opts: { history?: boolean; geo?: StaticGeoResolver; geoSessions?: boolean } = {},
) {
  const g = generate(kind);
  const win = steps.map(([m, ip, identity]) =>
    make(g, { service: "ec2", eventName: "DescribeInstances", time: T + m * 60_000, sourceIPAddress: ip, userAgent: UA.cli, ...(identity ? { identity } : {}) }),
  );
  return scenario(opts.history === false ? [] : g.events, win, W, { geo: opts.geo ?? GEN_GEO, geoSessions: opts.geoSessions ?? false });
}

describe("impossible-travel", () => {
  test("fires high: Paris then Sao Paulo 30 minutes later", () => {
    const out = run(
      impossibleTravel,
      hops("console-person", [
        [0, GEN_IPS.parisOrange[0]],
        [30, GEN_IPS.saoPaulo],
      ]),
    );
    expect(out).toHaveLength(1);
    const f = out[0]!;
    expect(f.severity).toBe("high");
    expect(f.fingerprint).toEqual(["BR", "FR"]);
    expect(f.sourceIp).toBe(GEN_IPS.saoPaulo);
    expect(f.why).toMatch(/from Paris, FR \(90\.12\.34\.56, AS3215 Orange S\.A\.\) at .* and from Sao Paulo, BR/);
    expect(f.why).toMatch(/9\d{3} km in 30 minutes, [\d,]+ km\/h against a limit of 900 km\/h/);
    expect(f.evidence?.speedKmh as number).toBeGreaterThan(15000);
  });

  test("fires at cold start too (needs no baseline)", () => {
    const s = hops(
      "console-person",
      [
        [0, GEN_IPS.saoPaulo],
        [20, GEN_IPS.londonHome],
      ],
      { history: false },
    );
    expect(s.ctx.learning).toBe(true);
    const out = run(impossibleTravel, s);
    expect(out).toHaveLength(1);
    expect(out[0]!.fingerprint).toEqual(["BR", "GB"]);
  });

  test("repeated hops between the same two countries give one finding", () => {
    const out = run(
      impossibleTravel,
      hops("console-person", [
        [0, GEN_IPS.parisOrange[0]],
        [30, GEN_IPS.saoPaulo],
        [60, GEN_IPS.parisOrange[1]],
        [90, GEN_IPS.saoPaulo],
      ]),
    );
    expect(out).toHaveLength(1);
    expect(out[0]!.evidence?.hops).toBe(3);
  });

  test("stays quiet for a plausible trip (Paris to Lyon in two hours) and for hops within a city", () => {
    expect(
      run(
        impossibleTravel,
        hops("console-person", [
          [0, GEN_IPS.parisOrange[0]],
          [120, GEN_IPS.lyonOrange],
        ]),
      ),
    ).toEqual([]);
    expect(
      run(
        impossibleTravel,
        hops("console-person", [
          [0, GEN_IPS.parisOrange[0]],
          [1, GEN_IPS.parisFree],
        ]),
      ),
    ).toEqual([]);
  });

  test("stays quiet for hops between two places the person worked from before (a far VPN exit, a second office)", () => {
    const g = generate("console-person");
    // Before the window the person also worked from Sao Paulo, on several days.
    const abroad = [3, 5, 9, 12].map((d) =>
      make(g, { service: "ec2", eventName: "DescribeInstances", time: GEN_END - d * DAY + 11 * HOUR, sourceIPAddress: GEN_IPS.saoPaulo, userAgent: UA.cli }),
    );
    const history = [...g.events, ...abroad].sort((x, y) => x.time - y.time);
    const window = (ips: string[]) =>
      ips.map((ip, i) => make(g, { service: "ec2", eventName: "DescribeInstances", time: T + i * 30 * 60_000, sourceIPAddress: ip, userAgent: UA.cli }));
    const routine = scenario(history, window([GEN_IPS.parisOrange[0], GEN_IPS.saoPaulo, GEN_IPS.parisOrange[1]]), W, { geo: GEN_GEO });
    expect(routine.ctx.learning).toBe(false);
    expect(run(impossibleTravel, routine)).toEqual([]);
    // A place new to the person is travel still: London in between is reported, Sao Paulo is not.
    const out = run(impossibleTravel, scenario(history, window([GEN_IPS.parisOrange[0], GEN_IPS.saoPaulo, GEN_IPS.londonHome]), W, { geo: GEN_GEO }));
    expect(out.map((f) => f.fingerprint)).toEqual([["BR", "GB"]]);
    // Without that history the same Paris - Sao Paulo hops are reported.
    expect(run(impossibleTravel, scenario(g.events, window([GEN_IPS.parisOrange[0], GEN_IPS.saoPaulo]), W, { geo: GEN_GEO }))).toHaveLength(1);
  });

  test("stays quiet when one end is a known VPN relay", () => {
    expect(
      run(
        impossibleTravel,
        hops("console-person", [
          [0, GEN_IPS.parisOrange[0]],
          [5, GEN_IPS.mullvadSe],
          [10, GEN_IPS.parisOrange[0]],
        ]),
      ),
    ).toEqual([]);
  });

  test("stays quiet when geolocation accuracy covers the distance", () => {
    const fuzzy = new StaticGeoResolver({
      ...GEN_GEO_TABLE,
      [GEN_IPS.parisOrange[0]]: { ...GEN_GEO_TABLE[GEN_IPS.parisOrange[0]]!, accuracyKm: 500 },
      [GEN_IPS.londonHome]: { ...GEN_GEO_TABLE[GEN_IPS.londonHome]!, accuracyKm: 100 },
    });
    // Paris-London is ~340 km; minus 600 km of accuracy it is no hop at all.
    expect(
      run(
        impossibleTravel,
        hops(
          "console-person",
          [
            [0, GEN_IPS.parisOrange[0]],
            [5, GEN_IPS.londonHome],
          ],
          { geo: fuzzy },
        ),
      ),
    ).toEqual([]);
    // Without the accuracy radius the same hop fires.
    expect(
      run(
        impossibleTravel,
        hops("console-person", [
          [0, GEN_IPS.parisOrange[0]],
          [5, GEN_IPS.londonHome],
        ]),
      ),
    ).toHaveLength(1);
  });

  test("stays quiet for CI runners in several US cloud regions (cloud to cloud)", () => {
    expect(
      run(
        impossibleTravel,
        hops("ci-role", [
          [0, GEN_IPS.azureRunners[0]],
          [2, GEN_IPS.azureRunners[4]],
          [3, GEN_IPS.azureRunners[1]],
        ]),
      ),
    ).toEqual([]);
  });

  test("for a role, different sessions far apart stay quiet and the same session fires", () => {
    const a = assumedRole("github-deploy", "alice-laptop");
    const b = assumedRole("github-deploy", "bob-laptop");
    const two = hops(
      "ci-role",
      [
        [0, GEN_IPS.parisOrange[0], a],
        [10, GEN_IPS.saoPaulo, b],
      ],
      { geoSessions: true },
    );
    expect(run(impossibleTravel, two)).toEqual([]);
    const one = hops(
      "ci-role",
      [
        [0, GEN_IPS.parisOrange[0], a],
        [10, GEN_IPS.saoPaulo, a],
      ],
      { geoSessions: true },
    );
    expect(run(impossibleTravel, one)).toHaveLength(1);
  });

  test("for a role without session information (shared SSO role) the hop is only medium", () => {
    const sso = assumedRole("AWSReservedSSO_Admin_0123456789abcdef", "maria@example.com");
    const out = run(
      impossibleTravel,
      hops(
        "console-person",
        [
          [0, GEN_IPS.parisOrange[0], sso],
          [30, GEN_IPS.saoPaulo, sso],
        ],
        { history: false },
      ),
    );
    expect(out).toHaveLength(1);
    expect(out[0]!.severity).toBe("medium");
    expect(out[0]!.why).toMatch(/may come from different sessions/);
  });

  test("a hop inside one network (dual-stack, mobile gateway) is only low", () => {
    const dual = new StaticGeoResolver({ ...GEN_GEO_TABLE, "2a01:cb00::1": { country: "GB", city: "London", lat: 51.51, lon: -0.09, asn: 3215, asOrg: "Orange S.A." } });
    const out = run(
      impossibleTravel,
      hops(
        "console-person",
        [
          [0, GEN_IPS.parisOrange[0]],
          [1, "2a01:cb00::1"],
        ],
        { geo: dual },
      ),
    );
    expect(out).toHaveLength(1);
    expect(out[0]!.severity).toBe("low");
    expect(out[0]!.why).toMatch(/same network \(AS3215\)/);
  });

  test("honours the configured speed limit", () => {
    const s = hops("console-person", [
      [0, GEN_IPS.parisOrange[0]],
      [30, GEN_IPS.saoPaulo],
    ]);
    s.ctx = { ...s.ctx, config: { ...DETECTOR_CONFIG, maxSpeedKmh: 50_000 } };
    expect(run(impossibleTravel, s)).toEqual([]);
  });

  test("stays quiet on normal generated weeks", { tags: ["slow"] }, () => {
    for (const kind of ["console-person", "ci-role", "service-role"] as const) {
      for (const s of normalDays(kind, 7, { geoSessions: true })) expect(run(impossibleTravel, s), kind).toEqual([]);
    }
  });

  test("stays quiet on the whole shared invictus sample, resolved with the real offline databases", () => {
    const geo = new OfflineGeoResolver();
    const windows = invictusWindows("all", geo);
    expect(windows.some((s) => s.win.geo.some((p) => p.geo?.country))).toBe(true); // some public addresses resolved
    for (const s of windows) expect(run(impossibleTravel, s)).toEqual([]);
  });
});
