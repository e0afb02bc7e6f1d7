/** What changed in the store, told to `onChange` listeners once it is durable (outbound notifications). */
import type { RecordResult } from "./findings.js";
import type { ContainmentRecord } from "./types.js";

export type StoreChange =
  | { kind: "findings"; results: RecordResult[] }
  | { kind: "acknowledged" | "resolved"; findingId: string; by: string }
  | { kind: "suppressed"; findingIds: string[]; by: string }
  /** `previousState`: the record's state before this change (absent for a new record). */
  | { kind: "containment"; record: ContainmentRecord; previousState?: ContainmentRecord["state"] };

/** The listeners of a store. */
export class ChangeFeed {
  readonly #listeners = new Set<(c: StoreChange) => void>();

  /** Returns the unsubscribe. */
  on(fn: (c: StoreChange) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /**
   * Once `p` resolves (the change is on disk), tell every listener what `change` makes of its
   * value (nothing when undefined). A listener that throws does not fail the change.
   */
  after<T>(p: Promise<T>, change: (v: T) => StoreChange | undefined): Promise<T> {
    if (this.#listeners.size === 0) return p;
    return p.then((v) => {
      const c = change(v);
      if (c)
        for (const fn of this.#listeners) {
          try {
            fn(c);
          } catch {
            // A listener's failure is its own (it logs); the change is saved.
          }
        }
      return v;
    });
  }
}
