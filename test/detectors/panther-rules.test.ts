/**
 * The Panther rule tests in scope (src/eval/panther-map.ts), each record scanned alone with the
 * real Scanner at cold start (records completed by `pantherRecord`, the packaged geo/ASN data
 * as in the CLI), judged with `pantherFired` (outcome semantics: failed attempts are not the
 * success a rule describes, and the reverse for rules about failures).
 *
 * Scored: tests without mocks of rules judgeable on one record. Mocked tests (state the record
 * does not carry) and threshold rules are reported apart.
 */
import { describe, expect, test } from "vitest";
import { PANTHER_MAP, PANTHER_RULES, pantherFired, pantherRecord } from "../../src/eval/panther-map.js";
import { DETECTORS } from "../../src/detectors/index.js";
import { OfflineGeoResolver } from "../../src/geo/offline.js";
import { Scanner } from "../../src/scan/scanner.js";
import { pantherTests } from "../helpers/events.js";

describe("Panther rule tests in scope", () => {
  test("the map names registered detectors and rules that exist in the test set", () => {
    const ids = new Set(DETECTORS.map((d) => d.id));
    const rules = new Set(pantherTests().map((t) => t.rule_id));
    for (const [rule, dets] of Object.entries(PANTHER_MAP)) {
      expect(rules.has(rule), rule).toBe(true);
      for (const d of dets) expect(ids.has(d), `${rule} -> ${d}`).toBe(true);
    }
  });

  test("fires on >= 90% of positives with >= 90% precision (single record, cold start)", { tags: ["slow"] }, () => {
    const geo = new OfflineGeoResolver({});
    let tp = 0,
      fp = 0,
      fn = 0,
      tn = 0;
    const apart = { tp: 0, fp: 0, fn: 0, tn: 0 };
    const disagreements: string[] = [];
    pantherTests().forEach((t, i) => {
      const scope = PANTHER_RULES[t.rule_id];
      if (!scope) return;
      const s = new Scanner({ now: Date.parse("2026-01-01T00:00:00Z"), geo });
      s.record(pantherRecord(t.record, i), "panther");
      const findings = s.finish().report.findings;
      const fired = pantherFired(t.rule_id, findings);
      const scored = !t.has_mocks && scope.perRecord !== false;
      const c = scored ? null : apart;
      if (t.expect && fired) c ? c.tp++ : tp++;
      else if (t.expect) c ? c.fn++ : fn++;
      else if (fired) c ? c.fp++ : fp++;
      else c ? c.tn++ : tn++;
      if (fired !== t.expect)
        disagreements.push(
          `${scored ? "" : "(not scored) "}${t.expect ? "missed" : "false alarm"}: ${t.rule_id} / ${t.test_name} [${findings.map((f) => `${f.detector}:${f.severity}${f.failed ? ":failed" : ""}`).join(", ")}]`,
        );
    });
    const precision = tp / (tp + fp);
    const recall = tp / (tp + fn);
    console.info(
      `Panther in scope: tp=${tp} fp=${fp} fn=${fn} tn=${tn} precision=${precision.toFixed(3)} recall=${recall.toFixed(3)}; not scored: ${JSON.stringify(apart)}\n${disagreements.join("\n")}`,
    );
    expect(tp + fn).toBeGreaterThan(80);
    expect(precision).toBeGreaterThanOrEqual(0.9);
    expect(recall).toBeGreaterThanOrEqual(0.9);
  });
});
