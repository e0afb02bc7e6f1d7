/**
 * new-source-network on generated histories (test/helpers/window.ts). The shared samples have no
 * real public addresses, so the generator places identities on illustrative addresses with a
 * static geo table (a console user on Orange in Paris, GitHub runners on Azure, tasks on AWS).
 */
import { describe, expect, test } from "vitest";
import { DAY, HOUR } from "../../src/baseline/profile.js";
import { newSourceNetwork } from "../../src/detectors/new-source-network.js";
import { assumedRole } from "../helpers/events.js";
import { GEN_END, GEN_GEO, GEN_IPS, UA, generate, invictusWindows, make, normalDays, run, scenario } from "../helpers/window.js";

const W = { start: GEN_END, end: GEN_END + DAY };

function personFrom(ip: string) {
  const g = generate("console-person");
  const t = GEN_END + 9 * HOUR;
  const win = [
    make(g, {
      service: "signin",
      eventName: "ConsoleLogin",
      eventType: "AwsConsoleSignIn",
      time: t,
      sourceIPAddress: ip,
      userAgent: UA.browser,
      responseElements: { ConsoleLogin: "Success" },
    }),
    make(g, { service: "ec2", eventName: "DescribeInstances", time: t + 60_000, sourceIPAddress: ip, userAgent: UA.console }),
    make(g, { service: "s3", eventName: "ListBuckets", time: t + 120_000, sourceIPAddress: ip, userAgent: UA.console }),
  ];
  return run(newSourceNetwork, scenario(g.events, win, W, { geo: GEN_GEO }));
}

describe("new-source-network", () => {
  test("fires high on a new country for a console user who never leaves Paris", () => {
    const out = personFrom(GEN_IPS.saoPaulo);
    expect(out).toHaveLength(1);
    const f = out[0]!;
    expect(f.fingerprint).toEqual(["country", "BR"]);
    expect(f.severity).toBe("high");
    expect(f.sourceIp).toBe(GEN_IPS.saoPaulo);
    expect(f.count).toBe(3);
    expect(f.why).toMatch(/first activity from BR by this user: 177\.92\.14\.7 \(Sao Paulo, BR, AS28573/);
    expect(f.why).toMatch(/called from 1 country \(FR\) and 1 network \(AS3215\)/);
  });

  test("fires medium on a new network (another ISP) in a known country", () => {
    const out = personFrom(GEN_IPS.parisFree);
    expect(out).toHaveLength(1);
    expect(out[0]!.fingerprint).toEqual(["network", "AS12322"]);
    expect(out[0]!.severity).toBe("medium");
  });

  test("fires only low/info on a new address inside the usual network", () => {
    const out = personFrom(GEN_IPS.parisOrangeNew);
    expect(out).toHaveLength(1);
    expect(out[0]!.fingerprint).toEqual(["new-address", "AS3215"]);
    expect(["low", "info"]).toContain(out[0]!.severity);
  });

  test("a known VPN relay lowers a new country", () => {
    const relay = personFrom(GEN_IPS.mullvadSe)[0]!;
    const plain = personFrom(GEN_IPS.saoPaulo)[0]!;
    expect(relay.fingerprint).toEqual(["country", "SE"]);
    expect(relay.score!).toBeLessThan(plain.score!);
    expect(relay.severity).toBe("medium");
    expect(relay.why).toMatch(/known vpn/);
  });

  test("fires medium when an identity that only ever called from inside a VPC calls from the internet", () => {
    const role = assumedRole("batch-worker", "i-0abc");
    const g = { ...generate("service-role"), identity: role };
    const hist = Array.from({ length: 400 }, (_, i) =>
      make(g, { service: "s3", eventName: "GetObject", time: GEN_END - 10 * DAY + i * 30 * 60_000, sourceIPAddress: `10.0.${i % 4}.12`, userAgent: UA.java }),
    );
    const win = [make(g, { service: "s3", eventName: "GetObject", time: GEN_END + HOUR, sourceIPAddress: GEN_IPS.attackerVps, userAgent: UA.cli })];
    const out = run(newSourceNetwork, scenario(hist, win, W, { geo: GEN_GEO }));
    expect(out).toHaveLength(1);
    expect(out[0]!.fingerprint).toEqual(["public-internet"]);
    expect(out[0]!.severity).toBe("medium");
    expect(out[0]!.why).toMatch(/only called from private \(VPC\) or AWS-internal addresses/);
  });

  test("stays quiet while learning", () => {
    const g = generate("console-person");
    const s = scenario([], [make(g, { service: "s3", eventName: "ListBuckets", time: GEN_END + HOUR, sourceIPAddress: GEN_IPS.saoPaulo })], W, { geo: GEN_GEO });
    expect(s.ctx.learning).toBe(true);
    expect(run(newSourceNetwork, s)).toEqual([]);
  });

  test("stays quiet (nothing above info) on normal generated weeks", { tags: ["slow"] }, () => {
    for (const kind of ["console-person", "ci-role", "service-role"] as const) {
      for (const s of normalDays(kind, 7)) {
        const out = run(newSourceNetwork, s);
        expect(
          out.filter((f) => f.severity !== "info"),
          kind,
        ).toEqual([]);
        if (kind === "console-person") expect(out).toEqual([]);
      }
    }
  });

  test("stays quiet on the benign part of the shared invictus sample (cold start)", () => {
    for (const s of invictusWindows("benign")) expect(run(newSourceNetwork, s)).toEqual([]);
  });
});
