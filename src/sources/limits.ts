/**
 * How much one input file or S3 object may take when read whole: its bytes once decompressed.
 * Beyond it the file is cut (not read, counted as `oversized-file`, named, and the report is
 * partial): a gzip bomb (1 GB of zeros compresses to 1 MB) cannot exhaust memory. CloudTrail
 * delivery files are far smaller (tens of MB at most); JSON Lines files read line by line have
 * no total limit, only a limit per line.
 */
export const DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024;
/** The longest JSON Lines line taken (a CloudTrail record is at most a few hundred KB). */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

export class LimitSettingError extends Error {
  readonly code = "input";
}

/** `TRAILHOUND_MAX_FILE_MB` (megabytes, default 512), in bytes. */
export function maxFileBytesFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.TRAILHOUND_MAX_FILE_MB;
  if (v === undefined || v.trim() === "") return DEFAULT_MAX_FILE_BYTES;
  const mb = Number(v);
  if (!Number.isFinite(mb) || mb <= 0 || mb > 2048)
    throw new LimitSettingError(`TRAILHOUND_MAX_FILE_MB=${JSON.stringify(v)}: expected a number of megabytes between 1 and 2048 (default 512)`);
  return Math.floor(mb * 1024 * 1024);
}

/** A file or object would decompress (or read) beyond the limit. */
export class OversizedError extends Error {
  constructor(readonly limit: number) {
    super(`larger than the ${mib(limit)} limit once decompressed (TRAILHOUND_MAX_FILE_MB); not read`);
    this.name = "OversizedError";
  }
}

export function mib(bytes: number): string {
  const m = bytes / (1024 * 1024);
  return `${m >= 10 ? Math.round(m) : Math.round(m * 10) / 10} MiB`;
}
