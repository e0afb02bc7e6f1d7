/**
 * `npm run eval`: honest evaluation on the real data in ../shared/data/cloudtrail (falls back to
 * the copies in test/fixtures when run from a clone without ../shared).
 *   1. Panther rule tests: for every rule in scope (src/eval/panther-map.ts), each labelled record
 *      is scanned alone, cold start; "fired" = a finding by one of the mapped detectors.
 *      Precision and recall overall and per detector; disagreements listed.
 *   2. The attack simulation (invictus-aws): share of attack events (user agent contains
 *      `stratus-red-team_`, the label; no detector reads it) inside a finding, and findings on
 *      non-attack activity (Terraform set-up/clean-up, console, services).
 *   3. The breach (otrf): is the stolen role flagged (>= medium)? Is the administrator quiet
 *      (nothing above low)?
 * `--json` prints the figures as JSON.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SEVERITY_RANK } from "../events/types.js";
import { Scanner } from "../scan/scanner.js";
import { runScan } from "../scan/run.js";
import { FileSource, listInputFiles } from "../sources/files.js";
import type { Finding } from "../scan/report-types.js";
import { PANTHER_RULES, pantherFired, pantherRecord } from "./panther-map.js";
import { OfflineGeoResolver } from "../geo/offline.js";
import type { GeoResolver } from "../geo/types.js";
import { gunzipSync } from "node:zlib";

const NOW = Date.parse("2026-01-01T00:00:00Z");

function dataDir(): string {
  for (const d of ["../shared/data/cloudtrail", "test/fixtures"]) if (existsSync(join(d, "invictus-aws"))) return d;
  throw new Error("no evaluation data: expected ../shared/data/cloudtrail or test/fixtures");
}

interface RuleTest {
  rule_id: string;
  test_name: string;
  expect: boolean;
  has_mocks: boolean;
  record: unknown;
}

export interface PantherResult {
  rules: number;
  tests: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  precision: number;
  recall: number;
  perDetector: Array<{ detector: string; tp: number; fp: number; fn: number; precision: number; recall: number }>;
  disagreements: Array<{ rule: string; test: string; expected: boolean; fired: boolean; detectors: string[]; hasMocks: boolean }>;
  mocked: { tests: number; agree: number };
  /** Negative tests (the action failed) on which trailhound raised a failed-attempt finding. */
  attemptsOnNegatives: number;
  /** Tests of threshold rules that need a sequence of records (not judged on one record). */
  sequenceTests: number;
}

let geo: GeoResolver | undefined;
function geoResolver(): GeoResolver {
  return (geo ??= new OfflineGeoResolver());
}

function scanOne(record: unknown): Finding[] {
  const s = new Scanner({ now: NOW, geo: geoResolver() });
  s.record(record, "rule-test");
  return s.finish().report.findings;
}

export function evalPanther(dir: string): PantherResult {
  const lines = readFileSync(join(dir, "panther-rule-tests", "tests.jsonl"), "utf8")
    .trim()
    .split("\n");
  const all = lines.map((l) => JSON.parse(l) as RuleTest);
  const tests = all.map((t, i) => ({ ...t, index: i })).filter((t) => PANTHER_RULES[t.rule_id]);
  let tp = 0,
    fp = 0,
    fn = 0,
    tn = 0,
    mockedTests = 0,
    mockedAgree = 0,
    attemptsOnNegatives = 0,
    sequenceTests = 0;
  const per = new Map<string, { tp: number; fp: number; fn: number }>();
  const disagreements: PantherResult["disagreements"] = [];
  for (const t of tests) {
    const scope = PANTHER_RULES[t.rule_id]!;
    const dets = [...scope.detectors];
    // Panther's hand-written records sometimes lack eventID/eventTime: fill them in (no behaviour is invented).
    const findings = scanOne(pantherRecord(t.record as Record<string, unknown>, t.index)).filter((f) => dets.includes(f.detector));
    const fired = pantherFired(t.rule_id, findings);
    if (scope.perRecord === false) {
      // Threshold rules (brute force, spraying) need a sequence of records: not judged on one.
      sequenceTests++;
      continue;
    }
    if (t.has_mocks) {
      // Depends on state the record does not carry: reported apart, not scored.
      mockedTests++;
      if (fired === t.expect) mockedAgree++;
      else disagreements.push({ rule: t.rule_id, test: t.test_name, expected: t.expect, fired, detectors: dets, hasMocks: true });
      continue;
    }
    if (!fired && !t.expect && findings.some((f) => f.failed)) attemptsOnNegatives++;
    for (const d of dets) if (!per.has(d)) per.set(d, { tp: 0, fp: 0, fn: 0 });
    const firedBy = new Set(findings.map((f) => f.detector));
    if (t.expect && fired) {
      tp++;
      for (const d of firedBy) per.get(d)!.tp++;
    } else if (t.expect && !fired) {
      fn++;
      for (const d of dets) per.get(d)!.fn++;
    } else if (!t.expect && fired) {
      fp++;
      for (const d of firedBy) per.get(d)!.fp++;
    } else tn++;
    if (fired !== t.expect) disagreements.push({ rule: t.rule_id, test: t.test_name, expected: t.expect, fired, detectors: fired ? [...firedBy] : dets, hasMocks: false });
  }
  const ratio = (a: number, b: number) => (b === 0 ? 1 : a / b);
  return {
    rules: new Set(tests.map((t) => t.rule_id)).size,
    tests: tests.length - mockedTests - sequenceTests,
    tp,
    fp,
    fn,
    tn,
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, tp + fn),
    perDetector: [...per.entries()]
      .map(([detector, c]) => ({ detector, ...c, precision: ratio(c.tp, c.tp + c.fp), recall: ratio(c.tp, c.tp + c.fn) }))
      .sort((a, b) => a.detector.localeCompare(b.detector)),
    disagreements,
    mocked: { tests: mockedTests, agree: mockedAgree },
    attemptsOnNegatives,
    sequenceTests,
  };
}

export interface AttackSimResult {
  events: number;
  attackEvents: number;
  attackEventsInFinding: number;
  share: number;
  /** Distinct detonations (one `stratus-red-team_<id>` user agent each) and those with an event in a finding of medium or higher. */
  detonations: number;
  detonationsDetected: number;
  /** Runs that are only a read-only probe (at most two Describe/Get/List calls). */
  probeRuns: number;
  findings: number;
  findingsOnAttack: number;
  findingsOnNonAttack: number;
  nonAttackFindingsBySeverity: Record<string, number>;
  nonAttack: Array<{ detector: string; severity: string; identity: string; title: string }>;
}

export async function evalAttackSim(dir: string): Promise<AttackSimResult> {
  const root = join(dir, "invictus-aws");
  const attack = new Set<string>();
  /** Detonation (the user agent's `stratus-red-team_<id>`) of each attack event. */
  const detonationOf = new Map<string, string>();
  const namesOf = new Map<string, string[]>();
  let events = 0;
  for (const f of await listInputFiles([root])) {
    const doc = JSON.parse(gunzipSync(readFileSync(f)).toString("utf8")) as { Records: Array<{ eventID: string; userAgent?: string; eventName?: string }> };
    for (const r of doc.Records) {
      events++;
      if (typeof r.userAgent === "string" && r.userAgent.includes("stratus-red-team_")) {
        attack.add(r.eventID);
        const m = /stratus-red-team_[0-9a-f-]+/.exec(r.userAgent);
        if (m) {
          detonationOf.set(r.eventID, m[0]);
          const names = namesOf.get(m[0]) ?? [];
          names.push(r.eventName ?? "");
          namesOf.set(m[0], names);
        }
      }
    }
  }
  const { report } = await runScan({ now: NOW, sources: [new FileSource([root])], maxFindingEventIds: 100_000, geo: geoResolver() });
  const covered = new Set<string>();
  let onAttack = 0;
  const nonAttack: AttackSimResult["nonAttack"] = [];
  const bySev: Record<string, number> = {};
  const detected = new Set<string>();
  for (const f of report.findings) {
    const hits = f.eventIds.filter((id) => attack.has(id));
    for (const id of hits) covered.add(id);
    if (SEVERITY_RANK[f.severity] >= SEVERITY_RANK.medium) for (const id of hits) detected.add(detonationOf.get(id) ?? "?");
    if (hits.length > 0) onAttack++;
    else {
      nonAttack.push({ detector: f.detector, severity: f.severity, identity: f.identity.key, title: f.title });
      bySev[f.severity] = (bySev[f.severity] ?? 0) + 1;
    }
  }
  return {
    events,
    attackEvents: attack.size,
    attackEventsInFinding: covered.size,
    share: attack.size ? covered.size / attack.size : 0,
    detonations: new Set(detonationOf.values()).size,
    detonationsDetected: detected.size,
    // Stratus opens each warm-up, detonation and clean-up with a lone read-only probe
    // (DescribeAccountAttributes) under its own user agent: runs of at most two reads.
    probeRuns: [...namesOf.values()].filter((n) => n.length <= 2 && n.every((x) => /^(Describe|Get|List)/.test(x))).length,
    findings: report.findings.length,
    findingsOnAttack: onAttack,
    findingsOnNonAttack: nonAttack.length,
    nonAttackFindingsBySeverity: bySev,
    nonAttack,
  };
}

export interface BreachResult {
  stolenRoleFlagged: boolean;
  stolenRoleFindings: Array<{ detector: string; severity: string; title: string }>;
  adminAboveLow: number;
  adminFindings: Array<{ detector: string; severity: string; title: string }>;
}

export async function evalBreach(dir: string): Promise<BreachResult> {
  const { report } = await runScan({ now: NOW, sources: [new FileSource([join(dir, "otrf", "ec2-proxy-s3-exfiltration.jsonl")])], geo: geoResolver() });
  const role = report.findings.filter((f) => f.identity.key.includes("MordorNginxStack-BankingWAFRole"));
  const admin = report.findings.filter((f) => f.identity.key.endsWith(":pedro"));
  const brief = (f: Finding) => ({ detector: f.detector, severity: f.severity, title: f.title });
  return {
    stolenRoleFlagged: role.some((f) => SEVERITY_RANK[f.severity] >= SEVERITY_RANK.medium),
    stolenRoleFindings: role.map(brief),
    adminAboveLow: admin.filter((f) => SEVERITY_RANK[f.severity] > SEVERITY_RANK.low).length,
    adminFindings: admin.map(brief),
  };
}

const pct = (x: number) => (x * 100).toFixed(1) + "%";

async function main(): Promise<void> {
  const dir = dataDir();
  const p = evalPanther(dir);
  const a = await evalAttackSim(dir);
  const b = await evalBreach(dir);
  if (process.argv.includes("--json")) {
    process.stdout.write(JSON.stringify({ data: dir, panther: p, attackSimulation: a, breach: b }, null, 2) + "\n");
    return;
  }
  const out: string[] = [];
  out.push(`Evaluation data: ${dir}`);
  out.push("");
  out.push(`1. Panther rule tests in scope: ${p.rules} rules, ${p.tests} scored tests (cold start, one record per scan, offline geo on)`);
  out.push(`   precision ${pct(p.precision)}  recall ${pct(p.recall)}   (TP ${p.tp}, FP ${p.fp}, FN ${p.fn}, TN ${p.tn}; goals >= 90% / >= 90%)`);
  out.push(`   tests that depend on mocked state (not scored): ${p.mocked.tests}, agreeing ${p.mocked.agree}`);
  out.push(`   tests of threshold rules that need a sequence of records (not scored on one record): ${p.sequenceTests}`);
  out.push(`   negative tests where the action failed and trailhound reported a failed attempt instead (not counted as firing): ${p.attemptsOnNegatives}`);
  out.push("   per detector:");
  for (const d of p.perDetector)
    out.push(`     ${d.detector.padEnd(34)} precision ${pct(d.precision).padStart(6)}  recall ${pct(d.recall).padStart(6)}  (TP ${d.tp}, FP ${d.fp}, FN ${d.fn})`);
  if (p.disagreements.length) {
    out.push("   disagreements:");
    for (const x of p.disagreements) out.push(`     ${x.expected ? "missed" : "false alarm"}${x.hasMocks ? " (mocked)" : ""}: ${x.rule} / ${x.test} [${x.detectors.join(", ")}]`);
  }
  out.push("");
  out.push(`2. Attack simulation (invictus-aws, ${a.events} events, cold start):`);
  out.push(
    `   attack events inside a finding: ${a.attackEventsInFinding} of ${a.attackEvents} (${pct(a.share)}; most of the rest is each detonation's own set-up: VPCs, subnets, secrets, parameters it creates before acting)`,
  );
  out.push(
    `   Stratus runs (one user agent each) with an event inside a finding of medium or higher: ${a.detonationsDetected} of ${a.detonations}; ` +
      `${a.probeRuns} runs are only a read-only probe, the others include warm-up (creating what the attack needs) and clean-up (reverting it), which are not attacks by behaviour`,
  );
  out.push(
    `   findings: ${a.findings} (${a.findingsOnAttack} on attack activity, ${a.findingsOnNonAttack} on non-attack activity: ${JSON.stringify(a.nonAttackFindingsBySeverity)})`,
  );
  for (const x of a.nonAttack.slice(0, 30)) out.push(`     non-attack: [${x.severity}] ${x.detector} — ${x.identity}: ${x.title}`);
  out.push("");
  out.push(`3. Breach (otrf): stolen role flagged (>= medium): ${b.stolenRoleFlagged ? "yes" : "NO"}; administrator findings above low: ${b.adminAboveLow} (goal 0)`);
  for (const x of b.stolenRoleFindings) out.push(`     role: [${x.severity}] ${x.detector}: ${x.title}`);
  for (const x of b.adminFindings) out.push(`     admin: [${x.severity}] ${x.detector}: ${x.title}`);
  process.stdout.write(out.join("\n") + "\n");
}

const invoked = process.argv[1] !== undefined && /eval[/\\]run\.(js|ts)$/.test(process.argv[1]);
if (invoked)
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
