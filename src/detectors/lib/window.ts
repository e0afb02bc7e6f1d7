import type { Principal } from "../../events/types.js";
import type { IdentityWindow } from "../types.js";

/** An IdentityWindow with nothing in it, for builders to fill (the scanner's slim windows, tests). */
export function emptyWindow(principal: Principal): IdentityWindow {
  return {
    principal,
    sessions: [],
    events: 0,
    errors: 0,
    denied: 0,
    first: Infinity,
    last: -Infinity,
    apis: new Map(),
    services: new Map(),
    regions: new Map(),
    ips: new Map(),
    networks: new Map(),
    countries: new Map(),
    uas: new Map(),
    errorCodes: new Map(),
    buckets: [],
    geo: [],
    candidates: [],
    dropped: { candidates: 0, geo: 0 },
  };
}
