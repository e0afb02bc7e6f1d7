import type { SkipReason } from "../events/types.js";

/**
 * Where sources push what they read. The scan core implements it; a source never normalises
 * records itself, it hands over the parsed JSON object of each CloudTrail record.
 */
export interface RecordSink {
  /** One raw CloudTrail record (the parsed object), and where it came from (file, region, object key). */
  record(raw: unknown, origin: string): void;
  /** Something could not be read as a record: counted by reason in the report, never silent. */
  skip(reason: SkipReason, origin: string, count?: number, detail?: string): void;
  /**
   * Optional, for sources that hold whole S3 delivery files: a reader, for one read, that takes a
   * file's bytes and hands its records to the sink itself (reading from the bytes what it can
   * and parsing the rest). The source releases it when the read is over.
   */
  bytesReader?(): BytesReader;
}

export interface BytesReader {
  /**
   * Every record of `bytes` (an uncompressed `{"Records":[...]}` document), delivered; returns
   * how many. Undefined, and nothing delivered, when the bytes are not exactly that: the source
   * then reads them the general way, with the same outcome.
   */
  deliver(bytes: Buffer, origin: string): number | undefined;
  /** The read is over: free what the reader kept for it. */
  release(): void;
  /**
   * Optional: the URL of a module whose `prepareOffThread(bytes)` (returning `{ result, transfer }`)
   * a source may run on a file's bytes in a worker thread (the byte walk); the source then hands
   * the bytes and `result` to `deliverPrepared` instead of calling `deliver`, with the same outcome.
   */
  readonly offThread?: string;
  /** Optional: what that module's `setupOffThread(data)`, if it has one, is given in each worker before any file (structured-cloneable). */
  readonly offThreadData?: unknown;
  deliverPrepared?(bytes: Buffer, prepared: unknown, origin: string): number | undefined;
}

export interface SourceProgress {
  source: string;
  /** Records delivered so far. */
  records: number;
  /** Units of work done / total (files, pages, regions, objects); total may be unknown. */
  done: number;
  total?: number;
  unit: string;
  /** Estimated milliseconds left, when the source can tell. */
  etaMs?: number;
  /** What is read, for people: the source, its scope and the filter pushed down to it. */
  reading?: string;
  detail?: string;
}

/** What a source read, in the report's `sources`. */
export interface SourceSummary {
  kind: "file" | "lookup-events" | "s3" | "athena" | "memory";
  name: string;
  records: number;
  skipped: number;
  note?: string;
}

/**
 * Where an incremental source stopped, per account and region (or bucket prefix): the newest
 * event time read and the ids at that time (dropped when read again).
 */
export interface Cursor {
  newestTime: number;
  newestIds: string[];
  updatedAt: string;
  /** S3: last object key read under the prefix. */
  lastKey?: string;
  /**
   * S3: the objects already read that the next read lists again (those delivered within the
   * overlap before `lastKey`, and any read past an object that could not be): their names below
   * the account+region prefix, so that they are not read (and counted) twice.
   */
  readKeys?: string[];
}

export interface SourceResult {
  summary: SourceSummary;
  /** Non-empty when the source could not deliver everything it was asked for. */
  partialReasons: string[];
  /** What the read covered (the bot's run figures in `/cloudtrail status`). */
  coverage?: SourceCoverage;
}

export interface SourceCoverage {
  /** Account+region pairs read (LookupEvents: regions asked; S3: account/region folders). */
  accountRegions: number;
  /** S3: log files downloaded. */
  files?: number;
  /** S3: for each file read, its delivery time (from its name) and when it landed in the bucket (its LastModified). */
  arrivals?: Array<{ deliveredAt: number; landedAt: number }>;
}

export interface ReadOptions {
  signal?: AbortSignal;
  onProgress?: (p: SourceProgress) => void;
}

/** A port: files, LookupEvents, S3 and Athena each implement it. */
export interface EventSource {
  readonly name: string;
  read(sink: RecordSink, opts?: ReadOptions): Promise<SourceResult>;
}

/** Wrap a sink to count what a source delivers and skips (for its SourceSummary). */
export function countingSink(sink: RecordSink): { sink: RecordSink; records(): number; skipped(): number } {
  let records = 0,
    skipped = 0;
  return {
    sink: {
      record: (raw, origin) => {
        records++;
        sink.record(raw, origin);
      },
      skip: (reason, origin, count = 1, detail) => {
        skipped += count;
        sink.skip(reason, origin, count, detail);
      },
      ...(sink.bytesReader
        ? {
            bytesReader: (): BytesReader => {
              const r = sink.bytesReader!();
              const counted = (n: number | undefined) => {
                if (n !== undefined) records += n;
                return n;
              };
              return {
                deliver: (bytes: Buffer, origin: string) => counted(r.deliver(bytes, origin)),
                release: () => r.release(),
                ...(r.offThread !== undefined && r.deliverPrepared
                  ? {
                      offThread: r.offThread,
                      offThreadData: r.offThreadData,
                      deliverPrepared: (bytes: Buffer, prepared: unknown, origin: string) => counted(r.deliverPrepared!(bytes, prepared, origin)),
                    }
                  : {}),
              };
            },
          }
        : {}),
    },
    records: () => records,
    skipped: () => skipped,
  };
}
