import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { TrailStore, type AuditEntry, type CursorStore } from "../../src/store/index.js";
import { DAY, HOUR, T0, makeFinding, makeProfile, tempDirEach, withSeverity, storeKinds } from "./helpers.js";

const dir = tempDirEach();

/** Run each lifecycle test against both the file store and the in-memory twin. */
const kinds = storeKinds(dir);

for (const [kind, make] of kinds) {
  describe(`findings (${kind})`, () => {
    it("new, then repeated; counts scans and keeps first/last seen", async () => {
      const s = await make();
      const f = makeFinding({ id: "f1" });
      expect(await s.recordFindings([f], T0)).toEqual([{ id: "f1", kind: "new", status: "open", reopened: false, notify: true }]);
      const later = { ...f, firstSeen: new Date(T0 + HOUR).toISOString(), lastSeen: new Date(T0 + 2 * HOUR).toISOString() };
      const [r] = await s.recordFindings([later], T0 + 2 * HOUR);
      expect(r).toMatchObject({ kind: "repeated", status: "open", notify: false, previousSeverity: "medium" });
      const stored = s.getFinding("f1")!;
      expect(stored.seenInScans).toBe(2);
      expect(stored.firstSeen).toBe(f.firstSeen);
      expect(stored.lastSeen).toBe(later.lastSeen);
      await s.close();
    });

    it("acknowledged stays acknowledged when repeated or lowered, and reopens when severity rises above the acknowledged one", async () => {
      const s = await make();
      const f = makeFinding({ id: "f1", severity: "medium" });
      await s.recordFindings([f], T0);
      const acked = await s.acknowledge("f1", "U1", T0 + 1);
      expect(acked).toMatchObject({ status: "acknowledged", acknowledged: { by: "U1", severity: "medium" } });

      expect((await s.recordFindings([f], T0 + HOUR))[0]).toMatchObject({ kind: "repeated", status: "acknowledged", notify: false });
      expect((await s.recordFindings([withSeverity(f, "low")], T0 + 2 * HOUR))[0]).toMatchObject({ kind: "repeated", status: "acknowledged" });
      // Back to medium: raised against the last report, but not above what was acknowledged.
      expect((await s.recordFindings([f], T0 + 3 * HOUR))[0]).toMatchObject({ kind: "severity-raised", status: "acknowledged", notify: false });

      const [up] = await s.recordFindings([withSeverity(f, "high")], T0 + 4 * HOUR);
      expect(up).toMatchObject({ kind: "severity-raised", status: "open", reopened: true, notify: true, previousStatus: "acknowledged", previousSeverity: "medium" });
      const stored = s.getFinding("f1")!;
      expect(stored.acknowledged).toBeUndefined();
      expect(stored.severityHistory.map((h) => h.severity)).toEqual(["medium", "low", "medium", "high"]);
      expect(stored.history.map((h) => [h.action, h.by])).toEqual([
        ["ack", "U1"],
        ["reopen", "trailhound"],
      ]);
      expect(stored.history[1]!.detail).toMatch(/medium \(acknowledged by U1\) to high/);
      await s.close();
    });

    it("resolved reopens when seen again; decisions go to the audit log", async () => {
      const s = await make();
      const f = makeFinding({ id: "f1" });
      await s.recordFindings([f], T0);
      await s.resolve("f1", "U2", T0 + 1);
      expect(s.getFinding("f1")).toMatchObject({ status: "resolved", resolved: { by: "U2" } });
      expect((await s.recordFindings([f], T0 + DAY))[0]).toMatchObject({ status: "open", reopened: true, notify: true });
      expect(s.auditLog().map((e) => [e.action, e.actor, e.target])).toEqual([["resolve", "U2", "f1"]]);
      await expect(s.acknowledge("missing", "U1", T0)).rejects.toMatchObject({ code: "not-found" });
      await s.close();
    });
  });

  describe(`suppressions (${kind})`, () => {
    it("validates: reason required, until in the future, fields of the scope", async () => {
      const s = await make();
      const base = { scope: "identity" as const, identityKey: "user:1:a", until: T0 + DAY, reason: "known", by: "U1" };
      await expect(s.suppress({ ...base, reason: "  " }, T0)).rejects.toMatchObject({ code: "invalid", message: /reason/i });
      await expect(s.suppress({ ...base, until: T0 - 1 }, T0)).rejects.toMatchObject({ code: "invalid", message: /future/ });
      await expect(s.suppress({ ...base, until: "not a date" }, T0)).rejects.toMatchObject({ code: "invalid" });
      const { identityKey: _, ...withoutKey } = base;
      await expect(s.suppress(withoutKey, T0)).rejects.toMatchObject({ code: "invalid", message: /identityKey/ });
      await expect(s.suppress({ ...base, scope: "identity-detector" }, T0)).rejects.toMatchObject({ code: "invalid", message: /detector/ });
      await expect(s.suppress({ ...base, scope: "everything" as never }, T0)).rejects.toMatchObject({ code: "invalid" });
      // Only the fields of the scope are kept.
      const ok = await s.suppress({ ...base, detector: "new-api", sourceIp: "1.2.3.4" }, T0);
      expect(ok).toEqual({
        id: ok.id,
        scope: "identity",
        identityKey: "user:1:a",
        reason: "known",
        by: "U1",
        createdAt: new Date(T0).toISOString(),
        until: new Date(T0 + DAY).toISOString(),
      });
      expect(s.data.suppressions).toHaveLength(1);
      await s.close();
    });

    it("scope semantics of matchSuppression", async () => {
      const s = await make();
      const alice = makeFinding({ id: "a", identity: { key: "user:1:alice", type: "IAMUser" }, detector: "new-api", sourceIp: "203.0.113.7" });
      const bob = makeFinding({ id: "b", identity: { key: "user:1:bob", type: "IAMUser" }, detector: "new-api", sourceIp: "198.51.100.9" });
      const aliceOther = { ...alice, id: "a2", detector: "new-country" };
      const { sourceIp: _, ...bobWithoutIp } = bob;
      const noIp = { ...bobWithoutIp, id: "b2", detector: "root-login" };
      const until = T0 + DAY;
      const idDet = await s.suppress({ scope: "identity-detector", identityKey: "user:1:alice", detector: "new-api", until, reason: "r", by: "U" }, T0);
      expect(s.matchSuppression(alice, T0)?.id).toBe(idDet.id);
      expect(s.matchSuppression(aliceOther, T0)).toBeUndefined();
      expect(s.matchSuppression(bob, T0)).toBeUndefined();

      const ip = await s.suppress({ scope: "ip", sourceIp: "198.51.100.9", until, reason: "r", by: "U" }, T0);
      expect(s.matchSuppression(bob, T0)?.id).toBe(ip.id);
      expect(s.matchSuppression(noIp, T0)).toBeUndefined();

      const det = await s.suppress({ scope: "detector", detector: "root-login", until, reason: "r", by: "U" }, T0);
      expect(s.matchSuppression(noIp, T0)?.id).toBe(det.id);

      const ident = await s.suppress({ scope: "identity", identityKey: "user:1:alice", until, reason: "r", by: "U" }, T0);
      expect(s.matchSuppression(aliceOther, T0)?.id).toBe(ident.id);
      // The most specific one wins.
      expect(s.matchSuppression(alice, T0)?.id).toBe(idDet.id);
      // Not after it ends.
      expect(s.matchSuppression(alice, until)).toBeUndefined();
      expect(s.activeSuppressions(T0)).toHaveLength(4);
      expect(s.activeSuppressions(until)).toHaveLength(0);
      await s.close();
    });

    it("suppress -> findings suppressed; unsuppress -> open again; expiry announced once and reopens", async () => {
      const s = await make();
      const f = makeFinding({ id: "f1" });
      await s.recordFindings([f], T0);
      const sup = await s.suppress({ scope: "identity-detector", identityKey: f.identity.key, detector: f.detector, until: T0 + DAY, reason: "CI role", by: "U1" }, T0);
      expect(s.getFinding("f1")).toMatchObject({ status: "suppressed", suppressedBy: sup.id });
      expect((await s.recordFindings([withSeverity(f, "high")], T0 + HOUR))[0]).toMatchObject({
        kind: "severity-raised",
        status: "suppressed",
        notify: false,
        suppressedBy: sup.id,
      });
      // A new finding covered by it is recorded as suppressed, not announced.
      expect((await s.recordFindings([{ ...f, id: "f2" }], T0 + HOUR))[0]).toMatchObject({ kind: "new", status: "suppressed", notify: false });

      const removed = await s.unsuppress(sup.id, "U2", T0 + 2 * HOUR);
      expect(removed.removed).toEqual({ by: "U2", at: new Date(T0 + 2 * HOUR).toISOString() });
      expect(s.getFinding("f1")).toMatchObject({ status: "open" });
      expect(s.getFinding("f1")!.suppressedBy).toBeUndefined();
      expect(s.activeSuppressions(T0 + 2 * HOUR)).toEqual([]);
      await expect(s.unsuppress("s-nope", "U2", T0)).rejects.toMatchObject({ code: "not-found" });

      // Expiry.
      const short = await s.suppress({ scope: "ip", sourceIp: f.sourceIp!, until: T0 + 3 * HOUR, reason: "pentest", by: "U3" }, T0 + 2 * HOUR);
      expect(s.getFinding("f1")!.status).toBe("suppressed");
      expect(s.expiredUnannounced(T0 + 3 * HOUR - 1)).toEqual([]);
      expect(s.expiredUnannounced(T0 + 3 * HOUR).map((x) => x.id)).toEqual([short.id]);
      await s.markExpiryAnnounced([short.id], T0 + 3 * HOUR);
      expect(s.expiredUnannounced(T0 + 4 * HOUR)).toEqual([]);
      expect(s.getFinding("f1")).toMatchObject({ status: "open" });
      // Removed ones are never announced as expired.
      expect(s.data.suppressions.find((x) => x.id === sup.id)?.expiryAnnounced).toBeUndefined();

      expect(s.auditLog(10).map((e) => [e.action, e.actor])).toEqual([
        ["suppress", "U3"],
        ["unsuppress", "U2"],
        ["suppress", "U1"],
      ]);
      expect(s.auditLog(10)[2]!.detail).toMatch(/new-api for user:111122223333:alice until .*: CI role/);
      await s.close();
    });

    it("a finding whose suppression expired (unannounced) reopens when seen again", async () => {
      const s = await make();
      const f = makeFinding({ id: "f1" });
      await s.suppress({ scope: "detector", detector: f.detector, until: T0 + HOUR, reason: "noisy", by: "U" }, T0);
      expect((await s.recordFindings([f], T0))[0]).toMatchObject({ status: "suppressed" });
      expect((await s.recordFindings([f], T0 + 2 * HOUR))[0]).toMatchObject({ status: "open", reopened: true, notify: true });
      await s.close();
    });
  });

  describe(`the rest of the API (${kind})`, () => {
    it("baselines: put replaces by key, get/getBaselines, prune by last seen", async () => {
      const s = await make();
      await s.putBaselines([makeProfile("a", T0), makeProfile("b", T0 - 40 * DAY), makeProfile("c", T0 - 5 * DAY)]);
      await s.putBaselines([makeProfile("a", T0, 9)]);
      expect(Object.keys(s.getBaseline("a")!.dims.api)).toHaveLength(9);
      expect([...s.getBaselines(["a", "zzz", "c"]).keys()]).toEqual(["a", "c"]);
      expect(s.getBaselines().size).toBe(3);
      expect(s.getBaseline("toString")).toBeUndefined();
      await s.recordFindings(
        [makeFinding({ id: "old", lastSeen: new Date(T0 - 60 * DAY).toISOString() }), makeFinding({ id: "acked", lastSeen: new Date(T0 - 60 * DAY).toISOString() })],
        T0 - 60 * DAY,
      );
      await s.resolve("old", "U", T0 - 59 * DAY);
      await s.acknowledge("acked", "U", T0 - 59 * DAY);
      expect(await s.prune({ olderThanDays: 30 }, T0)).toEqual({ baselines: 1, findings: 1, suppressions: 0, scans: 0, auditFiles: 0 });
      expect([...s.getBaselines().keys()].sort()).toEqual(["a", "c"]);
      expect(s.getFinding("acked")?.status).toBe("acknowledged"); // a decision is kept (for findingsDays, a year by default)
      expect(s.auditLog(1)[0]).toMatchObject({ action: "prune" });
      await expect(s.prune({ olderThanDays: 0 }, T0)).rejects.toMatchObject({ code: "invalid" });
      await s.close();
    });

    it("cursors() satisfies the CursorStore port", async () => {
      const s = await make();
      const port: CursorStore = s.cursors();
      expect(port.get("k")).toBeUndefined();
      await port.set("k", { newestTime: T0, newestIds: ["e1"], updatedAt: "2024-06-01T12:00:00.000Z" });
      expect(port.get("k")).toEqual({ newestTime: T0, newestIds: ["e1"], updatedAt: "2024-06-01T12:00:00.000Z" });
      expect(s.getCursor("k")?.newestIds).toEqual(["e1"]);
      await s.close();
    });

    it("keeps the last 50 scans", async () => {
      const s = await make();
      for (let i = 0; i < 55; i++) void s.addScan({ at: `t${i}`, by: "cli", target: "all", window: { start: "a", end: "b" }, events: i, findings: 0, partial: false });
      await s.flush();
      expect(s.scans().map((x) => x.events)).toEqual(Array.from({ length: 50 }, (_, i) => i + 5));
      await s.close();
    });

    it("digests: create, mark parts (idempotent), sent; pending lists the unsent; runs", async () => {
      const s = await make();
      const a = await s.createDigest({ schedule: "daily", channel: "C1", window: { start: "a", end: "b" }, findingIds: ["f1"] }, T0);
      const b = await s.createDigest({ id: "fixed", schedule: "weekly", channel: "C2", window: { start: "a", end: "b" }, findingIds: [] }, T0);
      expect(b.id).toBe("fixed");
      await expect(s.createDigest({ id: "fixed", schedule: "weekly", channel: "C2", window: { start: "a", end: "b" }, findingIds: [] }, T0)).rejects.toMatchObject({
        code: "invalid",
      });
      await s.markDigestPart(a.id, "1.1");
      await s.markDigestPart(a.id, "1.1");
      await s.markDigestPart(a.id, "1.2");
      expect(s.getDigest(a.id)?.posted).toEqual(["1.1", "1.2"]);
      await s.markDigestFailed(b.id, "channel_not_found");
      expect(s.pendingDigests().map((d) => [d.id, d.state])).toEqual([
        [a.id, "pending"],
        ["fixed", "failed"],
      ]);
      await s.markDigestSent(a.id, T0 + 1);
      expect(s.pendingDigests().map((d) => d.id)).toEqual(["fixed"]);
      expect(s.getDigest(a.id)).toMatchObject({ state: "sent", sentAt: new Date(T0 + 1).toISOString() });
      await expect(s.markDigestSent("nope")).rejects.toMatchObject({ code: "not-found" });
      await s.setDigestRun("daily", T0);
      expect(s.digestRuns()).toEqual({ daily: new Date(T0).toISOString() });
      // Content kept until sent; severities and expiries stay.
      const c = await s.createDigest(
        {
          schedule: "daily",
          channel: "C1",
          window: { start: "a", end: "b" },
          findingIds: ["f1"],
          parts: [{ text: "t", blocks: [{ type: "divider" }], thread: false }],
          severities: { f1: "high" },
          expiries: ["s-1"],
        },
        T0,
      );
      expect(s.getDigest(c.id)?.parts).toHaveLength(1);
      await s.markDigestSent(c.id, T0);
      expect(s.getDigest(c.id)).toMatchObject({ state: "sent", severities: { f1: "high" }, expiries: ["s-1"] });
      expect(s.getDigest(c.id)?.parts).toBeUndefined();
      expect(s.digests().map((d) => d.id)).toEqual([a.id, "fixed", c.id]);
      await s.close();
    });

    it("audit: validated, newest first", async () => {
      const s = await make();
      await s.audit({ at: new Date(T0).toISOString(), actor: "U1", action: "refused", target: "ack f1", detail: "not an admin" });
      await s.audit({ at: new Date(T0 + 1).toISOString(), actor: "U2", action: "scan", target: "all" });
      await expect(s.audit({ at: "x", actor: "U", action: "scan", target: "t" })).rejects.toMatchObject({ code: "invalid" });
      await expect(s.audit({ at: new Date(T0).toISOString(), actor: "U", action: "delete-everything" as never, target: "t" })).rejects.toMatchObject({ code: "invalid" });
      expect(s.auditLog(5).map((e) => e.actor)).toEqual(["U2", "U1"]);
      expect(s.auditLog(1).map((e) => e.actor)).toEqual(["U2"]);
      await s.close();
    });
  });
}

describe("audit cap and rotation", () => {
  it("keeps the newest N entries in the store and appends the rotated ones to audit-<date>.jsonl", async () => {
    const s = await TrailStore.open(dir(), { auditCap: 100 });
    const entry = (i: number): AuditEntry => ({ at: new Date(T0 + i * HOUR).toISOString(), actor: `U${i}`, action: "refused", target: `t${i}` });
    for (let i = 0; i < 130; i++) void s.audit(entry(i));
    await s.flush();
    for (let i = 130; i < 150; i++) await s.audit(entry(i));
    expect(s.data.audit).toHaveLength(100);
    expect(s.auditLog(1)[0]!.actor).toBe("U149");
    expect(s.data.audit[0]!.actor).toBe("U50");
    await s.close();

    const files = (await readdir(dir())).filter((n) => n.startsWith("audit-")).sort();
    // Entries are filed by their own date: T0 is 12:00 UTC, so hours 0..11 are 2024-06-01, 12..35 the 2nd, ...
    expect(files).toEqual(["audit-2024-06-01.jsonl", "audit-2024-06-02.jsonl", "audit-2024-06-03.jsonl"]);
    const rotated: AuditEntry[] = [];
    for (const f of files) {
      for (const line of (await readFile(path.join(dir(), f), "utf8")).trim().split("\n")) rotated.push(JSON.parse(line) as AuditEntry);
    }
    expect(rotated.map((e) => e.actor)).toEqual(Array.from({ length: 50 }, (_, i) => `U${i}`));
    const r = await TrailStore.open(dir(), { auditCap: 100 });
    expect(r.data.audit.map((e) => e.actor)).toEqual(Array.from({ length: 100 }, (_, i) => `U${i + 50}`));
    await r.close();
  });

  it("the in-memory twin keeps initial data as given (an empty profile's Infinity included)", async () => {
    const { emptyProfile } = await import("../../src/baseline/profile.js");
    const s = TrailStore.memory({ baselines: { "user:1:new": emptyProfile("user:1:new", "IAMUser") } });
    expect(s.getBaseline("user:1:new")?.first).toBe(Infinity);
    expect(s.stats().bytes).toBe(0);
  });

  it("the in-memory twin rotates into rotatedAudit", async () => {
    const s = TrailStore.memory({}, { auditCap: 3 });
    for (let i = 0; i < 5; i++) await s.audit({ at: new Date(T0).toISOString(), actor: `U${i}`, action: "scan", target: "x" });
    expect(s.data.audit.map((e) => e.actor)).toEqual(["U2", "U3", "U4"]);
    expect(s.rotatedAudit.map((e) => e.actor)).toEqual(["U0", "U1"]);
  });
});

describe("stats", () => {
  it("reports size, counts, writes, and warns past the threshold saying what to prune", async () => {
    const s = await TrailStore.open(dir(), { warnBytes: 10_000 });
    await s.putBaselines(Array.from({ length: 30 }, (_, i) => makeProfile(`user:1:u${i}`, T0, 20)));
    await s.recordFindings([makeFinding({ id: "f1" })], T0);
    const st = s.stats(T0);
    expect(st.file).toBe(path.join(dir(), "trailhound.json"));
    expect(st.bytes).toBe((await readFile(path.join(dir(), "trailhound.json"))).length);
    expect(st.counts).toMatchObject({ baselines: 30, findings: 1, findingsByStatus: { open: 1 } });
    expect(st.sections.baselines).toBeGreaterThan(st.sections.findings);
    expect(st.warnings.join(" ")).toMatch(/past 9\.8 KB \(baselines .*Of 30 identities' baselines, 0 were not seen in 30 days/);
    expect(s.stats(T0 + 45 * DAY).warnings.join(" ")).toMatch(/30 were not seen in 30 days and 0 not in 60: prune them/);
    await s.close();

    const small = await TrailStore.open(dir());
    expect(small.stats(T0).warnings).toEqual([]);
    await small.close();
  });
});
