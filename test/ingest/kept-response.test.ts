import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { re } from "../../src/detectors/lib/util.js";
import type { TrailEvent } from "../../src/events/types.js";
import { RESPONSE_FIELDS_READ, readResponse } from "../../src/ingest/accumulator.js";

/** The TypeScript sources under `dir`, recursively. */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

describe("what a kept event holds of its response", () => {
  it("keeps every response field a detector reads (read from the detectors' sources)", () => {
    const read: string[] = [];
    const unknown: string[] = [];
    for (const file of sources(join(import.meta.dirname, "../../src/detectors"))) {
      const text = readFileSync(file, "utf8");
      // re(ev, "field"...): the first field of the path; re(ev, ev.eventName) is the field named after the event.
      for (const m of text.matchAll(/\bre\(\s*\w+\s*,\s*([^,)]+)/g)) {
        const arg = m[1]!.trim();
        const lit = /^"([^"]+)"$/.exec(arg);
        if (lit) read.push(lit[1]!);
        else if (!/^\w+\.eventName$/.test(arg)) unknown.push(`${file}: re(..., ${arg})`);
      }
      for (const m of text.matchAll(/responseElements(\?\.|\.|\?\.\[|\[)\s*"?(\w+)/g)) read.push(m[2]!);
      if (/responseElements\s*(\)|,|;|$)/m.test(text) && !file.endsWith("lib/util.ts")) unknown.push(`${file}: responseElements read whole`);
    }
    expect(unknown).toEqual([]);
    expect(read.length).toBeGreaterThan(3);
    for (const f of read) expect(RESPONSE_FIELDS_READ.has(f.toLowerCase()), f).toBe(true);
  });

  it("drops the fields nobody reads, keeps those read (any case, in their order) and the one named after the event", () => {
    const assume = { credentials: { accessKeyId: "ASIA1", sessionToken: "x".repeat(300) }, assumedRoleUser: { arn: "arn:aws:sts::1:assumed-role/r/s" } };
    expect(readResponse("AssumeRole", assume)).toBeNull();
    const login = { ConsoleLogin: "Success" };
    expect(readResponse("ConsoleLogin", login)).toBe(login);
    expect(readResponse("CheckMfa", { CheckMfa: "Success", other: 1 })).toEqual({ CheckMfa: "Success" });
    const mixed = { Layers: [{ arn: "a" }], functionName: "f", PUBLICLYACCESSIBLE: true };
    const kept = readResponse("UpdateFunctionConfiguration", mixed);
    expect(kept).toEqual({ Layers: [{ arn: "a" }], PUBLICLYACCESSIBLE: true });
    expect(Object.keys(kept!)).toEqual(["Layers", "PUBLICLYACCESSIBLE"]);
    expect(readResponse("X", null)).toBeNull();
    // What `re` finds in the kept response is what it found in the whole one.
    const ev = (r: Record<string, unknown> | null) => ({ eventName: "UpdateFunctionConfiguration", responseElements: r }) as unknown as TrailEvent;
    for (const f of ["layers", "publiclyAccessible", "UpdateFunctionConfiguration", "toString"]) expect(re(ev(kept), f)).toBe(re(ev(mixed), f));
    expect(re(ev(kept), "functionName")).toBeUndefined();
  });
});
