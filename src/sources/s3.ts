/**
 * CloudTrail log files straight from the trail's S3 bucket (organisation trails included).
 *
 * - Lists only the days of the requested range under the delivery layout
 *   `[prefix/]AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/MM/DD/`; accounts and regions are
 *   discovered with Delimiter "/" listings unless given. Digest and Insights folders, and keys not
 *   ending in `.json.gz`, are never read.
 * - Files are skipped by the delivery time in their name: a file delivered before the range holds
 *   only earlier events; one delivered more than `deliveryLagMs` after it, only later ones.
 * - Downloads with bounded concurrency (8 in flight), gunzip as a stream, JSON.parse, and every
 *   record goes to the sink with origin `s3://bucket/key`. Data events are records like any other.
 * - Resumable: per account+region a cursor (`lastKey`: the newest object key below which every
 *   object was read). The next read lists from `overlapMs` (15 min) before it, with ListObjectsV2
 *   StartAfter (keys sort by delivery time within a day), for files that land late; the cursor
 *   also keeps the names of the objects it read in that overlap (`readKeys`, like the LookupEvents
 *   cursor's boundary event ids), and they are not downloaded again, so no event is counted twice
 *   across incremental reads.
 * - An object that decompresses beyond the size limit (TRAILHOUND_MAX_FILE_MB, default 512 MiB:
 *   a gzip bomb) is cut there, counted (`oversized-file`), named, and makes the result partial.
 * - A corrupt object is skipped and counted (`corrupt-file`), not fatal; objects that cannot be
 *   read make the result partial. Access denied on the first listing is fatal and names the
 *   permission (s3:ListBucket); on objects it names s3:GetObject (and kms:Decrypt for SSE-KMS).
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import type { GetObjectCommandOutput, ListObjectsV2CommandInput, ListObjectsV2CommandOutput } from "@aws-sdk/client-s3";
import type { Cursor } from "./types.js";
import { gzipTrailerSize, inflateCount } from "./gunzip-size.js";
import { maxFileBytesFromEnv, mib, OversizedError } from "./limits.js";
import { AwsSourceError, classifyAwsError, credentialsHelp, errorSummary, type ErrorKind } from "./aws-errors.js";
import type { CursorStore } from "./lookup-events.js";
import {
  accountPrefix,
  daysBetween,
  dayPath,
  isAccountId,
  isLogObjectKey,
  isOrgId,
  isRegionName,
  keyStem,
  keyTime,
  parseTrailUrl,
  regionPrefix,
  startAfterKey,
  type TrailLocation,
} from "./s3-layout.js";
import { countingSink, type BytesReader, type EventSource, type ReadOptions, type RecordSink, type SourceResult } from "./types.js";
import { awsConnection } from "../net.js";

export { parseTrailUrl, S3LocationError } from "./s3-layout.js";

export const DEFAULT_S3_CONCURRENCY = 8;
export const DEFAULT_S3_OVERLAP_MS = 15 * 60_000;
export const DEFAULT_DELIVERY_LAG_MS = 60 * 60_000;
/** Bound on the object names a cursor keeps (past it the oldest are dropped: read again, never lost). */
export const MAX_CURSOR_KEYS = 5_000;

// ---------------------------------------------------------------------------------------------
// Ports

/** What the source needs of an S3 client. `S3Client` fits. */
export interface S3Port {
  send(command: ListObjectsV2Command, options?: { abortSignal?: AbortSignal }): Promise<ListObjectsV2CommandOutput>;
  send(command: GetObjectCommand, options?: { abortSignal?: AbortSignal }): Promise<GetObjectCommandOutput>;
}

/**
 * The real client: default credentials (or `profile`), redirects to the bucket's region followed,
 * the SDK's standard retries for throttling and network errors.
 */
export function sdkS3Client(o: { region?: string; profile?: string } = {}): S3Client {
  return new S3Client({
    region: o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1",
    followRegionRedirects: true,
    maxAttempts: 4,
    ...awsConnection({ profile: o.profile }),
  });
}

export function s3CursorKey(bucket: string, regionPfx: string): string {
  return `s3://${bucket}/${regionPfx}`;
}

// ---------------------------------------------------------------------------------------------
// Options and results

export interface S3SourceOptions {
  /** `s3://bucket[/prefix]`: where the trail delivers (see parseTrailUrl for deeper URLs). */
  url: string;
  /** Epoch ms: events in [startTime, endTime] are wanted. */
  startTime: number;
  endTime: number;
  /** Only these accounts (default: every account found under AWSLogs/). */
  accounts?: string[];
  /** Never these accounts (TRAILHOUND_EXCLUDE_ACCOUNTS, --exclude-accounts). */
  excludeAccounts?: string[];
  /** Only these regions (default: every region folder found per account). */
  regions?: string[];
  /** Objects downloaded at once (default 8). */
  concurrency?: number;
  /** Listings in flight (default 8). */
  listConcurrency?: number;
  cursorStore?: CursorStore;
  /** Use and move cursors (default: true when a cursorStore is given). */
  incremental?: boolean;
  /** "end" (default): cursors are written when the read ends; "manual": call `commitCursors()`. */
  cursorCommit?: "end" | "manual";
  /** Re-read this much before a cursor (default 15 min). */
  overlapMs?: number;
  /** Files delivered up to this long after endTime may hold events of the range (default 1 h). */
  deliveryLagMs?: number;
  client?: S3Port;
  /** For the default client. */
  region?: string;
  profile?: string;
  now?: () => number;
  /** Largest decompressed object (default TRAILHOUND_MAX_FILE_MB, else 512 MiB). */
  maxBytes?: number;
  /**
   * Read exactly these object keys (new files announced by S3 event notifications), without any
   * listing: keys outside the trail location or not log files are ignored (counted). Their
   * cursors keep them as read (`readKeys`), so a listing read does not read them again, but
   * `lastKey` does not move: a file whose notification was lost is still found by listing.
   */
  keys?: string[];
}

export interface S3ReadResult extends SourceResult {
  /** `alreadyRead`: listed again in an incremental read's overlap and not downloaded (the cursor had read them). */
  objects: { listed: number; read: number; corrupt: number; failed: number; bytes: number; alreadyRead: number };
  /** Prefixes read: account/region pairs. */
  prefixes: Array<{ account: string; region: string; objects: number; startAfter?: string }>;
  cursorUpdates: Record<string, Cursor>;
  commitCursors(): Promise<void>;
  /** With `keys`: those that are not log files of this trail location (not read). */
  ignoredKeys?: string[];
}

interface RegionTarget {
  account: string;
  region: string;
  prefix: string;
  cursorKey: string;
  objects: LogObject[];
  startAfter?: string;
  oldCursor?: Cursor;
  /** Names (below `prefix`) the cursor says were read. */
  readBefore?: Set<string>;
}

interface LogObject {
  key: string;
  size: number;
  time: number | undefined;
  target: RegionTarget;
  /** "seen": read by an earlier read (the cursor's `readKeys`), not downloaded again. */
  status?: "ok" | "corrupt" | "oversized" | "failed" | "seen";
  /** When it landed in the bucket (GetObject's LastModified). */
  landedAt?: number;
}

// ---------------------------------------------------------------------------------------------

export class S3Source implements EventSource {
  readonly name: string;
  private readonly loc: TrailLocation;
  private client: S3Port | undefined;

  constructor(private readonly o: S3SourceOptions) {
    this.loc = parseTrailUrl(o.url);
    this.name = `s3://${this.loc.bucket}/${this.loc.logsRoot}`;
    if (!(o.startTime <= o.endTime))
      throw new AwsSourceError("invalid-time", `the S3 read range starts after it ends (${new Date(o.startTime).toISOString()} > ${new Date(o.endTime).toISOString()})`);
    for (const a of [...(o.accounts ?? []), ...(o.excludeAccounts ?? [])]) if (!isAccountId(a)) throw new AwsSourceError("invalid-argument", `account "${a}": expected 12 digits`);
    for (const r of o.regions ?? []) if (!isRegionName(r)) throw new AwsSourceError("unknown-region", `"${r}" is not a region name`);
  }

  private s3(): S3Port {
    return (this.client ??= this.o.client ?? sdkS3Client({ ...(this.o.region ? { region: this.o.region } : {}), ...(this.o.profile ? { profile: this.o.profile } : {}) }));
  }

  async read(sink: RecordSink, opts: ReadOptions = {}): Promise<S3ReadResult> {
    const signal = opts.signal;
    const partial: string[] = [];
    const bucket = this.loc.bucket;
    const incremental = this.o.incremental ?? this.o.cursorStore !== undefined;
    const overlap = this.o.overlapMs ?? DEFAULT_S3_OVERLAP_MS;
    const lastTime = this.o.endTime + (this.o.deliveryLagMs ?? DEFAULT_DELIVERY_LAG_MS);
    const listConc = this.o.listConcurrency ?? DEFAULT_S3_CONCURRENCY;

    // 1. Accounts and regions (given keys: theirs).
    const pushed = this.o.keys ? this.pushedTargets(this.o.keys) : undefined;
    const exclude = new Set(this.o.excludeAccounts ?? []);
    const accounts = pushed ? [] : (await discoverAccountPrefixes(this.s3(), this.loc, this.o.accounts, signal)).filter((a) => !exclude.has(a.account));
    const targets: RegionTarget[] = pushed?.targets ?? [];
    await pool(accounts, listConc, signal, async (a) => {
      let regions: string[];
      if (this.o.regions?.length) regions = this.loc.region ? this.o.regions.filter((r) => r === this.loc.region) : this.o.regions;
      else if (this.loc.region) regions = [this.loc.region];
      else {
        try {
          const l = await listAll(this.s3(), bucket, `${a.prefix}CloudTrail/`, { delimiter: "/" }, signal);
          regions = l.prefixes.map((p) => p.slice(a.prefix.length + "CloudTrail/".length, -1)).filter(isRegionName);
        } catch (e) {
          partial.push(subListingProblem(e, bucket, `${a.prefix}CloudTrail/`, `account ${a.account}`));
          return;
        }
      }
      for (const region of regions) {
        const prefix = regionPrefix(a.prefix, region);
        targets.push({ account: a.account, region, prefix, cursorKey: s3CursorKey(bucket, prefix), objects: [] });
      }
    });

    // 2. Objects of the range, per account+region and day (given keys: those not read before).
    await pool(targets, listConc, signal, async (t) => {
      let start = this.o.startTime;
      let stem: string | undefined;
      if (incremental && this.o.cursorStore) {
        const c = await this.o.cursorStore.get(t.cursorKey);
        if (c) t.oldCursor = c;
        if (c?.readKeys?.length) t.readBefore = new Set(c.readKeys);
        if (pushed) {
          for (const x of t.objects) if (readByCursor(c, x.key.slice(t.prefix.length), overlap)) x.status = "seen";
          return;
        }
        if (c?.lastKey) {
          const kt = keyTime(c.lastKey);
          if (kt !== undefined && kt - overlap > start) {
            start = kt - overlap;
            stem = keyStem(c.lastKey);
          }
        }
      }
      if (pushed) return;
      const firstMinute = Math.floor(start / 60_000) * 60_000;
      for (const day of daysBetween(start, lastTime)) {
        const dayDir = t.prefix + dayPath(day);
        const startAfter = stem && dayPath(day) === dayPath(start) ? startAfterKey(dayDir, stem, firstMinute) : undefined;
        if (startAfter) t.startAfter = startAfter;
        let listed: Listed;
        try {
          listed = await listAll(this.s3(), bucket, dayDir, startAfter ? { startAfter } : {}, signal);
        } catch (e) {
          partial.push(subListingProblem(e, bucket, dayDir, `${t.account} ${t.region} ${dayPath(day).slice(0, -1)}`));
          continue;
        }
        for (const k of listed.keys) {
          if (!isLogObjectKey(k.key)) continue;
          const time = keyTime(k.key);
          if (time !== undefined && (time < firstMinute || time > lastTime)) continue;
          const seen = t.readBefore?.has(k.key.slice(t.prefix.length));
          t.objects.push({ key: k.key, size: k.size, time, target: t, ...(seen ? { status: "seen" as const } : {}) });
        }
      }
    });

    // 3. Download and parse, oldest delivery first (not what an earlier read already read).
    const alreadyRead = targets.reduce((n, t) => n + t.objects.filter((x) => x.status === "seen").length, 0);
    const objects = targets.flatMap((t) => t.objects.filter((x) => x.status !== "seen"));
    objects.sort((a, b) => (a.time ?? 0) - (b.time ?? 0) || (a.key < b.key ? -1 : 1));
    const totalBytes = objects.reduce((s, x) => s + x.size, 0);
    let done = 0,
      bytes = 0;
    const counted = countingSink(sink);
    const counting = counted.sink;
    const started = (this.o.now ?? Date.now)();
    const days = daysBetween(this.o.startTime, lastTime);
    const reading = `${this.name}${pushed ? ` (${objects.length} new files)` : `, ${targets.length} account/region folders, ${dayPath(days[0]!).slice(0, -1)}${days.length > 1 ? ` to ${dayPath(days.at(-1)!).slice(0, -1)}` : ""}`}`;
    const progress = () =>
      opts.onProgress?.({
        source: "s3",
        reading,
        records: counted.records(),
        done,
        total: objects.length,
        unit: "objects",
        detail: `${mb(bytes)} of ${mb(totalBytes)} MB`,
        ...(done > 0 && done < objects.length ? { etaMs: (((this.o.now ?? Date.now)() - started) / done) * (objects.length - done) } : {}),
      });
    progress();
    const failures: Array<{ key: string; kind: ErrorKind; message: string }> = [];
    const oversized: string[] = [];
    const maxBytes = this.o.maxBytes ?? maxFileBytesFromEnv();
    const lane = counting.bytesReader?.();
    try {
      await pool(objects, this.o.concurrency ?? DEFAULT_S3_CONCURRENCY, signal, async (obj) => {
        const origin = `s3://${bucket}/${obj.key}`;
        try {
          const out = await this.s3().send(new GetObjectCommand({ Bucket: bucket, Key: obj.key }), signal ? { abortSignal: signal } : {});
          if (out.LastModified) obj.landedAt = out.LastModified.getTime();
          const { data, compressed } = await gunzipBody(out.Body, maxBytes);
          bytes += compressed;
          obj.status = parseLogFile(data, origin, counting, lane) ? "ok" : "corrupt";
        } catch (e) {
          if (e instanceof OversizedError) {
            counting.skip("oversized-file", origin, 1, e.message);
            obj.status = "oversized";
            oversized.push(obj.key);
          } else if (e instanceof CorruptObjectError) {
            bytes += e.compressed;
            counting.skip("corrupt-file", origin, 1, e.message);
            obj.status = "corrupt";
          } else {
            const kind = classifyAwsError(e);
            if (kind === "aborted" || signal?.aborted) return;
            if (kind === "credentials" || kind === "unrecognized-client")
              throw new AwsSourceError("credentials", `reading ${origin}: AWS credentials are missing or invalid (${errorSummary(e)}); ${credentialsHelp(this.o.profile)}`, {
                cause: e,
              });
            obj.status = "failed";
            failures.push({ key: obj.key, kind, message: errorSummary(e) });
          }
        }
        done++;
        progress();
      });
    } finally {
      lane?.release();
    }

    const corrupt = objects.filter((x) => x.status === "corrupt").length;
    const read = objects.filter((x) => x.status === "ok").length;
    if (failures.length) {
      const denied = failures.filter((f) => f.kind === "access-denied");
      if (denied.length && denied.length === objects.length)
        throw new AwsSourceError(
          "missing-permission",
          `s3:GetObject was denied on every log object under s3://${bucket}/${this.loc.logsRoot} (${denied.length} objects, e.g. ${denied[0]!.key}: ${denied[0]!.message}). ` +
            `Grant s3:GetObject on arn:aws:s3:::${bucket}/${this.loc.logsRoot}*; for a trail encrypted with SSE-KMS also kms:Decrypt on its key.`,
        );
      const sample = failures
        .slice(0, 3)
        .map((f) => `${f.key}: ${f.message}`)
        .join("; ");
      const hint = denied.length ? ` (${denied.length} denied: s3:GetObject, and kms:Decrypt for SSE-KMS trails)` : "";
      partial.push(`${failures.length} of ${objects.length} S3 objects could not be read${hint}: ${sample}${failures.length > 3 ? "; ..." : ""}`);
    }
    if (corrupt) partial.push(`${corrupt} S3 object${corrupt === 1 ? " was" : "s were"} not valid gzip/JSON and skipped`);
    if (oversized.length)
      partial.push(
        `${oversized.length} S3 object${oversized.length === 1 ? "" : "s"} ${new OversizedError(maxBytes).message}: ${oversized.slice(0, 3).join("; ")}${oversized.length > 3 ? "; ..." : ""}`,
      );
    if (signal?.aborted) partial.push(`stopped after ${done} of ${objects.length} S3 objects`);

    // 4. Cursors: per account+region, the newest key below which everything was read, and the
    //    names of what was read that the next read lists again (its overlap, and anything read
    //    past an object that could not be).
    const cursorUpdates: Record<string, Cursor> = {};
    if (incremental && this.o.cursorStore) {
      const updatedAt = new Date((this.o.now ?? Date.now)()).toISOString();
      for (const t of targets) {
        const c = nextCursor(t, overlap, updatedAt, !pushed);
        if (c) cursorUpdates[t.cursorKey] = c;
      }
    }
    const store = this.o.cursorStore;
    const commitCursors = async () => {
      if (!store) return;
      for (const [k, c] of Object.entries(cursorUpdates)) await store.set(k, c);
    };
    if (this.o.cursorCommit !== "manual") await commitCursors();

    const noteParts = [`${read} of ${objects.length} objects (${mb(bytes)} MB) in ${targets.length} account/region prefixes`];
    if (alreadyRead) noteParts.push(`${alreadyRead} listed again and not reread (read before)`);
    if (corrupt) noteParts.push(`${corrupt} corrupt`);
    if (oversized.length) noteParts.push(`${oversized.length} over the size limit`);
    if (failures.length) noteParts.push(`${failures.length} unreadable`);
    return {
      summary: { kind: "s3", name: this.name, records: counted.records(), skipped: counted.skipped(), note: noteParts.join(", ") },
      partialReasons: partial,
      objects: { listed: objects.length, read, corrupt, failed: failures.length, bytes, alreadyRead },
      prefixes: targets.map((t) => ({ account: t.account, region: t.region, objects: t.objects.length, ...(t.startAfter ? { startAfter: t.startAfter } : {}) })),
      cursorUpdates,
      commitCursors,
      coverage: {
        accountRegions: targets.length,
        files: read,
        arrivals: objects.flatMap((x) => (x.status === "ok" && x.landedAt !== undefined ? [{ deliveredAt: x.time ?? x.landedAt, landedAt: x.landedAt }] : [])),
      },
      ...(pushed ? { ignoredKeys: pushed.ignored } : {}),
    };
  }

  /** The account+region targets of pushed keys (deduplicated), and the keys that are not this trail's log files. */
  private pushedTargets(keys: readonly string[]): { targets: RegionTarget[]; ignored: string[] } {
    const byPrefix = new Map<string, RegionTarget>();
    const ignored: string[] = [];
    const seen = new Set<string>();
    for (const key of keys) {
      if (seen.has(key)) continue;
      seen.add(key);
      const m = matchTrailKey(this.loc, key, this.o.accounts, this.o.regions, this.o.excludeAccounts);
      if (!m) {
        ignored.push(key);
        continue;
      }
      const prefix = m.prefix;
      let t = byPrefix.get(prefix);
      if (!t) {
        t = { account: m.account, region: m.region, prefix, cursorKey: s3CursorKey(this.loc.bucket, prefix), objects: [] };
        byPrefix.set(prefix, t);
      }
      t.objects.push({ key, size: 0, time: keyTime(key), target: t });
    }
    return { targets: [...byPrefix.values()], ignored };
  }
}

/** `<root>AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/MM/DD/<file>`: [1] the region prefix, [2] org, [3] account, [4] region. */
const LOG_KEY = /^(.*AWSLogs\/(?:(o-[a-z0-9]+)\/)?(\d{12})\/CloudTrail\/([a-z0-9-]+)\/)\d{4}\/\d{2}\/\d{2}\/[^/]+$/;

/** A log file of the trail location (and of the accounts/regions read, when given): its region prefix, account, region. */
function matchTrailKey(
  loc: TrailLocation,
  key: string,
  accounts?: readonly string[],
  regions?: readonly string[],
  exclude?: readonly string[],
): { prefix: string; account: string; region: string } | undefined {
  const m = LOG_KEY.exec(key);
  if (!m || !key.startsWith(loc.logsRoot) || !isLogObjectKey(key)) return undefined;
  const [, prefix, org, account, region] = m as unknown as [string, string, string | undefined, string, string];
  if (loc.orgId && org !== loc.orgId) return undefined;
  if ((loc.account && account !== loc.account) || (loc.region && region !== loc.region)) return undefined;
  if ((accounts?.length && !accounts.includes(account)) || (regions?.length && !regions.includes(region)) || exclude?.includes(account)) return undefined;
  return { prefix, account, region };
}

/**
 * For S3 event notifications (sqs.ts): whether a key is a log file this source reads, and whether
 * it is already read and saved by its account+region cursor (readByCursor).
 */
export function trailKeys(
  url: string,
  o: { accounts?: readonly string[]; regions?: readonly string[]; excludeAccounts?: readonly string[]; getCursor(key: string): Cursor | undefined; overlapMs?: number },
) {
  const loc = parseTrailUrl(url);
  const overlap = o.overlapMs ?? DEFAULT_S3_OVERLAP_MS;
  return {
    isTrailKey: (key: string) => matchTrailKey(loc, key, o.accounts, o.regions, o.excludeAccounts) !== undefined,
    isCommitted: (key: string) => {
      const m = matchTrailKey(loc, key);
      return m !== undefined && readByCursor(o.getCursor(s3CursorKey(loc.bucket, m.prefix)), key.slice(m.prefix.length), overlap);
    },
    bucket: loc.bucket,
  };
}

/**
 * Whether a cursor says an object (its name below the account+region prefix) was read: named in
 * `readKeys`, or delivered before the listing floor of `lastKey` (its delivery time minus the
 * overlap, the oldest time the next listing reads): the listings read everything below it and
 * `readKeys` drops the names there. So a notification that comes back, or comes late, after the
 * listing moved on (an expired SQS receipt handle, a bot that was down) is not read a second time.
 */
export function readByCursor(c: Cursor | undefined, name: string, overlap: number): boolean {
  if (!c) return false;
  if (c.readKeys?.includes(name)) return true;
  const lt = c.lastKey === undefined ? undefined : keyTime(c.lastKey);
  const kt = keyTime(name);
  return lt !== undefined && kt !== undefined && kt < listingFloor(lt, overlap);
}

/** The oldest delivery minute the next listing after `lastKeyTime` reads. */
function listingFloor(lastKeyTime: number, overlap: number): number {
  return Math.floor((lastKeyTime - overlap) / 60_000) * 60_000;
}

/**
 * A region's next cursor, or undefined when it would not change. `lastKey` moves (never back) to
 * the newest key below which every object was read (corrupt and oversized ones count as read:
 * reported once, not re-read for ever); `readKeys` are the objects read (now or before) that the
 * next read lists again: delivered at most `overlap` before `lastKey`, or after it.
 */
function nextCursor(t: RegionTarget, overlap: number, updatedAt: string, moveLast: boolean): Cursor | undefined {
  const done = (x: LogObject) => x.status === "ok" || x.status === "corrupt" || x.status === "oversized" || x.status === "seen";
  const sorted = [...t.objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  let last: LogObject | undefined;
  for (const x of sorted) {
    if (!done(x)) break;
    last = x;
  }
  const old = t.oldCursor;
  // Pushed keys are not contiguous: they never move lastKey (a listing read still finds the rest).
  const lastKey = !moveLast ? old?.lastKey : old?.lastKey && (!last || old.lastKey >= last.key) ? old.lastKey : last?.key;
  if (lastKey === undefined && moveLast) return undefined;
  const lastTime = lastKey !== undefined && lastKey === last?.key && moveLast ? (last.time ?? 0) : (old?.newestTime ?? 0);
  // The next read lists from the minute of (lastKey's delivery time - overlap); without a lastKey, from the window's start.
  const from = lastKey === undefined ? -Infinity : listingFloor(keyTime(lastKey) ?? lastTime, overlap);
  const keep = new Set<string>();
  for (const n of old?.readKeys ?? []) {
    const kt = keyTime(n);
    if (kt === undefined || kt >= from) keep.add(n);
  }
  // Pushed keys are kept whatever their time (a late file below the overlap is named too, so that
  // its notification can be deleted and a duplicate of it is not read again); the next listing
  // read drops those it does not list again.
  for (const x of sorted) if (done(x) && (!moveLast || x.time === undefined || x.time >= from)) keep.add(x.key.slice(t.prefix.length));
  let readKeys = [...keep].sort();
  if (readKeys.length > MAX_CURSOR_KEYS) readKeys = readKeys.slice(readKeys.length - MAX_CURSOR_KEYS);
  if (old && old.lastKey === lastKey && sameList(old.readKeys ?? [], readKeys)) return undefined;
  if (lastKey === undefined && readKeys.length === 0) return undefined;
  return { newestTime: lastTime, newestIds: [], updatedAt, ...(lastKey !== undefined ? { lastKey } : {}), ...(readKeys.length ? { readKeys } : {}) };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// ---------------------------------------------------------------------------------------------
// Listing

interface Listed {
  keys: Array<{ key: string; size: number }>;
  prefixes: string[];
}

async function listAll(s3: S3Port, bucket: string, prefix: string, o: { delimiter?: string; startAfter?: string }, signal?: AbortSignal): Promise<Listed> {
  const out: Listed = { keys: [], prefixes: [] };
  let token: string | undefined;
  do {
    const input: ListObjectsV2CommandInput = { Bucket: bucket, Prefix: prefix };
    if (o.delimiter) input.Delimiter = o.delimiter;
    if (token) input.ContinuationToken = token;
    else if (o.startAfter) input.StartAfter = o.startAfter;
    const page = await s3.send(new ListObjectsV2Command(input), signal ? { abortSignal: signal } : {});
    for (const c of page.Contents ?? []) if (c.Key) out.keys.push({ key: c.Key, size: c.Size ?? 0 });
    for (const p of page.CommonPrefixes ?? []) if (p.Prefix) out.prefixes.push(p.Prefix);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

function listingError(e: unknown, bucket: string, prefix: string): AwsSourceError {
  const kind = classifyAwsError(e);
  const where = `s3://${bucket}/${prefix}`;
  const name = (e as { name?: string }).name;
  if (kind === "access-denied")
    return new AwsSourceError(
      "missing-permission",
      `listing ${where} was denied (${errorSummary(e)}): grant s3:ListBucket on arn:aws:s3:::${bucket} (a bucket policy or the trail owner's account may also deny it)`,
      { cause: e },
    );
  if (name === "NoSuchBucket")
    return new AwsSourceError("invalid-argument", `the bucket ${bucket} does not exist (or is in another partition): check the trail's S3 bucket name`, { cause: e });
  if (kind === "credentials" || kind === "unrecognized-client")
    return new AwsSourceError("credentials", `listing ${where}: AWS credentials are missing or invalid (${errorSummary(e)}); ${credentialsHelp()}`, { cause: e });
  return new AwsSourceError("unavailable", `listing ${where} failed: ${errorSummary(e)}`, { cause: e });
}

/** Below the trail root, a listing that fails costs that part of the data, not the scan. */
function subListingProblem(e: unknown, bucket: string, prefix: string, what: string): string {
  const err = listingError(e, bucket, prefix);
  if (err.code === "credentials") throw err;
  return `${what} not read: ${err.message}`;
}

/**
 * Accounts under the trail root: `AWSLogs/<account>/` and, for organisation trails,
 * `AWSLogs/o-xxx/<account>/`. Filters to `only` when given (without listing, when the layout is known).
 */
async function discoverAccountPrefixes(
  s3: S3Port,
  loc: TrailLocation,
  only: readonly string[] | undefined,
  signal?: AbortSignal,
): Promise<Array<{ account: string; prefix: string }>> {
  if (loc.account) {
    if (only?.length && !only.includes(loc.account)) return [];
    return [{ account: loc.account, prefix: accountPrefix(loc, loc.account) }];
  }
  const roots: string[] = loc.orgId ? [`${loc.logsRoot}${loc.orgId}/`] : [loc.logsRoot];
  const out: Array<{ account: string; prefix: string }> = [];
  for (let i = 0; i < roots.length; i++) {
    const root = roots[i]!;
    let listed: Listed;
    try {
      listed = await listAll(s3, loc.bucket, root, { delimiter: "/" }, signal);
    } catch (e) {
      throw listingError(e, loc.bucket, root);
    }
    for (const p of listed.prefixes) {
      const seg = p.slice(root.length, -1);
      if (isAccountId(seg)) out.push({ account: seg, prefix: p });
      else if (!loc.orgId && root === loc.logsRoot && isOrgId(seg)) roots.push(p);
    }
  }
  if (out.length === 0)
    throw new AwsSourceError(
      "invalid-argument",
      `no CloudTrail logs under s3://${loc.bucket}/${roots[0]}: expected <account>/ or o-<org>/<account>/ folders there (is the bucket/prefix the trail's?)`,
    );
  return only?.length ? out.filter((a) => only.includes(a.account)) : out;
}

/**
 * The accounts (and organisation) a trail bucket holds logs for: for `trailhound athena ddl`. With
 * `withRegions`, also the regions with a `CloudTrail/<region>/` folder in any of them (the list the
 * S3 source reads, for the table's partition projection), us-east-1 first.
 */
export async function discoverTrailAccounts(
  url: string,
  o: { client?: S3Port; region?: string; profile?: string; signal?: AbortSignal; withRegions?: boolean } = {},
): Promise<{ orgId?: string; accounts: string[]; regions?: string[] }> {
  const loc = parseTrailUrl(url);
  const s3 = o.client ?? sdkS3Client({ ...(o.region ? { region: o.region } : {}), ...(o.profile ? { profile: o.profile } : {}) });
  const found = await discoverAccountPrefixes(s3, loc, undefined, o.signal);
  const orgs = new Set(found.map((a) => /\/(o-[a-z0-9]+)\/\d{12}\/$/.exec(a.prefix)?.[1]).filter((x): x is string => x !== undefined));
  const res: { orgId?: string; accounts: string[]; regions?: string[] } = { accounts: [...new Set(found.map((a) => a.account))].sort() };
  if (orgs.size === 1) res.orgId = [...orgs][0]!;
  if (o.withRegions) {
    const regions = new Set<string>();
    await pool(found, DEFAULT_S3_CONCURRENCY, o.signal, async (a) => {
      const l = await listAll(s3, loc.bucket, `${a.prefix}CloudTrail/`, { delimiter: "/" }, o.signal).catch((e: unknown) => {
        throw listingError(e, loc.bucket, `${a.prefix}CloudTrail/`);
      });
      for (const p of l.prefixes) {
        const r = p.slice(a.prefix.length + "CloudTrail/".length, -1);
        if (isRegionName(r)) regions.add(r);
      }
    });
    res.regions = [...regions].sort((a, b) => (a === "us-east-1" ? -1 : b === "us-east-1" ? 1 : a.localeCompare(b)));
  }
  return res;
}

// ---------------------------------------------------------------------------------------------
// Objects

class CorruptObjectError extends Error {
  constructor(
    message: string,
    readonly compressed: number,
  ) {
    super(message);
  }
}

/** A gzip object up to this size (compressed) is read whole before it is inflated (its trailer is checked). */
const TRAILER_AHEAD = 64 << 20;

/**
 * Gunzip a GetObject body as a stream. A body that is not gzip but plain JSON (a proxy or client
 * that already decoded it) is taken as is. Gzip errors become CorruptObjectError; network errors
 * pass through.
 */
async function gunzipBody(body: GetObjectCommandOutput["Body"], maxBytes: number): Promise<{ data: Buffer; compressed: number }> {
  if (!body) throw new CorruptObjectError("empty object", 0);
  const stream: AsyncIterable<Buffer> = body instanceof Readable ? body : Readable.from([Buffer.from(await body.transformToByteArray())]);
  const it = stream[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done || first.value.length === 0) throw new CorruptObjectError("empty object", 0);
  const head = first.value;
  let compressed = 0;
  /** Chunks read ahead of the gunzip (a gzip object up to TRAILER_AHEAD bytes is read whole first). */
  const ahead: Buffer[] = [head];
  let bodyEnded = false;
  const all = async function* () {
    try {
      for (const c of ahead) {
        compressed += c.length;
        yield c;
      }
      if (bodyEnded) return;
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        compressed += n.value.length;
        yield n.value;
      }
    } finally {
      await it.return?.(); // stopped early (the size limit): release the body
    }
  };
  const chunks: Buffer[] = [];
  let size = 0;
  let over: OversizedError | undefined;
  /** Keep a chunk; beyond the limit the read stops (the body and the gunzip are destroyed). */
  const keep = (c: Buffer) => {
    size += c.length;
    if (size > maxBytes) throw (over = new OversizedError(maxBytes));
    chunks.push(c);
  };
  if (!(head[0] === 0x1f && head[1] === 0x8b)) {
    for await (const c of all()) keep(c);
    const data = Buffer.concat(chunks);
    if (data.toString("utf8").trimStart().startsWith("{")) return { data, compressed };
    throw new CorruptObjectError("not gzip data", compressed);
  }
  // The whole object first, when small (a CloudTrail object is): its trailer (ISIZE) may say it
  // inflates to more than the limit (a gzip bomb), and then it is inflated without keeping the
  // output, not kept up to the limit (with 8 objects read at once, 8 times the limit). The trailer
  // is only a claim (an object cut short ends with any bytes): zlib decides, as for a file.
  let inAhead = head.length;
  while (inAhead <= TRAILER_AHEAD) {
    const n = await it.next();
    if (n.done) {
      bodyEnded = true;
      break;
    }
    ahead.push(n.value);
    inAhead += n.value.length;
  }
  if (bodyEnded) {
    const raw = ahead.length === 1 ? head : Buffer.concat(ahead);
    const claimed = gzipTrailerSize(raw);
    if (claimed !== undefined && claimed > maxBytes) {
      const count = await inflateCount(raw, maxBytes);
      if (count.kind === "over") {
        await it.return?.();
        const e = new OversizedError(maxBytes);
        e.message += ` (its gzip trailer says ${mib(claimed)}; inflated to the limit without keeping it)`;
        throw e;
      }
      if (count.kind === "error") throw new CorruptObjectError(`not valid gzip (${count.error.message})`, raw.length);
    }
  }
  const gunzip = createGunzip();
  try {
    await pipeline(Readable.from(all()), gunzip, async (src: AsyncIterable<Buffer>) => {
      for await (const c of src) keep(c);
    });
  } catch (e) {
    if (over) throw over; // the pipeline reports it as an AbortError
    const err = e as NodeJS.ErrnoException;
    if (typeof err.code === "string" && err.code.startsWith("Z_")) throw new CorruptObjectError(`not valid gzip (${err.message})`, compressed);
    throw e;
  }
  return { data: Buffer.concat(chunks), compressed };
}

/**
 * `{"Records":[...]}` -> records into the sink (through its bytes reader when it has one); false
 * (and a counted skip) when it is not that.
 */
function parseLogFile(data: Buffer, origin: string, sink: RecordSink, lane: BytesReader | undefined): boolean {
  if (lane?.deliver(data, origin) !== undefined) return true;
  let doc: unknown;
  try {
    doc = JSON.parse(data.toString("utf8"));
  } catch (e) {
    sink.skip("corrupt-file", origin, 1, `not valid JSON (${(e as Error).message})`);
    return false;
  }
  const recs = doc && typeof doc === "object" ? (doc as { Records?: unknown }).Records : undefined;
  if (!Array.isArray(recs)) {
    sink.skip("not-cloudtrail", origin, 1, "no Records array");
    return false;
  }
  for (let i = 0; i < recs.length; i++) sink.record(recs[i], origin);
  return true;
}

function mb(n: number): string {
  return (n / 1024 / 1024).toFixed(1);
}

/** Run `fn` over `items`, `n` at a time; stops taking new items on abort or on the first error (rethrown). */
async function pool<T>(items: readonly T[], n: number, signal: AbortSignal | undefined, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  let error: unknown;
  let failed = false;
  const worker = async () => {
    while (!failed && !signal?.aborted && i < items.length) {
      const t = items[i++]!;
      try {
        await fn(t);
      } catch (e) {
        if (!failed) {
          failed = true;
          error = e;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
  if (failed) throw error;
}

// ---------------------------------------------------------------------------------------------
// For the CLI

export interface S3CliOptions {
  url: string;
  /** Detection window (ms). */
  since: number;
  until: number;
  accounts?: string[];
  excludeAccounts?: string[];
  regions?: string[];
  profile?: string;
  region?: string;
  cursorStore?: CursorStore;
  concurrency?: number;
}

/** `--source s3://bucket/prefix`: an S3Source over the scan's window. */
export function s3SourceFromOptions(o: S3CliOptions): S3Source {
  return new S3Source({
    url: o.url,
    startTime: o.since,
    endTime: o.until,
    ...(o.accounts?.length ? { accounts: o.accounts } : {}),
    ...(o.excludeAccounts?.length ? { excludeAccounts: o.excludeAccounts } : {}),
    ...(o.regions?.length ? { regions: o.regions } : {}),
    ...(o.profile ? { profile: o.profile } : {}),
    ...(o.region ? { region: o.region } : {}),
    ...(o.cursorStore ? { cursorStore: o.cursorStore } : {}),
    ...(o.concurrency ? { concurrency: o.concurrency } : {}),
  });
}
