/**
 * The detector registry. Every file in this folder (other than index.ts, types.ts and lib/) is
 * one detector whose id equals its file name, and must be listed here; the catalogue test
 * (test/detectors/catalogue.test.ts) fails otherwise.
 */
import type { Detector } from "./types.js";

export const DETECTORS: readonly Detector[] = [];

export function detectorById(id: string): Detector | undefined {
  return DETECTORS.find((d) => d.id === id);
}
