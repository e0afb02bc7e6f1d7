import { constants as zc, crc32, deflateRawSync } from "node:zlib";

/**
 * One gzip member of `mib` MiB of zeros in about `mib` KB, made without inflating or deflating
 * much: a deflate block of 1 MiB of zeros, flushed whole (it refers to nothing before it), repeated,
 * an empty last block, the CRC, and ISIZE: the size modulo 2^32 unless `isize` (a lying trailer).
 */
export function bombMember(mib: number, isize = (mib * 2 ** 20) % 2 ** 32): Buffer {
  const zeros = Buffer.alloc(1 << 20);
  const block = deflateRawSync(zeros, { finishFlush: zc.Z_FULL_FLUSH });
  let crc = 0;
  for (let i = 0; i < mib; i++) crc = crc32(zeros, crc);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(isize, 4);
  return Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]), ...new Array<Buffer>(mib).fill(block), Buffer.from([3, 0]), trailer]);
}
