/**
 * Cursor and results commit together: the real CLI (`trailhound scan --incremental`, live
 * LookupEvents against the local fake) runs in a child process and is SIGKILLed at every write
 * point of a scan in turn (TRAILHOUND_FAULT=*@n, see src/util/faults.ts), then run again. After
 * the rerun the store's scan records must hold every event exactly once: none lost (a cursor that
 * moved past unsaved results), none counted twice (results saved, cursor not moved).
 */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeLookupServer, type FakeLookupServer } from "../../src/testing/lookup-fake-server.js";
import { transpileToTemp } from "../helpers/transpile.js";

const REGIONS = ["us-east-1", "eu-west-1"];
const PER_REGION = 40; // one page per region
const ACCOUNT = "123456789012";
let build: string;
let work: string;
let lookup: FakeLookupServer;
let sts: Server;
let stsUrl: string;

// Crash test (spawns the CLI about 30 times): `npm run test:slow`, not `npm test`.
describe("killed at every write point", { tags: ["slow"] }, () => {
  beforeAll(async () => {
    build = await transpileToTemp(["src/cli.ts"]);
    work = await mkdtemp(path.join(os.tmpdir(), "trailhound-kill-"));
    // Events in the last hour, so that every run's default 24 h window covers them all.
    lookup = await startFakeLookupServer({ eventsPerRegion: PER_REGION, newest: Date.now() - 60_000, spanMs: 3_600_000, accountId: ACCOUNT, ratePerSecond: 1000 });
    sts = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "text/xml" });
        res.end(
          `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
            `<Arn>arn:aws:iam::${ACCOUNT}:user/scanner</Arn><UserId>AIDAEXAMPLE</UserId><Account>${ACCOUNT}</Account>` +
            `</GetCallerIdentityResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
        );
      });
    });
    await new Promise<void>((r) => sts.listen(0, "127.0.0.1", r));
    stsUrl = `http://127.0.0.1:${(sts.address() as AddressInfo).port}`;
  }, 120_000);

  afterAll(async () => {
    await lookup?.close();
    await new Promise((r) => sts?.close(r));
    if (build) await rm(build, { recursive: true, force: true });
    if (work) await rm(work, { recursive: true, force: true });
  });

  interface Run {
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }

  function scan(dir: string, env: Record<string, string> = {}): Promise<Run> {
    const child = spawn(
      process.execPath,
      [path.join(build, "src/cli.js"), "scan", "--incremental", "--regions", REGIONS.join(","), "--store", dir, "--format", "json", "--no-geo", "--no-progress"],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          PATH: process.env.PATH ?? "",
          HOME: dir,
          AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
          AWS_SECRET_ACCESS_KEY: "secret",
          AWS_ENDPOINT_URL_CLOUDTRAIL: lookup.url,
          AWS_ENDPOINT_URL_STS: stsUrl,
          AWS_EC2_METADATA_DISABLED: "true",
          TRAILHOUND_NATIVE: "0",
          NODE_NO_WARNINGS: "1",
          ...env,
        },
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
  }

  async function storedScans(dir: string): Promise<Array<{ events: number; findings: number }>> {
    const data = JSON.parse(await readFile(path.join(dir, "trailhound.json"), "utf8")) as { scans: Array<{ events: number; findings: number }> };
    return data.scans;
  }

  it("a scan killed at any write point loses no event and counts none twice on the rerun", async () => {
    const total = REGIONS.length * PER_REGION;
    // Which points does a scan reach? Trace one clean run.
    const traceDir = path.join(work, "trace");
    const trace = path.join(work, "trace.txt");
    const clean = await scan(traceDir, { TRAILHOUND_FAULT_TRACE: trace });
    expect(clean.stderr).toBe("");
    expect(clean.code).toBe(0);
    expect((JSON.parse(clean.stdout) as { stats: { events: number } }).stats.events).toBe(total);
    const points = (await readFile(trace, "utf8")).trim().split("\n");
    // The store is created, both regions staged their cursors, and the results were committed.
    expect(points.filter((p) => p === "scan.cursor-staged")).toHaveLength(REGIONS.length);
    expect(points).toContain("scan.committed");
    expect(points.indexOf("scan.before-commit")).toBeGreaterThan(points.lastIndexOf("scan.cursor-staged"));

    let killed = 0;
    let lost = 0;
    let doubled = 0;
    for (let n = 1; n <= points.length; n++) {
      const dir = path.join(work, `kill-${n}`);
      const first = await scan(dir, { TRAILHOUND_FAULT: `*@${n}:kill` });
      expect(first.signal, `run killed at point ${n} (${points[n - 1]})`).toBe("SIGKILL");
      killed++;
      const rerun = await scan(dir);
      expect(rerun.stderr, `rerun after a kill at ${points[n - 1]}`).toBe("");
      expect(rerun.code).toBe(0);
      const events = (await storedScans(dir)).reduce((a, s) => a + s.events, 0);
      if (events < total) lost += total - events;
      if (events > total) doubled += events - total;
      expect(events, `events in the store after a kill at point ${n} (${points[n - 1]}) and a rerun`).toBe(total);
    }
    expect(killed).toBe(points.length);
    expect({ lost, doubled }).toEqual({ lost: 0, doubled: 0 });
    process.stderr.write(`kill test: ${killed} kill points tried (${[...new Set(points)].join(", ")}), events lost ${lost}, counted twice ${doubled}\n`);
  }, 600_000);
});

it("a scan's cursors reach the store only in the one write that saves its results", async () => {
  const { TrailStore } = await import("../../src/store/store.js");
  const { scanStoreFrom } = await import("../../src/app/store-port.js");
  const store = TrailStore.memory();
  const ss = scanStoreFrom(store);
  const cursor = { newestTime: 1_700_000_000_000, newestIds: ["e1"], updatedAt: "2023-11-14T22:13:20.000Z" };
  await ss.cursors().set("lookup:1:us-east-1", cursor);
  // The source sees its own cursor, the store does not have it yet.
  expect(await ss.cursors().get("lookup:1:us-east-1")).toEqual(cursor);
  expect(store.getCursor("lookup:1:us-east-1")).toBeUndefined();
  const writes = store.stats().writes;
  const report = {
    generatedAt: "2023-11-14T22:15:00.000Z",
    window: { start: "2023-11-14T21:00:00.000Z", end: "2023-11-14T22:15:00.000Z" },
    stats: { events: 7 },
    findings: [],
    suppressed: { count: 0, ids: [] },
    identities: [],
    partial: false,
  } as unknown as import("../../src/scan/report-types.js").Report;
  await ss.saveScan(report, [], { by: "test", target: "all" });
  expect(store.stats().writes).toBe(writes + 1);
  expect(store.getCursor("lookup:1:us-east-1")).toEqual(cursor);
  expect(store.scans().at(-1)).toMatchObject({ events: 7, by: "test" });
});
