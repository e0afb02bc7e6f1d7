import type { SkipReason } from "../events/types.js";
import type { RecordFields } from "../ingest/lean-facts.js";
import type { SourceSummary } from "../scan/report-types.js";

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
   * Optional fast lane: a record's baseline fields, read from the file bytes without parsing the
   * record. The sink returns true when that was all it needed; false, and the source hands over
   * the parsed record with `record` as usual. The object is reused: copy what you keep.
   */
  fields?(f: RecordFields, origin: string): boolean;
  /**
   * With `fields`: from this time (epoch ms) on, the sink reads `RecordFields.eventId`; a source
   * may leave it empty for earlier records (the time may change as records arrive).
   */
  eventIdsFrom?(): number;
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
  detail?: string;
}

export interface SourceResult {
  summary: SourceSummary;
  /** Non-empty when the source could not deliver everything it was asked for. */
  partialReasons: string[];
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
      ...(sink.fields
        ? {
            fields: (f: RecordFields, origin: string) => {
              const taken = sink.fields!(f, origin);
              if (taken) records++;
              return taken;
            },
          }
        : {}),
      ...(sink.eventIdsFrom ? { eventIdsFrom: () => sink.eventIdsFrom!() } : {}),
    },
    records: () => records,
    skipped: () => skipped,
  };
}
