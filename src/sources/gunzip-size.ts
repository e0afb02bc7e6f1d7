import { createGunzip } from "node:zlib";

/**
 * The output chunk of a gunzip sized from the gzip trailer (ISIZE: the uncompressed size modulo
 * 2^32), so that a CloudTrail file inflates into one buffer: a hint only (a bogus or multi-member
 * trailer just means more chunks), capped. Node built-ins only: the read workers load it too.
 */
export function gunzipChunkSize(raw: Uint8Array, maxBytes: number): number {
  const isize = gzipTrailerSize(raw) ?? 0;
  return Math.max(64 * 1024, Math.min(isize + 64, raw.length * 1032, 256 * 1024 * 1024, maxBytes + 64));
}

/**
 * The gzip trailer's ISIZE: the inflated size of the last member modulo 2^32, so never more than
 * the true size of a whole, valid gzip; undefined when `raw` is too short to end with a trailer.
 * A file cut short, or followed by other bytes, ends with whatever bytes it ends with: a claim
 * only, which inflating the file confirms or not.
 */
export function gzipTrailerSize(raw: Uint8Array): number | undefined {
  if (raw.length < 18) return undefined;
  const n = raw.length;
  return (raw[n - 4]! | (raw[n - 3]! << 8) | (raw[n - 2]! << 16) | (raw[n - 1]! << 24)) >>> 0;
}

/** What `inflateCount` found: more than the limit; the whole gzip, of `bytes` bytes; or its error. */
export type InflateCount = { kind: "over"; bytes: number } | { kind: "ends"; bytes: number } | { kind: "error"; error: Error; bytes: number };

/**
 * Inflate a gzip without keeping what it inflates to, one chunk (1 MiB) at a time, counting it,
 * until it ends, fails (zlib's error, the same as a whole gunzip's), or gives more than
 * `maxBytes`: the check of a trailer that claims more than the limit, in bounded memory (a gzip
 * bomb inflated whole up to the limit took the limit in memory).
 */
export async function inflateCount(raw: Uint8Array, maxBytes: number): Promise<InflateCount> {
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  gunzip.end(raw);
  let bytes = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        gunzip.destroy();
        return { kind: "over", bytes };
      }
    }
  } catch (e) {
    return { kind: "error", error: e as Error, bytes };
  }
  return { kind: "ends", bytes };
}
