import { describe, it, expect, beforeAll, afterAll, vi } from "vitest";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { main, EXIT } from "../src/cli.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "th-cli-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Run the CLI in-process, capturing stderr. */
async function run(...args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = "";
  const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  process.exitCode = undefined;
  try {
    const code = await main(["node", "trailhound", ...args]);
    return { code, stderr };
  } finally {
    spy.mockRestore();
    process.exitCode = undefined;
  }
}

const FindingSchema = z.object({
  id: z.string().regex(/^F[0-9a-f]{15}$/),
  detector: z.string().min(1),
  title: z.string().min(1),
  severity: z.enum(["critical", "high", "medium", "low", "info"]),
  score: z.number().min(0).max(100),
  identity: z.object({
    key: z.string(),
    type: z.string(),
    arn: z.string().optional(),
    userName: z.string().optional(),
    sessionName: z.string().optional(),
    accountId: z.string().optional(),
  }),
  sourceIp: z.string().optional(),
  region: z.string().optional(),
  eventIds: z.array(z.string()).min(1),
  firstSeen: z.iso.datetime(),
  lastSeen: z.iso.datetime(),
  count: z.number().int().positive(),
  why: z.string().min(20),
  attack: z.array(z.string().regex(/^T\d{4}(\.\d{3})?$/)).min(1),
  investigate: z.array(z.string().min(1)).min(1),
  falsePositives: z.array(z.string().min(1)).min(1),
  failed: z.boolean(),
});

const ReportSchema = z.object({
  schemaVersion: z.literal(1),
  generatedAt: z.iso.datetime(),
  tool: z.object({ name: z.literal("trailhound"), version: z.string() }),
  window: z.object({ start: z.iso.datetime(), end: z.iso.datetime() }),
  sources: z.array(z.object({ kind: z.string(), name: z.string(), records: z.number(), skipped: z.number() })).min(1),
  partial: z.boolean(),
  partialReasons: z.array(z.string()),
  stats: z.object({
    events: z.number(),
    skipped: z.record(z.string(), z.number()),
    identities: z.number(),
    topEventNames: z.array(z.object({ name: z.string(), count: z.number() })),
    topEventSources: z.array(z.object({ name: z.string(), count: z.number() })),
    errorRate: z.number(),
    perRegion: z.array(z.object({ region: z.string(), events: z.number(), errors: z.number() })),
  }),
  findings: z.array(FindingSchema),
  identities: z.array(z.object({ key: z.string(), score: z.number(), events: z.number(), errorRate: z.number(), findings: z.number(), learning: z.boolean() })),
  sensitiveCalls: z.array(z.object({ eventName: z.string(), count: z.number(), failed: z.number() })),
  errorAnalysis: z.object({ errors: z.number(), byCode: z.array(z.object({ code: z.string(), count: z.number() })) }),
  baselineDeviations: z.array(z.object({ identity: z.string(), dimension: z.string(), value: z.string() })),
  recommendations: z.array(z.string()),
  suppressed: z.object({ count: z.number(), ids: z.array(z.string()) }),
});

describe("trailhound scan (CLI)", () => {
  it("writes a schema-valid JSON report and exits 0", async () => {
    const out = join(dir, "r.json");
    const r = await run("scan", "--input", "test/fixtures/invictus-aws", "--no-store", "--no-geo", "--format", "json", "--out", out);
    expect(r.code).toBe(EXIT.ok);
    const report = ReportSchema.parse(JSON.parse(await readFile(out, "utf8")));
    expect(report.stats.events).toBe(2900);
    expect(report.findings.length).toBeGreaterThan(5);
    // Ranked: identities by score, findings by score.
    const scores = report.identities.map((i) => i.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it("prints a text report", async () => {
    const out = join(dir, "r.txt");
    const r = await run("scan", "--input", "test/fixtures/otrf", "--no-store", "--no-geo", "--format", "text", "--out", out);
    expect(r.code).toBe(EXIT.ok);
    const text = await readFile(out, "utf8");
    expect(text).toMatch(/^trailhound .* report \(schema v1\)/);
    expect(text).toMatch(/Events in window: 103 /);
  });

  it("exits 3 when a finding reaches --fail-on, 0 when none does", async () => {
    const out = join(dir, "f.json");
    expect((await run("scan", "-i", "test/fixtures/invictus-aws", "--no-store", "--no-geo", "--format", "json", "-o", out, "--fail-on", "high")).code).toBe(EXIT.threshold);
    const quiet = join(dir, "quiet.jsonl");
    const line = (await readFile("test/fixtures/otrf/ec2-proxy-s3-exfiltration.jsonl", "utf8")).split("\n")[0]!;
    await writeFile(quiet, line + "\n");
    expect((await run("scan", "-i", quiet, "--no-store", "--no-geo", "--format", "json", "-o", out, "--fail-on", "critical")).code).toBe(EXIT.ok);
  });

  it("exits 2 with a message naming what is wrong", async () => {
    const out = join(dir, "x.json");
    let r = await run("scan", "-i", join(dir, "missing-dir"), "--no-store", "-o", out);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/missing-dir: no such file or directory/);

    r = await run("scan", "-i", "test/fixtures/otrf", "--since", "yesterday", "--no-store", "-o", out);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/--since "yesterday": expected a duration/);

    r = await run("scan", "-i", "test/fixtures/otrf", "--fail-on", "severe", "--no-store", "-o", out);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/--fail-on severe: expected one of critical, high, medium, low, info/);

    r = await run("scan", "--bogus");
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/unknown option '--bogus'/);

    // An --out that cannot be written: said before the scan, without a stack trace.
    r = await run("scan", "-i", "test/fixtures/otrf", "--no-store", "-o", join(dir, "no-such-folder", "x.json"));
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/--out .*x\.json: the folder .*no-such-folder does not exist/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    r = await run("scan", "-i", "test/fixtures/otrf", "--no-store", "-o", dir);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/is a folder, expected a file name/);

    const notCt = join(dir, "not-cloudtrail.json");
    await writeFile(notCt, JSON.stringify({ hello: "world" }));
    r = await run("scan", "-i", notCt, "--no-store", "-o", out);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/not-cloudtrail\.json: valid JSON but not CloudTrail/);
  });

  it("keeps baselines in the store between runs: the second run knows the identities", async () => {
    const store = join(dir, "store");
    const out = join(dir, "s.json");
    expect((await run("scan", "-i", "test/fixtures/invictus-aws", "--store", store, "--no-geo", "--format", "json", "-o", out)).code).toBe(0);
    const raw = JSON.parse(await readFile(join(store, "trailhound.json"), "utf8")) as { baselines: Record<string, unknown>; findings: Record<string, unknown>; scans: unknown[] };
    expect(Object.keys(raw.baselines).length).toBeGreaterThan(10);
    expect(Object.keys(raw.findings).length).toBeGreaterThan(5);
    expect(raw.scans).toHaveLength(1);
    expect((await run("scan", "-i", "test/fixtures/invictus-aws", "--store", store, "--no-geo", "--format", "json", "-o", out)).code).toBe(0);
    const again = JSON.parse(await readFile(join(store, "trailhound.json"), "utf8")) as { scans: unknown[] };
    expect(again.scans).toHaveLength(2);
  });

  it("refuses a damaged store without touching it", async () => {
    const store = join(dir, "damaged");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(store, { recursive: true });
    await writeFile(join(store, "trailhound.json"), '{"schemaVersion":1,"baselines":{');
    const r = await run("scan", "-i", "test/fixtures/otrf", "--store", store, "-o", join(dir, "d.json"));
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/store check/);
    expect(await readFile(join(store, "trailhound.json"), "utf8")).toBe('{"schemaVersion":1,"baselines":{');
  });
});
