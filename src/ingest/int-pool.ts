/**
 * Small Int32Arrays for the accumulators' columns (value tables, window buckets, reads before the
 * window, hourly counts), cut from shared 64 KB buffers.
 *
 * Why: an Int32Array of its own costs ~590 bytes beyond its numbers (its typed array and
 * ArrayBuffer objects on the V8 heap, the backing store, its bookkeeping and its malloc chunk
 * outside it: RSS of 100,000 `new Int32Array(36)`, 730 bytes each for 144 bytes of numbers), and
 * most identities hold four or five such arrays of a few dozen numbers: ~110,000 of them on
 * realistic 1M events / 20,000 identities. A view into a shared buffer costs its typed array
 * object alone (~270 bytes each in the same measurement).
 *
 * Arrays of up to MAX_POOLED numbers are views of one of four lengths (16, 32, 64, 128: a request
 * is rounded up, so callers read `length` as their room); longer ones are arrays of their own, of
 * the length asked. `freeInt32s` takes back a pooled view its owner has replaced (a grown copy):
 * the next request of that length reuses it, zeroed. Nothing else may hold a view given back.
 * Views are never moved or shared: each is one owner's until it gives it back.
 */

/** Numbers in the largest pooled view (512 bytes). */
export const MAX_POOLED = 128;
/** Bytes per shared buffer. */
const SLAB_BYTES = 1 << 16;

let slab: ArrayBuffer | null = null;
let slabUsed = SLAB_BYTES;
/** Views given back, by length class (16, 32, 64, 128 numbers). */
let free: Int32Array[][] = [[], [], [], []];

/** The length class of `n` numbers (n <= MAX_POOLED): 0 for up to 16, 1 up to 32, 2 up to 64, 3 up to 128. */
function classOf(n: number): number {
  return n <= 16 ? 0 : n <= 32 ? 1 : n <= 64 ? 2 : 3;
}

/** A zeroed Int32Array with room for `n` numbers: a pooled view of 16, 32, 64 or 128 for `n` up to MAX_POOLED, else exactly `n`. */
export function int32s(n: number): Int32Array {
  if (n > MAX_POOLED) return new Int32Array(n);
  const k = classOf(n);
  const f = free[k]!;
  if (f.length > 0) {
    const a = f.pop()!;
    a.fill(0);
    return a;
  }
  const len = 16 << k;
  const bytes = 4 * len;
  if (slabUsed + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const a = new Int32Array(slab!, slabUsed, len);
  slabUsed += bytes;
  return a;
}

/**
 * Give back an array from `int32s` that its owner no longer holds (nor any view of it). Arrays of
 * their own (longer than MAX_POOLED) and empty ones are left to the garbage collector.
 */
export function freeInt32s(a: Int32Array): void {
  const n = a.length;
  if (n === 0 || n > MAX_POOLED) return;
  free[classOf(n)]!.push(a);
}

/**
 * Forget the views given back and the buffer being cut (a scan's end: every accumulator released),
 * so that nothing of a finished scan is held: a buffer goes with its last view.
 */
export function resetInt32Pool(): void {
  slab = null;
  slabUsed = SLAB_BYTES;
  free = [[], [], [], []];
}
