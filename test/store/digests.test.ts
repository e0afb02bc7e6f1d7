/** digests.ts: digest records from creation to sent, what is kept, and the schedule runs. */
import { describe, expect, it } from "vitest";
import {
  DIGESTS_KEPT,
  asFailed,
  asSent,
  changeDigest,
  getDigest,
  getDigestRun,
  pendingDigests,
  prepCreateDigest,
  prepDigestRun,
  trimDigests,
  withPostedPart,
} from "../../src/store/digests.js";
import { emptyStoreData, type DigestRecord } from "../../src/store/types.js";
import { T0 } from "./helpers.js";

const iso = (t: number) => new Date(t).toISOString();
const input = { schedule: "daily", channel: "C1", window: { start: iso(T0 - 1), end: iso(T0) }, findingIds: ["f1"] };

describe("a digest's life", () => {
  it("created pending with a fresh id, its parts recorded once, then sent without its content", () => {
    const d = emptyStoreData();
    const parts = [{ text: "hello", blocks: [], thread: false }];
    const rec = prepCreateDigest({ ...input, parts, severities: { f1: "high" } }, T0)(d);
    expect(rec).toMatchObject({ state: "pending", posted: [], createdAt: iso(T0), parts, severities: { f1: "high" } });
    expect(rec.id).toMatch(/^d-[0-9a-f]{8}$/);
    expect(rec).not.toHaveProperty("expiries");
    parts[0]!.text = "changed later";
    expect(getDigest(d, rec.id)!.parts![0]!.text).toBe("hello");

    changeDigest(rec.id, (x) => withPostedPart(x, "1.1"))(d);
    changeDigest(rec.id, (x) => withPostedPart(x, "1.1"))(d);
    expect(getDigest(d, rec.id)!.posted).toEqual(["1.1"]);
    changeDigest(rec.id, (x) => asFailed(x, "rate limited"))(d);
    expect(pendingDigests(d).map((x) => [x.id, x.state, x.error])).toEqual([[rec.id, "failed", "rate limited"]]);
    const sent = changeDigest(rec.id, (x) => asSent(x, iso(T0 + 5)))(d);
    expect(sent).toMatchObject({ state: "sent", sentAt: iso(T0 + 5), posted: ["1.1"], severities: { f1: "high" } });
    expect(sent).not.toHaveProperty("parts");
    expect(sent).not.toHaveProperty("error");
    expect(pendingDigests(d)).toEqual([]);
  });

  it("refuses a blank schedule or channel now, a taken id and an unknown digest in the queue", () => {
    expect(() => prepCreateDigest({ ...input, channel: " " }, T0)).toThrow(/Digest channel is required/);
    const d = emptyStoreData();
    prepCreateDigest({ ...input, id: "mine" }, T0)(d);
    expect(() => prepCreateDigest({ ...input, id: "mine" }, T0)(d)).toThrow(/Digest mine exists already/);
    expect(() => changeDigest("other", (x) => x)(d)).toThrow(expect.objectContaining({ code: "not-found" }));
  });
});

describe("what is kept", () => {
  it("the last DIGESTS_KEPT sent digests, and every unsent one however old", () => {
    const d = emptyStoreData();
    const rec = (i: number, state: DigestRecord["state"]): DigestRecord => ({ id: `d${i}`, ...input, createdAt: iso(T0 + i), state, posted: [] });
    d.digests.push(rec(0, "pending"), rec(1, "failed"));
    for (let i = 2; i < DIGESTS_KEPT + 7; i++) d.digests.push(rec(i, "sent"));
    trimDigests(d);
    expect(d.digests.filter((x) => x.state === "sent")).toHaveLength(DIGESTS_KEPT);
    expect(d.digests.slice(0, 3).map((x) => x.id)).toEqual(["d0", "d1", "d7"]);
  });
});

describe("schedule runs", () => {
  it("are set per schedule and read by own key only", () => {
    const d = emptyStoreData();
    expect(() => prepDigestRun("", T0)).toThrow(/Digest schedule is required/);
    prepDigestRun("daily", T0)(d);
    prepDigestRun("daily", iso(T0 + 1))(d);
    expect(getDigestRun(d, "daily")).toBe(iso(T0 + 1));
    expect(getDigestRun(d, "hasOwnProperty")).toBeUndefined();
  });
});
