import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach } from "vitest";
import { emptyProfile, type Profile } from "../../src/baseline/profile.js";
import type { Severity } from "../../src/events/types.js";
import type { Finding } from "../../src/scan/report-types.js";
import { TrailStore } from "../../src/store/index.js";

export async function tempDir(prefix = "trailhound-store-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A new temporary folder for each test of the calling file, removed after it: call at the file's top level. */
export function tempDirEach(prefix?: string): () => string {
  let made: { dir: string; cleanup: () => Promise<void> } | undefined;
  beforeEach(async () => {
    made = await tempDir(prefix);
  });
  afterEach(async () => made?.cleanup());
  return () => made!.dir;
}

/** A file store in `dir` given `profiles` and closed, then opened again: the baselines as a later process finds them. */
export async function reopenedWith(dir: string, profiles: Profile[]): Promise<TrailStore> {
  const s0 = await TrailStore.open(dir);
  await s0.putBaselines(profiles);
  await s0.close();
  return TrailStore.open(dir);
}

export const T0 = Date.UTC(2024, 5, 1, 12, 0, 0);
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export function makeFinding(over: Partial<Finding> & { id: string }): Finding {
  return {
    detector: "new-api",
    title: "First use of an API",
    severity: "medium",
    score: 50,
    identity: { key: "user:111122223333:alice", type: "IAMUser", userName: "alice" },
    sourceIp: "203.0.113.7",
    region: "us-east-1",
    eventIds: ["e1", "e2"],
    firstSeen: new Date(T0 - HOUR).toISOString(),
    lastSeen: new Date(T0).toISOString(),
    count: 2,
    why: "first CreateAccessKey by this user in 41 days of history",
    attack: ["T1098.001"],
    investigate: ["Who created the key?"],
    falsePositives: ["Key rotation"],
    failed: false,
    ...over,
  };
}

export function withSeverity(f: Finding, severity: Severity): Finding {
  return { ...f, severity };
}

/** A small but complete profile with a few values per dimension. */
export function makeProfile(key: string, lastMs = T0, apis = 5): Profile {
  const p = emptyProfile(key, "IAMUser");
  p.first = lastMs - 10 * DAY;
  p.last = lastMs;
  p.trainedUntil = lastMs;
  p.events = 123.45;
  p.errors = 2;
  p.denied = 1;
  p.days = [Math.floor((lastMs - DAY) / DAY), Math.floor(lastMs / DAY)];
  p.hours[12] = 40.5;
  p.weekdays[3] = 40.5;
  for (let i = 0; i < apis; i++) p.dims.api[`DescribeThing${i}`] = [10 + i, 0, lastMs - 5 * DAY, lastMs - i * 1000];
  p.dims.ip["203.0.113.7"] = [100, 1, lastMs - 9 * DAY, lastMs];
  p.dims.country["US"] = [100, 1, lastMs - 9 * DAY, lastMs];
  p.hourly = [[Math.floor(lastMs / HOUR), 12, 1]];
  p.breadth = [7, 30];
  return p;
}

/** The file store in `dir()` and its in-memory twin: run a test against both. */
export function storeKinds(dir: () => string): Array<[string, () => Promise<TrailStore>]> {
  return [
    ["file", () => TrailStore.open(dir())],
    ["memory", async () => TrailStore.memory()],
  ];
}
