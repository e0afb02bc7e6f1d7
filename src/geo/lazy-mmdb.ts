/**
 * A MaxMind DB (.mmdb) reader that reads the file's pages as lookups need them, for the start-up
 * cost of a scan (issue 17): the packaged DB-IP IPv4 file is 63 MB, and reading it whole cost every
 * scan that much memory and ~30 ms, though a small scan looks up a handful of addresses (~8 pages
 * of 4 KB each).
 *
 * The file's bytes go into one zero-filled buffer of the file's size (untouched pages of such a
 * buffer take no memory), page by page: before a lookup, the pages of the search-tree nodes on the
 * address's path and of the data record it ends at (following the record's pointers) are read;
 * then maxmind's own `Reader`, built on that same buffer, answers from bytes that are all there
 * (for a plain IPv4 address it only decodes the record: the walk that read the pages found it).
 * The answers are the `Reader`'s on the whole file (a test compares them on many addresses). Once
 * half the file's pages are read besides the metadata, or anything looks unusual, the rest of the
 * file is read in one go and lookups go straight to the `Reader`. Until then a scan holds only the
 * pages its addresses lead to: 4,700 of the 15,400 pages of the packaged IPv4 file (18 of 63 MB)
 * for the 111,000 lookups of the realistic benchmark profile at 20,000 identities, whose addresses
 * come from a few networks, as real ones do. A page costs ~5-25 us to read, the whole file ~40 ms;
 * a record already read is not walked again (`records`), so a lookup costs little more than the
 * `Reader`'s own walk of the tree.
 *
 * The file stays open until it has been read whole (pages come from the file as it was opened: a
 * database replaced by a rename, as geoipupdate does, is not mixed with its successor).
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { createRequire } from "node:module";
import type { CityResponse, Reader } from "maxmind";

// Loaded with the first database opened (~10 ms): a scan with --no-geo, or without a public address, never loads it.
const require = createRequire(import.meta.url);
let readerClass: typeof Reader | undefined;
const mmdbReader = (): typeof Reader => (readerClass ??= (require("maxmind") as typeof import("maxmind")).Reader);

const PAGE = 4096;
/** The metadata is within the file's last 128 KiB (MaxMind DB spec). */
const METADATA_MAX = 128 * 1024;
/** Pages read one by one (besides the metadata's) before the rest of the file is read at once: at least this many... */
const BUDGET = 512;
/** ...or this share of the file's pages, if more (beyond it, little memory is left to save). */
const BUDGET_SHARE = 0.5;
/** Data records nest maps and arrays a few levels deep; deeper means a file this reader does not expect. */
const MAX_DEPTH = 32;

type Cache = { get(key: string | number): unknown; set(key: string | number, value: unknown): void };

/** A reader dropped before it read its file whole still closes the file. */
const openFiles = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // Closed already.
  }
});

export class LazyMmdb {
  readonly metadata: Reader<CityResponse>["metadata"];
  private readonly reader: Reader<CityResponse>;
  private readonly buf: Buffer;
  private readonly size: number;
  private fd: number | undefined;
  private readonly loaded: Uint8Array;
  private pages = 0;
  private readonly budget: number;
  private readonly nodeCount: number;
  private readonly nodeBytes: number;
  private readonly recordSize: number;
  private readonly treeBytes: number;
  private readonly dataStart: number;
  private ipv4Start = 0;
  /** Offsets of the data records whose bytes are all read (while reading page by page). */
  private records = new Set<number>();
  /**
   * The Reader's decoding of the record a tree walk ends at (its `resolveDataPointer`, a method
   * TypeScript's declarations keep private); undefined if this version of mmdb-lib has none, and
   * then every lookup goes through `Reader.get`.
   */
  private readonly resolveData: ((pointer: number) => unknown) | undefined;

  constructor(path: string, cache: Cache) {
    const fd = openSync(path, "r");
    this.fd = fd;
    openFiles.register(this, fd, this);
    try {
      this.size = fstatSync(fd).size;
      this.buf = Buffer.alloc(this.size);
      const pages = Math.ceil(this.size / PAGE);
      this.loaded = new Uint8Array(pages);
      this.budget = Math.ceil(METADATA_MAX / PAGE) + Math.max(BUDGET, Math.floor(pages * BUDGET_SHARE));
      this.ensure(Math.max(0, this.size - METADATA_MAX), METADATA_MAX);
      // The metadata (and, for an IPv6 tree, the IPv4 subtree's start) are read by the constructor;
      // it is built again once the nodes leading to the IPv4 subtree are read.
      this.reader = new (mmdbReader())<CityResponse>(this.buf, { cache });
      const md = this.reader.metadata;
      this.metadata = md;
      this.nodeCount = md.nodeCount;
      this.nodeBytes = md.nodeByteSize;
      this.recordSize = md.recordSize;
      this.treeBytes = md.searchTreeSize;
      // Pointers count from the data section, after the tree and a 16-byte separator.
      this.dataStart = md.searchTreeSize + 16;
      if (md.ipVersion === 6) {
        let node = 0;
        for (let i = 0; i < 96 && node < this.nodeCount; i++) node = this.node(node, 0);
        this.ipv4Start = node;
        this.reader.load(this.buf);
      }
      const resolve = (this.reader as unknown as { resolveDataPointer?: unknown }).resolveDataPointer;
      this.resolveData = typeof resolve === "function" ? (resolve as (pointer: number) => unknown).bind(this.reader) : undefined;
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Pages read one by one so far, and whether the whole file is read (tests, benchmarks). */
  get pagesRead(): number {
    return this.pages;
  }
  get whole(): boolean {
    return this.fd === undefined;
  }

  /** The record of `ip`, as `Reader.get` on the whole file answers. */
  get(ip: string): CityResponse | null {
    const v4 = this.resolveData === undefined ? -1 : quadOf(ip);
    if (v4 < 0) {
      if (this.fd !== undefined && !this.prepare(ip)) this.loadAll();
      return this.reader.get(ip);
    }
    const at = this.pointerV4(v4);
    return at === 0 ? null : this.recordAt(at);
  }

  /**
   * Where the record of the IPv4 address `v4` (an unsigned 32-bit number, as `ipv4ToInt` gives it)
   * is: its pointer, which `recordAt` decodes; 0 when the tree has none (`get` answers null); -1
   * when this reader cannot say (no `resolveDataPointer` in this mmdb-lib: use `get`). Addresses
   * share records (a city, a network): a caller may keep what it makes of one by its pointer.
   */
  pointerV4(v4: number): number {
    if (this.resolveData === undefined) return -1;
    // A plain dotted quad (most addresses): one walk of the tree, reading its pages as it goes;
    // the record it ends at is the one the Reader's own walk would find.
    const count = this.nodeCount;
    let node = this.ipv4Start;
    let depth = 0;
    for (; depth < 32 && node < count; depth++) node = this.node(node, (v4 >>> (31 - depth)) & 1);
    this.lastBits = depth;
    return node <= count ? 0 : node; // not found: the Reader's null pointer
  }

  /**
   * The bits of the address the last `pointerV4` walked before it ended: every address sharing
   * them (its network, /lastBits) has the same answer.
   */
  lastBits = 32;

  /** The record at `pointer` (from `pointerV4`, not 0 or -1), decoded by the Reader. */
  recordAt(pointer: number): CityResponse {
    if (this.fd !== undefined) {
      const at = pointer - this.nodeCount + this.treeBytes;
      if (!this.records.has(at)) {
        if (this.touch(at, 0) === -1) this.loadAll();
        else if (this.fd !== undefined) this.records.add(at);
      }
    }
    return this.resolveData!(pointer) as CityResponse;
  }

  /** Reads the pages a lookup of `ip` reads (tree path, then record); false when in doubt. */
  private prepare(ip: string): boolean {
    const addr = parse(ip);
    const bits = addr.length * 8;
    let node = addr.length === 4 ? this.ipv4Start : 0;
    for (let depth = 0; depth < bits && node < this.nodeCount; depth++) {
      node = this.node(node, bitAt(addr, depth));
      if (this.fd === undefined) return true;
    }
    if (node <= this.nodeCount) return true; // not found (or the tree ends): nothing more is read
    // Where mmdb-lib's Reader.resolveDataPointer decodes the record.
    const at = node - this.nodeCount + this.treeBytes;
    if (this.records.has(at)) return true; // read for an earlier lookup (addresses share records: a city, a network)
    if (this.touch(at, 0) === -1) return false;
    this.records.add(at);
    return true;
  }

  /** A child of a tree node (0 left, 1 right), its bytes read first. */
  private node(n: number, right: number): number {
    const o = n * this.nodeBytes;
    if (this.fd !== undefined) {
      // Most nodes a walk reads are on pages read before: only a missing page costs a call.
      const l = this.loaded;
      if (l[Math.floor(o / PAGE)] === 0 || l[Math.floor((o + this.nodeBytes - 1) / PAGE)] === 0) this.ensure(o, this.nodeBytes);
    }
    const b = this.buf;
    // The bytes as the Reader's walker reads them (readUIntBE, readUInt32BE), without the calls.
    switch (this.recordSize) {
      case 24: {
        const p = right ? o + 3 : o;
        return (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
      }
      case 28:
        return right ? ((b[o + 3]! & 0x0f) << 24) | (b[o + 4]! << 16) | (b[o + 5]! << 8) | b[o + 6]! : ((b[o + 3]! & 0xf0) << 20) | (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
      default: {
        const p = right ? o + 4 : o;
        return ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
      }
    }
  }

  /**
   * Reads the bytes the decoder reads for the value at `offset` (following pointers) and returns
   * the offset after it, or -1 for anything unexpected (the caller then reads the whole file).
   * Mirrors mmdb-lib's Decoder.decode: control byte, extended type, size, payload.
   */
  private touch(offset: number, depth: number): number {
    if (depth > MAX_DEPTH || offset < 0 || offset >= this.size) return -1;
    const b = this.buf;
    this.ensure(offset, 8);
    let off = offset;
    const ctrl = b[off++]!;
    let type = ctrl >> 5;
    if (type === 1) {
      // Pointer: 001SSVVV and 1-4 more bytes; the value pointed to is decoded where it is.
      const ss = (ctrl >> 3) & 3;
      const base = this.dataStart + [0, 2048, 526336, 0][ss]!;
      const packed =
        ss === 0 ? ((ctrl & 7) << 8) | b[off]! : ss === 1 ? ((ctrl & 7) << 16) | b.readUInt16BE(off) : ss === 2 ? ((ctrl & 7) << 24) | b.readUIntBE(off, 3) : b.readUInt32BE(off);
      if (this.touch(base + packed, depth + 1) === -1) return -1;
      return off + ss + 1;
    }
    if (type === 0) {
      type = b[off++]! + 7;
      if (type < 8) return -1;
    }
    let size = ctrl & 0x1f;
    if (size === 29) size = 29 + b[off++]!;
    else if (size === 30) {
      size = 285 + b.readUInt16BE(off);
      off += 2;
    } else if (size === 31) {
      size = 65821 + b.readUIntBE(off, 3);
      off += 3;
    }
    switch (type) {
      case 7: // map: key, value, ...
        for (let i = 0; i < size; i++) {
          off = this.touch(off, depth + 1);
          if (off === -1) return -1;
          off = this.touch(off, depth + 1);
          if (off === -1) return -1;
        }
        return off;
      case 11: // array
        for (let i = 0; i < size; i++) {
          off = this.touch(off, depth + 1);
          if (off === -1) return -1;
        }
        return off;
      case 14: // boolean: the size is the value
        return off;
      case 2: // utf8 string
      case 3: // double (8 bytes read whatever the size)
      case 4: // bytes
      case 5: // uint16
      case 6: // uint32
      case 8: // int32
      case 9: // uint64
      case 10: // uint128
      case 15: // float
        this.ensure(off, Math.max(size, 8));
        return off + size;
      default:
        return -1;
    }
  }

  /** Reads the pages holding [offset, offset + length) that are not read yet. */
  private ensure(offset: number, length: number): void {
    if (this.fd === undefined) return;
    const end = Math.min(this.size, offset + length);
    for (let p = Math.floor(offset / PAGE); p * PAGE < end; p++) {
      if (this.loaded[p]) continue;
      if (++this.pages > this.budget) {
        this.loadAll();
        return;
      }
      const at = p * PAGE;
      this.read(at, Math.min(PAGE, this.size - at));
      this.loaded[p] = 1;
      if (this.pages === this.loaded.length) {
        this.close(); // a small file, read page by page
        return;
      }
    }
  }

  /** Reads the rest of the file (then lookups are the Reader's alone) and closes it. */
  private loadAll(): void {
    if (this.fd === undefined) return;
    let p = 0;
    while (p < this.loaded.length) {
      if (this.loaded[p]) {
        p++;
        continue;
      }
      let q = p;
      while (q < this.loaded.length && !this.loaded[q]) q++;
      const at = p * PAGE;
      this.read(at, Math.min(q * PAGE, this.size) - at);
      p = q;
    }
    this.loaded.fill(1);
    this.close();
  }

  private read(at: number, length: number): void {
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd!, this.buf, at + done, length - done, at + done);
      if (n === 0) throw new Error(`the file ended at ${at + done} bytes (it is ${this.size}): was it replaced while open?`);
      done += n;
    }
  }

  private close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    this.records = new Set();
    openFiles.unregister(this);
    closeSync(fd);
  }
}

// The address parser of mmdb-lib (lib/ip.js, MIT licence), so that the path read is the one its
// Reader walks for the same string.
// biome-ignore lint/correctness/useParseIntRadix: as mmdb-lib does ("0x1" reads as hex there too).
const octet = (s: string | undefined): number => parseInt(s as string);

function parseIPv4(input: string): number[] {
  const ip = input.split(".", 4);
  return [octet(ip[0]), octet(ip[1]), octet(ip[2]), octet(ip[3])];
}

function hex(v: string): string {
  const h = parseInt(v, 10).toString(16);
  return h.length === 2 ? h : "0" + h;
}

function parseIPv6(input: string): number[] {
  const addr = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const ip =
    input.indexOf(".") > -1 ? input.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)/, (_m, a: string, b: string, c: string, d: string) => hex(a) + hex(b) + ":" + hex(c) + hex(d)) : input;
  const [left, right] = ip.split("::", 2);
  if (left) {
    const parsed = left.split(":");
    for (let i = 0; i < parsed.length; i++) {
      const chunk = parseInt(parsed[i]!, 16);
      addr[i * 2] = chunk >> 8;
      addr[i * 2 + 1] = chunk & 0xff;
    }
  }
  if (right) {
    const parsed = right.split(":");
    const offset = 16 - parsed.length * 2;
    for (let i = 0; i < parsed.length; i++) {
      const chunk = parseInt(parsed[i]!, 16);
      addr[offset + i * 2] = chunk >> 8;
      addr[offset + (i * 2 + 1)] = chunk & 0xff;
    }
  }
  return addr;
}

/**
 * A dotted quad of 1-3 plain digits per part, each at most 255, as a 32-bit number (the octets
 * mmdb-lib's parse gives it, bit for bit); -1 for anything else (then parsed as mmdb-lib does).
 */
function quadOf(s: string): number {
  const n = s.length;
  if (n < 7 || n > 15) return -1;
  let out = 0,
    v = 0,
    digits = 0,
    parts = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      if (++digits > 3) return -1;
      v = v * 10 + (c - 0x30);
    } else if (c === 0x2e) {
      if (digits === 0 || parts === 3 || v > 255) return -1;
      out = out * 256 + v;
      parts++;
      v = 0;
      digits = 0;
    } else return -1;
  }
  if (parts !== 3 || digits === 0 || v > 255) return -1;
  return out * 256 + v;
}

function parse(ip: string): number[] {
  return ip.indexOf(":") === -1 ? parseIPv4(ip) : parseIPv6(ip);
}

function bitAt(raw: number[], idx: number): number {
  return (raw[idx >> 3]! >>> (7 ^ (idx & 7))) & 1;
}
