/**
 * "Goodlog" test (as SigmaHQ does): every event detector, run the way the scan runs it (selection,
 * then detect) with a cold-start baseline, over the benign part of the shared data must produce
 * nothing above low:
 * - invictus-aws without the Stratus Red Team user agent (the attack label) and without Terraform
 *   user agents (the simulation's set-up and clean-up): ordinary console and AWS-service activity;
 * - otrf: the administrator `pedro` working in the console.
 */
import { describe, expect, test } from "vitest";
import { BaselineView } from "../../src/baseline/view.js";
import { DEFAULT_BASELINE_CONFIG } from "../../src/baseline/profile.js";
import { DETECTORS } from "../../src/detectors/index.js";
import type { DetectorContext, EventDetector, FindingDraft } from "../../src/detectors/types.js";
import { SEVERITY_RANK, type TrailEvent } from "../../src/events/types.js";
import { asList, DEFAULT_DETECTOR_CONFIG, invictusRecords, otrfRecords, selects, STRATUS_UA, TERRAFORM_UA, toEvent } from "../helpers/events.js";

const eventDetectors = DETECTORS.filter((d): d is EventDetector => d.kind === "event");

function runAll(events: TrailEvent[]): Array<{ detector: string; ev: TrailEvent; f: FindingDraft }> {
  const windowStart = Math.min(...events.map((e) => e.time));
  const out: Array<{ detector: string; ev: TrailEvent; f: FindingDraft }> = [];
  for (const e of events) {
    const baseline = new BaselineView(undefined, windowStart, DEFAULT_BASELINE_CONFIG);
    const ctx: DetectorContext = {
      principal: e.principal,
      baseline,
      learning: baseline.learning,
      window: { start: windowStart, end: windowStart + 86_400_000 },
      config: DEFAULT_DETECTOR_CONFIG,
    };
    for (const d of eventDetectors) {
      if (!selects(d, e)) continue;
      for (const f of asList(d.detect(e, ctx))) out.push({ detector: d.id, ev: e, f });
    }
  }
  return out;
}

const aboveLow = (xs: ReturnType<typeof runAll>) =>
  xs.filter((x) => SEVERITY_RANK[x.f.severity] > SEVERITY_RANK.low).map((x) => `${x.detector} ${x.f.severity} ${x.ev.eventName}: ${x.f.why}`);

describe("benign shared data", () => {
  test("stays quiet (nothing above low) on the ordinary console and service activity of invictus-aws", () => {
    const benign = invictusRecords()
      .filter((r) => !STRATUS_UA.test(String(r.userAgent ?? "")) && !TERRAFORM_UA.test(String(r.userAgent ?? "")))
      .map(toEvent);
    expect(benign.length).toBeGreaterThan(700);
    expect(aboveLow(runAll(benign))).toEqual([]);
  });

  test("stays quiet (nothing above low) on the otrf administrator pedro", () => {
    const pedro = otrfRecords()
      .map(toEvent)
      .filter((e) => e.principal.userName === "pedro");
    expect(pedro.length).toBeGreaterThan(50);
    expect(aboveLow(runAll(pedro))).toEqual([]);
  });

  test("fires on the attack part of the same data (the quiet tests above are not vacuous)", () => {
    const attack = invictusRecords()
      .filter((r) => STRATUS_UA.test(String(r.userAgent ?? "")))
      .map(toEvent);
    expect(aboveLow(runAll(attack)).length).toBeGreaterThan(10);
  });
});
