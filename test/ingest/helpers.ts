/**
 * What the fast-lane tests share: an ingest of the event detectors whose window starts 20 hours
 * after T0, the full path (every record parsed) to compare the lane with, and a summary of an
 * ingest's identities to compare.
 */
import type { Dim } from "../../src/baseline/profile.js";
import { DETECTORS } from "../../src/detectors/index.js";
import type { GeoResolver } from "../../src/geo/types.js";
import { Ingest } from "../../src/ingest/ingest.js";

const EVENT_DETECTORS = DETECTORS.filter((d) => d.kind === "event");
export const T0 = Date.parse("2024-03-01T00:00:00Z");
/** Records of hours 0-19 after T0 train only; 20 on are in the window. */
const WINDOW_AT = T0 + 20 * 3_600_000;

/** A new ingest of the event detectors, a month after T0, its window starting at hour 20. */
export function ingest(geo?: GeoResolver): Ingest {
  return new Ingest({ now: T0 + 30 * 24 * 3_600_000, since: { kind: "absolute", at: WINDOW_AT }, ...(geo ? { geo } : {}) }, EVENT_DETECTORS);
}

/** The records of `files` (CloudTrail documents) parsed one by one into a new ingest: the full path. */
export function parsedIngest(files: Buffer[], geo?: GeoResolver): Ingest {
  const ing = ingest(geo);
  for (const b of files) for (const r of (JSON.parse(b.toString("utf8")) as { Records: unknown[] }).Records) ing.record(r, "f");
  return ing;
}

/** Per identity: events, and the values (with counts) of its dimensions `dims`. */
export function summary(ing: Ingest, dims: readonly Dim[]): Record<string, unknown> {
  ing.flushDeferred();
  const out: Record<string, unknown> = {};
  for (const [key, acc] of ing.identities)
    out[key] = { events: acc.events, ...Object.fromEntries(dims.map((d) => [d, Object.fromEntries([...acc.dim(d)].map(([k, s]) => [k, s.n]))])) };
  return out;
}
