/**
 * Folding and finishing in a worker thread (ScanOptions.foldThreads, scan/fold-shard.ts) gives
 * exactly the one-thread scan's report and stored baselines, byte for byte, whatever the order of
 * the input files: people on shared roles, duplicates in the window, records before the window,
 * calls whose parameters or resources the baseline reads, event detectors' candidates, skipped
 * records, locations of public addresses, many small messages to the worker.
 *
 * The scan runs from the source transpiled once (test/helpers/transpile.ts), as in
 * worker-faults.test.ts: its worker threads then start from JavaScript (from the TypeScript sources,
 * each fold worker transpiled its 84 modules again with TypeScript: some 4 s of CPU a start).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { generate } from "../../src/bench/generate.js";
import { foldThreadFromEnv } from "../../src/sources/read-pool.js";
import type { ScanOptions } from "../../src/scan/scanner.js";
import { rng, shuffled } from "../../src/util/rng.js";
import { transpileToTemp } from "../helpers/transpile.js";

type Modules = {
  geo: typeof import("../../src/geo/default.js");
  files: typeof import("../../src/sources/files.js");
  scanner: typeof import("../../src/scan/scanner.js");
  baselines: typeof import("../../src/store/baselines.js");
};
let build: string;
let m: Modules;
/** Generated and hand-made input, made once: realistic/, lean/ and tricky/. */
let dir: string;

beforeAll(async () => {
  build = await transpileToTemp(
    [
      "src/scan/scanner.ts",
      "src/scan/fold-worker.ts",
      "src/sources/files.ts",
      "src/sources/read-worker.ts",
      "src/ingest/walk-off-thread.ts",
      "src/geo/default.ts",
      "src/store/baselines.ts",
    ],
    "trailhound-fold-build-",
  );
  const load = (f: string) => import(pathToFileURL(join(build, f)).href);
  m = {
    geo: await load("src/geo/default.js"),
    files: await load("src/sources/files.js"),
    scanner: await load("src/scan/scanner.js"),
    baselines: await load("src/store/baselines.js"),
  };
  dir = mkdtempSync(join(tmpdir(), "th-fold-"));
  await generate({ dir: join(dir, "realistic"), events: 3000, identities: 60, days: 3, perFile: 250, seed: 7, profile: "realistic" });
  await generate({ dir: join(dir, "lean"), events: 1500, identities: 30, days: 3, perFile: 300, seed: 8 });
  mkdirSync(join(dir, "tricky"));
  trickyFiles(join(dir, "tricky"));
}, 120_000);

afterAll(async () => {
  for (const d of [build, dir]) if (d) await rm(d, { recursive: true, force: true });
});

const ACCOUNT = "111122223333";
const NOW = Date.parse("2024-03-05T00:00:00Z");

/** A role session's userIdentity (a shared role: the session name may name a person). */
function session(role: string, name: string, sourceIdentity?: string): Record<string, unknown> {
  return {
    type: "AssumedRole",
    principalId: `AROAEXAMPLE:${name}`,
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${name}`,
    accountId: ACCOUNT,
    sessionContext: {
      sessionIssuer: { type: "Role", principalId: "AROAEXAMPLE", arn: `arn:aws:iam::${ACCOUNT}:role/${role}`, accountId: ACCOUNT, userName: role },
      attributes: { mfaAuthenticated: name.includes("@") ? "true" : "false", creationDate: "2024-03-01T00:00:00Z" },
      ...(sourceIdentity ? { sourceIdentity } : {}),
    },
  };
}

function user(name: string): Record<string, unknown> {
  return { type: "IAMUser", principalId: `AIDA${name}`, arn: `arn:aws:iam::${ACCOUNT}:user/${name}`, accountId: ACCOUNT, userName: name };
}

/** Hand-made records over four days (the window is the last), in files of 40. */
function trickyFiles(dir: string): void {
  const r = rng(11);
  const ids = [
    session("Admin", "alice@example.com"),
    session("Admin", "bob.smith"),
    session("Admin", "i-0123456789abcdef0"),
    session("Admin", "ci-run", "carol@example.com"),
    session("AWSReservedSSO_ReadOnly_abc123", "dave"),
    user("erin"),
    user("frank"),
    { ...user("grace"), invokedBy: "cloudformation.amazonaws.com" },
    { type: "Root", principalId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT },
    { type: "AWSService", invokedBy: "ec2.amazonaws.com" },
  ];
  const calls: Array<[string, string, (i: number) => Record<string, unknown>]> = [
    ["ec2.amazonaws.com", "DescribeInstances", () => ({ requestParameters: null })],
    ["s3.amazonaws.com", "ListBuckets", () => ({ requestParameters: null })],
    ["sts.amazonaws.com", "AssumeRole", (i) => ({ requestParameters: { roleArn: `arn:aws:iam::${ACCOUNT}:role/R${i % 3}`, roleSessionName: "x" } })],
    ["ec2.amazonaws.com", "RunInstances", (i) => ({ requestParameters: { instanceType: i % 2 ? "t3.micro" : "p4d.24xlarge" } })],
    [
      "kms.amazonaws.com",
      "Decrypt",
      (i) => ({
        requestParameters: { encryptionAlgorithm: "SYMMETRIC_DEFAULT" },
        resources: [{ ARN: `arn:aws:kms:us-east-1:${ACCOUNT}:key/k-${i % 4}`, accountId: ACCOUNT, type: "AWS::KMS::Key" }],
      }),
    ],
    ["kms.amazonaws.com", "GenerateDataKey", (i) => ({ requestParameters: { keyId: i % 2 ? "alias/app" : `arn:aws:kms:us-east-1:${ACCOUNT}:key/k-9` } })],
    ["secretsmanager.amazonaws.com", "GetSecretValue", (i) => ({ requestParameters: { secretId: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:db-${i % 3}-AbCdEf` } })],
    ["ssm.amazonaws.com", "GetParameters", (i) => ({ requestParameters: { names: [`/app/p${i % 2}:3`, "/app/q"] } })],
    ["iam.amazonaws.com", "CreateAccessKey", (i) => ({ requestParameters: { userName: `u${i % 2}`, ["__proto__"]: { odd: true } } })],
    ["cloudtrail.amazonaws.com", "StopLogging", () => ({ requestParameters: { name: "main" } })],
    ["signin.amazonaws.com", "ConsoleLogin", (i) => ({ requestParameters: null, responseElements: { ConsoleLogin: i % 3 ? "Success" : "Failure" } })],
    ["iam.amazonaws.com", "AttachUserPolicy", () => ({ requestParameters: { policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" } })],
  ];
  const start = Date.parse("2024-03-01T00:00:00Z");
  const records: Array<Record<string, unknown>> = [];
  for (let i = 0; i < 2400; i++) {
    const t = start + Math.floor(r() * 4 * 86_400_000);
    const [source, name, extra] = calls[i % 7 === 0 ? Math.floor(r() * calls.length) : Math.floor(r() * 3)]!;
    const ui = ids[Math.floor(r() * ids.length)]!;
    const ip = i % 5 === 0 ? "10.0.0.7" : i % 11 === 0 ? "cloudformation.amazonaws.com" : `${[3, 13, 18, 34, 52, 81, 185][i % 7]}.${i % 50}.${(i * 7) % 200}.${i % 9}`;
    records.push({
      eventVersion: "1.09",
      userIdentity: ui,
      eventTime: new Date(Math.floor(t / 1000) * 1000).toISOString().replace(".000Z", "Z"),
      eventSource: source,
      eventName: name,
      awsRegion: ["us-east-1", "eu-west-1", "ap-southeast-2"][i % 3],
      sourceIPAddress: ip,
      userAgent: i % 4 ? "aws-cli/2.13.5 Python/3.11" : "Mozilla/5.0",
      ...(i % 13 === 0 ? { errorCode: "AccessDenied", errorMessage: `User is not authorized (${i})` } : {}),
      ...extra(i),
      eventID: `ev-${i}`,
      recipientAccountId: ACCOUNT,
    });
  }
  // Duplicates: in the window (dropped once) and before it (counted twice), in other files.
  const late = records.filter((x) => Date.parse(x.eventTime as string) > start + 3.2 * 86_400_000).slice(0, 30);
  const early = records.filter((x) => Date.parse(x.eventTime as string) < start + 86_400_000).slice(0, 30);
  records.push(...late, ...early);
  // Skipped records: far in the future, before 2013, no userIdentity.
  records.push({ ...records[5]!, eventID: "future", eventTime: "2031-01-01T00:00:00Z" });
  records.push({ ...records[6]!, eventID: "old", eventTime: "2009-01-01T00:00:00Z" });
  const { userIdentity: _ui, ...noIdentity } = records[7]!;
  records.push({ ...noIdentity, eventID: "no-identity" });
  const mixed = shuffled(records, 5);
  for (let f = 0; f * 40 < mixed.length; f++) {
    const body = JSON.stringify({ Records: mixed.slice(f * 40, f * 40 + 40) });
    writeFileSync(join(dir, `tricky-${f}.json${f % 2 ? ".gz" : ""}`), f % 2 ? gzipSync(body) : body);
  }
}

/** The report and the stored form of every baseline, as text; and what the main thread's accumulators hold. */
async function scan(
  files: string[],
  foldThreads: number,
  foldBatch = 97,
  keepProfiles = true,
): Promise<{ report: string; baselines: string; keys: string[]; inWorker: boolean; mainEvents: number }> {
  const opts: ScanOptions = { now: NOW, geo: await m.geo.defaultGeoResolver({}), foldGeoEnv: {}, foldThreads, foldBatch, deferBatch: 300, keepProfiles };
  const s = new m.scanner.Scanner(opts);
  const src = new m.files.FileSource(files, { threads: 2 });
  const res = await src.read(s);
  s.noteSource(res.summary, res.partialReasons);
  const out = await s.finishAsync();
  let mainEvents = 0;
  for (const acc of s.ingest.identities.values()) mainEvents += acc.events;
  return {
    report: JSON.stringify(out.report),
    baselines: JSON.stringify(out.profiles.map((p) => m.baselines.encodeBaseline(p.key, p))),
    keys: out.profiles.map((p) => p.key),
    inWorker: s.ingest.foldsInWorker,
    mainEvents,
  };
}

describe("folding and finishing in a worker thread", () => {
  it("gives the one-thread report and baselines byte for byte, in any file order", { timeout: 240_000 }, async () => {
    const files = await m.files.listInputFiles([join(dir, "realistic"), join(dir, "lean"), join(dir, "tricky")]);
    expect(files.length).toBeGreaterThan(40);
    for (const seed of [1, 2]) {
      const order = shuffled(files, seed);
      const alone = await scan(order, 1);
      expect(alone.inWorker).toBe(false);
      const report = JSON.parse(alone.report) as { stats: { recordsRead: number; duplicates: number; skippedTotal: number }; findings: unknown[] };
      expect(report.stats.recordsRead).toBeGreaterThan(5000);
      expect(report.stats.duplicates).toBe(30);
      expect(report.stats.skippedTotal).toBeGreaterThanOrEqual(3);
      expect(report.findings.length).toBeGreaterThan(0);
      expect(alone.keys.length).toBeGreaterThan(60);
      // People on the shared roles, beside their roles.
      expect(alone.keys.filter((k) => k.startsWith("person:")).length).toBeGreaterThanOrEqual(4);
      const par = await scan(order, 2);
      // The work was the worker's: the main thread's accumulators folded nothing.
      expect(par.inWorker).toBe(true);
      expect(par.mainEvents).toBe(0);
      expect(alone.mainEvents).toBeGreaterThan(5000);
      expect(par.report, `order ${seed}`).toBe(alone.report);
      expect(par.baselines, `order ${seed}`).toBe(alone.baselines);
      // Fewer records than a batch: the worker never starts, the rows are folded here.
      if (seed === 1) {
        const here = await scan(order, 2, 100_000);
        expect(here.inWorker).toBe(false);
        expect(here.mainEvents).toBe(alone.mainEvents);
        expect(here.report).toBe(alone.report);
        expect(here.baselines).toBe(alone.baselines);
      }
    }
  });

  it("without kept baselines, shares the identities between the threads and gives the one-thread report", { timeout: 120_000 }, async () => {
    const order = shuffled(await m.files.listInputFiles([join(dir, "lean"), join(dir, "tricky")]), 3);
    const alone = await scan(order, 1, 97, false);
    expect(alone.keys).toEqual([]);
    expect(JSON.parse(alone.report).findings.length).toBeGreaterThan(0);
    // Each thread folds and settles some identities (Scanner.finishPart), people with their role;
    // the main thread concludes in the one-thread order.
    const shared = await scan(order, 2, 97, false);
    expect(shared.inWorker).toBe(true);
    expect(shared.mainEvents).toBeGreaterThan(0);
    expect(shared.mainEvents).toBeLessThan(alone.mainEvents);
    expect(shared.report).toBe(alone.report);
    // Fewer records than a batch: the worker's rows are folded here at the end.
    const here = await scan(order, 2, 100_000, false);
    expect(here.inWorker).toBe(false);
    expect(here.mainEvents).toBe(alone.mainEvents);
    expect(here.report).toBe(alone.report);
  });

  it("stays on this thread when the options cannot be handed over (a store); says when finish is the wrong call", { timeout: 60_000 }, async () => {
    const rec = (i: number) => ({
      eventVersion: "1.09",
      userIdentity: user("ann"),
      eventTime: `2024-03-04T1${i % 10}:00:00Z`,
      eventSource: "ec2.amazonaws.com",
      eventName: "DescribeInstances",
      awsRegion: "us-east-1",
      sourceIPAddress: "10.1.2.3",
      eventID: `e-${i}`,
      recipientAccountId: ACCOUNT,
    });
    const withStore = new m.scanner.Scanner({ now: NOW, foldThreads: 2, foldBatch: 2, storedProfile: () => undefined });
    for (let i = 0; i < 5; i++) withStore.record(rec(i), "test");
    expect(withStore.ingest.foldsInWorker).toBe(false);
    expect([...withStore.ingest.identities.values()][0]!.events).toBe(5);
    expect(withStore.finish().report.stats.recordsRead).toBe(5);
    const inWorker = new m.scanner.Scanner({ now: NOW, foldThreads: 2, foldBatch: 2 });
    for (let i = 0; i < 5; i++) inWorker.record(rec(i), "test");
    expect(inWorker.ingest.foldsInWorker).toBe(true);
    expect(() => inWorker.finish()).toThrow(/finishAsync/);
    const out = await inWorker.finishAsync();
    expect(out.report.stats.recordsRead).toBe(5);
    expect(out.profiles.map((p) => [p.key, p.events])).toEqual([[`user:${ACCOUNT}:ann`, 5]]);
  });

  it("TRAILHOUND_FOLD_THREAD: off by default, 1 or 0, else a clear error", () => {
    expect(foldThreadFromEnv({})).toBe(false);
    expect(foldThreadFromEnv({ TRAILHOUND_FOLD_THREAD: "0" })).toBe(false);
    expect(foldThreadFromEnv({ TRAILHOUND_FOLD_THREAD: " 1 " })).toBe(true);
    for (const bad of ["2", "yes", "true"]) expect(() => foldThreadFromEnv({ TRAILHOUND_FOLD_THREAD: bad })).toThrow(/TRAILHOUND_FOLD_THREAD.*expected 1/);
  });
});
