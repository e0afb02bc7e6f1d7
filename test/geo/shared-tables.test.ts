import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { adoptSharedAsnTables, sharedAsnTables, sharedTableBytes, type SharedTableSlot } from "../../src/geo/shared-tables.js";

const READY = 2;

describe("ASN tables in shared memory", () => {
  test("a table file is read once into shared memory and the same bytes are given again", () => {
    const p = join(mkdtempSync(join(tmpdir(), "th-shared-")), "t.bin");
    writeFileSync(p, Buffer.from("0123456789abcdef"));
    const a = sharedTableBytes(p)!;
    expect(a.toString()).toBe("0123456789abcdef");
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    const slot = sharedAsnTables()[p]!;
    expect(new Int32Array(slot.state)[0]).toBe(READY);
    expect(sharedTableBytes(p)!.buffer).toBe(a.buffer);
    // A file rewritten since (another size) gets a slot of its own, with its bytes.
    writeFileSync(p, Buffer.from("another table"));
    expect(sharedTableBytes(p)!.toString()).toBe("another table");
    expect(sharedAsnTables()[p]).not.toBe(slot);
  });

  test("a slot another thread filled is used as it is, without reading the file", () => {
    const p = join(mkdtempSync(join(tmpdir(), "th-shared-")), "t.bin");
    writeFileSync(p, Buffer.from("from the file"));
    const { mtimeMs, size } = statSync(p);
    // What another thread hands over: the slot of this very file, its bytes already read (here: other bytes, to tell them apart).
    const slot: SharedTableSlot = { size, mtimeMs, bytes: new SharedArrayBuffer(size), state: new SharedArrayBuffer(4) };
    Buffer.from(slot.bytes).write("from a thread");
    new Int32Array(slot.state)[0] = READY;
    adoptSharedAsnTables({ [p]: slot });
    const got = sharedTableBytes(p)!;
    expect(got.toString()).toBe("from a thread");
    expect(got.buffer).toBe(slot.bytes);
  });

  test("a slot left LOADING by a thread that ended in its read is given up after one wait, not waited for again", () => {
    const p = join(mkdtempSync(join(tmpdir(), "th-shared-")), "t.bin");
    writeFileSync(p, Buffer.from("the table"));
    const { mtimeMs, size } = statSync(p);
    // What a worker terminated in the middle of its read leaves: the slot LOADING for good.
    const slot: SharedTableSlot = { size, mtimeMs, bytes: new SharedArrayBuffer(size), state: new SharedArrayBuffer(4) };
    new Int32Array(slot.state)[0] = 1; // LOADING
    adoptSharedAsnTables({ [p]: slot });
    expect(sharedTableBytes(p, 20)).toBeUndefined(); // the caller reads the file itself
    expect(new Int32Array(slot.state)[0]).toBe(3); // FAILED: later threads do not wait
    expect(sharedTableBytes(p, 20)).toBeUndefined();
  });

  test("no file, no shared bytes", () => {
    expect(sharedTableBytes(join(tmpdir(), "th-shared-none", "missing.bin"))).toBeUndefined();
  });
});
