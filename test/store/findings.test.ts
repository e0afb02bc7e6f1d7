/** findings.ts on plain store data: what recording and decisions do to the records, without the queue. */
import { describe, expect, it } from "vitest";
import { getFinding, listFindings, prepDecision, prepFindings } from "../../src/store/findings.js";
import { FINDING_HISTORY_CAP, emptyStoreData, type StoreData } from "../../src/store/types.js";
import { HOUR, T0, makeFinding, withSeverity } from "./helpers.js";

const iso = (t: number) => new Date(t).toISOString();

function data(): StoreData {
  return emptyStoreData();
}

describe("prepFindings", () => {
  it("validates every finding before returning a change (nothing to apply for a bad batch)", () => {
    expect(() => prepFindings([makeFinding({ id: "ok" }), makeFinding({ id: "" })], T0)).toThrow(/Finding id is required/);
    expect(() => prepFindings([makeFinding({ id: "x", severity: "dire" as never })], T0)).toThrow(/unknown severity dire/);
    expect(() => prepFindings([makeFinding({ id: "x" })], "not a time")).toThrow(/Not a valid time/);
  });

  it("stores a JSON copy: later changes to the caller's object do not reach the store", () => {
    const d = data();
    const f = makeFinding({ id: "f1" });
    prepFindings([f], T0)(d);
    f.title = "changed";
    expect(d.findings.f1!.finding.title).toBe("First use of an API");
  });

  it("widens first/last seen, counts scans, and records severity changes in order", () => {
    const d = data();
    prepFindings([makeFinding({ id: "f", firstSeen: iso(T0 - HOUR), lastSeen: iso(T0) })], T0)(d);
    const [r] = prepFindings([makeFinding({ id: "f", severity: "high", firstSeen: iso(T0 - 2 * HOUR), lastSeen: iso(T0 - HOUR) })], T0 + HOUR)(d);
    expect(r).toMatchObject({ kind: "severity-raised", status: "open", previousSeverity: "medium", notify: true, reopened: false });
    const f = getFinding(d, "f")!;
    expect([f.firstSeen, f.lastSeen, f.seenInScans]).toEqual([iso(T0 - 2 * HOUR), iso(T0), 2]);
    expect(f.severityHistory.map((h) => h.severity)).toEqual(["medium", "high"]);
    const [again] = prepFindings([makeFinding({ id: "f", severity: "high" })], T0 + 2 * HOUR)(d);
    expect(again).toMatchObject({ kind: "repeated", notify: false });
    expect(getFinding(d, "f")!.severityHistory).toHaveLength(2);
  });

  it("replaces a changed record and never mutates the previous one", () => {
    const d = data();
    prepFindings([makeFinding({ id: "f" })], T0)(d);
    const before = d.findings.f!;
    const snapshot = structuredClone(before);
    prepFindings([withSeverity(makeFinding({ id: "f" }), "critical")], T0 + HOUR)(d);
    expect(d.findings.f).not.toBe(before);
    expect(before).toEqual(snapshot);
  });

  it("an active suppression in the data marks a new finding suppressed, not worth notifying", () => {
    const d = data();
    d.suppressions.push({ id: "s-1", scope: "detector", detector: "new-api", reason: "r", by: "U", createdAt: iso(T0), until: iso(T0 + HOUR) });
    const [r] = prepFindings([makeFinding({ id: "f" })], T0)(d);
    expect(r).toEqual({ id: "f", kind: "new", status: "suppressed", reopened: false, notify: false, suppressedBy: "s-1" });
    // Once it ran out, the next sighting opens it and says why.
    const [r2] = prepFindings([makeFinding({ id: "f" })], T0 + 2 * HOUR)(d);
    expect(r2).toMatchObject({ status: "open", reopened: true, notify: true, previousStatus: "suppressed" });
    expect(getFinding(d, "f")!.history.at(-1)!.detail).toBe("suppression s-1 no longer applies");
  });
});

describe("prepDecision", () => {
  it("checks who acted now, and an unknown finding in the queue (not-found)", () => {
    expect(() => prepDecision("f", "  ", T0, "ack")).toThrow(/Who acted/);
    expect(() => prepDecision("nope", "U", T0, "resolve")(data())).toThrow(expect.objectContaining({ code: "not-found" }));
  });

  it("acknowledging keeps an earlier acknowledgement and a suppression visible, and audits both", () => {
    const d = data();
    prepFindings([makeFinding({ id: "f" })], T0)(d);
    prepDecision("f", "U1", T0 + 1, "ack")(d);
    const second = prepDecision("f", "U2", T0 + 2, "ack")(d);
    expect(second.acknowledged).toEqual({ by: "U1", at: iso(T0 + 1), severity: "medium" });
    expect(second.history.at(-1)!.detail).toBe(`also acknowledged; first by U1 at ${iso(T0 + 1)}, kept`);

    d.findings.g = { ...d.findings.f!, id: "g", status: "suppressed", suppressedBy: "s-9", history: [] };
    delete d.findings.g.acknowledged;
    const g = prepDecision("g", "U3", T0 + 3, "ack")(d);
    expect([g.status, g.suppressedBy]).toEqual(["suppressed", "s-9"]);
    expect(d.audit.map((a) => [a.actor, a.action, a.target])).toEqual([
      ["U1", "ack", "f"],
      ["U2", "ack", "f"],
      ["U3", "ack", "g"],
    ]);
  });

  it("resolving drops an acknowledgement; a resolved finding seen again reopens", () => {
    const d = data();
    prepFindings([makeFinding({ id: "f" })], T0)(d);
    prepDecision("f", "U1", T0 + 1, "ack")(d);
    const r = prepDecision("f", "U2", T0 + 2, "resolve")(d);
    expect(r).toMatchObject({ status: "resolved", resolved: { by: "U2", at: iso(T0 + 2) } });
    expect(r.acknowledged).toBeUndefined();
    expect(d.audit.at(-1)!.detail).toBe("severity medium; was acknowledged");
    const [seen] = prepFindings([makeFinding({ id: "f" })], T0 + HOUR)(d);
    expect(seen).toMatchObject({ status: "open", reopened: true, notify: true });
    expect(getFinding(d, "f")!.resolved).toBeUndefined();
  });

  it("keeps only the newest FINDING_HISTORY_CAP actions", () => {
    const d = data();
    prepFindings([makeFinding({ id: "f" })], T0)(d);
    for (let i = 0; i < FINDING_HISTORY_CAP + 5; i++) prepDecision("f", `U${i}`, T0 + i, i % 2 ? "ack" : "resolve")(d);
    const h = getFinding(d, "f")!.history;
    expect(h).toHaveLength(FINDING_HISTORY_CAP);
    expect(h.at(-1)!.by).toBe(`U${FINDING_HISTORY_CAP + 4}`);
  });
});

describe("getFinding and listFindings", () => {
  it("look up own ids only, and filter by one or several statuses", () => {
    const d = data();
    prepFindings([makeFinding({ id: "a" }), makeFinding({ id: "b" }), makeFinding({ id: "c" })], T0)(d);
    prepDecision("b", "U", T0, "ack")(d);
    prepDecision("c", "U", T0, "resolve")(d);
    expect(getFinding(d, "toString")).toBeUndefined();
    expect(listFindings(d).map((f) => f.id)).toEqual(["a", "b", "c"]);
    expect(listFindings(d, { status: "open" }).map((f) => f.id)).toEqual(["a"]);
    expect(listFindings(d, { status: ["acknowledged", "resolved"] }).map((f) => f.id)).toEqual(["b", "c"]);
  });
});
