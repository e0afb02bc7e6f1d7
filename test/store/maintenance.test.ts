import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { storeCheckCommand, storeRestoreCommand } from "../../src/store/cli.js";
import { StoreError, TrailStore, checkStore, listBackups, restoreBackup, storeFile } from "../../src/store/index.js";
import { DAY, T0, makeFinding, makeProfile, tempDirEach } from "./helpers.js";

const dir = tempDirEach();

/** A v0 store, written by hand: no schemaVersion, acknowledgements apart from findings. */
function v0Fixture() {
  const f1 = makeFinding({ id: "f1", severity: "high" });
  const f2 = makeFinding({ id: "f2", severity: "low" });
  return {
    baselines: { "user:1:alice": { ...makeProfile("user:1:alice"), first: null, last: null, trainedUntil: null } },
    findings: {
      f1: { id: "f1", firstSeen: f1.firstSeen, lastSeen: f1.lastSeen, count: 3, severity: "high", finding: f1 },
      f2: { id: "f2", firstSeen: f2.firstSeen, lastSeen: f2.lastSeen, count: 1, severity: "low", finding: f2 },
    },
    acks: {
      f1: { by: "U-ack", at: "2024-05-30T10:00:00.000Z" },
      gone: { by: "U-old", at: "2024-04-01T10:00:00.000Z" },
    },
    suppressions: [],
    audit: [{ at: "2024-05-30T10:00:00.000Z", actor: "U-ack", action: "ack", target: "f1" }],
    cursors: { "lookup:1:us-east-1": { newestTime: T0, newestIds: ["x"], updatedAt: "2024-05-30T10:00:00.000Z" } },
  };
}

describe("migrations", () => {
  it("migrates a hand-written v0 store, keeping a backup of the original and every acknowledgement", async () => {
    const original = JSON.stringify(v0Fixture(), null, 2);
    await writeFile(storeFile(dir()), original);
    const s = await TrailStore.open(dir(), { clock: () => T0 });

    const backups = await listBackups(dir());
    expect(backups.map((b) => [b.name, b.kind, b.version]).sort()).toEqual([
      ["trailhound.2024-06-01T12-00-00-000Z.v0.json", "migration", 0],
      ["trailhound.2024-06-01T12-00-00-000Z.v1.daily.json", "daily", 1],
    ]);
    const pre = backups.find((b) => b.kind === "migration")!;
    expect(await readFile(pre.path, "utf8")).toBe(original);

    expect(s.data.schemaVersion).toBe(1);
    expect(s.getFinding("f1")).toMatchObject({
      status: "acknowledged",
      acknowledged: { by: "U-ack", at: "2024-05-30T10:00:00.000Z", severity: "high" },
      seenInScans: 3,
      severityHistory: [{ severity: "high" }],
    });
    expect(s.getFinding("f2")).toMatchObject({ status: "open", seenInScans: 1, history: [] });
    // The acknowledgement of a finding no longer stored is kept in the audit log.
    expect(s.auditLog(10).find((e) => e.target === "gone")).toMatchObject({ actor: "U-old", action: "ack" });
    expect(s.getBaseline("user:1:alice")?.first).toBe(Infinity);
    expect(s.getCursor("lookup:1:us-east-1")?.newestIds).toEqual(["x"]);
    // The migrated acknowledgement still works as one: same severity stays acknowledged.
    expect((await s.recordFindings([makeFinding({ id: "f1", severity: "high" })], T0))[0]).toMatchObject({ status: "acknowledged" });
    await s.close();

    // The file on disk is now v1, and opening again migrates nothing.
    expect(JSON.parse(await readFile(storeFile(dir()), "utf8")).schemaVersion).toBe(1);
    const again = await TrailStore.open(dir(), { clock: () => T0 + 1000 });
    expect((await listBackups(dir())).filter((b) => b.kind === "migration")).toHaveLength(1);
    await again.close();
  });

  it("keeps only the last few migration backups", async () => {
    for (let i = 0; i < 7; i++) {
      await writeFile(storeFile(dir()), JSON.stringify(v0Fixture()));
      const s = await TrailStore.open(dir(), { clock: () => T0 + i * 1000, keepMigrationBackups: 3 });
      await s.close();
    }
    const m = (await listBackups(dir())).filter((b) => b.kind === "migration");
    expect(m.map((b) => b.createdAt)).toEqual([2, 1, 0].map((i) => new Date(T0 + (i + 4) * 1000).toISOString()));
  });

  it("a v0 file that cannot be migrated into a valid store is refused, not overwritten", async () => {
    const bad = JSON.stringify({ ...v0Fixture(), baselines: { x: { key: 1 } } });
    await writeFile(storeFile(dir()), bad);
    await expect(TrailStore.open(dir())).rejects.toMatchObject({ code: "damaged", message: /baselines\.x/ });
    expect(await readFile(storeFile(dir()), "utf8")).toBe(bad);
  });
});

describe("rolling backups", () => {
  it("takes a daily backup when one is due (at open and while running), keeping the last few", async () => {
    let now = T0;
    const clock = () => now;
    const s0 = await TrailStore.open(dir(), { clock });
    await s0.recordFindings([makeFinding({ id: "f1" })], T0);
    await s0.close();
    expect(await listBackups(dir())).toEqual([]); // a brand-new store has nothing worth a backup yet

    const s = await TrailStore.open(dir(), { clock, keepDailyBackups: 3 });
    await s.flush(); // the backup taken at open is written while the caller goes on
    expect((await listBackups(dir())).map((b) => b.kind)).toEqual(["daily"]);
    for (let day = 1; day <= 4; day++) {
      now = T0 + day * DAY;
      await s.acknowledge("f1", `U${day}`, now);
      now += 1000;
      await s.acknowledge("f1", `U${day}b`, now); // same day: no new backup
    }
    await s.close();
    const daily = await listBackups(dir());
    expect(daily.map((b) => b.createdAt)).toEqual([4, 3, 2].map((d) => new Date(T0 + d * DAY).toISOString()));
    // A backup is a complete, loadable store, holding the decision made by the write that took it.
    const newest = JSON.parse(await readFile(daily[0]!.path, "utf8"));
    expect(newest.findings.f1.history.at(-1).by).toBe("U4");
  });
});

describe("checkStore / restoreBackup", () => {
  async function seedWithBackup(): Promise<void> {
    let now = T0;
    const s = await TrailStore.open(dir(), { clock: () => now });
    await s.putBaselines([makeProfile("user:1:alice")]);
    await s.recordFindings([makeFinding({ id: "f1" }), makeFinding({ id: "f2" })], T0);
    await s.close();
    now = T0 + 1000;
    const s2 = await TrailStore.open(dir(), { clock: () => now }); // takes the daily backup
    await s2.acknowledge("f1", "U1", now);
    await s2.close();
  }

  it("check: a healthy store", async () => {
    await seedWithBackup();
    const c = await checkStore(dir(), T0);
    expect(c.ok).toBe(true);
    expect(c.problems).toEqual([]);
    expect(c.schemaVersion).toBe(1);
    expect(c.counts).toMatchObject({ baselines: 1, findings: 2, findingsByStatus: { open: 1, acknowledged: 1 } });
    expect(c.lines.join("\n")).toMatch(/size: .*\nschema version: 1 \(this build: 1\)\nbaselines: 1 identities\nfindings: 2 \(1 open, 1 acknowledged, 0 suppressed, 0 resolved\)/);
    expect(c.lines.at(-1)).toBe("status: OK");
  });

  it("check, then restore a truncated store: the damaged file is moved aside (not deleted) and the backup is loadable", async () => {
    await seedWithBackup();
    const good = await readFile(storeFile(dir()));
    const truncated = good.subarray(0, good.length - 20);
    await writeFile(storeFile(dir()), truncated);
    await writeFile(path.join(dir(), ".trailhound.json.999.0.tmp"), "partial");

    const c = await checkStore(dir());
    expect(c.ok).toBe(false);
    expect(c.problems.join()).toMatch(/truncated/);
    expect(c.lines.join("\n")).toMatch(/Leftover temporary file/);
    expect(c.lines.join("\n")).toMatch(/trailhound store restore --store/);
    expect(Buffer.compare(await readFile(storeFile(dir())), truncated)).toBe(0); // check never writes

    const out: string[] = [];
    expect(await storeCheckCommand(dir(), (l) => out.push(l))).toBe(1);
    expect(await storeRestoreCommand(dir(), undefined, (l) => out.push(l))).toBe(0); // lists
    expect(out.join("\n")).toMatch(/trailhound\.2024-06-01T12-00-01-000Z\.v1\.daily\.json/);

    const r = await restoreBackup(dir(), undefined, T0 + 5000);
    expect(r.restored.name).toBe("trailhound.2024-06-01T12-00-01-000Z.v1.daily.json");
    expect(r.movedAside).toBe(`${storeFile(dir())}.damaged-2024-06-01T12-00-05-000Z`);
    expect(Buffer.compare(await readFile(r.movedAside!), truncated)).toBe(0);
    const s = await TrailStore.open(dir());
    expect(s.getFinding("f2")).toBeDefined();
    await s.close();
    expect((await checkStore(dir())).ok).toBe(true);
  });

  it("restore by name; skips damaged backups when none is named; errors say what is available", async () => {
    await seedWithBackup();
    const [b] = await listBackups(dir());
    // A newer, damaged backup.
    const bad = path.join(dir(), "backups", "trailhound.2030-01-01T00-00-00-000Z.v1.daily.json");
    await writeFile(bad, "{");
    const r = await restoreBackup(dir(), undefined, T0 + 9000);
    expect(r.skipped.map((x) => x.name)).toEqual([path.basename(bad)]);
    expect(r.restored.name).toBe(b!.name);
    expect(r.movedAside).toMatch(/\.replaced-/); // the current file was healthy

    await expect(restoreBackup(dir(), path.basename(bad))).rejects.toMatchObject({ code: "damaged" });
    await expect(restoreBackup(dir(), "nope.json")).rejects.toMatchObject({ code: "not-found", message: new RegExp(b!.name.replace(/\./g, "\\.")) });
    const err: string[] = [];
    expect(
      await storeRestoreCommand(
        dir(),
        "nope.json",
        () => undefined,
        (l) => err.push(l),
      ),
    ).toBe(1);
    expect(err[0]).toMatch(/No backup named nope\.json/);
    // Nothing was ever deleted.
    expect((await readdir(dir())).filter((n) => n.startsWith("trailhound.json.")).length).toBe(1);
  });

  it("no backups: restore refuses with no-backup and leaves the file alone", async () => {
    await mkdir(dir(), { recursive: true });
    await writeFile(storeFile(dir()), "{broken");
    const e = await restoreBackup(dir()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StoreError);
    expect(e).toMatchObject({ code: "no-backup" });
    expect(await readFile(storeFile(dir()), "utf8")).toBe("{broken");
    expect((await checkStore(dir())).lines.join("\n")).toMatch(/No backup to restore/);
  });

  it("a lost store file is not silently replaced by an empty store while backups exist", async () => {
    await seedWithBackup();
    const { unlink } = await import("node:fs/promises");
    await unlink(storeFile(dir()));
    await expect(TrailStore.open(dir())).rejects.toMatchObject({ code: "missing", message: /store restore --store .* latest/ });
    expect((await readdir(dir())).includes("trailhound.json")).toBe(false);
    expect(await storeRestoreCommand(dir(), "latest", () => undefined)).toBe(0);
    const s = await TrailStore.open(dir());
    expect(s.getFinding("f2")).toBeDefined();
    await s.close();
  });

  it("a running store picks up a file that a restore replaced, and saves its next change on top of it", async () => {
    await seedWithBackup(); // the backup has f1 open; the store file has f1 acknowledged by U1
    const s = await TrailStore.open(dir(), { clock: () => T0 + 2000 }); // no new daily backup
    expect(s.getFinding("f1")?.status).toBe("acknowledged");
    await restoreBackup(dir(), undefined, T0 + 9000);
    await s.acknowledge("f2", "U9", T0);
    expect(s.getFinding("f1")?.status).toBe("open"); // the restore rolled it back, on purpose
    const onDisk = JSON.parse(await readFile(storeFile(dir()), "utf8"));
    expect(onDisk.findings.f2.acknowledged.by).toBe("U9");
    expect(onDisk.findings.f1.status).toBe("open");
    await s.close();
  });
});
