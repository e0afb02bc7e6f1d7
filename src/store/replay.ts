/**
 * The replay guard of the Slack HTTP receiver: keys of requests accepted recently, each with the
 * time (epoch ms) it may be forgotten, kept across restarts.
 */
import { StoreError } from "./errors.js";
import type { StoreData } from "./types.js";
import { ms, type When } from "./values.js";

/** Keys remembered by default at most. */
export const REPLAY_KEYS_KEPT = 50_000;

/** Request keys still remembered at `now`, with when each may be forgotten. */
export function replayKeys(data: StoreData, now: When): Array<[string, number]> {
  const t = ms(now);
  return Object.entries(data.replay ?? {}).filter(([, until]) => until > t);
}

/** Remember accepted requests until their expiry; forgets expired ones and keeps the `max` that expire last. */
export function prepRememberRequests(entries: ReadonlyArray<readonly [string, number]>, now: When, max = REPLAY_KEYS_KEPT): (data: StoreData) => void {
  const t = ms(now);
  for (const [k, until] of entries) if (typeof k !== "string" || k === "" || !Number.isFinite(until)) throw new StoreError("invalid", "A replay key needs a key and an expiry");
  return (data) => {
    const kept = Object.entries(data.replay ?? {}).filter(([, until]) => until > t);
    for (const [k, until] of entries) if (until > t) kept.push([k, until]);
    kept.sort((a, b) => a[1] - b[1]);
    const next = Object.fromEntries(kept.slice(Math.max(0, kept.length - max)));
    if (Object.keys(next).length > 0) data.replay = next;
    else delete data.replay;
  };
}
