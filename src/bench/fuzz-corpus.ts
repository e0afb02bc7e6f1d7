/**
 * Inputs for fuzzing the byte walk (src/bench/fuzz-walk.ts): CloudTrail delivery documents built
 * from random records, then damaged the ways an attacker or a broken pipe would (bytes flipped,
 * inserted, deleted, duplicated, truncated, documents spliced, escapes, control and non-UTF-8
 * bytes, deep nesting, duplicate and escaped keys, odd numbers), and some bytes at random.
 * Seeded: the same seed gives the same inputs (a failure is replayed from its seed and index).
 */
import { rng } from "../util/rng.js";

const FIELDS = ["eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent", "errorCode", "errorMessage", "eventID", "recipientAccountId"];
const UI_FIELDS = ["type", "arn", "invokedBy", "accountId", "principalId", "accessKeyId", "userName", "sessionCredentialFromConsole"];
const TOKENS = [
  '"',
  "\\",
  "{",
  "}",
  "[",
  "]",
  ",",
  ":",
  " ",
  "\t",
  "\n",
  "\r",
  "0",
  "-",
  "1e5",
  "-0.5E-3",
  "01",
  "1.",
  ".5",
  "true",
  "false",
  "null",
  "nul",
  "tru",
  '\\"',
  "\\\\",
  "\\u00e9",
  "\\ud83d\\ude00",
  "\\ud800",
  "\\u12",
  "\\x",
  "\\/",
  '"Records"',
  '"Rec\\u006frds"',
  '"eventTime"',
  '"userIdentity"',
  '"requestParameters"',
  '"resources"',
  '"roleArn"',
  '"instanceType"',
  '"eventName"',
  '"eventID"',
  '"sessionContext"',
  '"sessionIssuer"',
  '"attributes"',
  '"mfaAuthenticated"',
  "\u00e9",
  "\u2028",
  "\ud83d\ude00",
];
const RAW_BYTES = [0x00, 0x01, 0x08, 0x0b, 0x0c, 0x1f, 0x7f, 0x80, 0xbf, 0xc0, 0xc3, 0xe2, 0xed, 0xf0, 0xf4, 0xf5, 0xfe, 0xff];

export class FuzzCorpus {
  private readonly r: () => number;
  private readonly bases: Buffer[] = [];

  constructor(seed: number, bases = 64) {
    this.r = rng(seed);
    for (let i = 0; i < bases; i++) this.bases.push(Buffer.from(this.document(), "utf8"));
  }

  private int(n: number): number {
    return Math.floor(this.r() * n);
  }
  private pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }

  /** A short string value, sometimes with escapes or non-ASCII. */
  private text(): string {
    const k = this.int(10);
    if (k === 0) return 'a"b\\c\u00e9\n\u0001\u2028';
    if (k === 1) return "\ud83d\ude00 " + "x".repeat(this.int(40));
    if (k === 2) return "";
    const chars = "abcdefghijklmnopqrstuvwxyz0123456789-_:/.";
    let s = "";
    for (let i = 0, n = 1 + this.int(k === 3 ? 300 : 30); i < n; i++) s += chars[this.int(chars.length)];
    return s;
  }

  private time(): string {
    const k = this.int(12);
    if (k === 0) return "2024-02-30T10:00:00Z"; // not a day
    if (k === 1) return "9999-12-31T23:59:59Z";
    if (k === 2) return "1969-12-31T23:59:59Z";
    if (k === 3) return "2024-05-01T10:00:00.123Z";
    if (k === 4) return "2024-05-01 10:00:00";
    const t = Date.UTC(2013 + this.int(100), this.int(12), 1 + this.int(28), this.int(24), this.int(60), this.int(60));
    return new Date(t).toISOString().replace(".000Z", "Z");
  }

  /** Any JSON value (nested up to `depth`). */
  private value(depth: number): unknown {
    const k = this.int(depth > 0 ? 9 : 6);
    if (k === 0) return null;
    if (k === 1) return this.r() < 0.5;
    if (k === 2) return this.int(1e6) * (this.r() < 0.3 ? -1 : 1);
    if (k === 3) return this.r() * 1e10;
    if (k <= 5) return this.text();
    if (k === 6) return Array.from({ length: this.int(4) }, () => this.value(depth - 1));
    const o: Record<string, unknown> = {};
    for (let i = 0, n = this.int(4); i < n; i++) o[this.r() < 0.3 ? this.pick(FIELDS) : this.text()] = this.value(depth - 1);
    return o;
  }

  /** A record: the fields the walk reads (strings mostly, sometimes not), extra keys, nesting. */
  record(): Record<string, unknown> {
    const rec: Record<string, unknown> = {};
    for (const f of FIELDS) {
      if (this.r() < 0.15) continue;
      rec[f] = this.r() < 0.1 ? this.value(2) : f === "eventTime" ? this.time() : this.text();
    }
    if (this.r() < 0.9) {
      const ui: Record<string, unknown> = {};
      for (const f of UI_FIELDS) if (this.r() < 0.7) ui[f] = this.r() < 0.1 ? this.value(1) : this.text();
      const sc = this.r();
      if (sc < 0.3) ui.sessionContext = this.value(3);
      else if (sc < 0.6) {
        // What principalOf reads of it, in its usual form, sometimes not a string or an object.
        const part = (): unknown => (this.r() < 0.1 ? this.value(1) : this.text());
        const issuer = { type: "Role", userName: part(), arn: part(), accountId: part() };
        ui.sessionContext = {
          sessionIssuer: this.r() < 0.1 ? this.value(1) : issuer,
          attributes: this.r() < 0.1 ? this.value(1) : { creationDate: part(), mfaAuthenticated: part() },
          sourceIdentity: part(),
        };
      }
      rec.userIdentity = this.r() < 0.05 ? this.value(1) : ui;
    }
    const rp = this.int(6);
    if (rp === 0) rec.requestParameters = null;
    else if (rp === 1) rec.requestParameters = { roleArn: this.text(), instanceType: this.text(), other: this.value(2) };
    else if (rp === 2) rec.requestParameters = this.value(2);
    if (this.r() < 0.4) rec.resources = this.r() < 0.5 ? [{ ARN: this.text(), type: "AWS::KMS::Key" }] : this.value(2);
    for (let i = 0, n = this.int(4); i < n; i++) rec[this.text()] = this.value(3);
    return rec;
  }

  /** A whole delivery document (sometimes pretty-printed, with other top-level keys). */
  document(): string {
    const recs = Array.from({ length: this.int(5) }, () => this.record());
    const doc: Record<string, unknown> = this.r() < 0.2 ? { Other: this.value(2), Records: recs } : { Records: recs };
    return JSON.stringify(doc, null, this.r() < 0.2 ? 2 : undefined);
  }

  /** The next input: a valid document, a damaged one, or random bytes. */
  next(): Buffer {
    const k = this.int(20);
    if (k === 0) return Buffer.from(this.document(), "utf8");
    if (k === 1) return this.randomBytes();
    if (k === 2) return this.nested();
    if (k === 3) return this.duplicateKeys();
    let b: Buffer = Buffer.from(this.pick(this.bases));
    for (let i = 0, n = 1 + this.int(4); i < n; i++) b = this.mutate(b);
    return b;
  }

  private randomBytes(): Buffer {
    const n = this.int(200);
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.r() < 0.5 ? this.int(256) : '{}[]":,\\ 0aRecords'.charCodeAt(this.int(19));
    if (this.r() < 0.5) return Buffer.concat([Buffer.from('{"Records":['), b]);
    return b;
  }

  /** Nesting around the walk's depth limit (256), in a record, a field or a value. */
  private nested(): Buffer {
    const d = 250 + this.int(12);
    const open = this.r() < 0.5 ? "[".repeat(d) : '{"a":'.repeat(d);
    const close = open[0] === "[" ? "]".repeat(d) : "}".repeat(d);
    const where = this.int(3);
    const inner = `${open}1${close}`;
    const s =
      where === 0
        ? `{"Records":[{"eventTime":"2024-05-01T00:00:00Z","x":${inner}}]}`
        : where === 1
          ? `{"Records":[{"userIdentity":{"type":"IAMUser","sessionContext":${inner}}}]}`
          : `{"Other":${inner},"Records":[]}`;
    return Buffer.from(s);
  }

  /** The same field twice (the last wins), escaped keys, a second Records. */
  private duplicateKeys(): Buffer {
    const rec = JSON.stringify(this.record());
    const k = this.int(5);
    if (k === 0) return Buffer.from(`{"Records":[${rec.slice(0, -1)}${rec.length > 2 ? "," : ""}"eventTime":"${this.time()}","userIdentity":{"type":"Root"},"userIdentity":5}]}`);
    if (k === 1) return Buffer.from(`{"Records":[${rec}],"Records":[${rec}]}`);
    if (k === 2) return Buffer.from(`{"Rec\\u006frds":[${rec}]}`);
    if (k === 3) return Buffer.from(`{"Records":[{"resources":[{"ARN":"a"}],"eventName":"Decrypt","resources":{"ARN":"b"},"res\\u006furces":[]}]}`);
    return Buffer.from(`{"Records":[{"eventN\\u0061me":"x","requestParameters":{"roleArn":"a","roleArn":"b","instanceType":1}}]}`);
  }

  private mutate(b: Buffer): Buffer {
    if (b.length === 0) return Buffer.from(this.pick(TOKENS));
    const at = this.int(b.length);
    const k = this.int(9);
    switch (k) {
      case 0: {
        // flip a bit
        const c = Buffer.from(b);
        c[at] = c[at]! ^ (1 << this.int(8));
        return c;
      }
      case 1: {
        // a structural or special character in place of one byte
        const c = Buffer.from(b);
        c[at] = this.r() < 0.5 ? this.pick(RAW_BYTES) : '"\\{}[],: 0e-.tfn'.charCodeAt(this.int(18));
        return c;
      }
      case 2:
        return Buffer.concat([b.subarray(0, at), Buffer.from(this.pick(TOKENS)), b.subarray(at)]);
      case 3:
        return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + this.int(16)))]);
      case 4: {
        const len = 1 + this.int(64);
        return Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
      }
      case 5:
        return b.subarray(0, at); // truncated
      case 6: {
        // spliced with another document
        const o = this.pick(this.bases);
        return Buffer.concat([b.subarray(0, at), o.subarray(this.int(o.length))]);
      }
      case 7:
        return Buffer.concat([b.subarray(0, at), Buffer.from([this.pick(RAW_BYTES)]), b.subarray(at)]);
      default: {
        // a string's quote removed or doubled
        const q = b.indexOf(0x22, at);
        if (q < 0) return b;
        return this.r() < 0.5 ? Buffer.concat([b.subarray(0, q), b.subarray(q + 1)]) : Buffer.concat([b.subarray(0, q), Buffer.from('"'), b.subarray(q)]);
      }
    }
  }
}
