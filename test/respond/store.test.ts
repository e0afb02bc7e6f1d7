import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { TrailStore } from "../../src/store/store.js";
import type { ContainmentRecord } from "../../src/store/types.js";

const rec: ContainmentRecord = {
  id: "C1",
  findingId: "F1",
  action: "deactivate-key",
  account: "111111111111",
  resource: "arn:aws:iam::111111111111:user/alice",
  summary: "key AKIA...MPLE deactivated",
  calls: [{ api: "iam:UpdateAccessKey", input: { UserName: "alice", AccessKeyId: "AKIAIOSFODNN7EXAMPLE", Status: "Inactive" } }],
  breaks: "b",
  undo: [{ api: "iam:UpdateAccessKey", input: { UserName: "alice", AccessKeyId: "AKIAIOSFODNN7EXAMPLE", Status: "Active" } }],
  dryRun: false,
  state: "executed",
  proposedBy: "U1",
  proposedAt: "2026-12-06T03:14:00.000Z",
  steps: [{ at: "2026-12-06T03:14:00.000Z", by: "U1", step: "executed", api: "iam:UpdateAccessKey", requestId: "r1" }],
  slack: { channel: "C0SEC", ts: "1.2" },
};

describe("containments in the store", () => {
  it("are written only once there is one (older stores keep their bytes), survive a reload, and audit in the same write", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "th-cstore-"));
    try {
      const s = await TrailStore.open(dir);
      await s.audit({ at: "2026-12-06T03:00:00.000Z", actor: "U1", action: "ack", target: "F1" });
      await s.close();
      expect(await readFile(path.join(dir, "trailhound.json"), "utf8")).not.toContain("containments");
      const s2 = await TrailStore.open(dir);
      await s2.putContainment("C1", () => ({ record: rec, audit: [{ at: rec.proposedAt, actor: "U1", action: "contain-executed", target: "F1", detail: "r1" }] }));
      await expect(
        s2.putContainment("C2", () => ({ record: { ...rec, id: "C2" }, audit: [{ at: rec.proposedAt, actor: "U1", action: "nope" as "ack", target: "F1" }] })),
      ).rejects.toThrow(/Unknown audit action/);
      expect(s2.getContainment("C2")).toBeUndefined();
      await s2.close();
      const s3 = await TrailStore.open(dir);
      expect(s3.getContainment("C1")).toEqual(rec);
      expect(s3.containmentsFor("F1").map((c) => c.id)).toEqual(["C1"]);
      expect(s3.auditLog(1)[0]).toMatchObject({ action: "contain-executed", detail: "r1" });
      await s3.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
