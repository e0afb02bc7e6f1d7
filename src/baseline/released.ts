/**
 * A profile whose history is held elsewhere once it has been encoded (issue 17, the warm path).
 *
 * A day's scan against a stored baseline merges every identity it meets into its stored profile
 * and hands the result to the store's encoder as soon as the identity is settled. The profile is
 * still returned at the end (ScanResult.profiles, for the save), and a few are changed then
 * (values held back for findings, held.ts), so its dimensions and hourly rows used to stay live
 * until the save: on the realistic warm day ~1M objects (561k value strings, ~108k hourly rows)
 * that every garbage collection of the finish copied or marked, though nearly all of them are
 * never read again. The encoder has them in its packed form by then (pack.ts PartData), so it
 * lets go of the profile's `dims` and `hourly` (`releaseHistory`): each becomes an accessor that
 * restores both from that form the first time either is read (the same values in the same order,
 * the same numbers: the packed form is lossless), and from then on they are plain fields again.
 * Readers see the same profile; the key order of the object is unchanged.
 */
import type { Dim, Profile, Stat } from "./profile.js";

/** What `releaseHistory` lets go of, as its restore gives it back. */
export interface History {
  dims: Record<Dim, Record<string, Stat>>;
  hourly: Array<[number, number, number]>;
}

const RESTORE = new WeakMap<object, () => History>();

/** Restore a released profile's history into plain fields (once). */
function restored(p: object): void {
  const restore = RESTORE.get(p);
  if (restore === undefined) return;
  RESTORE.delete(p);
  const h = restore();
  Object.defineProperty(p, "dims", { value: h.dims, writable: true, enumerable: true, configurable: true });
  Object.defineProperty(p, "hourly", { value: h.hourly, writable: true, enumerable: true, configurable: true });
}

/** One accessor pair per field, shared by every released profile (no closures per profile). */
function accessor(field: "dims" | "hourly"): PropertyDescriptor {
  return {
    get(this: Profile): unknown {
      restored(this);
      return this[field];
    },
    set(this: Profile, v: unknown): void {
      restored(this);
      (this as unknown as Record<string, unknown>)[field] = v;
    },
    enumerable: true,
    configurable: true,
  };
}
const DIMS_ACCESSOR = accessor("dims");
const HOURLY_ACCESSOR = accessor("hourly");

/**
 * Let go of `p.dims` and `p.hourly`: `restore` gives them back (equal values, new objects) when
 * either is first read or assigned. The caller must hold them in a form `restore` reads for as
 * long as `p` may be read. Released again later (after a change), the latest `restore` counts.
 */
export function releaseHistory(p: Profile, restore: () => History): void {
  RESTORE.set(p, restore);
  Object.defineProperty(p, "dims", DIMS_ACCESSOR);
  Object.defineProperty(p, "hourly", HOURLY_ACCESSOR);
}

/** Whether `p`'s history is released and not restored yet (tests). */
export function isReleased(p: Profile): boolean {
  return RESTORE.has(p);
}
