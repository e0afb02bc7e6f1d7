import { readFile, readdir, rename, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { emptyProfile } from "../../src/baseline/profile.js";
import { StoreError, TrailStore, storeFile, writeFileDurable } from "../../src/store/index.js";
import { T0, makeFinding, makeProfile, tempDirEach } from "./helpers.js";

const dir = tempDirEach();

async function openErr(d: string): Promise<StoreError> {
  try {
    const s = await TrailStore.open(d);
    await s.close();
  } catch (e) {
    expect(e).toBeInstanceOf(StoreError);
    return e as StoreError;
  }
  throw new Error("open did not fail");
}

describe("persistence", () => {
  it("creates the file on open and round-trips everything through a reopen", async () => {
    const s = await TrailStore.open(dir());
    expect((await stat(storeFile(dir()))).isFile()).toBe(true);
    const empty = emptyProfile("role:1:Empty", "AssumedRole");
    await s.putBaselines([makeProfile("user:1:alice"), empty]);
    const f = makeFinding({ id: "f1", evidence: { api: "CreateAccessKey", when: new Date(T0) as unknown } });
    await s.recordFindings([f], T0);
    await s.acknowledge("f1", "U123", T0 + 1000);
    const sup = await s.suppress({ scope: "ip", sourceIp: "198.51.100.1", until: T0 + 86_400_000, reason: "pentest", by: "U9" }, T0);
    await s.setCursor("lookup:111:us-east-1", { newestTime: T0, newestIds: ["a", "b"], updatedAt: new Date(T0).toISOString() });
    await s.addScan({ at: "2024-06-01T12:00:00.000Z", by: "cli", target: "all", window: { start: "a", end: "b" }, events: 10, findings: 1, partial: false });
    const d = await s.createDigest({ schedule: "daily", channel: "C1", window: { start: "a", end: "b" }, findingIds: ["f1"] }, T0);
    await s.markDigestPart(d.id, "1700000000.0001");
    await s.setDigestRun("daily", T0);
    const before = JSON.parse(JSON.stringify(s.data));
    await s.close();

    const r = await TrailStore.open(dir());
    expect(JSON.parse(JSON.stringify(r.data))).toEqual(before);
    expect(r.getBaseline("user:1:alice")).toEqual(makeProfile("user:1:alice"));
    // JSON has no Infinity: an empty profile must come back as it went in, not with nulls.
    const e = r.getBaseline("role:1:Empty")!;
    expect(e.first).toBe(Infinity);
    expect(e.last).toBe(-Infinity);
    expect(e.trainedUntil).toBe(-Infinity);
    expect(r.getFinding("f1")).toMatchObject({ status: "acknowledged", acknowledged: { by: "U123", severity: "medium" } });
    // Values are stored as their JSON form (a Date in evidence becomes its ISO string in memory too).
    expect(r.getFinding("f1")!.finding.evidence).toEqual({ api: "CreateAccessKey", when: new Date(T0).toISOString() });
    expect(r.getSuppression(sup.id)?.reason).toBe("pentest");
    expect(r.cursors().get("lookup:111:us-east-1")?.newestIds).toEqual(["a", "b"]);
    expect(r.pendingDigests()[0]?.posted).toEqual(["1700000000.0001"]);
    expect(r.getDigestRun("daily")).toBe(new Date(T0).toISOString());
    await r.close();
  });

  it("writes compact JSON (no pretty-print) and leaves no temporary file", async () => {
    const s = await TrailStore.open(dir());
    await s.putBaselines([makeProfile("user:1:alice")]);
    await s.close();
    const text = await readFile(storeFile(dir()), "utf8");
    expect(text).not.toContain("\n");
    expect(JSON.parse(text).schemaVersion).toBe(1);
    expect((await readdir(dir())).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("serialises concurrent read-modify-write updates: no lost update", async () => {
    const s = await TrailStore.open(dir());
    const N = 60;
    await Promise.all(
      Array.from({ length: N }, () =>
        s.update(async (d) => {
          const v = Number(d.digestRuns.counter ?? "0");
          await new Promise((r) => setTimeout(r, 0)); // a yield between read and write
          d.digestRuns.counter = String(v + 1);
        }),
      ),
    );
    expect(s.data.digestRuns.counter).toBe(String(N));
    await s.close();
    const r = await TrailStore.open(dir());
    expect(r.getDigestRun("counter")).toBe(String(N));
    await r.close();
  });

  it("batches updates queued together into one disk write, and resolves each with its own result", async () => {
    const s = await TrailStore.open(dir());
    await s.recordFindings(
      Array.from({ length: 20 }, (_, i) => makeFinding({ id: `f${i}` })),
      T0,
    );
    const w0 = s.stats().writes;
    const acks = await Promise.all(Array.from({ length: 20 }, (_, i) => s.acknowledge(`f${i}`, `U${i}`, T0 + i)));
    expect(acks.map((a) => a.acknowledged?.by)).toEqual(Array.from({ length: 20 }, (_, i) => `U${i}`));
    expect(s.stats().writes - w0).toBe(1);

    // Updates issued while a write is on disk wait for it and then share the next one.
    const first = s.audit({ at: new Date(T0).toISOString(), actor: "U1", action: "refused", target: "x" });
    await new Promise((r) => setImmediate(r)); // the first batch is now writing
    const later = Array.from({ length: 10 }, (_, i) => s.audit({ at: new Date(T0).toISOString(), actor: `U${i}`, action: "refused", target: "y" }));
    await Promise.all([first, ...later]);
    expect(s.stats().writes - w0).toBeLessThanOrEqual(3);
    expect(s.auditLog(1000).filter((e) => e.action === "refused")).toHaveLength(11);
    await s.close();
  });

  it("a failing update rejects alone; the others in its batch are saved", async () => {
    const s = await TrailStore.open(dir());
    await s.recordFindings([makeFinding({ id: "f1" })], T0);
    const results = await Promise.allSettled([s.acknowledge("f1", "U1", T0), s.acknowledge("nope", "U1", T0), s.acknowledge("f1", "", T0)]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "rejected"]);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: "not-found" });
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: "invalid" });
    await s.close();
    const r = await TrailStore.open(dir());
    expect(r.getFinding("f1")?.status).toBe("acknowledged");
    await r.close();
  });

  it("close() waits for queued updates, then refuses new ones", async () => {
    const s = await TrailStore.open(dir());
    const pending = Array.from({ length: 5 }, (_, i) => s.setCursor(`k${i}`, { newestTime: i, newestIds: [], updatedAt: "t" }));
    await s.close();
    await Promise.all(pending);
    await expect(s.setCursor("late", { newestTime: 1, newestIds: [], updatedAt: "t" })).rejects.toMatchObject({ code: "closed" });
    const r = await TrailStore.open(dir());
    expect(Object.keys(r.data.cursors).sort()).toEqual(["k0", "k1", "k2", "k3", "k4"]);
    await r.close();
  });

  it("refuses a profile that would not read back (NaN) instead of saving a store that will not open", async () => {
    const s = await TrailStore.open(dir());
    const p = makeProfile("user:1:bad");
    p.dims.api.ListUsers = [NaN, 0, T0, T0];
    await expect(s.putBaselines([p])).rejects.toMatchObject({ code: "invalid" });
    expect(s.getBaseline("user:1:bad")).toBeUndefined();
    await s.close();
  });
});

describe("a damaged store is refused, never overwritten", () => {
  async function seed(): Promise<Buffer> {
    const s = await TrailStore.open(dir());
    await s.putBaselines([makeProfile("user:1:alice", T0, 50)]);
    await s.recordFindings([makeFinding({ id: "f1" })], T0);
    await s.acknowledge("f1", "U1", T0);
    await s.close();
    return readFile(storeFile(dir()));
  }

  const cases: Array<[string, (b: Buffer) => Buffer, RegExp]> = [
    ["truncated", (b) => b.subarray(0, Math.floor(b.length * 0.6)), /truncated/],
    ["empty", () => Buffer.alloc(0), /empty/],
    ["a flipped byte", (b) => Buffer.concat([b.subarray(0, b.indexOf(":")), Buffer.from("#"), b.subarray(b.indexOf(":") + 1)]), /not valid JSON/],
    ["not UTF-8", (b) => Buffer.concat([b.subarray(0, 30), Buffer.from([0xff, 0xfe]), b.subarray(32)]), /not UTF-8/],
    ["schema mismatch", (b) => Buffer.from(b.toString().replace('"status":"acknowledged"', '"status":"maybe"')), /findings\.f1\.status/],
    ["not an object", () => Buffer.from("[1,2,3]"), /JSON object/],
  ];
  for (const [name, damage, message] of cases) {
    it(`${name}: open throws StoreError(damaged) with recovery commands, bytes unchanged`, async () => {
      const good = await seed();
      const bad = damage(good);
      await writeFile(storeFile(dir()), bad);
      const err = await openErr(dir());
      expect(err.code).toBe("damaged");
      expect(err.message).toMatch(message);
      expect(err.message).toContain(`trailhound store check --store ${dir()}`);
      expect(err.message).toContain(`trailhound store restore --store ${dir()}`);
      expect(Buffer.compare(await readFile(storeFile(dir())), bad)).toBe(0);
    });
  }

  it("a newer schema version is refused with code newer-version", async () => {
    await seed();
    const text = (await readFile(storeFile(dir()), "utf8")).replace('"schemaVersion":1', '"schemaVersion":99');
    await writeFile(storeFile(dir()), text);
    const err = await openErr(dir());
    expect(err.code).toBe("newer-version");
    expect(err.message).toMatch(/schema version 99/);
    expect(await readFile(storeFile(dir()), "utf8")).toBe(text);
  });

  it("one writer per store per process: a second open of the same directory is refused until the first is closed", async () => {
    const s = await TrailStore.open(dir());
    await expect(TrailStore.open(path.join(dir(), ".", "..", path.basename(dir())))).rejects.toMatchObject({ code: "conflict", message: /already open in this process/ });
    await s.close();
    const again = await TrailStore.open(dir());
    await again.close();
    // A failed open does not leave the directory registered.
    await writeFile(storeFile(dir()), "{");
    await expect(TrailStore.open(dir())).rejects.toMatchObject({ code: "damaged" });
    await expect(TrailStore.open(dir())).rejects.toMatchObject({ code: "damaged" });
  });

  it("an unreadable store path gives code unreadable", async () => {
    await writeFile(path.join(dir(), "file-not-dir"), "x");
    const err = await openErr(path.join(dir(), "file-not-dir"));
    expect(err.code).toBe("unreadable");
  });

  it("never overwrites a file another process replaced: reads it again and re-applies its own change on top", async () => {
    const s = await TrailStore.open(dir());
    await s.recordFindings([makeFinding({ id: "f1" }), makeFinding({ id: "f2" })], T0);
    // Another process replaces the file with its own decision (and a finding of its own) in it.
    const raw = JSON.parse(await readFile(storeFile(dir()), "utf8"));
    raw.findings.f1.status = "acknowledged";
    raw.findings.f1.acknowledged = { by: "U-other", at: new Date(T0).toISOString(), severity: "medium" };
    raw.findings.f9 = { ...raw.findings.f2, id: "f9", finding: { ...raw.findings.f2.finding, id: "f9" } };
    raw.audit.push({ at: new Date(T0).toISOString(), actor: "U-other", action: "ack", target: "f1" });
    await writeFileDurable(storeFile(dir()), JSON.stringify(raw));

    const mine = await s.acknowledge("f2", "U-mine", T0 + 1);
    expect(mine.acknowledged?.by).toBe("U-mine");
    // Both decisions are on disk and in memory.
    const onDisk = JSON.parse(await readFile(storeFile(dir()), "utf8"));
    expect(onDisk.findings.f1.acknowledged.by).toBe("U-other");
    expect(onDisk.findings.f2.acknowledged.by).toBe("U-mine");
    expect(Object.keys(onDisk.findings).sort()).toEqual(["f1", "f2", "f9"]);
    expect(onDisk.audit.map((e: { actor: string }) => e.actor)).toEqual(["U-other", "U-mine"]);
    expect(s.getFinding("f1")?.acknowledged?.by).toBe("U-other");
    expect(s.getFinding("f9")).toBeDefined();

    // A file moved away (deleted) is not recreated behind the operator's back.
    await rename(storeFile(dir()), `${storeFile(dir())}.moved`);
    await expect(s.acknowledge("f1", "U-mine", T0)).rejects.toMatchObject({ code: "conflict", reason: "missing" });
    expect((await readdir(dir())).includes("trailhound.json")).toBe(false);
    expect(s.getFinding("f1")?.acknowledged?.by).toBe("U-other"); // the refused change was not applied
    // Once it is back, changes are saved on top of it again.
    await rename(`${storeFile(dir())}.moved`, storeFile(dir()));
    await s.acknowledge("f1", "U-mine", T0);
    // (A second acknowledgement keeps the first one and goes in the history.)
    expect(JSON.parse(await readFile(storeFile(dir()), "utf8")).findings.f1.history.at(-1).by).toBe("U-mine");
    await s.close();
  });

  it("waits for another process's write lock, and takes over a lock left by a dead process", async () => {
    const { acquireLock } = await import("../../src/store/index.js");
    const s = await TrailStore.open(dir());
    const lock = `${storeFile(dir())}.lock`;
    const release = await acquireLock(lock);
    const pending = s.setCursor("k", { newestTime: 1, newestIds: [], updatedAt: "t" });
    let done = false;
    void pending.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 150));
    expect(done).toBe(false); // blocked by the lock
    await release();
    await pending;
    expect(s.getCursor("k")).toBeDefined();
    // A lock whose holder is dead (on this host) is taken over at once.
    await writeFile(lock, JSON.stringify({ pid: 2 ** 22 + 12345, host: (await import("node:os")).hostname(), at: "x" }));
    await s.setCursor("k2", { newestTime: 1, newestIds: [], updatedAt: "t" });
    expect((await readdir(dir())).includes("trailhound.json.lock")).toBe(false);
    // A live holder that never lets go: the write fails (code conflict, reason locked) after the timeout.
    await expect(acquireLock(lock, { timeoutMs: 50 }).then((r) => acquireLock(lock, { timeoutMs: 100 }).finally(r))).rejects.toMatchObject({
      code: "conflict",
      reason: "locked",
    });
    await s.close();
  });
});
