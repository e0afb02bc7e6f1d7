/**
 * `mayTake` is a promise the scanner relies on: records in the detection window that no event
 * detector may take skip parsing (the fast lane). A detector whose `select` took an event its
 * `mayTake` ruled out would silently miss it, so every select detector is checked on every real
 * and labelled event the repository has.
 */
import { describe, expect, test } from "vitest";
import { DETECTORS } from "../../src/detectors/index.js";
import { toTrailEvent } from "../../src/events/normalize.js";
import type { EventDetector } from "../../src/detectors/types.js";
import type { TrailEvent } from "../../src/events/types.js";
import { invictusRecords, otrfRecords, pantherTests } from "../helpers/events.js";

const selectors = DETECTORS.filter((d): d is EventDetector => d.kind === "event" && d.select !== undefined);

function corpus(): TrailEvent[] {
  const raws: unknown[] = [...invictusRecords(), ...otrfRecords(), ...pantherTests().map((t) => t.record)];
  const out: TrailEvent[] = [];
  for (const r of raws) {
    const ev = toTrailEvent(r);
    if (typeof ev !== "string") out.push(ev);
  }
  return out;
}

describe("event detectors that select by content", () => {
  test("each says what it may take, so records in the window can skip parsing", () => {
    expect(selectors.length).toBeGreaterThan(0);
    for (const d of selectors) {
      expect([d.id, typeof d.mayTake]).toEqual([d.id, "object"]);
      expect([d.id, (d.mayTake?.eventNames?.length ?? 0) + (d.mayTake?.principalTypes?.length ?? 0)]).not.toEqual([d.id, 0]);
    }
  });

  test("never select an event their mayTake rules out (real attack logs and labelled rule tests)", () => {
    const events = corpus();
    expect(events.length).toBeGreaterThan(1000);
    let taken = 0;
    for (const d of selectors) {
      for (const ev of events) {
        if (!d.select!(ev)) continue;
        taken++;
        const declared = d.mayTake?.eventNames?.includes(ev.eventName) === true || d.mayTake?.principalTypes?.includes(ev.principal.type) === true;
        expect([d.id, ev.eventName, ev.principal.type, declared]).toEqual([d.id, ev.eventName, ev.principal.type, true]);
      }
    }
    expect(taken).toBeGreaterThan(50); // the corpus exercises the selectors
  });
});
