/**
 * write-queue.ts with a scripted backend (no disk): batching, one failing change among others,
 * a failed save kept in memory and retried, changes re-applied on a file another process
 * replaced, the audit cap, and closing.
 */
import { Low, Memory } from "lowdb";
import { describe, expect, it } from "vitest";
import { StoreError } from "../../src/store/errors.js";
import { emptyStoreData, type AuditEntry, type StoreData } from "../../src/store/types.js";
import { WriteQueue, type Backend } from "../../src/store/write-queue.js";
import { T0 } from "./helpers.js";

/** A backend that records every save (a deep copy of the data and the rotated entries) and fails when told. */
function scripted(opts: { failSaves?: number; replaced?: () => StoreData | undefined } = {}) {
  const saves: Array<{ data: StoreData; rotated: AuditEntry[] }> = [];
  let failures = opts.failSaves ?? 0;
  let locks = 0;
  let pending: StoreData | undefined;
  const backend: Backend = {
    async persist(db, rotated) {
      if (failures > 0) {
        failures--;
        throw new Error("disk full");
      }
      saves.push({ data: structuredClone({ ...db.data, baselines: {} }), rotated: [...rotated] });
    },
    async lock() {
      locks++;
      return async () => {};
    },
    async replacedOnDisk() {
      pending = opts.replaced?.();
      return pending !== undefined;
    },
    async reload() {
      return pending!;
    },
    bytes: () => 0,
    warnings: () => [],
  };
  return { backend, saves, locks: () => locks };
}

function queue(backend: Backend, auditCap = 100): WriteQueue {
  return new WriteQueue(new Low<StoreData>(new Memory<StoreData>(), emptyStoreData()), backend, auditCap);
}

const entry = (i: number): AuditEntry => ({ at: new Date(T0 + i).toISOString(), actor: `U${i}`, action: "scan", target: "" });

describe("the write queue", () => {
  it("changes issued in the same tick are applied in order and saved by one write", async () => {
    const b = scripted();
    const q = queue(b.backend);
    const order: number[] = [];
    const done = [1, 2, 3].map((i) => q.enqueue((d) => (order.push(i), d.audit.push(entry(i)), i), false));
    expect(await Promise.all(done)).toEqual([1, 2, 3]);
    expect(order).toEqual([1, 2, 3]);
    expect(b.saves).toHaveLength(1);
    expect(b.locks()).toBe(1);
    expect(q.writes).toBe(1);
  });

  it("a change that throws is rejected alone; the others of its batch are saved", async () => {
    const b = scripted();
    const q = queue(b.backend);
    const ok = q.enqueue((d) => void d.audit.push(entry(1)), false);
    const bad = q.enqueue(() => {
      throw new StoreError("invalid", "no");
    }, false);
    await expect(bad).rejects.toThrow("no");
    await expect(ok).resolves.toBeUndefined();
    expect(b.saves[0]!.data.audit).toHaveLength(1);
  });

  it("apply: a validation error rejects without queueing anything", async () => {
    const b = scripted();
    const q = queue(b.backend);
    await expect(
      q.apply(() => {
        throw new StoreError("invalid", "bad input");
      }),
    ).rejects.toThrow("bad input");
    await q.flush();
    expect(b.saves).toHaveLength(0);
  });

  it("a failed save rejects with write-failed, keeps the change in memory, and the next save carries it", async () => {
    const b = scripted({ failSaves: 1 });
    const q = queue(b.backend);
    await expect(q.enqueue((d) => void d.audit.push(entry(1)), false)).rejects.toMatchObject({ code: "write-failed" });
    expect(q.dirty).toBe(true);
    expect(q.db.data.audit).toHaveLength(1);
    await q.flush();
    expect(q.dirty).toBe(false);
    expect(b.saves.map((s) => s.data.audit.length)).toEqual([1]);
  });

  it("when another process replaced the file, unsaved changes are applied again on what it wrote", async () => {
    let replacement: StoreData | undefined;
    const b = scripted({ failSaves: 1, replaced: () => replacement });
    const q = queue(b.backend);
    await expect(q.enqueue((d) => void d.audit.push(entry(1)), false)).rejects.toMatchObject({ code: "write-failed" });
    replacement = { ...emptyStoreData(), audit: [entry(99)] };
    await q.enqueue((d) => void d.audit.push(entry(2)), false);
    expect(b.saves.at(-1)!.data.audit.map((e) => e.actor)).toEqual(["U99", "U1", "U2"]);
  });

  it("keeps the newest `auditCap` entries and hands the older ones to the backend once", async () => {
    const b = scripted();
    const q = queue(b.backend, 3);
    await q.enqueue((d) => void d.audit.push(...[1, 2, 3, 4, 5].map(entry)), false);
    await q.enqueue((d) => void d.audit.push(entry(6)), false);
    expect(b.saves.map((s) => s.rotated.map((e) => e.actor))).toEqual([["U1", "U2"], ["U3"]]);
    expect(q.db.data.audit.map((e) => e.actor)).toEqual(["U4", "U5", "U6"]);
  });

  it("close waits for what is queued, then refuses further changes", async () => {
    const b = scripted();
    const q = queue(b.backend);
    const last = q.enqueue((d) => void d.audit.push(entry(1)), false);
    await q.close();
    await expect(last).resolves.toBeUndefined();
    expect(q.closed).toBe(true);
    await expect(q.enqueue(() => 1, false)).rejects.toMatchObject({ code: "closed" });
  });
});
