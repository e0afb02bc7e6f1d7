/**
 * The CloudTrail delivery layout in S3 (docs/CLOUDTRAIL.md section 6):
 * `[prefix/]AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 alnum>.json.gz`.
 * Pure functions: parse a location, build day prefixes, read the delivery time from a key.
 */

const DAY = 86_400_000;
const ACCOUNT = /^\d{12}$/;
const ORG = /^o-[a-z0-9]{10,32}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

export class S3LocationError extends Error {
  override readonly name = "S3LocationError";
  readonly code = "invalid-argument";
}

/** Where the trail's logs are, as far as the URL tells. */
export interface TrailLocation {
  bucket: string;
  /** The `.../AWSLogs/` prefix (ends with "/"). */
  logsRoot: string;
  orgId?: string;
  account?: string;
  region?: string;
}

/**
 * `s3://bucket`, `s3://bucket/prefix`, or a URL that already goes into the layout
 * (`.../AWSLogs/`, `.../AWSLogs/o-xxx/`, `.../AWSLogs/<acct>/CloudTrail/<region>/`).
 */
export function parseTrailUrl(url: string): TrailLocation {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url.trim());
  if (!m) throw new S3LocationError(`${url}: expected s3://bucket or s3://bucket/prefix (the bucket and prefix the trail delivers to)`);
  const bucket = m[1]!;
  const segs = (m[2] ?? "").split("/").filter(Boolean);
  const i = segs.indexOf("AWSLogs");
  if (i < 0) return { bucket, logsRoot: [...segs, "AWSLogs"].join("/") + "/" };
  const loc: TrailLocation = { bucket, logsRoot: segs.slice(0, i + 1).join("/") + "/" };
  let rest = segs.slice(i + 1);
  if (rest[0] && ORG.test(rest[0])) {
    loc.orgId = rest[0];
    rest = rest.slice(1);
  }
  if (rest[0]) {
    if (!ACCOUNT.test(rest[0])) throw new S3LocationError(`${url}: "${rest[0]}" after AWSLogs/ is neither an account id (12 digits) nor an organisation id (o-...)`);
    loc.account = rest[0];
    rest = rest.slice(1);
  }
  if (rest[0]) {
    if (rest[0] !== "CloudTrail") throw new S3LocationError(`${url}: expected CloudTrail/ after the account id, found "${rest[0]}/" (digest and Insights folders are not read)`);
    rest = rest.slice(1);
  }
  if (rest[0]) {
    if (!REGION.test(rest[0])) throw new S3LocationError(`${url}: "${rest[0]}" is not a region name`);
    loc.region = rest[0];
    rest = rest.slice(1);
  }
  if (rest.length) throw new S3LocationError(`${url}: give the trail location up to the region at most; the days are chosen from the scan window`);
  return loc;
}

export function isAccountId(s: string): boolean {
  return ACCOUNT.test(s);
}
export function isOrgId(s: string): boolean {
  return ORG.test(s);
}
export function isRegionName(s: string): boolean {
  return REGION.test(s);
}

/** `.../AWSLogs/[o-org/]<account>/`. */
export function accountPrefix(loc: { logsRoot: string; orgId?: string }, account: string): string {
  return `${loc.logsRoot}${loc.orgId ? loc.orgId + "/" : ""}${account}/`;
}

/** `<account prefix>CloudTrail/<region>/`. */
export function regionPrefix(accountPfx: string, region: string): string {
  return `${accountPfx}CloudTrail/${region}/`;
}

/** `YYYY/MM/DD/` of a UTC day. */
export function dayPath(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/`;
}

/** Start (ms) of every UTC day that intersects [from, to]. */
export function daysBetween(from: number, to: number): number[] {
  const out: number[] = [];
  for (let d = Math.floor(from / DAY) * DAY; d <= to; d += DAY) out.push(d);
  return out;
}

const KEY_TIME = /_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_[^/]*$/;

/** The delivery time in a log file name (`..._20230710T1225Z_abc.json.gz`), or undefined. */
export function keyTime(key: string): number | undefined {
  const m = KEY_TIME.exec(key);
  if (!m) return undefined;
  const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!);
  return Number.isNaN(t) ? undefined : t;
}

/** The file-name part before the delivery time: `<acct>_CloudTrail_<region>`. */
export function keyStem(key: string): string | undefined {
  const m = KEY_TIME.exec(key);
  if (!m) return undefined;
  const name = key.slice(key.lastIndexOf("/") + 1);
  return name.slice(0, name.length - m[0].length);
}

/**
 * A StartAfter for ListObjectsV2 that skips the files of `dayDir` delivered before the minute of
 * `t`: `<dayDir><stem>_<YYYYMMDDTHHmm>Z` sorts after every earlier key of that stem and before
 * every key delivered in that minute or later (`..._<time>Z_<suffix>.json.gz`), since the
 * fixed-width time sorts like the time itself.
 */
export function startAfterKey(dayDir: string, stem: string, t: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${dayDir}${stem}_${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T${p(d.getUTCHours())}${p(d.getUTCMinutes())}Z`;
}

/** A CloudTrail log object (not a digest, not Insights, not some other file). */
export function isLogObjectKey(key: string): boolean {
  return key.endsWith(".json.gz") && !key.includes("/CloudTrail-Digest/") && !key.includes("/CloudTrail-Insight/") && !/_CloudTrail-(Digest|Insight)_/.test(key);
}
