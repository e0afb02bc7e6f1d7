import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli.js";
import { auditCommand } from "../../src/store/audit-cli.js";
import { TrailStore } from "../../src/store/store.js";

let dir = "";
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = "";
});

async function seeded(auditCap?: number): Promise<void> {
  dir = await mkdtemp(path.join(tmpdir(), "th-audit-"));
  const s = await TrailStore.open(dir, auditCap ? { auditCap } : {});
  const t0 = Date.parse("2026-05-01T09:00:00Z");
  await s.audit({ at: new Date(t0).toISOString(), actor: "U0ADMIN", action: "scan", target: "user alice", detail: "the last 24h in C0SEC" });
  await s.audit({
    at: new Date(t0 + 1000).toISOString(),
    actor: "unverified",
    action: "refused",
    target: "request:signature",
    detail: "signature mismatch; the body claims to be from U0X\u001b[31m",
  });
  await s.audit({ at: new Date(t0 + 2000).toISOString(), actor: "U0USER", action: "refused", target: "scan:the whole account", detail: "view: Only trailhound viewers ..." });
  await s.audit({ at: new Date(t0 + 3000).toISOString(), actor: "U0USER", action: "ack", target: "f1" });
  await s.close();
}

function capture(): { out: string[]; err: string[]; o: (l: string) => void; e: (l: string) => void } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, o: (l) => void out.push(l), e: (l) => void err.push(l) };
}

describe("trailhound audit", () => {
  it("prints who, what, when and the outcome, newest first, refusals and signature failures included, escapes included", async () => {
    await seeded();
    const c = capture();
    expect(await auditCommand({ store: dir, limit: "3" }, c.o, c.e)).toBe(0);
    expect(c.out[0]).toBe("2026-05-01T09:00:03.000Z  U0USER  ack  f1");
    expect(c.out[1]).toContain("REFUSED  scan:the whole account");
    expect(c.out[2]).toContain("unverified  REFUSED  request:signature  signature mismatch");
    expect(c.out[2]).toContain("\\u001b[31m");
    expect(c.out[2]).not.toContain("\u001b");
    expect(c.out.at(-1)).toContain("3 entries, newest first; more with --limit");

    const j = capture();
    await auditCommand({ store: dir, format: "json", action: "refused" }, j.o, j.e);
    const parsed = JSON.parse(j.out.join("\n")) as { entries: Array<{ actor: string }>; inStore: number };
    expect(parsed.entries.map((e) => e.actor)).toEqual(["U0USER", "unverified"]);
    expect(parsed.inStore).toBe(4);
  });

  it("reads the rotated audit-*.jsonl files when the store holds fewer than asked", async () => {
    await seeded(2);
    const c = capture();
    await auditCommand({ store: dir, limit: "10" }, c.o, c.e);
    expect(c.out).toHaveLength(5);
    expect(c.out[3]).toContain("U0ADMIN  scan  user alice");
    expect(c.out.at(-1)).toBe("(4 entries, newest first)");
  });

  it("a missing store or a bad limit: a clear message, exit code 2, through the CLI too", async () => {
    const c = capture();
    expect(await auditCommand({ store: "/nonexistent/th", limit: "5" }, c.o, c.e)).toBe(2);
    expect(c.err[0]).toContain("no store at");
    await seeded();
    expect(await auditCommand({ store: dir, limit: "0" }, c.o, c.e)).toBe(2);
    const spy = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      process.exitCode = undefined;
      const code = await main(["node", "trailhound", "audit", "--store", dir, "-n", "2"]);
      expect(code === 0 || code === undefined).toBe(true);
      expect(process.exitCode ?? 0).toBe(0);
      expect(String(spy.mock.calls[0]?.[0])).toContain("U0USER  ack  f1");
    } finally {
      spy.mockRestore();
      process.exitCode = undefined;
    }
  });
});
