/**
 * S3Source over the real SDK client; S3 is a small fake behind nock (no network): ListObjectsV2
 * with prefix, delimiter, start-after and continuation-token paging (2 keys a page), GetObject
 * with gzip bodies built from the fixture records, AccessDenied where the test says so.
 */
import { S3Client } from "@aws-sdk/client-s3";
import nock from "nock";
import { readFile } from "node:fs/promises";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runScan } from "../../src/scan/run.js";
import { Scanner } from "../../src/scan/scanner.js";
import { FileSource, listInputFiles } from "../../src/sources/files.js";
import { MemoryCursorStore } from "../../src/sources/lookup-events.js";
import { AwsSourceError } from "../../src/sources/aws-errors.js";
import { S3Source, discoverTrailAccounts, s3CursorKey, type S3SourceOptions } from "../../src/sources/s3.js";
import { keyTime, parseTrailUrl, startAfterKey } from "../../src/sources/s3-layout.js";
import { athenaDdlFromOptions } from "../../src/athena/index.js";
import type { RecordSink, SourceProgress } from "../../src/sources/types.js";
import { bombMember } from "../helpers/gzip-bomb.js";

const BUCKET = "org-trail-bucket";
const HOST = `https://${BUCKET}.s3.us-east-1.amazonaws.com`;
const ORG = "o-abcdef1234";
const A1 = "123837392027";
const A2 = "222222222222";
const INVICTUS = "test/fixtures/invictus-aws";

interface Req {
  op: "list" | "get";
  prefix?: string;
  delimiter?: string;
  startAfter?: string;
  token?: string;
  key?: string;
}

class FakeS3 {
  readonly objects = new Map<string, Buffer>();
  readonly requests: Req[] = [];
  denyList: (prefix: string) => boolean = () => false;
  denyGet: (key: string) => boolean = () => false;
  pageSize = 2;
  inFlight = 0;
  maxInFlight = 0;
  /** Delay GetObject replies (ms), so that concurrency shows. */
  getDelay = 0;
  onGet?: (key: string) => void;

  put(key: string, body: Buffer): void {
    this.objects.set(key, body);
  }

  install(): void {
    nock(HOST)
      .persist()
      .get(() => true)
      .reply((uri, _body, cb) => {
        const url = new URL(uri, HOST);
        if (url.searchParams.get("list-type") === "2") return cb(null, this.list(url));
        const key = decodeURIComponent(url.pathname.slice(1));
        this.requests.push({ op: "get", key });
        this.onGet?.(key);
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        setTimeout(() => {
          this.inFlight--;
          if (this.denyGet(key)) return cb(null, [403, errorXml("AccessDenied", "Access Denied"), { "content-type": "application/xml" }]);
          const body = this.objects.get(key);
          if (!body) return cb(null, [404, errorXml("NoSuchKey", "The specified key does not exist."), { "content-type": "application/xml" }]);
          cb(null, [200, body, { "content-type": "application/octet-stream", "content-length": String(body.length) }]);
        }, this.getDelay);
      });
  }

  private list(url: URL): [number, string, Record<string, string>] {
    const prefix = url.searchParams.get("prefix") ?? "";
    const delimiter = url.searchParams.get("delimiter") ?? undefined;
    const startAfter = url.searchParams.get("start-after") ?? undefined;
    const token = url.searchParams.get("continuation-token") ?? undefined;
    const req: Req = { op: "list", prefix };
    if (delimiter) req.delimiter = delimiter;
    if (startAfter) req.startAfter = startAfter;
    if (token) req.token = token;
    this.requests.push(req);
    if (this.denyList(prefix)) return [403, errorXml("AccessDenied", "Access Denied"), { "content-type": "application/xml" }];
    // Entries in key order: keys, or common prefixes with a delimiter.
    const entries: Array<{ key?: string; prefix?: string }> = [];
    const seen = new Set<string>();
    for (const k of [...this.objects.keys()].sort()) {
      if (!k.startsWith(prefix)) continue;
      const after = token ?? startAfter;
      if (after !== undefined && k <= after) continue;
      if (delimiter) {
        const i = k.indexOf(delimiter, prefix.length);
        if (i >= 0) {
          const p = k.slice(0, i + 1);
          if (!seen.has(p)) {
            seen.add(p);
            entries.push({ prefix: p });
          }
          continue;
        }
      }
      entries.push({ key: k });
    }
    const page = entries.slice(0, this.pageSize);
    const truncated = entries.length > this.pageSize;
    const last = page.at(-1);
    // The continuation token: the last key of the page (past every key of a common prefix).
    const next = last ? (last.key ?? last.prefix! + "\uffff") : "";
    const xml =
      `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
      `<Name>${BUCKET}</Name><Prefix>${esc(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>1000</MaxKeys>` +
      `<IsTruncated>${truncated}</IsTruncated>` +
      (truncated ? `<NextContinuationToken>${esc(next)}</NextContinuationToken>` : "") +
      page
        .map((e) =>
          e.key
            ? `<Contents><Key>${esc(e.key)}</Key><LastModified>2023-07-10T12:00:00.000Z</LastModified><ETag>"x"</ETag><Size>${this.objects.get(e.key)!.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`
            : `<CommonPrefixes><Prefix>${esc(e.prefix!)}</Prefix></CommonPrefixes>`,
        )
        .join("") +
      `</ListBucketResult>`;
    return [200, xml, { "content-type": "application/xml" }];
  }

  gets(): string[] {
    return this.requests.filter((r) => r.op === "get").map((r) => r.key!);
  }
  lists(): Req[] {
    return this.requests.filter((r) => r.op === "list");
  }
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const errorXml = (code: string, msg: string) => `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${msg}</Message><RequestId>r</RequestId></Error>`;

function client(): S3Client {
  return new S3Client({ region: "us-east-1", credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" }, maxAttempts: 1 });
}

// ---------------------------------------------------------------------------------------------
// The bucket: the invictus delivery files under an organisation trail (account A1, us-east-1),
// the same records (fresh ids) for account A2 in eu-west-1, and what must not be read.

let invictusFiles: Array<{ name: string; records: Array<Record<string, unknown>> }>;
let totalRecords = 0;

beforeAll(async () => {
  nock.disableNetConnect();
  invictusFiles = [];
  for (const f of await listInputFiles([INVICTUS])) {
    const records = (JSON.parse(gunzipSync(await readFile(f)).toString("utf8")) as { Records: Array<Record<string, unknown>> }).Records;
    invictusFiles.push({ name: f.slice(f.lastIndexOf("/") + 1), records });
    totalRecords += records.length;
  }
});
afterAll(() => nock.enableNetConnect());
afterEach(() => nock.cleanAll());

const DAYDIR = (acct: string, region: string, day = "2023/07/10") => `AWSLogs/${ORG}/${acct}/CloudTrail/${region}/${day}/`;
const gz = (records: unknown[]) => gzipSync(JSON.stringify({ Records: records }));

/** The log objects of both accounts, compressed once for every test's bucket (no test changes an object's bytes). */
let logObjects: Array<[string, Buffer]> | undefined;

function bucket(): FakeS3 {
  const s3 = new FakeS3();
  if (!logObjects) {
    logObjects = [];
    for (const f of invictusFiles) {
      logObjects.push([DAYDIR(A1, "us-east-1") + f.name, gz(f.records)]);
      const name2 = f.name.replace("us-east-1", "eu-west-1");
      logObjects.push([DAYDIR(A2, "eu-west-1") + name2, gz(f.records.map((r) => ({ ...r, eventID: `${String(r.eventID)}-a2`, awsRegion: "eu-west-1", recipientAccountId: A2 })))]);
    }
  }
  for (const [key, body] of logObjects) s3.put(key, body);
  // Never read: digests, Insights, other files, other days.
  s3.put(
    `AWSLogs/${ORG}/${A1}/CloudTrail-Digest/us-east-1/2023/07/10/${A1}_CloudTrail-Digest_us-east-1_trail_us-east-1_20230710T1300Z.json.gz`,
    gzipSync(JSON.stringify({ logFiles: [] })),
  );
  s3.put(`AWSLogs/${ORG}/${A1}/CloudTrail-Insight/us-east-1/2023/07/10/${A1}_CloudTrail-Insight_us-east-1_20230710T1300Z_x.json.gz`, gz([]));
  s3.put(DAYDIR(A1, "us-east-1") + "README.txt", Buffer.from("hello"));
  s3.put(DAYDIR(A1, "us-east-1", "2023/07/01") + `${A1}_CloudTrail_us-east-1_20230701T1200Z_old.json.gz`, gz([{ eventID: "old" }]));
  s3.put(DAYDIR(A1, "us-east-1", "2023/07/20") + `${A1}_CloudTrail_us-east-1_20230720T1200Z_new.json.gz`, gz([{ eventID: "new" }]));
  s3.put(`AWSLogs/${ORG}/not-an-account/CloudTrail/us-east-1/x.json.gz`, gz([]));
  return s3;
}

const WINDOW = { startTime: Date.parse("2023-07-10T00:00:00Z"), endTime: Date.parse("2023-07-10T23:59:59Z") };

function source(o: Partial<S3SourceOptions> = {}): S3Source {
  return new S3Source({ url: `s3://${BUCKET}/`, ...WINDOW, client: client(), ...o });
}

class CollectSink implements RecordSink {
  records: Array<{ raw: unknown; origin: string }> = [];
  skips: Array<{ reason: string; origin: string; detail?: string }> = [];
  record(raw: unknown, origin: string): void {
    this.records.push({ raw, origin });
  }
  skip(reason: string, origin: string, _count?: number, detail?: string): void {
    this.skips.push(detail === undefined ? { reason, origin } : { reason, origin, detail });
  }
}

describe("S3Source", () => {
  it("discovers the organisation's accounts and regions, lists only the window's days, pages, and reads every log object", async () => {
    const s3 = bucket();
    s3.getDelay = 5;
    s3.install();
    const sink = new CollectSink();
    const progress: SourceProgress[] = [];
    const res = await source().read(sink, { onProgress: (p) => progress.push(p) });
    expect(res.partialReasons).toEqual([]);
    expect(sink.records).toHaveLength(2 * totalRecords);
    expect(sink.skips).toEqual([]);
    expect(res.objects).toMatchObject({ listed: 2 * invictusFiles.length, read: 2 * invictusFiles.length, corrupt: 0, failed: 0 });
    expect(res.prefixes.map((p) => `${p.account} ${p.region}`).sort()).toEqual([`${A1} us-east-1`, `${A2} eu-west-1`]);
    expect(sink.records[0]!.origin).toMatch(new RegExp(`^s3://${BUCKET}/AWSLogs/${ORG}/\\d{12}/CloudTrail/[a-z0-9-]+/2023/07/10/.+\\.json\\.gz$`));
    // Nothing else was downloaded; only the window's days (and the next, for late files) were listed.
    const gets = s3.gets();
    expect(gets.every((k) => /\/CloudTrail\/[a-z0-9-]+\/2023\/07\/10\/\d{12}_CloudTrail_[a-z0-9-]+_\d{8}T\d{4}Z_\w+\.json\.gz$/.test(k))).toBe(true);
    const dayLists = new Set(
      s3
        .lists()
        .map((l) => l.prefix!)
        .filter((p) => /\d{4}\/\d{2}\/\d{2}\/$/.test(p)),
    );
    expect([...dayLists].sort()).toEqual([DAYDIR(A1, "us-east-1"), DAYDIR(A1, "us-east-1", "2023/07/11"), DAYDIR(A2, "eu-west-1"), DAYDIR(A2, "eu-west-1", "2023/07/11")]);
    expect(s3.lists().some((l) => l.token !== undefined)).toBe(true);
    expect(s3.lists().find((l) => l.prefix === "AWSLogs/")).toMatchObject({ delimiter: "/" });
    // Bounded concurrency.
    expect(s3.maxInFlight).toBeGreaterThan(1);
    expect(s3.maxInFlight).toBeLessThanOrEqual(8);
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ source: "s3", unit: "objects", done: 2 * invictusFiles.length, total: 2 * invictusFiles.length, records: 2 * totalRecords });
    expect(res.summary).toMatchObject({ kind: "s3", name: `s3://${BUCKET}/AWSLogs/`, records: 2 * totalRecords, skipped: 0 });
  });

  // Reads every fixture file of one account through the SDK: 13 s at load average 30, so 60 s.
  it("an excluded account (TRAILHOUND_EXCLUDE_ACCOUNTS, --exclude-accounts) is neither listed nor read, nor are its pushed keys", { timeout: 60_000 }, async () => {
    const s3 = bucket();
    s3.install();
    const res = await source({ excludeAccounts: [A2] }).read(new CollectSink());
    expect(res.prefixes.map((p) => p.account)).toEqual([A1]);
    expect(s3.lists().some((l) => l.prefix?.includes(A2))).toBe(false);
    expect(s3.gets().some((k) => k.includes(`/${A2}/`))).toBe(false);
    const a2Key = [...s3.objects.keys()].find((k) => k.includes(`/${A2}/CloudTrail/`))!;
    const pushed = await source({ excludeAccounts: [A2], keys: [a2Key] }).read(new CollectSink());
    expect(pushed.ignoredKeys).toEqual([a2Key]);
    expect(() => source({ excludeAccounts: ["12"] })).toThrow(/expected 12 digits/);
  });

  it("feeds the scanner the same events as the files on disk", async () => {
    const s3 = bucket();
    s3.install();
    const fromS3 = await runScan({ now: WINDOW.endTime, sources: [source({ accounts: [A1] })] });
    const fromFiles = await runScan({ now: WINDOW.endTime, sources: [new FileSource([INVICTUS])] });
    expect(fromS3.report.stats.recordsRead).toBe(fromFiles.report.stats.recordsRead);
    expect(fromS3.report.stats.events).toBe(fromFiles.report.stats.events);
    expect(fromS3.report.identities.map((i) => [i.key, i.events])).toEqual(fromFiles.report.identities.map((i) => [i.key, i.events]));
    expect(fromS3.report.findings.map((f) => f.id).sort()).toEqual(fromFiles.report.findings.map((f) => f.id).sort());
    expect(fromS3.report.sources[0]).toMatchObject({ kind: "s3" });
    expect(s3.gets().every((k) => k.includes(`/${A1}/`))).toBe(true);
  });

  it("takes records before the window on the fast lane, with the same report as parsing them all", async () => {
    const s3 = bucket();
    s3.install();
    const scan = async (fastPath: boolean) => {
      const scanner = new Scanner({ now: WINDOW.endTime, fastPath, since: { kind: "absolute", at: Date.parse("2023-07-10T12:40:00Z") } });
      const res = await source({ accounts: [A1] }).read(scanner);
      scanner.noteSource(res.summary, res.partialReasons);
      return { result: scanner.finish(), lane: scanner.fastLane };
    };
    const fast = await scan(true);
    const full = await scan(false);
    expect(fast.lane).toBeGreaterThan(100);
    expect(full.lane).toBe(0);
    expect(fast.result.report).toEqual(full.result.report);
    // Objects arrive in any order (8 downloads in flight): compare profiles by identity.
    const byKey = (ps: typeof full.result.profiles) => [...ps].sort((a, b) => a.key.localeCompare(b.key));
    expect(byKey(fast.result.profiles)).toEqual(byKey(full.result.profiles));
  });

  it("skips files delivered before the range or long after it, by the time in their name", async () => {
    const s3 = bucket();
    s3.install();
    const sink = new CollectSink();
    // 12:15 to 12:20: files delivered 12:15..13:20 (one hour of delivery lag) hold its events.
    const res = await source({ startTime: Date.parse("2023-07-10T12:15:00Z"), endTime: Date.parse("2023-07-10T12:20:00Z"), accounts: [A1] }).read(sink);
    const times = s3.gets().map((k) => keyTime(k)!);
    expect(times.length).toBe(res.objects.read);
    expect(Math.min(...times)).toBe(Date.parse("2023-07-10T12:15:00Z"));
    expect(invictusFiles.filter((f) => f.name < `${"218007301253"}_CloudTrail_us-east-1_20230710T1215Z`).length).toBeGreaterThan(5);
    expect(times.length).toBeLessThan(invictusFiles.length - 5);
  });

  it("a corrupt gzip object is skipped and counted; the others are read", async () => {
    const s3 = bucket();
    const bad = DAYDIR(A1, "us-east-1") + `${A1}_CloudTrail_us-east-1_20230710T1201Z_corrupt0000000.json.gz`;
    const good = gz([{ eventID: "x" }]);
    s3.put(bad, Buffer.concat([good.subarray(0, 12), Buffer.from("garbage garbage garbage")]));
    s3.install();
    const sink = new CollectSink();
    const res = await source({ accounts: [A1] }).read(sink);
    expect(sink.skips).toEqual([{ reason: "corrupt-file", origin: `s3://${BUCKET}/${bad}`, detail: expect.stringMatching(/not valid gzip/) }]);
    expect(sink.records).toHaveLength(totalRecords);
    expect(res.objects).toMatchObject({ corrupt: 1, read: invictusFiles.length, failed: 0 });
    expect(res.summary.skipped).toBe(1);
    expect(res.partialReasons).toEqual(["1 S3 object was not valid gzip/JSON and skipped"]);
  });

  it("a gzip bomb object is cut at the size limit, counted and named; the others are read", async () => {
    const s3 = bucket();
    const bomb = DAYDIR(A1, "us-east-1") + `${A1}_CloudTrail_us-east-1_20230710T1202Z_bomb00000000000.json.gz`;
    // 256 MiB of zeros in about 256 KB: gzip members of 1 MiB each, one after the other.
    const member = gzipSync(Buffer.alloc(1 << 20));
    s3.put(bomb, Buffer.concat(new Array<Buffer>(256).fill(member)));
    s3.install();
    const sink = new CollectSink();
    const res = await source({ accounts: [A1], maxBytes: 4 << 20 }).read(sink);
    expect(sink.skips).toEqual([{ reason: "oversized-file", origin: `s3://${BUCKET}/${bomb}`, detail: expect.stringMatching(/larger than the 4 MiB limit/) }]);
    expect(sink.records).toHaveLength(totalRecords);
    expect(res.objects).toMatchObject({ read: invictusFiles.length, failed: 0 });
    expect(res.partialReasons).toEqual([expect.stringMatching(new RegExp(`^1 S3 object larger than the 4 MiB limit.*: ${bomb}$`))]);
  });

  it("a gzip bomb object whose trailer says it is over the limit is inflated without keeping the output, and named", async () => {
    const s3 = bucket();
    const bomb = DAYDIR(A1, "us-east-1") + `${A1}_CloudTrail_us-east-1_20230710T1202Z_bomb00000000000.json.gz`;
    // One member of 64 MiB of zeros in 66 KB, its trailer saying so (before: inflated into memory up to the limit).
    s3.put(bomb, bombMember(64));
    // Cut short, its last 4 bytes (from the deflate stream) claiming more than the limit: corrupt, not oversized.
    const cut = DAYDIR(A1, "us-east-1") + `${A1}_CloudTrail_us-east-1_20230710T1203Z_cut000000000000.json.gz`;
    const whole = gz(Array.from({ length: 300 }, (_, i) => ({ eventID: `c${i}`, n: Math.sin(i) })));
    let end = whole.length >> 1;
    while (whole.readUInt32LE(end - 4) <= 4 << 20) end--;
    s3.put(cut, whole.subarray(0, end));
    s3.install();
    const sink = new CollectSink();
    const res = await source({ accounts: [A1], maxBytes: 4 << 20 }).read(sink);
    // Objects are read 8 at a time: in any order.
    expect(sink.skips.sort((a, b) => b.reason.localeCompare(a.reason))).toEqual([
      {
        reason: "oversized-file",
        origin: `s3://${BUCKET}/${bomb}`,
        detail: "larger than the 4 MiB limit once decompressed (TRAILHOUND_MAX_FILE_MB); not read (its gzip trailer says 64 MiB; inflated to the limit without keeping it)",
      },
      { reason: "corrupt-file", origin: `s3://${BUCKET}/${cut}`, detail: "not valid gzip (unexpected end of file)" },
    ]);
    expect(sink.records).toHaveLength(totalRecords);
    expect(res.objects).toMatchObject({ read: invictusFiles.length, corrupt: 1, failed: 0 });
  });

  it("access denied on the listing names the bucket, prefix and s3:ListBucket", async () => {
    const s3 = bucket();
    s3.denyList = () => true;
    s3.install();
    const err = (await source({ url: `s3://${BUCKET}/team/` })
      .read(new CollectSink())
      .catch((e: unknown) => e)) as AwsSourceError;
    expect(err).toBeInstanceOf(AwsSourceError);
    expect(err.code).toBe("missing-permission");
    expect(err.message).toContain(`listing s3://${BUCKET}/team/AWSLogs/ was denied`);
    expect(err.message).toContain(`s3:ListBucket on arn:aws:s3:::${BUCKET}`);
  });

  it("access denied below the root costs that account, not the scan", async () => {
    const s3 = bucket();
    s3.denyList = (p) => p.startsWith(`AWSLogs/${ORG}/${A2}/`);
    s3.install();
    const sink = new CollectSink();
    const res = await source().read(sink);
    expect(sink.records).toHaveLength(totalRecords);
    expect(res.partialReasons).toHaveLength(1);
    expect(res.partialReasons[0]).toMatch(new RegExp(`account ${A2} not read: listing s3://${BUCKET}/AWSLogs/${ORG}/${A2}/CloudTrail/ was denied.*s3:ListBucket`));
  });

  it("objects that cannot be read make the result partial, naming s3:GetObject and kms:Decrypt", async () => {
    const s3 = bucket();
    let n = 0;
    const denied = new Set<string>();
    s3.denyGet = (k) => {
      if (denied.has(k)) return true;
      if (k.includes(`/${A2}/`) && n++ < 3) {
        denied.add(k);
        return true;
      }
      return false;
    };
    s3.install();
    const sink = new CollectSink();
    const res = await source().read(sink);
    expect(res.objects.failed).toBe(3);
    expect(res.partialReasons).toHaveLength(1);
    expect(res.partialReasons[0]).toMatch(/^3 of 110 S3 objects could not be read \(3 denied: s3:GetObject, and kms:Decrypt for SSE-KMS trails\): AWSLogs\//);
    expect(sink.records.length).toBeLessThan(2 * totalRecords);
  });

  it("every object denied: an error that says which permission", async () => {
    const s3 = bucket();
    s3.denyGet = () => true;
    s3.install();
    const err = (await source()
      .read(new CollectSink())
      .catch((e: unknown) => e)) as AwsSourceError;
    expect(err.code).toBe("missing-permission");
    expect(err.message).toMatch(/s3:GetObject was denied on every log object.*arn:aws:s3:::org-trail-bucket\/AWSLogs\/\*.*kms:Decrypt/);
  });

  it("resumes from a cursor per account+region: StartAfter with an overlap, newer objects only", async () => {
    const s3 = bucket();
    s3.install();
    const cursors = new MemoryCursorStore();
    const first = await source({ cursorStore: cursors, now: () => 1 }).read(new CollectSink());
    const k1 = s3CursorKey(BUCKET, `AWSLogs/${ORG}/${A1}/CloudTrail/us-east-1/`);
    const newest = [...s3.objects.keys()]
      .filter((k) => k.startsWith(DAYDIR(A1, "us-east-1")) && k.endsWith(".json.gz"))
      .sort()
      .at(-1)!;
    // The objects delivered in the 15 minutes before the newest one are named: the next read lists them again.
    const inOverlap = [...s3.objects.keys()]
      .filter((k) => k.startsWith(DAYDIR(A1, "us-east-1")) && k.endsWith(".json.gz") && keyTime(k)! >= keyTime(newest)! - 15 * 60_000)
      .map((k) => k.slice(`AWSLogs/${ORG}/${A1}/CloudTrail/us-east-1/`.length))
      .sort();
    expect(inOverlap.length).toBeGreaterThan(1);
    expect(cursors.get(k1)).toEqual({ lastKey: newest, newestTime: keyTime(newest), newestIds: [], updatedAt: new Date(1).toISOString(), readKeys: inOverlap });
    expect(Object.keys(first.cursorUpdates)).toHaveLength(2);

    // Later: one more file for A1.
    const later = DAYDIR(A1, "us-east-1") + `218007301253_CloudTrail_us-east-1_20230710T1300Z_later00000000.json.gz`;
    s3.put(later, gz([{ ...invictusFiles[0]!.records[0]!, eventID: "later-1" }]));
    s3.requests.length = 0;
    const sink = new CollectSink();
    const second = await source({ cursorStore: cursors }).read(sink);
    const list = s3.lists().find((l) => l.prefix === DAYDIR(A1, "us-east-1") && !l.token)!;
    // Newest was delivered at 12:40: re-read from 12:25 (15 min overlap).
    expect(list.startAfter).toBe(startAfterKey(DAYDIR(A1, "us-east-1"), "218007301253_CloudTrail_us-east-1", Date.parse("2023-07-10T12:25:00Z")));
    // The overlap is listed again, but what the cursor read is not downloaded again: only the new file.
    expect(s3.gets()).toEqual([later]);
    expect(second.objects.alreadyRead).toBe(2 * inOverlap.length); // A1 and A2 (same files)
    expect(second.summary.note).toMatch(new RegExp(`${2 * inOverlap.length} listed again and not reread`));
    expect(sink.records.map((r) => (r.raw as { eventID: string }).eventID)).toEqual(["later-1"]);
    expect(cursors.get(k1)!.lastKey).toBe(later);
    expect(second.prefixes.find((p) => p.account === A1)!.startAfter).toBe(list.startAfter);

    // A file that lands late, named before the cursor but within its overlap, is read once.
    const late = DAYDIR(A1, "us-east-1") + `218007301253_CloudTrail_us-east-1_20230710T1250Z_late000000000.json.gz`;
    s3.put(late, gz([{ ...invictusFiles[0]!.records[0]!, eventID: "late-1" }]));
    s3.requests.length = 0;
    const sink3 = new CollectSink();
    await source({ cursorStore: cursors }).read(sink3);
    expect(s3.gets()).toEqual([late]);
    expect(sink3.records.map((r) => (r.raw as { eventID: string }).eventID)).toEqual(["late-1"]);
    expect(cursors.get(k1)!.lastKey).toBe(later); // never backwards
    expect(cursors.get(k1)!.readKeys).toContain(late.slice(`AWSLogs/${ORG}/${A1}/CloudTrail/us-east-1/`.length));

    // Nothing new: nothing downloaded, and the cursors stay as they are.
    s3.requests.length = 0;
    const before = JSON.stringify([...cursors.cursors]);
    const fourth = await source({ cursorStore: cursors }).read(new CollectSink());
    expect(s3.gets()).toEqual([]);
    expect(fourth.summary.records).toBe(0);
    expect(fourth.cursorUpdates).toEqual({});
    expect(JSON.stringify([...cursors.cursors])).toBe(before);
  }, 60_000); // four reads of the bucket through the SDK: slow on a loaded machine

  it("a cursor stops below an object that could not be read; manual commit writes nothing until asked", async () => {
    const s3 = bucket();
    const sorted = [...s3.objects.keys()].filter((k) => k.startsWith(DAYDIR(A1, "us-east-1")) && k.endsWith(".json.gz")).sort();
    const blocked = sorted[10]!;
    s3.denyGet = (k) => k === blocked;
    s3.install();
    const cursors = new MemoryCursorStore();
    const res = await source({ cursorStore: cursors, cursorCommit: "manual", accounts: [A1] }).read(new CollectSink());
    expect(cursors.cursors.size).toBe(0);
    await res.commitCursors();
    const k1 = s3CursorKey(BUCKET, `AWSLogs/${ORG}/${A1}/CloudTrail/us-east-1/`);
    expect(cursors.get(k1)!.lastKey).toBe(sorted[9]);
  });

  it("an abort stops the downloads and says how far it got", async () => {
    const s3 = bucket();
    const ctrl = new AbortController();
    let gets = 0;
    s3.onGet = () => {
      if (++gets === 12) ctrl.abort();
    };
    s3.getDelay = 2;
    s3.install();
    const res = await source({ accounts: [A1], concurrency: 2 }).read(new CollectSink(), { signal: ctrl.signal });
    expect(res.partialReasons.at(-1)).toMatch(/^stopped after \d+ of 55 S3 objects$/);
    expect(s3.gets().length).toBeLessThan(20);
  });

  it("discovers accounts for the DDL; rejects URLs that are not a trail location", async () => {
    const s3 = bucket();
    s3.install();
    expect(await discoverTrailAccounts(`s3://${BUCKET}`, { client: client() })).toEqual({ orgId: ORG, accounts: [A1, A2] });
    const ddl = await athenaDdlFromOptions({ location: `s3://${BUCKET}`, client: client(), regions: ["us-east-1", "eu-west-1"] });
    expect(ddl).toContain(`'projection.account.values'='${A1},${A2}'`);
    // Without --regions, the projection lists the region folders the accounts hold (what the S3 source reads), not every region.
    expect(await discoverTrailAccounts(`s3://${BUCKET}`, { client: client(), withRegions: true })).toEqual({ orgId: ORG, accounts: [A1, A2], regions: ["us-east-1", "eu-west-1"] });
    const found = await athenaDdlFromOptions({ location: `s3://${BUCKET}`, client: client() });
    expect(found).toContain(`'projection.region.values'='us-east-1,eu-west-1'`);
    expect(found).toContain(`'projection.account.values'='${A1},${A2}'`);
    expect(ddl).toContain(`'storage.location.template'='s3://${BUCKET}/AWSLogs/${ORG}/\${account}/CloudTrail/\${region}/\${timestamp}'`);
    expect(parseTrailUrl(`s3://${BUCKET}/x/AWSLogs/${ORG}/${A1}/CloudTrail/eu-west-1`)).toEqual({
      bucket: BUCKET,
      logsRoot: "x/AWSLogs/",
      orgId: ORG,
      account: A1,
      region: "eu-west-1",
    });
    expect(() => parseTrailUrl("https://bucket/x")).toThrow(/expected s3:\/\/bucket/);
    expect(() => parseTrailUrl(`s3://${BUCKET}/AWSLogs/${A1}/CloudTrail-Digest/`)).toThrow(/expected CloudTrail\//);
    expect(() => new S3Source({ url: `s3://${BUCKET}`, startTime: 2, endTime: 1 })).toThrow(/starts after it ends/);
  });

  it("a bucket without the layout says what it expected", async () => {
    const s3 = new FakeS3();
    s3.put("something/else.json.gz", gz([]));
    s3.install();
    await expect(source().read(new CollectSink())).rejects.toThrow(/no CloudTrail logs under s3:\/\/org-trail-bucket\/AWSLogs\/: expected <account>\/ or o-<org>\/<account>\//);
  });
});
