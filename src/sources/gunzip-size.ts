/**
 * The output chunk of a gunzip sized from the gzip trailer (ISIZE: the uncompressed size modulo
 * 2^32), so that a CloudTrail file inflates into one buffer: a hint only (a bogus or multi-member
 * trailer just means more chunks), capped. Node built-ins only: the read workers load it too.
 */
export function gunzipChunkSize(raw: Uint8Array, maxBytes: number): number {
  const isize = raw.length >= 18 ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).readUInt32LE(raw.length - 4) : 0;
  return Math.max(64 * 1024, Math.min(isize + 64, raw.length * 1032, 256 * 1024 * 1024, maxBytes + 64));
}
