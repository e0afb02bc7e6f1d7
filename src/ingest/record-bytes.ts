/**
 * A validating walk over the bytes of a CloudTrail S3 delivery file (`{"Records":[...]}`) that
 * reads the few fields a baseline needs without building the records.
 *
 * Why: a scan needs about a dozen short strings of most records (who, what, where from, when):
 * to train baselines before the detection window, to count them inside it. `JSON.parse` builds
 * every record whole (request parameters, TLS details, ...) and is most of the cost of reading a
 * file. This walk
 * checks the whole document against the JSON grammar, notes where each record starts and ends and
 * where its baseline fields are, and gives those fields as interned strings: equal bytes give the
 * same string object, so the maps downstream compare pointers instead of hashing fresh strings.
 *
 * Exactness: the walk accepts a document only if `JSON.parse` would (same grammar; anything it
 * is unsure of sends the whole file back to `JSON.parse`). A record whose fields it cannot give
 * exactly (a needed field that is not a plain string, an escape sequence in one, an escaped key)
 * is marked, and the caller parses that record with `JSON.parse` as before. Duplicate keys keep
 * the last value, as `JSON.parse` does.
 *
 * The same walk exists in C (native/record-walk.c, see native-walk.ts), about four times faster;
 * `indexRecords` uses it when it is built, and this one (`indexRecordsJs`) otherwise. The tests
 * require both to give the same index.
 */

import { nativeWalk, syncInterned } from "./native-walk.js";

/** The fields read per record. */
export const F_TIME = 0,
  F_SOURCE = 1,
  F_NAME = 2,
  F_REGION = 3,
  F_IP = 4,
  F_UA = 5,
  F_ERRCODE = 6,
  F_ERRMSG = 7,
  F_ID = 8,
  F_RECIPIENT = 9,
  F_UI = 10,
  F_UI_TYPE = 11,
  F_UI_ARN = 12,
  F_UI_INVOKEDBY = 13,
  /** `requestParameters`: its span; hash slot 1 for an object, 0 for null. */
  F_RP = 14,
  /** `requestParameters.roleArn` and `.instanceType` (AssumeRole*, RunInstances: the baseline reads them). */
  F_RP_ROLEARN = 15,
  F_RP_ITYPE = 16,
  /**
   * The parameters that name what a secret or parameter read reads (events/targets.ts):
   * `secretId`, `secretIdList`, `name`, `names`, `path`. Arrays (the lists' usual form) are not
   * strings: such a record is COMPLEX and parsed.
   */
  F_RP_SECRETID = 17,
  F_RP_SECRETLIST = 18,
  F_RP_PNAME = 19,
  F_RP_PNAMES = 20,
  F_RP_PATH = 21,
  /** The record's top-level `resources` value, any JSON (its span; KMS key reads name their key there). */
  F_RES = 22,
  /**
   * What principalOf (events/normalize.ts) reads of `userIdentity` besides its type, ARN and
   * invokedBy, for an identity met the first time (lean-facts.ts principalFromIndex): `principalId`,
   * `accountId`, `accessKeyId`, `userName`, `sessionCredentialFromConsole`, and of its
   * `sessionContext`: `sourceIdentity`, `sessionIssuer.userName`, `.arn`, `.accountId` and
   * `attributes.mfaAuthenticated`. Spans only (third slot 0: not interned, they are read once per
   * identity). Anything of these that is not a plain string (an escape, another value; an object
   * among them that is not an object) sets UI_PARSE, and userIdentity is parsed as before.
   */
  F_UI_PID = 23,
  F_UI_ACCOUNT = 24,
  F_UI_AKID = 25,
  F_UI_USER = 26,
  F_UI_CONSOLE = 27,
  F_SC_SOURCEID = 28,
  F_SI_USER = 29,
  F_SI_ARN = 30,
  F_SI_ACCOUNT = 31,
  F_MFA = 32,
  /**
   * The user agent's family (computeUaFamily of events/normalize.ts) as its number in UA_FAMILIES,
   * in the third slot, from the native walk with intern ids only (0: JavaScript works it out; the
   * walk gives no other); its start is always -1.
   */
  F_UA_FAM = 33;
const NF = 34;

/** The offensive tools of OFFENSIVE_UA (events/normalize.ts), in its order; the SDKs of `aws-sdk-*`, likewise. */
const OFFENSIVE_TOKENS =
  "pacu cloudgoat kali parrot pentoo blackarch cloudsploit scoutsuite prowler weirdaal cloudfox trufflehog endgame cloudmapper nmap sqlmap masscan aws_consoler awspx pmapper enumerate-iam cloudbrute s3scanner nuclei metasploit powershell-empire zgrab".split(
    " ",
  );
const SDK_NAMES = "go-v2 go java js nodejs ruby dotnet php rust cpp kotlin swift".split(" ");
/**
 * The user agents' families the native walk gives (F_UA_FAM), by number, as native/record-walk.c
 * numbers them: the families that are fixed strings (not `http-client:*` nor `other:*`).
 */
export const UA_FAMILIES: readonly string[] = [
  "",
  "none",
  ...OFFENSIVE_TOKENS.map((t) => "offensive:" + t),
  "terraform",
  ...Array.from({ length: 10 }, (_, d) => "aws-cli/" + d),
  "python",
  ...SDK_NAMES.map((n) => "aws-sdk-" + n),
  "aws-sdk",
  "browser",
  "console",
  "internal",
  "aws-service",
  "ssm-agent",
  "aws-tool",
  "other",
];
/** Keys of the objects inside userIdentity the walk enters (no field of their own). */
const K_SC = 100,
  K_SI = 101,
  K_ATTR = 102;
/** The fields inside requestParameters (forgotten when a later requestParameters key replaces it). */
const RP_FIELDS = [F_RP_ROLEARN, F_RP_ITYPE, F_RP_SECRETID, F_RP_SECRETLIST, F_RP_PNAME, F_RP_PNAMES, F_RP_PATH];
/** Per record: start, end (exclusive), flags, then (start, end, hash) of each field (start -1: absent). */
const R_START = 0,
  R_END = 1,
  R_FLAGS = 2,
  R_FIELDS = 3;
export const STRIDE = R_FIELDS + NF * 3;
/** The record needs `JSON.parse` (a needed field is not a plain string, an escaped key, ...). */
export const COMPLEX = 1;
/** The walk did not give all that principalOf reads of the record's userIdentity (see F_UI_PID): parse it. */
export const UI_PARSE = 2;

const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const K = {
  eventTime: enc("eventTime"),
  eventName: enc("eventName"),
  awsRegion: enc("awsRegion"),
  userAgent: enc("userAgent"),
  errorCode: enc("errorCode"),
  eventSource: enc("eventSource"),
  errorMessage: enc("errorMessage"),
  userIdentity: enc("userIdentity"),
  eventID: enc("eventID"),
  sourceIPAddress: enc("sourceIPAddress"),
  recipientAccountId: enc("recipientAccountId"),
  type: enc("type"),
  arn: enc("arn"),
  invokedBy: enc("invokedBy"),
  principalId: enc("principalId"),
  accountId: enc("accountId"),
  accessKeyId: enc("accessKeyId"),
  userName: enc("userName"),
  sessionCredentialFromConsole: enc("sessionCredentialFromConsole"),
  sessionContext: enc("sessionContext"),
  sourceIdentity: enc("sourceIdentity"),
  sessionIssuer: enc("sessionIssuer"),
  attributes: enc("attributes"),
  mfaAuthenticated: enc("mfaAuthenticated"),
  requestParameters: enc("requestParameters"),
  roleArn: enc("roleArn"),
  instanceType: enc("instanceType"),
  secretId: enc("secretId"),
  secretIdList: enc("secretIdList"),
  name: enc("name"),
  names: enc("names"),
  path: enc("path"),
  resources: enc("resources"),
  Records: enc("Records"),
};

/** Thrown (one instance) when the bytes are not a document this walk accepts. */
const REJECT = new Error("not a plain S3 delivery document");
const MAX_DEPTH = 256;

/** What the walk found: per-record offsets and fields, `count` records. */
export interface RecordIndex {
  meta: Int32Array;
  count: number;
  /** The third slot of each string field: an intern id of the native walk (see native-walk.ts), else a spanHash. */
  ids: boolean;
}

// The walk's state: module-level, the walk is synchronous and not re-entrant.
let meta = new Int32Array(STRIDE * 1024);
let count = 0;
let keyEscaped = false;

function same(b: Uint8Array, s: number, e: number, k: Uint8Array): boolean {
  if (e - s !== k.length) return false;
  for (let i = 0; i < k.length; i++) if (b[s + i] !== k[i]) return false;
  return true;
}

/** Key names by a hash taken while the key is scanned (31-polynomial), verified byte by byte. */
interface KeyTable {
  hashes: Int32Array;
  fields: Int8Array;
  names: Uint8Array[];
}
function keyHash(k: Uint8Array): number {
  let h = 0;
  for (const c of k) h = (Math.imul(h, 31) + c) | 0;
  return h;
}
function keyTable(entries: Array<[Uint8Array, number]>): KeyTable {
  const t: KeyTable = { hashes: new Int32Array(64), fields: new Int8Array(64).fill(-1), names: new Array<Uint8Array>(64).fill(new Uint8Array(0)) };
  for (const [name, f] of entries) {
    let slot = keyHash(name) & 63;
    while (t.fields[slot] !== -1) slot = (slot + 1) & 63;
    t.hashes[slot] = keyHash(name);
    t.fields[slot] = f;
    t.names[slot] = name;
  }
  return t;
}
const RECORD_KEYS = keyTable([
  [K.eventTime, F_TIME],
  [K.eventSource, F_SOURCE],
  [K.eventName, F_NAME],
  [K.awsRegion, F_REGION],
  [K.sourceIPAddress, F_IP],
  [K.userAgent, F_UA],
  [K.errorCode, F_ERRCODE],
  [K.errorMessage, F_ERRMSG],
  [K.eventID, F_ID],
  [K.recipientAccountId, F_RECIPIENT],
  [K.userIdentity, F_UI],
  [K.requestParameters, F_RP],
  [K.resources, F_RES],
]);
const UI_KEYS = keyTable([
  [K.type, F_UI_TYPE],
  [K.arn, F_UI_ARN],
  [K.invokedBy, F_UI_INVOKEDBY],
  [K.principalId, F_UI_PID],
  [K.accountId, F_UI_ACCOUNT],
  [K.accessKeyId, F_UI_AKID],
  [K.userName, F_UI_USER],
  [K.sessionCredentialFromConsole, F_UI_CONSOLE],
  [K.sessionContext, K_SC],
]);
const SC_KEYS = keyTable([
  [K.sourceIdentity, F_SC_SOURCEID],
  [K.sessionIssuer, K_SI],
  [K.attributes, K_ATTR],
]);
const SI_KEYS = keyTable([
  [K.userName, F_SI_USER],
  [K.arn, F_SI_ARN],
  [K.accountId, F_SI_ACCOUNT],
]);
const ATTR_KEYS = keyTable([[K.mfaAuthenticated, F_MFA]]);
const RP_KEYS = keyTable([
  [K.roleArn, F_RP_ROLEARN],
  [K.instanceType, F_RP_ITYPE],
  [K.secretId, F_RP_SECRETID],
  [K.secretIdList, F_RP_SECRETLIST],
  [K.name, F_RP_PNAME],
  [K.names, F_RP_PNAMES],
  [K.path, F_RP_PATH],
]);

/** The field a key [s, e) names (-1: none we read); `h` is its keyHash. */
function keyField(t: KeyTable, h: number, b: Uint8Array, s: number, e: number): number {
  let slot = h & 63;
  for (;;) {
    const f = t.fields[slot]!;
    if (f < 0) return -1;
    if (t.hashes[slot] === h && same(b, s, e, t.names[slot]!)) return f;
    slot = (slot + 1) & 63;
  }
}

function ws(b: Uint8Array, i: number): number {
  for (;;) {
    const c = b[i];
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46));
}

/** `i` at a backslash: the position after a valid escape sequence. */
function skipEscape(b: Uint8Array, i: number): number {
  const c = b[i + 1];
  if (c === 0x22 || c === 0x5c || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74) return i + 2;
  if (c === 0x75 && isHex(b[i + 2]) && isHex(b[i + 3]) && isHex(b[i + 4]) && isHex(b[i + 5])) return i + 6;
  throw REJECT;
}

/** `i` at the opening quote: the position after the closing quote. Sets `keyEscaped`. */
function str(b: Uint8Array, i: number): number {
  i++;
  for (;;) {
    const c = b[i]! | 0; // past the end: 0, a control character
    if (c === 0x22) return i + 1;
    if (c === 0x5c) {
      keyEscaped = true;
      i = skipEscape(b, i);
    } else if (c < 0x20) throw REJECT;
    else i++;
  }
}

/**
 * `i` at the opening quote of a string we do not read: validated, and the position after the
 * closing quote. Most bytes are at or above '#' and not a backslash: one pair of compares each.
 */
function skipString(b: Uint8Array, i: number): number {
  let x = b[++i]! | 0; // past the end: 0, a control character
  for (;;) {
    while (x >= 0x23 && x !== 0x5c) x = b[++i]! | 0;
    if (x === 0x22) return i + 1;
    if (x === 0x5c) i = skipEscape(b, i);
    else if (x >= 0x20)
      i++; // space and '!'
    else throw REJECT;
    x = b[i]! | 0;
  }
}

/** A string value we read: records its span and hash in field `f` of the record at `base`. */
function capture(b: Uint8Array, i: number, base: number, f: number): number {
  const s = i + 1;
  i = s;
  for (;;) {
    const c = b[i]! | 0;
    if (c === 0x22) break;
    if (c === 0x5c) {
      meta[base + R_FLAGS]! |= COMPLEX; // an escape: let JSON.parse decode it
      i = skipEscape(b, i);
    } else if (c < 0x20) throw REJECT;
    else i++;
  }
  const o = base + R_FIELDS + f * 3;
  meta[o] = s;
  meta[o + 1] = i;
  // Times are computed and ids not interned: no hash.
  meta[o + 2] = f === F_TIME || f === F_ID ? 0 : spanHash(b, s, i);
  return i + 1;
}

/**
 * A hash of bytes [s, e): the length and at most 24 of the bytes (the first, middle and last 8),
 * four at a time. Enough to spread values over the intern table; equality is always checked on
 * every byte.
 */
function word(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

export function spanHash(b: Uint8Array, s: number, e: number): number {
  const n = e - s;
  let h = Math.imul(0x811c9dc5 ^ n, 0x01000193);
  if (n <= 24) {
    let i = s;
    for (; i + 4 <= e; i += 4) h = Math.imul(h ^ word(b, i), 0x01000193);
    for (; i < e; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  } else {
    const m = s + ((n >> 1) & ~3) - 4;
    h = Math.imul(h ^ word(b, s), 0x01000193);
    h = Math.imul(h ^ word(b, s + 4), 0x01000193);
    h = Math.imul(h ^ word(b, m), 0x01000193);
    h = Math.imul(h ^ word(b, m + 4), 0x01000193);
    h = Math.imul(h ^ word(b, e - 8), 0x01000193);
    h = Math.imul(h ^ word(b, e - 4), 0x01000193);
  }
  return h ^ (h >>> 15);
}

function digits(b: Uint8Array, i: number): number {
  const s = i;
  for (;;) {
    const c = b[i];
    if (c !== undefined && c >= 0x30 && c <= 0x39) i++;
    else break;
  }
  if (i === s) throw REJECT;
  return i;
}

function num(b: Uint8Array, i: number): number {
  if (b[i] === 0x2d) i++;
  if (b[i] === 0x30) i++;
  else i = digits(b, i);
  if (b[i] === 0x2e) i = digits(b, i + 1);
  const c = b[i];
  if (c === 0x65 || c === 0x45) {
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    i = digits(b, i);
  }
  return i;
}

function lit(b: Uint8Array, i: number, word: string): number {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) throw REJECT;
  return i + word.length;
}

const OBJ = 1,
  ARR = 2;
const stack = new Uint8Array(MAX_DEPTH + 1);

/**
 * Any JSON value at `i` (after whitespace): validated, and the position after it. Iterative (an
 * explicit stack of open containers): nested request parameters cost no calls per value.
 */
function value(b: Uint8Array, i: number): number {
  let d = 0;
  let c = b[i];
  for (;;) {
    // A value starts at i (c = b[i]).
    if (c === 0x22) {
      i = skipString(b, i);
    } else if (c === 0x7b || c === 0x5b) {
      if (d === MAX_DEPTH) throw REJECT;
      stack[d++] = c === 0x7b ? OBJ : ARR;
      i++;
      while ((c = b[i]) === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      if (c === (stack[d - 1] === OBJ ? 0x7d : 0x5d)) {
        d--;
        i++;
      } else {
        if (stack[d - 1] === OBJ) i = key(b, i);
        c = b[i];
        continue;
      }
    } else if (c === 0x74) i = lit(b, i, "true");
    else if (c === 0x66) i = lit(b, i, "false");
    else if (c === 0x6e) i = lit(b, i, "null");
    else i = num(b, i);
    // After a value: the end, a comma, or closers.
    for (;;) {
      if (d === 0) return i;
      while ((c = b[i]) === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      if (c === 0x2c) {
        i++;
        while ((c = b[i]) === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
        if (stack[d - 1] === OBJ) {
          i = key(b, i);
          c = b[i];
        }
        break;
      }
      if (c === (stack[d - 1] === OBJ ? 0x7d : 0x5d)) {
        d--;
        i++;
      } else throw REJECT;
    }
  }
}

/** A key and its colon at `i`: the position of the value after them. */
function key(b: Uint8Array, i: number): number {
  if (b[i] !== 0x22) throw REJECT;
  i = ws(b, str(b, i));
  if (b[i] !== 0x3a) throw REJECT;
  return ws(b, i + 1);
}

/** Forget what an earlier userIdentity of the record at `base` said (a later one replaces it whole). */
function forgetIdentity(base: number): void {
  meta[base + R_FIELDS + F_UI_TYPE * 3] = meta[base + R_FIELDS + F_UI_ARN * 3] = meta[base + R_FIELDS + F_UI_INVOKEDBY * 3] = -1;
  for (let k = F_UI_PID; k < NF; k++) meta[base + R_FIELDS + k * 3] = -1;
  meta[base + R_FLAGS]! &= ~UI_PARSE;
}

/**
 * A record (or its userIdentity, or its requestParameters: `table` says which keys to read) at
 * `i`: keys matched against the fields we read, string values of those captured, everything
 * validated. Strings and whitespace are scanned inline: this loop runs
 * for every key of every record.
 */
function fields(b: Uint8Array, i: number, base: number, table: KeyTable): number {
  let c = b[++i];
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
  if (c === 0x7d) return i + 1;
  for (;;) {
    if (c !== 0x22) throw REJECT;
    const ks = ++i;
    let kh = 0;
    for (;;) {
      c = b[i]! | 0;
      if (c === 0x22) break;
      if (c === 0x5c) {
        meta[base + R_FLAGS]! |= COMPLEX; // an escaped key may spell a field's name
        i = skipEscape(b, i);
      } else if (c < 0x20) throw REJECT;
      else {
        kh = (Math.imul(kh, 31) + c) | 0;
        i++;
      }
    }
    const f = keyField(table, kh, b, ks, i);
    c = b[++i];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
    if (c !== 0x3a) throw REJECT;
    c = b[++i];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
    if (f < 0) {
      if (c === 0x22) i = skipString(b, i);
      else i = value(b, i);
    } else if (f >= F_UI_PID && f < NF) {
      // A string of the principal's: its span only; anything else and userIdentity is parsed.
      if (c === 0x22) {
        const s = ++i;
        for (;;) {
          const x = b[i]! | 0;
          if (x === 0x22) break;
          if (x === 0x5c) {
            meta[base + R_FLAGS]! |= UI_PARSE;
            i = skipEscape(b, i);
          } else if (x < 0x20) throw REJECT;
          else i++;
        }
        const o = base + R_FIELDS + f * 3;
        meta[o] = s;
        meta[o + 1] = i;
        meta[o + 2] = 0;
        i++;
      } else {
        meta[base + R_FLAGS]! |= UI_PARSE;
        i = value(b, i);
      }
    } else if (f >= K_SC) {
      // sessionContext, its sessionIssuer or attributes: the last of each wins, as with JSON.parse.
      if (c === 0x7b) {
        const from = f === K_SC ? F_SC_SOURCEID : f === K_SI ? F_SI_USER : F_MFA;
        const to = f === K_SI ? F_SI_ACCOUNT : F_MFA;
        for (let k = from; k <= to; k++) meta[base + R_FIELDS + k * 3] = -1;
        i = fields(b, i, base, f === K_SC ? SC_KEYS : f === K_SI ? SI_KEYS : ATTR_KEYS);
      } else {
        meta[base + R_FLAGS]! |= UI_PARSE;
        i = value(b, i);
      }
    } else if (f === F_UI) {
      const o = base + R_FIELDS + F_UI * 3;
      if (c === 0x7b) {
        if (meta[o]! >= 0) forgetIdentity(base); // the last userIdentity wins
        meta[o] = i;
        i = fields(b, i, base, UI_KEYS);
        meta[o + 1] = i;
      } else {
        if (meta[o]! >= 0) forgetIdentity(base);
        meta[o] = -1;
        meta[base + R_FLAGS]! |= COMPLEX;
        i = value(b, i);
      }
    } else if (f === F_RP) {
      const o = base + R_FIELDS + F_RP * 3;
      // The last requestParameters wins, as with userIdentity.
      for (let k = 0; k < RP_FIELDS.length; k++) meta[base + R_FIELDS + RP_FIELDS[k]! * 3] = -1;
      meta[o] = i;
      if (c === 0x7b) {
        meta[o + 2] = 1;
        i = fields(b, i, base, RP_KEYS);
      } else if (c === 0x6e) {
        meta[o + 2] = 0;
        i = lit(b, i, "null");
      } else {
        meta[base + R_FLAGS]! |= COMPLEX; // parameters that are not an object: JSON.parse decides
        i = value(b, i);
      }
      meta[o + 1] = i;
    } else if (f === F_RES) {
      // Any value, its span only (the last resources wins); JSON.parse of the span reads it.
      const o = base + R_FIELDS + F_RES * 3;
      meta[o] = i;
      i = value(b, i);
      meta[o + 1] = i;
      meta[o + 2] = 0;
    } else if (c === 0x22) i = capture(b, i, base, f);
    else {
      meta[base + R_FLAGS]! |= COMPLEX; // not a string: JSON.parse and the full checks decide
      i = value(b, i);
    }
    c = b[i];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
    if (c === 0x2c) {
      c = b[++i];
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
    } else if (c === 0x7d) return i + 1;
    else throw REJECT;
  }
}

function newRecord(start: number): number {
  const base = count * STRIDE;
  if (base + STRIDE > meta.length) {
    const m = new Int32Array(meta.length * 2);
    m.set(meta);
    meta = m;
  }
  meta.fill(-1, base, base + STRIDE); // every slot -1 (fields absent), as the native walk does
  meta[base + R_START] = start;
  meta[base + R_FLAGS] = 0;
  count++;
  return base;
}

function records(b: Uint8Array, i: number): number {
  i = ws(b, i + 1);
  if (b[i] === 0x5d) return i + 1;
  for (;;) {
    const base = newRecord(i);
    if (b[i] === 0x7b) i = fields(b, i, base, RECORD_KEYS);
    else {
      meta[base + R_FLAGS] = COMPLEX; // not an object: JSON.parse and the record checks say so
      i = value(b, i);
    }
    meta[base + R_END] = i;
    i = ws(b, i);
    const c = b[i];
    if (c === 0x2c) i = ws(b, i + 1);
    else if (c === 0x5d) return i + 1;
    else throw REJECT;
  }
}

/**
 * Walk a whole document. Returns the record index, or undefined when the bytes are not valid JSON
 * of the form `{"Records":[...]}` (one `Records` key holding an array; other top-level keys are
 * allowed): the caller then reads the file the general way. The returned index is valid until the
 * next call. Uses the native walk when it is built (see native-walk.ts), else `indexRecordsJs`.
 */
export function indexRecords(b: Uint8Array, opts: { hashes?: boolean } = {}): RecordIndex | undefined {
  if (!nativeWalk || nativeWalk.stride !== STRIDE) return indexRecordsJs(b);
  // Do not keep the index of one huge file alive for the rest of the process.
  if (meta.length > STRIDE * 65536) meta = new Int32Array(STRIDE * 1024);
  const ids = !opts.hashes;
  for (;;) {
    const n = nativeWalk.walk(b, meta, ids);
    if (ids) syncInterned();
    if (n >= 0) return { meta, count: n, ids };
    if (n !== -2) return undefined;
    meta = new Int32Array(meta.length * 2); // more records than the index holds: grow, walk again
  }
}

/** The JavaScript walk: the fallback of the native one, and its oracle in the tests. */
export function indexRecordsJs(b: Uint8Array): RecordIndex | undefined {
  count = 0;
  if (meta.length > STRIDE * 65536) meta = new Int32Array(STRIDE * 1024);
  let i = ws(b, 0);
  if (b[i] !== 0x7b) return undefined;
  let found = false;
  try {
    i = ws(b, i + 1);
    if (b[i] !== 0x7d) {
      for (;;) {
        if (b[i] !== 0x22) throw REJECT;
        const ks = i + 1;
        keyEscaped = false;
        i = ws(b, str(b, i));
        if (keyEscaped) throw REJECT; // an escaped key may spell "Records"
        if (b[i] !== 0x3a) throw REJECT;
        i = ws(b, i + 1);
        if (same(b, ks, ks + K.Records.length, K.Records) && b[ks + K.Records.length] === 0x22) {
          if (found || b[i] !== 0x5b) throw REJECT; // a second Records, or not an array
          found = true;
          i = records(b, i);
        } else i = value(b, i);
        i = ws(b, i);
        const c = b[i];
        if (c === 0x2c) i = ws(b, i + 1);
        else if (c === 0x7d) break;
        else throw REJECT;
      }
    }
    i = ws(b, i + 1);
    if (i !== b.length || !found) return undefined;
  } catch (e) {
    if (e === REJECT || e instanceof RangeError) return undefined;
    throw e;
  }
  return { meta, count, ids: false };
}

// ------------------------------------------------------------------ record accessors

export function recordStart(ix: RecordIndex, r: number): number {
  return ix.meta[r * STRIDE + R_START]!;
}
export function recordEnd(ix: RecordIndex, r: number): number {
  return ix.meta[r * STRIDE + R_END]!;
}
export function recordFlags(ix: RecordIndex, r: number): number {
  return ix.meta[r * STRIDE + R_FLAGS]!;
}
/** Offset in `meta` of the flags of record `r` (COMPLEX, UI_PARSE). */
export function flagsAt(r: number): number {
  return r * STRIDE + R_FLAGS;
}
/** Offset in `meta` of field `f` of record `r`: start at +0 (-1 when absent), end at +1, hash at +2. */
export function fieldAt(r: number, f: number): number {
  return r * STRIDE + R_FIELDS + f * 3;
}

/**
 * Record `r`'s eventTime (its field must be present) in epoch milliseconds: as the native walk
 * computed it, else by `isoTime`; NaN when it is not CloudTrail's form.
 */
export function recordTime(b: Uint8Array, ix: RecordIndex, r: number): number {
  const t = fieldAt(r, F_TIME);
  const secs = ix.ids ? ix.meta[t + 2]! >>> 0 : 0;
  return secs !== 0 ? secs * 1000 : isoTime(b, ix.meta[t]!, ix.meta[t + 1]!);
}

const DAYS_BEFORE_MONTH = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

function d2(b: Uint8Array, i: number): number {
  const x = b[i]! - 0x30,
    y = b[i + 1]! - 0x30;
  return x >= 0 && x <= 9 && y >= 0 && y <= 9 ? x * 10 + y : -1;
}

/**
 * `YYYY-MM-DDTHH:MM:SSZ` (CloudTrail's eventTime) in epoch milliseconds, computed from the bytes;
 * NaN for any other form (the caller then uses `Date.parse` on the parsed record).
 */
export function isoTime(b: Uint8Array, s: number, e: number): number {
  if (e - s !== 20 || b[s + 4] !== 0x2d || b[s + 7] !== 0x2d || b[s + 10] !== 0x54 || b[s + 13] !== 0x3a || b[s + 16] !== 0x3a || b[s + 19] !== 0x5a) return NaN;
  const c1 = d2(b, s),
    c2 = d2(b, s + 2),
    mo = d2(b, s + 5),
    d = d2(b, s + 8),
    h = d2(b, s + 11),
    mi = d2(b, s + 14),
    se = d2(b, s + 17);
  if (c1 < 0 || c2 < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59) return NaN;
  const y = c1 * 100 + c2;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const dim = mo === 2 ? (leap ? 29 : 28) : mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
  if (d > dim) return NaN;
  // Days since 1970-01-01 (proleptic Gregorian).
  const yy = y - 1;
  const days = 365 * (y - 1970) + (Math.floor(yy / 4) - Math.floor(yy / 100) + Math.floor(yy / 400) - 477) + DAYS_BEFORE_MONTH[mo - 1]! + (mo > 2 && leap ? 1 : 0) + d - 1;
  return ((days * 24 + h) * 60 + mi) * 60_000 + se * 1000;
}

// ------------------------------------------------------------------ interning

/** A hash of every byte of [s, e), four at a time, from `seed` (see Interner). */
export function internHash(b: Uint8Array, s: number, e: number, seed: number): number {
  let h = seed ^ Math.imul(e - s, 0x9e3779b1);
  let i = s;
  for (; i + 4 <= e; i += 4) {
    h = Math.imul(h ^ word(b, i), 0xcc9e2d51);
    h = (h << 15) | (h >>> 17);
  }
  for (; i < e; i++) h = Math.imul(h ^ b[i]!, 0x1b873593);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * Equal byte strings give the same JS string. Bounded: past `maxEntries` distinct values or
 * `maxBytes` of them the table starts afresh (values are then decoded again; nothing is lost).
 *
 * Hashed with `internHash` (every byte, from a random seed per table), not with the walk's
 * spanHash: values are the logs' (user agents, ARNs), which whoever calls the account's APIs
 * chooses, and spanHash reads at most 24 bytes of a value, so a million distinct user agents
 * could share one hash and make every lookup compare against all of them (the native table in
 * native/record-walk.c hashes the same way, for the same reason).
 */
export class Interner {
  /** Open addressing: per slot, the hash and the entry number + 1 (0: empty). */
  private slots!: Int32Array;
  private mask!: number;
  /** Per entry: offset of its bytes in `pool`, and their length. */
  private entries!: Int32Array;
  private strs: string[] = [];
  private pool: Uint8Array;
  private poolUsed = 0;
  private n = 0;
  private seed = 0;

  constructor(
    private readonly maxEntries = 1 << 17,
    private readonly maxBytes = 8 << 20,
  ) {
    this.pool = new Uint8Array(1 << 16);
    this.clear();
  }

  get size(): number {
    return this.n;
  }

  /** The string of bytes [s, e) of `b` (`_spanHash`, the walk's hash of them, is not used: see above). */
  get(b: Buffer, s: number, e: number, _spanHash?: number): string {
    const len = e - s;
    const h = internHash(b, s, e, this.seed);
    const slots = this.slots;
    let slot = h & this.mask;
    for (;;) {
      const k = slots[2 * slot + 1]! - 1;
      if (k < 0) break;
      if (slots[2 * slot] === h && this.entries[2 * k + 1] === len) {
        const o = this.entries[2 * k]!;
        const p = this.pool;
        let i = 0;
        while (i < len && p[o + i] === b[s + i]) i++;
        if (i === len) return this.strs[k]!;
      }
      slot = (slot + 1) & this.mask;
    }
    return this.add(b, s, e, h, slot);
  }

  private add(b: Buffer, s: number, e: number, h: number, slot: number): string {
    const len = e - s;
    const v = b.toString("utf8", s, e);
    if (this.n >= this.maxEntries || this.poolUsed + len > this.maxBytes) {
      this.clear();
      return this.get(b, s, e);
    }
    if (this.poolUsed + len > this.pool.length) {
      const p = new Uint8Array(Math.max(this.pool.length * 2, this.poolUsed + len));
      p.set(this.pool.subarray(0, this.poolUsed));
      this.pool = p;
    }
    this.pool.set(b.subarray(s, e), this.poolUsed);
    const k = this.n++;
    if (2 * k + 2 > this.entries.length) {
      const x = new Int32Array(this.entries.length * 2);
      x.set(this.entries);
      this.entries = x;
    }
    this.entries[2 * k] = this.poolUsed;
    this.entries[2 * k + 1] = len;
    this.strs.push(v);
    this.poolUsed += len;
    this.slots[2 * slot] = h;
    this.slots[2 * slot + 1] = k + 1;
    if (this.n * 2 > this.mask + 1) this.rehash();
    return v;
  }

  private rehash(): void {
    const old = this.slots;
    const cap = (this.mask + 1) * 2;
    const slots = new Int32Array(2 * cap);
    const mask = cap - 1;
    for (let i = 0; i < old.length; i += 2) {
      if (old[i + 1] === 0) continue;
      let slot = old[i]! & mask;
      while (slots[2 * slot + 1] !== 0) slot = (slot + 1) & mask;
      slots[2 * slot] = old[i]!;
      slots[2 * slot + 1] = old[i + 1]!;
    }
    this.slots = slots;
    this.mask = mask;
  }

  private clear(): void {
    this.seed = (Math.random() * 2 ** 32) | 0; // V8 seeds Math.random from the system at start
    this.slots = new Int32Array(2 << 12);
    this.mask = (1 << 12) - 1;
    this.entries = new Int32Array(2 << 11);
    this.strs = [];
    this.n = 0;
    this.poolUsed = 0;
  }
}
