/** containments.ts and replay.ts: records changed with their audit entries, and the replay guard's keys. */
import { describe, expect, it } from "vitest";
import { containmentsFor, getContainment, putContainment } from "../../src/store/containments.js";
import { REPLAY_KEYS_KEPT, prepRememberRequests, replayKeys } from "../../src/store/replay.js";
import { emptyStoreData, type ContainmentRecord } from "../../src/store/types.js";
import { T0 } from "./helpers.js";

const iso = (t: number) => new Date(t).toISOString();
const record = (id: string, findingId: string, at: number) => ({ id, findingId, proposedAt: iso(at) }) as unknown as ContainmentRecord;

describe("putContainment", () => {
  it("gives the change the current record, stores its JSON copy and its audit entries", () => {
    const d = emptyStoreData();
    const seen: Array<ContainmentRecord | undefined> = [];
    putContainment(d, "c-1", (prev) => {
      seen.push(prev);
      return { record: record("c-1", "f1", T0), audit: [{ at: T0 as never, actor: "U", action: "ack", target: "c-1" }] };
    });
    putContainment(d, "c-1", (prev) => {
      seen.push(prev);
      return { record: { ...prev!, note: "second" } as ContainmentRecord };
    });
    expect(seen[0]).toBeUndefined();
    expect(seen[1]).toEqual(record("c-1", "f1", T0));
    expect(getContainment(d, "c-1")).toMatchObject({ note: "second" });
    expect(d.audit).toEqual([{ at: iso(T0), actor: "U", action: "ack", target: "c-1" }]);
  });

  it("a refusal or a mismatched id changes nothing", () => {
    const d = emptyStoreData();
    expect(() =>
      putContainment(d, "c-1", () => {
        throw new Error("approval expired");
      }),
    ).toThrow("approval expired");
    expect(() => putContainment(d, "c-1", () => ({ record: record("c-2", "f1", T0) }))).toThrow(/does not match c-1/);
    expect(() => putContainment(d, "c-1", () => ({ record: record("c-1", "f1", T0), audit: [{ at: T0 as never, actor: "U", action: "bogus" as never, target: "" }] }))).toThrow(
      /Unknown audit action/,
    );
    expect(d.containments ?? {}).toEqual({});
    expect(d.audit).toEqual([]);
  });

  it("containmentsFor lists a finding's containments oldest first", () => {
    const d = emptyStoreData();
    for (const [id, f, at] of [
      ["c-b", "f1", T0],
      ["c-x", "f2", T0],
      ["c-a", "f1", T0],
      ["c-0", "f1", T0 - 1],
    ] as const)
      putContainment(d, id, () => ({ record: record(id, f, at) }));
    expect(containmentsFor(d, "f1").map((c) => c.id)).toEqual(["c-0", "c-a", "c-b"]);
    expect(getContainment(d, "toString")).toBeUndefined();
  });
});

describe("the replay guard", () => {
  it("forgets expired keys, keeps the `max` that expire last, and drops the section when empty", () => {
    const d = emptyStoreData();
    prepRememberRequests(
      [
        ["a", T0 + 10],
        ["b", T0 + 30],
        ["c", T0 + 20],
        ["gone", T0],
      ],
      T0,
      2,
    )(d);
    expect(replayKeys(d, T0).sort()).toEqual([
      ["b", T0 + 30],
      ["c", T0 + 20],
    ]);
    expect(replayKeys(d, T0 + 25)).toEqual([["b", T0 + 30]]);
    prepRememberRequests([], T0 + 100)(d);
    expect(d.replay).toBeUndefined();
    expect(REPLAY_KEYS_KEPT).toBe(50_000);
  });

  it("refuses a key without a name or a finite expiry", () => {
    expect(() => prepRememberRequests([["", T0]], T0)).toThrow(/needs a key and an expiry/);
    expect(() => prepRememberRequests([["k", Number.POSITIVE_INFINITY]], T0)).toThrow(/needs a key and an expiry/);
  });
});
