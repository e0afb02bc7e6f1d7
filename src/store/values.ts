/** Small value helpers shared by the store's domain modules: times, required text, JSON copies, ids. */
import { randomBytes } from "node:crypto";
import { StoreError } from "./errors.js";
import { FINDING_HISTORY_CAP, type FindingAction, type StoredFinding } from "./types.js";

/** A point in time: Date, epoch ms, or an ISO string. */
export type When = Date | number | string;

export const DAY_MS = 86_400_000;

/** Epoch ms of a When (StoreError "invalid" when it is not a time). */
export function ms(w: When): number {
  const t = w instanceof Date ? w.getTime() : typeof w === "number" ? w : Date.parse(w);
  if (!Number.isFinite(t)) throw new StoreError("invalid", `Not a valid time: ${String(w)}`);
  return t;
}

export function iso(w: When): string {
  return new Date(ms(w)).toISOString();
}

/** The trimmed text (StoreError "invalid" when missing or blank). */
export function requireText(v: unknown, what: string): string {
  if (typeof v !== "string" || v.trim() === "") throw new StoreError("invalid", `${what} is required`);
  return v.trim();
}

/** The JSON form of a value, so that what is in memory is exactly what is on disk. */
export function jsonClone<T>(v: T, what: string): T {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch (e) {
    throw new StoreError("invalid", `${what} cannot be stored as JSON: ${(e as Error).message}`, { cause: e });
  }
  if (s === undefined) throw new StoreError("invalid", `${what} cannot be stored as JSON`);
  return JSON.parse(s) as T;
}

/** A finding's history with `actions` appended, keeping the newest FINDING_HISTORY_CAP. */
export function withHistory(f: StoredFinding, ...actions: FindingAction[]): FindingAction[] {
  const h = [...f.history, ...actions];
  return h.length > FINDING_HISTORY_CAP ? h.slice(h.length - FINDING_HISTORY_CAP) : h;
}

/** A random id `<prefix><8 hex>` not yet taken. */
export function newId(prefix: string, taken: (id: string) => boolean): string {
  for (;;) {
    const id = `${prefix}${randomBytes(4).toString("hex")}`;
    if (!taken(id)) return id;
  }
}
