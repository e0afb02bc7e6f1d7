/**
 * The benchmark's generator: deterministic from its seed, the realistic profile varies what real
 * trails vary, and its manifest is never an input of a scan of the folder.
 */
import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { gunzipSync } from "node:zlib";
import { generate } from "../../src/bench/generate.js";
import { listInputFiles } from "../../src/sources/files.js";

type Rec = Record<string, unknown> & { userIdentity: Record<string, unknown> };
const records = (files: string[]) => files.flatMap((f) => (JSON.parse(gunzipSync(readFileSync(f)).toString("utf8")) as { Records: Rec[] }).Records);

describe("bench data", () => {
  it("realistic: deterministic, several accounts and regions, SSO sessions by e-mail, many addresses per identity", async () => {
    const a = mkdtempSync(join(tmpdir(), "th-gen-a-")),
      b = mkdtempSync(join(tmpdir(), "th-gen-b-"));
    const o = { events: 4000, identities: 300, days: 3, perFile: 200, seed: 5, profile: "realistic" as const };
    const ga = await generate({ dir: a, ...o });
    await generate({ dir: b, ...o });
    const fa = await listInputFiles([a]),
      fb = await listInputFiles([b]);
    expect(ga.events).toBe(4000);
    expect(fa.length).toBe(ga.files);
    expect(fa.map((f) => relative(a, f))).toEqual(fb.map((f) => relative(b, f)));
    for (let i = 0; i < fa.length; i++) expect(readFileSync(fa[i]!).equals(readFileSync(fb[i]!))).toBe(true);
    // The manifest is hidden: a scan of the folder does not list it.
    expect(fa.some((f) => f.includes("manifest"))).toBe(false);

    const recs = records(fa);
    expect(recs.length).toBe(4000);
    expect(new Set(recs.map((r) => r.recipientAccountId)).size).toBeGreaterThanOrEqual(3);
    expect(new Set(recs.map((r) => r.awsRegion)).size).toBeGreaterThanOrEqual(6);
    const types = new Set(recs.map((r) => r.userIdentity.type));
    for (const t of ["IAMUser", "AssumedRole", "AWSService"]) expect(types).toContain(t);
    expect(recs.some((r) => /assumed-role\/AWSReservedSSO_[A-Za-z]+_[0-9a-f]{16}\/[a-z]+\.[a-z]+@example\.com$/.test(String(r.userIdentity.arn)))).toBe(true);
    const share = (p: (r: Rec) => boolean) => recs.filter(p).length / recs.length;
    expect(share((r) => r.requestParameters !== null)).toBeGreaterThan(0.6);
    expect(share((r) => r.tlsDetails !== undefined)).toBeGreaterThan(0.6);
    expect(new Set(recs.map((r) => JSON.stringify(r.tlsDetails))).size).toBeGreaterThan(20);
    // Per identity (role or user): addresses, user agents and sessions vary.
    const per = new Map<string, { ips: Set<unknown>; uas: Set<unknown>; sessions: Set<unknown> }>();
    for (const r of recs) {
      const who = String((r.userIdentity.sessionContext as { sessionIssuer?: { arn: string } } | undefined)?.sessionIssuer?.arn ?? r.userIdentity.arn ?? r.userIdentity.invokedBy);
      let p = per.get(who);
      if (!p) per.set(who, (p = { ips: new Set(), uas: new Set(), sessions: new Set() }));
      p.ips.add(r.sourceIPAddress);
      p.uas.add(r.userAgent);
      p.sessions.add(r.userIdentity.arn);
    }
    const most = (k: "ips" | "uas" | "sessions") => Math.max(...[...per.values()].map((p) => p[k].size));
    expect(most("ips")).toBeGreaterThanOrEqual(10);
    expect(most("uas")).toBeGreaterThanOrEqual(4);
    expect(most("sessions")).toBeGreaterThanOrEqual(5);
  });

  it("lean is the historical shape, reused when generated, and never deletes logs it did not write", async () => {
    const dir = mkdtempSync(join(tmpdir(), "th-gen-l-"));
    const o = { dir, events: 1500, identities: 50, days: 2, perFile: 500, seed: 3 };
    const g = await generate(o);
    expect(g.files).toBe(3);
    const recs = records(await listInputFiles([dir]));
    expect(new Set(recs.map((r) => r.recipientAccountId))).toEqual(new Set(["111122223333"]));
    expect(new Set(recs.map((r) => JSON.stringify(r.requestParameters))).size).toBeGreaterThan(1);
    expect(await generate(o)).toEqual(g);
    // A folder of someone's own logs (no manifest) is refused, not overwritten.
    const own = mkdtempSync(join(tmpdir(), "th-gen-own-"));
    const f = join(own, "AWSLogs");
    writeFileSync(f, "mine");
    await expect(generate({ ...o, dir: own })).rejects.toThrow(/did not write/);
    expect(readFileSync(f, "utf8")).toBe("mine");
  });
});
