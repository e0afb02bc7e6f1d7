/**
 * TRAILHOUND_SOURCE: where the bot's scans, digests and alerts read. `s3://...` reads the trail's
 * bucket (real CloudTrail delivery files, the invictus fixture), incrementally by listing position:
 * a second incremental scan over the same bucket lists from its cursor and reads (and counts) nothing again.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { gunzipSync, gzipSync } from "node:zlib";
import path from "node:path";
import { Readable } from "node:stream";
import { GetObjectCommand, type ListObjectsV2Command } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { createScanService, runLiveScan } from "../../src/app/scan-service.js";
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
        const prefixes = [
          ...new Set(
            keys
              .map((k) => k.indexOf(Delimiter, Prefix.length))
              .map((i, n) => (i >= 0 ? keys[n]!.slice(0, i + 1) : ""))
              .filter(Boolean),
          ),
        ];
        return {
          CommonPrefixes: prefixes.map((p) => ({ Prefix: p })),
          Contents: keys.filter((k) => k.indexOf(Delimiter, Prefix.length) < 0).map((k) => ({ Key: k, Size: objects.get(k)!.length })),
          $metadata: {},
        };
      }
      return { Contents: keys.map((k) => ({ Key: k, Size: objects.get(k)!.length })), $metadata: {} };
    },
  } as unknown as S3Port;
  return { port, lists, objects, gets: () => gets, count: objects.size };
}

describe("TRAILHOUND_SOURCE", () => {
  it("is lookup by default, or an S3 trail location; anything else gets a message naming the choices", () => {
    expect(parseLiveSource(undefined)).toEqual({ kind: "lookup" });
    expect(parseLiveSource("lookup")).toEqual({ kind: "lookup" });
    expect(parseLiveSource("s3://org-trail/prefix")).toEqual({ kind: "s3", url: "s3://org-trail/prefix" });
    expect(() => parseLiveSource("s3:/bucket")).toThrow(/expected lookup .*s3:\/\/bucket.* or athena/);
    expect(parseLiveSource("athena")).toEqual({ kind: "athena" });
  });

  it("s3://: the bot's incremental scans read the trail's bucket, then only what is new; the overlap is listed, not counted again, across restarts", async () => {
    const bucket = fakeBucket();
    const dir = mkdtempSync(path.join(tmpdir(), "th-live-s3-"));
    const factory = liveSourceFactory({ TRAILHOUND_SOURCE: "s3://org-trail/trail" }, { s3Client: bucket.port });
    const now = Date.parse("2023-07-10T14:00:00Z");
    const scan = async (at: number) => {
      const store = await TrailStore.open(dir); // a restart between runs: the cursors come from disk
      try {
        return await runLiveScan({ store, sourceFactory: factory, now: () => at }, { filters: {}, since: "24h", incremental: true, by: "digest", target: "all" });
      } finally {
        await store.close();
      }
    };
    const first = await scan(now);
    expect(first.stats.events).toBeGreaterThan(0);
    expect(bucket.gets()).toBe(bucket.count);
    // Nothing new: the cursor's overlap (15 minutes, for late deliveries) is listed from StartAfter
    // but not downloaded again, so no event is counted twice.
    const second = await scan(now + 600_000);
    expect(bucket.gets()).toBe(bucket.count);
    expect(second.stats.events).toBe(0);
    expect(bucket.lists.some((l) => l.startAfter !== undefined)).toBe(true);
    // One new file with one event: exactly that event.
    const last = [...bucket.objects.keys()].sort().at(-1)!;
    const rec = (JSON.parse(gunzipSync(bucket.objects.get(last)!).toString("utf8")) as { Records: Array<Record<string, unknown>> }).Records[0]!;
    const added = last.replace(
      /_(\d{8})T(\d{4})Z_[^/]+$/,
      (_m, d: string, t: string) => `_${d}T${t.slice(0, 2)}${String(Number(t.slice(2)) + 1).padStart(2, "0")}Z_addedaddedadded0.json.gz`,
    );
    bucket.objects.set(added, gzipSync(JSON.stringify({ Records: [{ ...rec, eventID: "added-1" }] })));
    const third = await scan(now + 1_200_000);
    expect(bucket.gets()).toBe(bucket.count + 1);
    expect(third.stats.events).toBe(1);
    rmSync(dir, { recursive: true, force: true });
  });

  it("the slash command's progress says what it reads: the bucket, its folders and the window's days", async () => {
    const bucket = fakeBucket();
    const factory = liveSourceFactory({ TRAILHOUND_SOURCE: "s3://org-trail/trail" }, { s3Client: bucket.port });
    const progress: string[] = [];
    const svc = createScanService({ store: TrailStore.memory(), sourceFactory: factory, now: () => Date.parse("2023-07-10T14:00:00Z") });
    const report = await svc.scan({ target: { kind: "user", value: "alice" }, since: "24h", requestedBy: "U1" }, (p) => progress.push(p.message));
    expect(report.stats.events).toBe(0); // no alice in the sample
    expect(progress.at(-1)).toMatch(/^Reading s3:\/\/org-trail\/trail\/AWSLogs\/, 1 account\/region folders, 2023\/07\/09 to 2023\/07\/10: [\d,]+ events read, \d+\/\d+ objects/);
    // Only the window's days are listed.
    expect(bucket.lists.filter((l) => /\/\d{4}\/\d{2}\/\d{2}\/$/.test(l.prefix)).map((l) => l.prefix.slice(-11))).toEqual(["2023/07/09/", "2023/07/10/"]);
  });
});
