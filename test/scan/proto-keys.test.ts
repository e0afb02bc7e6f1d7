import { describe, it, expect, afterEach } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runScan } from "../../src/scan/run.js";
import { FileSource } from "../../src/sources/files.js";
import { TrailStore } from "../../src/store/index.js";
import { scanStoreFrom } from "../../src/app/store-port.js";
import { DAY } from "../../src/baseline/profile.js";

// Baseline values come from the records, i.e. from the attacker: names of Object.prototype's
// members must be stored and counted like any other value, through a save and a reload.
const NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty"];
const T0 = Date.parse("2024-03-01T00:00:00Z");

function record(i: number, name: string, t: number): Record<string, unknown> {
  return {
    eventVersion: "1.08",
    userIdentity: {
      type: "AssumedRole",
      principalId: `AROAEXAMPLE:${name}`,
      arn: `arn:aws:sts::111122223333:assumed-role/App/${name}`,
      accountId: "111122223333",
      sessionContext: { sessionIssuer: { type: "Role", principalId: "AROAEXAMPLE", arn: "arn:aws:iam::111122223333:role/App", accountId: "111122223333", userName: "App" } },
    },
    eventTime: new Date(t).toISOString().replace(/\.\d+Z$/, "Z"),
    eventSource: "s3.amazonaws.com",
    eventName: name,
    awsRegion: "us-east-1",
    sourceIPAddress: name,
    userAgent: name,
    errorCode: name,
    requestParameters: null,
    responseElements: null,
    eventID: `ev-${t}-${i}-${name}`,
    readOnly: true,
    eventType: "AwsApiCall",
    recipientAccountId: "111122223333",
  };
}

function writeDay(dir: string, day: number): void {
  const recs: Array<Record<string, unknown>> = [];
  let i = 0;
  for (const name of NAMES) for (let h = 0; h < 3; h++) recs.push(record(i++, name, T0 + day * DAY + h * 3_600_000));
  writeFileSync(join(dir, `day${day}.json`), JSON.stringify({ Records: recs }));
}

afterEach(() => {
  delete (Object.prototype as Record<string, unknown>).polluted;
});

describe("attacker-chosen values named like Object.prototype's members", () => {
  it("are counted as values through a scan, a save, a reload and a rescan, without pollution", async () => {
    const data = mkdtempSync(join(tmpdir(), "th-proto-data-"));
    const dir = mkdtempSync(join(tmpdir(), "th-proto-store-"));
    writeDay(data, 0);
    const scan = async (now: number) => {
      const store = await TrailStore.open(dir);
      const scanStore = scanStoreFrom(store);
      const { report, profiles } = await runScan({
        now,
        sources: [new FileSource([data])],
        storedProfile: (k) => scanStore.getBaseline(k),
        storedTrainedUntil: (k) => scanStore.getBaselineTrainedUntil(k),
      });
      await scanStore.saveScan(report, profiles, { by: "test", target: "all" });
      const baselines = store.getBaselines();
      await store.close();
      return baselines;
    };
    const first = await scan(T0 + DAY);
    writeDay(data, 1);
    // Reopened from the file: the packed baselines are decoded again.
    const second = await scan(T0 + 2 * DAY);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    for (const [label, baselines, per] of [
      ["first", first, 3],
      ["second", second, 6],
    ] as const) {
      const p = baselines.get("role:111122223333:App");
      expect(p, label).toBeDefined();
      // Sessions and error codes are stored as they are; APIs and user agents normalised (s3:<name>,
      // other:<name>), but still one value per name.
      for (const dim of ["ua", "api", "session", "errorCode"] as const) {
        const rec = p!.dims[dim];
        expect(Object.keys(rec), `${label} ${dim}`).toHaveLength(NAMES.length);
        for (const [value, s] of Object.entries(rec)) {
          expect(s[0], `${label} ${dim} ${value}`).toBeGreaterThan(per - 1);
          expect(s[0], `${label} ${dim} ${value}`).toBeLessThanOrEqual(per);
        }
        if (dim === "ua" || dim === "api") continue;
        for (const name of NAMES) {
          expect(Object.hasOwn(rec, name), `${label} ${dim} ${name}`).toBe(true);
          const s = rec[name]!;
          expect(Array.isArray(s), `${label} ${dim} ${name}`).toBe(true);
          // Counts decay with time: about `per`, never NaN.
          expect(s[0], `${label} ${dim} ${name}`).toBeGreaterThan(per - 1);
          expect(s[0], `${label} ${dim} ${name}`).toBeLessThanOrEqual(per);
        }
        expect(Object.keys(rec).sort(), `${label} ${dim}`).toEqual([...NAMES].sort());
      }
    }
  });
});
