import { describe, it, expect } from "vitest";
import { Scanner, type ScanOptions } from "../../src/scan/scanner.js";
import { DAY, DEFAULT_BASELINE_CONFIG, HOUR } from "../../src/baseline/profile.js";
import type { EventDetector, GlobalDetector, IdentityWindow, WindowDetector } from "../../src/detectors/types.js";
import { rec } from "./records.js";

// Scanner.finish settles identities one at a time and drops each window once its findings are
// made: what detectors see of the other identities must not depend on that order.

const T0 = Date.parse("2024-05-01T00:00:00Z");
const meta = { title: "t", description: "t", severity: "low" as const, cites: "c", attack: ["T1"], investigate: ["x"], falsePositives: ["y"] };

/** Records what the account's region history answers for each identity's window. */
function accountProbe(seen: Map<string, boolean>, skip?: string): WindowDetector {
  return {
    ...meta,
    kind: "window",
    id: "test-account-probe",
    detect(w, ctx) {
      if (w.principal.userName === skip) return [];
      seen.set(w.principal.userName ?? "?", ctx.account?.knowsRegion("eu-west-3") === true);
      return [];
    },
  };
}

function scan(records: unknown[], opts: Partial<ScanOptions>) {
  const s = new Scanner({ now: T0 + 30 * DAY, ...opts });
  for (const r of records) s.record(r, "test");
  return s.finish();
}

describe("streaming finish", () => {
  // alice is met first and works in eu-west-3 only in the window; bob, met after her, used it for days before.
  const history = (user: string, region: string) => Array.from({ length: 5 }, (_, d) => rec({ t: T0 + d * DAY + 10 * HOUR, user, region }));
  const window = [rec({ t: T0 + 9 * DAY + 10 * HOUR, user: "alice", region: "eu-west-3" }), rec({ t: T0 + 9 * DAY + 11 * HOUR, user: "bob" })];

  it("an identity settled first sees the regions of the account's identities settled after it", () => {
    const seen = new Map<string, boolean>();
    scan([rec({ t: T0, user: "alice" }), ...history("bob", "eu-west-3"), ...window], { detectors: [accountProbe(seen)] });
    expect(seen.get("alice")).toBe(true);
  });

  it("... also when that region is only in the stored baseline of an identity settled later", () => {
    const first = scan([rec({ t: T0, user: "alice" }), ...history("bob", "eu-west-3")], { detectors: [] });
    const stored = new Map(first.profiles.map((p) => [p.key, p]));
    const seen = new Map<string, boolean>();
    scan(window, { detectors: [accountProbe(seen)], storedProfile: (k) => stored.get(k) });
    expect(seen.get("alice")).toBe(true);
    // Another account's history does not count.
    const other = new Map<string, boolean>();
    scan(
      [
        rec({ t: T0, user: "alice" }),
        ...history("bob", "eu-west-3").map((r) => ({ ...r, userIdentity: { ...r.userIdentity, accountId: "2222", arn: "arn:aws:iam::2222:user/bob" } })),
        ...window,
      ],
      {
        detectors: [accountProbe(other)],
      },
    );
    expect(other.get("alice")).toBe(false);
  });

  it("the account's regions are read from the stored baselines only as far as a question needs", () => {
    // bob knew eu-west-3 (stored); carol and dave, met after him, have stored baselines too.
    const first = scan([...history("bob", "eu-west-3"), ...history("carol", "us-east-1"), ...history("dave", "us-east-1")], { detectors: [] });
    const stored = new Map(first.profiles.map((p) => [p.key, p]));
    const recs = [rec({ t: T0 + 9 * DAY + 9 * HOUR, user: "alice", region: "eu-west-3" }), ...["bob", "carol", "dave"].map((user) => rec({ t: T0 + 9 * DAY + 11 * HOUR, user }))];
    const ask = (region: string) => {
      const asked: string[] = [];
      const seen = new Map<string, boolean>();
      const probe: WindowDetector = {
        ...accountProbe(seen),
        detect: (w, ctx) => (w.principal.userName === "alice" && seen.set("alice", ctx.account?.knowsRegion(region) === true), []),
      };
      scan(recs, {
        detectors: [probe],
        storedProfile: (k) => stored.get(k),
        storedDim: (k, d) => (
          asked.push(k), stored.get(k) && { trainedUntil: stored.get(k)!.trainedUntil, accountId: stored.get(k)!.accountId, dims: { [d]: stored.get(k)!.dims[d] } }
        ),
      });
      return { known: seen.get("alice"), asked: asked.map((k) => k.split(":").pop()) };
    };
    // Known: bob (the first identity after alice) answers; carol's and dave's are not read.
    expect(ask("eu-west-3")).toEqual({ known: true, asked: ["bob"] });
    // Unknown: every identity is read before saying so.
    expect(ask("sa-east-1")).toEqual({ known: false, asked: ["bob", "carol", "dave"] });
  });

  it("without kept profiles: the same report, no profiles, and identities judged earlier still count for the account", () => {
    // bob, met first, has history in eu-west-3 and nothing in the window: settled (and its view
    // dropped) before alice's window asks the account.
    // carol, met next, knew no region before the window (and does not ask): settled, nothing of hers counts, nothing fails.
    const recs = [
      ...history("bob", "eu-west-3"),
      rec({ t: T0 + 9 * DAY + 8 * HOUR, user: "carol", region: "eu-west-3" }),
      rec({ t: T0 + 9 * DAY + 9 * HOUR, user: "alice" }),
      rec({ t: T0 + 9 * DAY + 10 * HOUR, user: "alice", region: "eu-west-3" }),
    ];
    for (const keepProfiles of [true, false]) {
      const seen = new Map<string, boolean>();
      const r = scan(recs, { detectors: [accountProbe(seen, "carol")], keepProfiles, since: { kind: "relative", ms: 3 * HOUR } });
      expect(seen).toEqual(new Map([["alice", true]]));
      expect(r.profiles.map((p) => p.userName)).toEqual(keepProfiles ? ["bob", "carol", "alice"] : []);
    }
    const kept = scan(recs, { keepProfiles: true });
    const dropped = scan(recs, { keepProfiles: false });
    expect(JSON.stringify(dropped.report)).toBe(JSON.stringify(kept.report));
  });

  it("profiles come in the order identities were met, whatever the order they settle in", () => {
    const { profiles } = scan([rec({ t: T0, user: "carol" }), rec({ t: T0 + 1, user: "alice" }), rec({ t: T0 + 2, user: "bob" })], { detectors: [] });
    expect(profiles.map((p) => p.userName)).toEqual(["carol", "alice", "bob"]);
    expect(profiles.every((p) => p.dims.region["us-east-1"] !== undefined)).toBe(true);
    expect(DEFAULT_BASELINE_CONFIG.caps.region).toBeGreaterThan(0);
  });

  it("a global detector that declares its reads gets only those; one that does not gets every window whole", () => {
    const got: Record<string, IdentityWindow[]> = {};
    const probe = (id: string, reads?: GlobalDetector["reads"]): GlobalDetector => ({
      ...meta,
      kind: "global",
      id,
      ...(reads ? { reads } : {}),
      detect(ws) {
        got[id] = [...ws];
        return [];
      },
    });
    // Candidates are the events some event detector takes.
    const logins: EventDetector = { ...meta, kind: "event", id: "test-logins", eventNames: ["ConsoleLogin"], detect: () => null };
    const recs = [rec({ t: T0, user: "alice" }), rec({ t: T0 + 1, user: "bob", name: "ConsoleLogin" })];
    scan(recs, { detectors: [logins, probe("slim", { candidate: (ev) => ev.eventName === "ConsoleLogin" })] });
    expect(got.slim!.map((w) => [w.principal.userName, w.candidates.map((c) => c.eventName), w.apis.size])).toEqual([["bob", ["ConsoleLogin"], 0]]);
    scan(recs, { detectors: [logins, probe("slim", { candidate: (ev) => ev.eventName === "ConsoleLogin" }), probe("whole")] });
    expect(got.whole!.map((w) => [w.principal.userName, w.apis.size])).toEqual([
      ["alice", 1],
      ["bob", 1],
    ]);
  });
});
