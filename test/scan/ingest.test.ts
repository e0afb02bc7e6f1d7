import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtemp, writeFile, rm, readFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync, gunzipSync } from "node:zlib";
import { FileSource, listInputFiles } from "../../src/sources/files.js";
import { runScan } from "../../src/scan/run.js";

const INVICTUS = "test/fixtures/invictus-aws";
const OTRF = "test/fixtures/otrf/ec2-proxy-s3-exfiltration.jsonl";
const NOW = Date.parse("2024-01-01T00:00:00Z");

async function invictusRecords(): Promise<Array<Record<string, unknown>>> {
  const files = await listInputFiles([INVICTUS]);
  const out: Array<Record<string, unknown>> = [];
  for (const f of files) out.push(...(JSON.parse(gunzipSync(await readFile(f)).toString()) as { Records: Array<Record<string, unknown>> }).Records);
  return out;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "th-ingest-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("ingestion of every input format", () => {
  it("reads CloudTrail S3 delivery files (.json.gz) recursively: the invictus sample", async () => {
    const files = await listInputFiles([INVICTUS]);
    expect(files.length).toBe(55);
    expect(files.every((f) => f.endsWith(".json.gz"))).toBe(true);
    const { report } = await runScan({ now: NOW, sources: [new FileSource([INVICTUS])] });
    expect(report.stats.recordsRead).toBe(2900);
    expect(report.stats.skippedTotal).toBe(0);
    expect(report.stats.events).toBe(2900);
    expect(report.stats.identities).toBeGreaterThan(10);
    expect(report.sources[0]).toMatchObject({ kind: "file", records: 2900, skipped: 0 });
    expect(report.stats.perRegion[0]).toMatchObject({ region: "us-east-1", events: 2900 });
  });

  it("reads JSON Lines of records: the otrf breach", async () => {
    const { report } = await runScan({ now: NOW, sources: [new FileSource([OTRF])] });
    expect(report.stats.recordsRead).toBe(103);
    expect(report.stats.skippedTotal).toBe(0);
    const keys = report.identities.map((i) => i.key);
    expect(keys).toContain("user:123456789123:pedro");
    expect(keys).toContain("role:123456789123:MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0");
  });

  it("reads `aws cloudtrail lookup-events` output and plain .json delivery files and JSON arrays", async () => {
    const recs = (await invictusRecords()).slice(0, 120);
    const lookup = {
      Events: recs.map((r) => ({
        EventId: r.eventID,
        EventName: r.eventName,
        ReadOnly: "true",
        EventTime: Date.parse(r.eventTime as string) / 1000,
        EventSource: r.eventSource,
        Username: "x",
        Resources: [],
        CloudTrailEvent: JSON.stringify(r),
      })),
    };
    await writeFile(join(dir, "lookup.json"), JSON.stringify(lookup));
    await writeFile(join(dir, "delivery.json"), JSON.stringify({ Records: recs.slice(0, 50) }));
    await writeFile(join(dir, "array.json"), JSON.stringify(recs.slice(0, 10)));
    for (const [file, n] of [
      ["lookup.json", 120],
      ["delivery.json", 50],
      ["array.json", 10],
    ] as const) {
      const src = new FileSource([join(dir, file)]);
      const { report } = await runScan({ now: NOW, sources: [src] });
      expect(report.stats.recordsRead, file).toBe(n);
      expect(report.stats.skippedTotal, file).toBe(0);
    }
  });

  it("reads gzipped JSON Lines", async () => {
    const recs = (await invictusRecords()).slice(0, 30);
    await writeFile(join(dir, "lines.jsonl.gz"), gzipSync(recs.map((r) => JSON.stringify(r)).join("\n") + "\n"));
    const { report } = await runScan({ now: NOW, sources: [new FileSource([join(dir, "lines.jsonl.gz")])] });
    expect(report.stats.recordsRead).toBe(30);
  });
});

describe("malformed input is skipped and counted by reason, never a crash", () => {
  it("counts bad lines, bad records, non-CloudTrail files and corrupt gzip separately", async () => {
    const sub = join(dir, "bad");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(sub, { recursive: true });
    const good = (await invictusRecords())[0]!;
    const lines = [
      JSON.stringify(good),
      "{not json",
      JSON.stringify({ ...good, eventID: "x1", eventTime: undefined }),
      JSON.stringify({ ...good, eventID: "x2", eventTime: "yesterday" }),
      JSON.stringify({ ...good, eventID: "x3", eventName: undefined }),
      JSON.stringify({ ...good, eventID: "x4", userIdentity: null }),
      JSON.stringify(42),
      JSON.stringify({ ...good, eventID: "x5" }),
    ];
    await writeFile(join(sub, "mixed.jsonl"), lines.join("\n"));
    await writeFile(join(sub, "other.json"), JSON.stringify({ hello: "world" }));
    await writeFile(join(sub, "broken.json.gz"), Buffer.concat([gzipSync(JSON.stringify({ Records: [good] })).subarray(0, 20)]));
    await writeFile(join(sub, "notjson.json"), "this is not json at all");
    const src = new FileSource([sub]);
    const { report } = await runScan({ now: NOW, sources: [src] });
    expect(report.stats.skipped).toMatchObject({
      "invalid-json": 1,
      "missing-eventTime": 1,
      "bad-eventTime": 1,
      "missing-eventName": 1,
      "missing-userIdentity": 1,
      "not-an-object": 1,
      "not-cloudtrail": 2,
      "corrupt-file": 1,
    });
    expect(report.stats.events).toBe(2);
    const notes = src.notes.filter((n) => n.problem).map((n) => `${n.file}: ${n.problem}`);
    expect(notes.join("\n")).toMatch(/other\.json: valid JSON but not CloudTrail/);
    expect(notes.join("\n")).toMatch(/broken\.json\.gz: corrupt gzip/);
    expect(notes.join("\n")).toMatch(/notjson\.json: not JSON/);
    expect(report.sources[0]!.note).toMatch(/broken\.json\.gz/);
  });

  it("CloudTrail Insights events in a delivery file are skipped as such (fast lane and full path), not as malformed", async () => {
    const recs = (await invictusRecords()).slice(0, 200);
    // The shape AWS documents: no eventName, eventSource or userIdentity at the top (they are in insightDetails).
    const insight = (id: string, eventTime?: string) => ({
      eventVersion: "1.07",
      ...(eventTime ? { eventTime } : {}),
      awsRegion: "us-east-1",
      eventID: id,
      eventType: "AwsCloudTrailInsight",
      recipientAccountId: "111122223333",
      sharedEventID: "12345678-1234-1234-1234-123456789012",
      insightDetails: { state: "Start", eventSource: "ssm.amazonaws.com", eventName: "UpdateInstanceAssociationStatus", insightType: "ApiCallRateInsight" },
      eventCategory: "Insight",
    });
    const file = join(dir, "insights.json.gz");
    await writeFile(file, gzipSync(JSON.stringify({ Records: [...recs.slice(0, 100), insight("i1", recs[100]!.eventTime as string), insight("i2"), ...recs.slice(100)] })));
    const fast = (await runScan({ now: NOW, sources: [new FileSource([file])] })).report;
    const full = (await runScan({ now: NOW, fastPath: false, sources: [new FileSource([file])] })).report;
    expect(fast.stats.skipped).toEqual({ "insight-event": 2 });
    expect(fast.stats.recordsRead).toBe(202);
    expect({ ...fast, generatedAt: "" }).toEqual({ ...full, generatedAt: "" });
  });

  it("de-duplicates repeated eventIDs", async () => {
    const recs = (await invictusRecords()).slice(0, 40);
    await writeFile(join(dir, "dup.json"), JSON.stringify({ Records: [...recs, ...recs.slice(0, 15)] }));
    const { report } = await runScan({ now: NOW, sources: [new FileSource([join(dir, "dup.json")])] });
    expect(report.stats.duplicates).toBe(15);
    expect(report.stats.events).toBe(40);
  });

  it("a missing input path is an input error naming the path", async () => {
    await expect(runScan({ now: NOW, sources: [new FileSource([join(dir, "nope")])] })).rejects.toThrow(/nope: no such file/);
  });

  it("lists only CloudTrail-looking files and skips digests and Insights folders", async () => {
    const d = join(dir, "layout", "CloudTrail-Digest");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(d, { recursive: true });
    await writeFile(join(d, "x.json.gz"), gzipSync("{}"));
    await mkdir(join(dir, "layout", "CloudTrail-Insight"));
    await writeFile(join(dir, "layout", "CloudTrail-Insight", "y.json.gz"), gzipSync("{}"));
    await writeFile(join(dir, "layout", "readme.txt"), "hi");
    await writeFile(join(dir, "layout", "a.json"), "{}");
    const files = await listInputFiles([join(dir, "layout")]);
    expect(files.map((f) => f.split("/").pop())).toEqual(["a.json"]);
    expect((await readdir(join(dir, "layout"))).length).toBe(4);
  });
});
