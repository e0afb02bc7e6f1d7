/** suppressions.ts on plain store data: matching, precedence, what creating and ending one does to findings. */
import { describe, expect, it } from "vitest";
import { prepFindings } from "../../src/store/findings.js";
import {
  activeSuppressions,
  describeSuppression,
  expiredUnannounced,
  findSuppression,
  findingsSuppressedBy,
  prepExpiryAnnounced,
  prepSuppress,
  prepUnsuppress,
} from "../../src/store/suppressions.js";
import { emptyStoreData, type Suppression } from "../../src/store/types.js";
import { DAY, HOUR, T0, makeFinding } from "./helpers.js";

const iso = (t: number) => new Date(t).toISOString();
const alice = makeFinding({ id: "f-alice" });
const bob = makeFinding({ id: "f-bob", identity: { key: "user:111122223333:bob", type: "IAMUser", userName: "bob" }, sourceIp: "198.51.100.9" });

function sup(over: Partial<Suppression> & Pick<Suppression, "id" | "scope">): Suppression {
  return { reason: "r", by: "U", createdAt: iso(T0), until: iso(T0 + DAY), ...over };
}

describe("findSuppression", () => {
  it("picks the most specific active scope, and ignores removed and expired ones", () => {
    const list = [
      sup({ id: "det", scope: "detector", detector: "new-api" }),
      sup({ id: "ip", scope: "ip", sourceIp: alice.sourceIp! }),
      sup({ id: "id", scope: "identity", identityKey: alice.identity.key }),
      sup({ id: "id-det", scope: "identity-detector", identityKey: alice.identity.key, detector: "new-api", removed: { by: "U", at: iso(T0) } }),
      sup({ id: "old", scope: "identity-detector", identityKey: alice.identity.key, detector: "new-api", until: iso(T0 - 1) }),
    ];
    expect(findSuppression(list, alice, T0)?.id).toBe("id");
    expect(findSuppression(list, bob, T0)?.id).toBe("det");
    expect(findSuppression(list, { ...bob, detector: "other" }, T0)).toBeUndefined();
    // An ip suppression never covers a finding without a source IP.
    expect(findSuppression([sup({ id: "ip", scope: "ip", sourceIp: "" })], { ...bob, detector: "other", sourceIp: undefined as never }, T0)).toBeUndefined();
  });

  it("describes each scope in words", () => {
    expect(describeSuppression({ scope: "identity-detector", identityKey: "k", detector: "d" })).toBe("d for k");
    expect(describeSuppression({ scope: "ip", sourceIp: "1.2.3.4" })).toBe("everything from 1.2.3.4");
    expect(describeSuppression({ scope: "detector", detector: "d" })).toBe("d everywhere");
  });
});

describe("prepSuppress and prepUnsuppress", () => {
  it("validate now: reason, who, an end in the future, the fields of the scope, a known scope", () => {
    const base = { until: T0 + DAY, reason: "vpn", by: "U" };
    expect(() => prepSuppress({ ...base, scope: "ip" }, T0)).toThrow(/sourceIp is required/);
    expect(() => prepSuppress({ ...base, scope: "ip", sourceIp: "1.2.3.4", reason: " " }, T0)).toThrow(/A reason is required/);
    expect(() => prepSuppress({ ...base, scope: "ip", sourceIp: "1.2.3.4", until: T0 }, T0)).toThrow(/must be in the future/);
    expect(() => prepSuppress({ ...base, scope: "everything" as never }, T0)).toThrow(/Unknown suppression scope everything/);
  });

  it("keep only the scope's fields, hide the open findings covered, then release them", () => {
    const d = emptyStoreData();
    prepFindings([alice, bob], T0)(d);
    const s = prepSuppress({ scope: "ip", sourceIp: " 198.51.100.9 ", detector: "ignored", until: T0 + DAY, reason: "vpn", by: "U1" }, T0)(d);
    expect(s).toEqual({ id: s.id, scope: "ip", sourceIp: "198.51.100.9", reason: "vpn", by: "U1", createdAt: iso(T0), until: iso(T0 + DAY) });
    expect(s.id).toMatch(/^s-[0-9a-f]{8}$/);
    expect(findingsSuppressedBy(d, s.id)).toEqual(["f-bob"]);
    expect(d.findings["f-alice"]!.status).toBe("open");
    expect(d.audit.at(-1)).toMatchObject({ action: "suppress", target: s.id, detail: `everything from 198.51.100.9 until ${iso(T0 + DAY)}: vpn` });

    const ended = prepUnsuppress(s.id, "U2", T0 + HOUR)(d);
    expect(ended.removed).toEqual({ by: "U2", at: iso(T0 + HOUR) });
    expect(d.findings["f-bob"]!.status).toBe("open");
    expect(d.findings["f-bob"]!.suppressedBy).toBeUndefined();
    // Ending it again changes nothing.
    const audits = d.audit.length;
    expect(prepUnsuppress(s.id, "U3", T0 + 2 * HOUR)(d)).toBe(ended);
    expect(d.audit).toHaveLength(audits);
    expect(() => prepUnsuppress("s-none", "U", T0)(d)).toThrow(expect.objectContaining({ code: "not-found" }));
  });

  it("a finding released from one suppression moves to another active one that covers it", () => {
    const d = emptyStoreData();
    prepFindings([bob], T0)(d);
    const narrow = prepSuppress({ scope: "identity", identityKey: bob.identity.key, until: T0 + DAY, reason: "a", by: "U" }, T0)(d);
    const wide = prepSuppress({ scope: "detector", detector: "new-api", until: T0 + DAY, reason: "b", by: "U" }, T0)(d);
    expect(d.findings["f-bob"]!.suppressedBy).toBe(narrow.id);
    prepUnsuppress(narrow.id, "U", T0 + HOUR)(d);
    expect(d.findings["f-bob"]).toMatchObject({ status: "suppressed", suppressedBy: wide.id });
    expect(d.findings["f-bob"]!.history.at(-1)!.detail).toBe(`now covered by ${wide.id} (${narrow.id} removed)`);
  });
});

describe("expiry", () => {
  it("lists run-out suppressions once; announcing them reopens what they hid", () => {
    const d = emptyStoreData();
    prepFindings([alice], T0)(d);
    const s = prepSuppress({ scope: "detector", detector: "new-api", until: T0 + HOUR, reason: "r", by: "U" }, T0)(d);
    expect(activeSuppressions(d, T0).map((x) => x.id)).toEqual([s.id]);
    expect(expiredUnannounced(d, T0)).toEqual([]);
    expect(expiredUnannounced(d, T0 + HOUR).map((x) => x.id)).toEqual([s.id]);
    prepExpiryAnnounced([s.id], T0 + 2 * HOUR)(d);
    expect(expiredUnannounced(d, T0 + 2 * HOUR)).toEqual([]);
    expect(d.findings["f-alice"]).toMatchObject({ status: "open" });
    expect(d.findings["f-alice"]!.history.at(-1)).toEqual({ at: iso(T0 + 2 * HOUR), by: "trailhound", action: "reopen", detail: "suppression expired" });
  });
});
