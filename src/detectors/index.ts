/**
 * The detector registry. Every file in this folder (other than index.ts, types.ts and lib/) is
 * one detector whose id equals its file name, and must be listed here; the catalogue test
 * (test/detectors/catalogue.test.ts) fails otherwise.
 */
import type { Detector } from "./types.js";
// Behavioural (window) detectors.
import { callRateSpike } from "./call-rate-spike.js";
import { enumerationBurst } from "./enumeration-burst.js";
import { errorRateSpike } from "./error-rate-spike.js";
import { firstTimeApi } from "./first-time-api.js";
import { firstTimeService } from "./first-time-service.js";
import { impossibleTravel } from "./impossible-travel.js";
import { newSourceNetwork } from "./new-source-network.js";

export const DETECTORS: readonly Detector[] = [
  // Behavioural (window) detectors.
  firstTimeService,
  firstTimeApi,
  newSourceNetwork,
  impossibleTravel,
  callRateSpike,
  errorRateSpike,
  enumerationBurst,
];

export function detectorById(id: string): Detector | undefined {
  return DETECTORS.find((d) => d.id === id);
}
