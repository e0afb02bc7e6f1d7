/** audit.ts: entries in their stored form, the cap, and the rotation to audit-<date>.jsonl. */
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { appendRotatedAudit, auditEntry, auditLog, capAudit, containmentAuditEntry } from "../../src/store/audit.js";
import { emptyStoreData, type AuditEntry } from "../../src/store/types.js";
import { T0, tempDir } from "./helpers.js";

const iso = (t: number) => new Date(t).toISOString();

describe("auditEntry", () => {
  it("normalises: ISO time, trimmed actor, target as text, detail only when given", () => {
    expect(auditEntry({ at: T0 as never, actor: "  U1 ", action: "scan", target: 42 as never })).toEqual({ at: iso(T0), actor: "U1", action: "scan", target: "42" });
    expect(auditEntry({ at: iso(T0), actor: "U", action: "ack", target: "f", detail: 7 as never }).detail).toBe("7");
  });

  it("refuses an unknown action, a missing actor, a bad time", () => {
    expect(() => auditEntry({ at: iso(T0), actor: "U", action: "wipe" as never, target: "" })).toThrow(/Unknown audit action wipe/);
    expect(() => auditEntry({ at: iso(T0), actor: "", action: "scan", target: "" })).toThrow(/Audit actor is required/);
    expect(() => auditEntry({ at: "yesterday", actor: "U", action: "scan", target: "" })).toThrow(/Not a valid time/);
  });

  it("a containment's entry keeps its fields as given, with the time normalised", () => {
    const e = containmentAuditEntry({ at: T0 as never, actor: "U", action: "ack", target: "c-1", detail: "d" });
    expect(e).toEqual({ at: iso(T0), actor: "U", action: "ack", target: "c-1", detail: "d" });
    expect(() => containmentAuditEntry({ at: T0 as never, actor: "U", action: "nope" as never, target: "" })).toThrow(/Unknown audit action/);
  });
});

describe("the log and its cap", () => {
  it("auditLog gives the newest first; capAudit takes out the oldest past the cap", () => {
    const d = emptyStoreData();
    for (let i = 0; i < 7; i++) d.audit.push({ at: iso(T0 + i), actor: `U${i}`, action: "scan", target: "" });
    expect(auditLog(d, 2).map((e) => e.actor)).toEqual(["U6", "U5"]);
    expect(capAudit(d, 10)).toEqual([]);
    expect(capAudit(d, 4).map((e) => e.actor)).toEqual(["U0", "U1", "U2"]);
    expect(d.audit.map((e) => e.actor)).toEqual(["U3", "U4", "U5", "U6"]);
  });

  it("rotated entries are appended to one file per entry date, one JSON line each", async () => {
    const t = await tempDir();
    try {
      const e = (at: string, actor: string): AuditEntry => ({ at, actor, action: "scan", target: "" });
      await appendRotatedAudit(t.dir, [e("2024-06-01T10:00:00.000Z", "a"), e("2024-06-02T10:00:00.000Z", "b")], () => T0);
      await appendRotatedAudit(t.dir, [e("2024-06-01T11:00:00.000Z", "c"), e("garbage", "d")], () => T0);
      expect((await readdir(t.dir)).sort()).toEqual(["audit-2024-06-01.jsonl", "audit-2024-06-02.jsonl"]);
      const lines = (await readFile(path.join(t.dir, "audit-2024-06-01.jsonl"), "utf8")).trim().split("\n");
      // "garbage" is not a date: it goes to today's file (the clock's day, T0 = 2024-06-01).
      expect(lines.map((l) => (JSON.parse(l) as AuditEntry).actor)).toEqual(["a", "c", "d"]);
    } finally {
      await t.cleanup();
    }
  });
});
