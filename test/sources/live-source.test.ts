/**
 * TRAILHOUND_SOURCE: where the bot's scans, digests and alerts read. `s3://...` reads the trail's
 * bucket (real CloudTrail delivery files, the invictus fixture), incrementally by listing position:
 * a second incremental scan over the same bucket lists from its cursor and reads nothing again.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { runLiveScan } from "../../src/app/scan-service.js";
import { liveSourceFactory, parseLiveSource } from "../../src/sources/aws-cli.js";
import type { S3Port } from "../../src/sources/s3.js";
import { TrailStore } from "../../src/store/store.js";

const ROOT = "test/fixtures/invictus-aws";

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".json.gz") ? [p] : [];
  });
}

/** A bucket holding the fixture's files under `trail/`: ListObjectsV2 (prefix, delimiter, start-after) and GetObject. */
function fakeBucket() {
  const objects = new Map<string, Buffer>();
  for (const f of files(ROOT)) objects.set(`trail/${path.relative(ROOT, f).split(path.sep).join("/")}`, readFileSync(f));
  const lists: Array<{ prefix: string; startAfter?: string }> = [];
  let gets = 0;
  const port = {
    async send(cmd: ListObjectsV2Command | GetObjectCommand) {
      if (cmd instanceof GetObjectCommand) {
        gets++;
        const body = objects.get(cmd.input.Key!)!;
        return { Body: Readable.from([body]), ContentLength: body.length, $metadata: {} };
      }
      const { Prefix = "", Delimiter, StartAfter } = cmd.input;
      lists.push({ prefix: Prefix, ...(StartAfter ? { startAfter: StartAfter } : {}) });
      const keys = [...objects.keys()].sort().filter((k) => k.startsWith(Prefix) && (!StartAfter || k > StartAfter));
      if (Delimiter) {
        const prefixes = [...new Set(keys.map((k) => k.indexOf(Delimiter, Prefix.length)).map((i, n) => (i >= 0 ? keys[n]!.slice(0, i + 1) : "")).filter(Boolean))];
        return { CommonPrefixes: prefixes.map((p) => ({ Prefix: p })), Contents: keys.filter((k) => k.indexOf(Delimiter, Prefix.length) < 0).map((k) => ({ Key: k, Size: objects.get(k)!.length })), $metadata: {} };
      }
      return { Contents: keys.map((k) => ({ Key: k, Size: objects.get(k)!.length })), $metadata: {} };
    },
  } as unknown as S3Port;
  return { port, lists, gets: () => gets, count: objects.size };
}

describe("TRAILHOUND_SOURCE", () => {
  it("is lookup by default, or an S3 trail location; anything else gets a message naming the choices", () => {
    expect(parseLiveSource(undefined)).toEqual({ kind: "lookup" });
    expect(parseLiveSource("lookup")).toEqual({ kind: "lookup" });
    expect(parseLiveSource("s3://org-trail/prefix")).toEqual({ kind: "s3", url: "s3://org-trail/prefix" });
    expect(() => parseLiveSource("s3:/bucket")).toThrow(/expected lookup .* or s3:\/\/bucket/);
    expect(() => parseLiveSource("athena")).toThrow(/does not read through Athena yet/);
  });

  it("s3://: the bot's incremental scans read the trail's bucket, then only what is new (and a short overlap)", async () => {
    const bucket = fakeBucket();
    const store = TrailStore.memory();
    const factory = liveSourceFactory({ TRAILHOUND_SOURCE: "s3://org-trail/trail" }, { s3Client: bucket.port });
    const now = Date.parse("2023-07-10T14:00:00Z");
    const first = await runLiveScan({ store, sourceFactory: factory, now: () => now }, { filters: {}, since: "24h", incremental: true, by: "digest", target: "all" });
    expect(first.stats.events).toBeGreaterThan(0);
    expect(bucket.gets()).toBe(bucket.count);
    const second = await runLiveScan({ store, sourceFactory: factory, now: () => now + 600_000 }, { filters: {}, since: "24h", incremental: true, by: "digest", target: "all" });
    // Listed from the committed cursor (less its 15-minute overlap for late deliveries): only the
    // overlap is read again (its findings and baselines are not doubled: ids and trainedUntil).
    const reread = bucket.gets() - bucket.count;
    expect(reread).toBeGreaterThanOrEqual(0);
    expect(reread).toBeLessThan(bucket.count);
    expect(second.stats.events).toBeLessThan(first.stats.events);
    expect(second.findings.map((f) => f.id).every((id) => first.findings.some((f) => f.id === id))).toBe(true);
    expect(bucket.lists.some((l) => l.startAfter !== undefined)).toBe(true);
  });
});
