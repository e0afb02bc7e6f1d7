import { describe, it, expect } from "vitest";
import { existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Worker } from "node:worker_threads";
import { crc32, gunzipSync, gzipSync } from "node:zlib";
import {
  COMPLEX,
  F_ERRCODE,
  F_ERRMSG,
  F_ID,
  F_IP,
  F_NAME,
  F_REGION,
  F_RES,
  F_RP,
  F_RP_ITYPE,
  F_RP_PATH,
  F_RP_PNAME,
  F_RP_PNAMES,
  F_RP_ROLEARN,
  F_RP_SECRETID,
  F_RP_SECRETLIST,
  F_SOURCE,
  F_TIME,
  F_UI,
  F_UA,
  F_UI_ARN,
  F_UI_INVOKEDBY,
  F_UI_TYPE,
  F_MFA,
  F_SC_SOURCEID,
  F_SI_ACCOUNT,
  F_SI_ARN,
  F_SI_USER,
  F_UI_AKID,
  F_UI_ACCOUNT,
  F_UI_CONSOLE,
  F_UI_PID,
  F_UI_USER,
  F_UA_FAM,
  UA_FAMILIES,
  UI_PARSE,
  Interner,
  internHash,
  fieldAt,
  STRIDE,
  indexRecords,
  indexRecordsJs,
  isoTime,
  recordEnd,
  recordFlags,
  recordStart,
  recordTime,
  spanHash,
} from "../../src/ingest/record-bytes.js";
import { FileSource, gunzipReused, gunzipSized, listInputFiles } from "../../src/sources/files.js";
import { OversizedError } from "../../src/sources/limits.js";
import { internedString, nativeWalk, walkKind } from "../../src/ingest/native-walk.js";
import { Scanner } from "../../src/scan/scanner.js";
import { generate } from "../../src/bench/generate.js";
import { rng } from "../../src/util/rng.js";
import { emptyRecordFields, principalFromIndex } from "../../src/ingest/lean-facts.js";
import { OFFENSIVE_UA, principalOf, uncachedUserAgentFamily } from "../../src/events/normalize.js";

const FIELD_PATHS: Array<[number, (r: Record<string, unknown>) => unknown]> = [
  [F_TIME, (r) => r.eventTime],
  [F_SOURCE, (r) => r.eventSource],
  [F_NAME, (r) => r.eventName],
  [F_REGION, (r) => r.awsRegion],
  [F_IP, (r) => r.sourceIPAddress],
  [F_UA, (r) => r.userAgent],
  [F_ERRCODE, (r) => r.errorCode],
  [F_ID, (r) => r.eventID],
  [F_UI_TYPE, (r) => (r.userIdentity as Record<string, unknown> | undefined)?.type],
  [F_UI_ARN, (r) => (r.userIdentity as Record<string, unknown> | undefined)?.arn],
  [F_UI_INVOKEDBY, (r) => (r.userIdentity as Record<string, unknown> | undefined)?.invokedBy],
  [F_RP_ROLEARN, (r) => (r.requestParameters as Record<string, unknown> | null | undefined)?.roleArn],
  [F_RP_ITYPE, (r) => (r.requestParameters as Record<string, unknown> | null | undefined)?.instanceType],
  [F_RP_SECRETID, (r) => (r.requestParameters as Record<string, unknown> | null | undefined)?.secretId],
  [F_RP_SECRETLIST, (r) => (r.requestParameters as Record<string, unknown> | null | undefined)?.secretIdList],
  [F_RP_PNAME, (r) => (r.requestParameters as Record<string, unknown> | null | undefined)?.name],
  [F_RP_PNAMES, (r) => (r.requestParameters as Record<string, unknown> | null | undefined)?.names],
  [F_RP_PATH, (r) => (r.requestParameters as Record<string, unknown> | null | undefined)?.path],
];

const objOf = (v: unknown) => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const uiOf = (r: Record<string, unknown>) => objOf(r.userIdentity);
const scOf = (r: Record<string, unknown>) => objOf(uiOf(r)?.sessionContext);
/** What principalOf reads of userIdentity beyond type, arn and invokedBy: read by the walk unless it sets UI_PARSE. */
const PRINCIPAL_PATHS: Array<[number, (r: Record<string, unknown>) => unknown]> = [
  [F_UI_PID, (r) => uiOf(r)?.principalId],
  [F_UI_ACCOUNT, (r) => uiOf(r)?.accountId],
  [F_UI_AKID, (r) => uiOf(r)?.accessKeyId],
  [F_UI_USER, (r) => uiOf(r)?.userName],
  [F_UI_CONSOLE, (r) => uiOf(r)?.sessionCredentialFromConsole],
  [F_SC_SOURCEID, (r) => scOf(r)?.sourceIdentity],
  [F_SI_USER, (r) => objOf(scOf(r)?.sessionIssuer)?.userName],
  [F_SI_ARN, (r) => objOf(scOf(r)?.sessionIssuer)?.arn],
  [F_SI_ACCOUNT, (r) => objOf(scOf(r)?.sessionIssuer)?.accountId],
  [F_MFA, (r) => objOf(scOf(r)?.attributes)?.mfaAuthenticated],
];

/** Principals read from the walk's fields (principalFromIndex) that were checked against principalOf: the tests require some. */
const principalsChecked = { fromIndex: 0, parsed: 0 };

/**
 * The principal of record `r` from the walk's fields equals principalOf of its parsed userIdentity
 * (when the walk gives one: else the caller parses it), and the fields equal the parsed values.
 */
function samePrincipal(b: Buffer, ix: NonNullable<ReturnType<typeof indexRecords>>, r: number, rec: Record<string, unknown>): void {
  const ui = uiOf(rec);
  if (ui === undefined || ix.meta[fieldAt(r, F_UI)]! < 0) return;
  if ((recordFlags(ix, r) & UI_PARSE) === 0) {
    for (const [f, get] of PRINCIPAL_PATHS) {
      const at = fieldAt(r, f);
      const v = get(rec);
      if (ix.meta[at]! < 0) expect(v).toBeUndefined();
      else expect(b.toString("utf8", ix.meta[at]!, ix.meta[at + 1]!)).toBe(v);
      if (ix.meta[at]! >= 0) expect(ix.meta[at + 2]).toBe(0);
    }
  }
  const f = emptyRecordFields();
  const s = (v: unknown) => (typeof v === "string" ? v : undefined);
  f.bytes = b;
  f.index = ix.meta;
  f.record = r;
  f.identityType = s(ui.type);
  f.identityArn = s(ui.arn);
  f.invokedBy = s(ui.invokedBy);
  f.recipientAccountId = s(rec.recipientAccountId);
  const p = principalFromIndex(f);
  if (p === undefined) {
    principalsChecked.parsed++;
    return;
  }
  principalsChecked.fromIndex++;
  expect(p).toStrictEqual(principalOf(ui, f.recipientAccountId));
}

/** The native walk (when built) gives the JavaScript walk's index, entry for entry. */
function sameIndex(b: Buffer, ix: ReturnType<typeof indexRecords>): void {
  if (!nativeWalk) return;
  const got = ix && { count: ix.count, meta: Array.from(ix.meta.subarray(0, ix.count * STRIDE)) };
  const js = indexRecordsJs(b);
  expect(got).toEqual(js && { count: js.count, meta: Array.from(js.meta.subarray(0, js.count * STRIDE)) });
}

/**
 * The native walk's intern ids (its default mode): the same index but for the third slot of string
 * fields, and one id per distinct value, standing for that value.
 */
function sameInterned(b: Buffer, hashed: ReturnType<typeof indexRecords>): void {
  if (!nativeWalk || !hashed) return;
  const h = { count: hashed.count, meta: hashed.meta.slice(0, hashed.count * STRIDE) };
  const ix = indexRecords(b)!;
  expect([ix.count, ix.ids]).toEqual([h.count, true]);
  const idOf = new Map<string, number>();
  for (let r = 0; r < ix.count; r++) {
    for (let k = 0; k < 3; k++) expect(ix.meta[r * STRIDE + k]).toBe(h.meta[r * STRIDE + k]); // start, end, flags
    for (let f = 0; f < (STRIDE - 3) / 3; f++) {
      const at = fieldAt(r, f);
      expect([ix.meta[at], ix.meta[at + 1]]).toEqual([h.meta[at], h.meta[at + 1]]);
      if (ix.meta[at]! < 0 || f === F_TIME || f === F_ID || f === F_ERRMSG || f === F_UI || f === F_RP || f === F_RES) continue;
      if (f >= F_UI_PID) {
        expect(ix.meta[at + 2]).toBe(0); // the principal's fields are not interned
        continue;
      }
      const text = b.toString("utf8", ix.meta[at]!, ix.meta[at + 1]!);
      const id = ix.meta[at + 2]!;
      expect(internedString(id, b, ix.meta[at]!, ix.meta[at + 1]!)).toBe(text);
      if (!idOf.has(text)) idOf.set(text, id);
      expect(id).toBe(idOf.get(text));
    }
  }
  expect(new Set(idOf.values()).size).toBe(idOf.size); // distinct values, distinct ids
}

/** The walk agrees with JSON.parse: same acceptance, same records, same field values. */
function agrees(text: string): "accepted" | "rejected" | "fallback" {
  const b = Buffer.from(text, "utf8");
  let doc: unknown;
  let valid = true;
  try {
    doc = JSON.parse(text);
  } catch {
    valid = false;
  }
  const ix = indexRecords(b, { hashes: true });
  sameIndex(b, ix);
  sameInterned(b, ix);
  if (!valid) {
    expect(ix, `invalid JSON accepted: ${text.slice(0, 200)}`).toBeUndefined();
    return "rejected";
  }
  if (!ix) return "fallback"; // valid JSON, but not a plain {"Records":[...]}: the general path reads it
  const recs = (doc as { Records: unknown[] }).Records;
  expect(Array.isArray(recs)).toBe(true);
  expect(ix.count).toBe(recs.length);
  for (let r = 0; r < ix.count; r++) {
    expect(JSON.parse(b.toString("utf8", recordStart(ix, r), recordEnd(ix, r)))).toEqual(recs[r]);
    if (recordFlags(ix, r) & COMPLEX) continue;
    const rec = recs[r] as Record<string, unknown>;
    for (const [f, get] of FIELD_PATHS) {
      const at = fieldAt(r, f);
      const v = get(rec);
      if (ix.meta[at]! < 0) expect(v).toBeUndefined();
      else expect(b.toString("utf8", ix.meta[at]!, ix.meta[at + 1]!)).toBe(v);
    }
    samePrincipal(b, ix, r, rec);
    // resources: the span of the (last) top-level value, any JSON; its third slot 0.
    const rs = fieldAt(r, F_RES);
    if (ix.meta[rs]! < 0) expect(rec.resources).toBeUndefined();
    else {
      expect(JSON.parse(b.toString("utf8", ix.meta[rs]!, ix.meta[rs + 1]!))).toEqual(rec.resources);
      expect(ix.meta[rs + 2]).toBe(0);
    }
  }
  return "accepted";
}

/** A document of these record texts, checked with `agrees`, and its index with a field reader. */
function walked(records: string[]): { ix: NonNullable<ReturnType<typeof indexRecords>>; field: (r: number, f: number) => string | undefined } {
  const text = '{"Records":[' + records.join(",") + "]}";
  expect(agrees(text)).toBe("accepted");
  const b = Buffer.from(text);
  const ix = indexRecords(b)!;
  const field = (r: number, f: number) => {
    const at = fieldAt(r, f);
    return ix.meta[at]! < 0 ? undefined : b.toString("utf8", ix.meta[at]!, ix.meta[at + 1]!);
  };
  return { ix, field };
}

const BASE = {
  eventVersion: "1.09",
  userIdentity: { type: "IAMUser", arn: "arn:aws:iam::111122223333:user/alice", accountId: "111122223333", userName: "alice" },
  eventTime: "2024-03-03T20:42:28Z",
  eventSource: "ec2.amazonaws.com",
  eventName: "DescribeInstances",
  awsRegion: "us-east-1",
  sourceIPAddress: "203.0.113.9",
  userAgent: "aws-cli/2.13.5 Python/3.11.4 Linux/6.1 exe/x86_64",
  requestParameters: { filterSet: {}, instancesSet: { items: [{ instanceId: "i-1", n: -1.5e3, ok: true, none: null }] } },
  responseElements: null,
  eventID: "40c175eb-a726-40e0-ae96-d7f01879edb2",
  readOnly: true,
  recipientAccountId: "111122223333",
};

describe("the byte walk over S3 delivery files", () => {
  it("is the native walk when npm ci built it, unless TRAILHOUND_NATIVE=0 (a stale or broken build fails here)", (ctx) => {
    if (process.env.TRAILHOUND_NATIVE === "0") return expect(nativeWalk).toBeUndefined();
    // Without a C compiler the install says so and scans use the JavaScript walk, which every
    // other test here then covers; the native-only checks skip.
    if (!existsSync("build/Release/record_walk.node")) return ctx.skip();
    expect(walkKind).toMatch(/^native/);
    expect(nativeWalk!.stride).toBe(STRIDE); // the C file's layout is this file's
  });

  it("native intern ids never stand for a value of an earlier table (reset, or a table that started afresh)", (ctx) => {
    if (!nativeWalk) return ctx.skip();
    const doc = (region: string) => Buffer.from(JSON.stringify({ Records: [{ ...BASE, awsRegion: region }] }));
    const region = (b: Buffer) => {
      const ix = indexRecords(b)!;
      const at = fieldAt(0, F_REGION);
      return internedString(ix.meta[at + 2]!, b, ix.meta[at]!, ix.meta[at + 1]!);
    };
    nativeWalk.reset();
    expect(region(doc("first-region"))).toBe("first-region");
    nativeWalk.reset();
    expect(region(doc("other-region"))).toBe("other-region"); // same id as before the reset, another value
    expect(region(doc("first-region"))).toBe("first-region");
  });

  it("native intern tables are per thread: a worker's walks and resets leave the main thread's ids alone", async (ctx) => {
    if (!nativeWalk) return ctx.skip();
    const doc = Buffer.from(JSON.stringify({ Records: [{ ...BASE, awsRegion: "main-region" }] }));
    const regionId = () => {
      const ix = indexRecords(doc)!;
      return ix.meta[fieldAt(0, F_REGION) + 2];
    };
    nativeWalk.reset();
    const before = regionId();
    const generation = nativeWalk.generation();
    const worker = new Worker(
      `const { workerData, parentPort } = require("node:worker_threads");
       const m = require(workerData.path);
       m.reset();
       const meta = new Int32Array(workerData.stride * 64);
       let n = 0;
       for (let k = 0; k < 200; k++) n += m.walk(Buffer.from(JSON.stringify({ Records: [{ eventName: "w" + k, awsRegion: "r" + k }] })), meta, true);
       m.reset();
       parentPort.postMessage({ n, g: m.generation() });`,
      { eval: true, workerData: { path: resolve("build/Release/record_walk.node"), stride: STRIDE } },
    );
    const got = await new Promise<{ n: number; g: number }>((ok, fail) => worker.once("message", ok).once("error", fail));
    await worker.terminate();
    expect(got.n).toBe(200);
    expect(nativeWalk.generation()).toBe(generation); // the worker's resets were its own
    expect(regionId()).toBe(before);
  });

  it("the native intern table spreads values that differ only where a short hash does not look: bounded probes, per-table seeds", (ctx) => {
    if (!nativeWalk) return ctx.skip();
    const { internStats, internHash: nativeHash } = nativeWalk;
    if (!internStats || !nativeHash) throw new Error("build/Release/record_walk.node predates internStats: npm run build:native");
    // Three crafted sets of 2,000 user agents of 100 bytes, each differing only in one window of
    // bytes: 10-39 (the attack e5b3e32 measured), 24-43 (past a 24-byte prefix) and 56-87 (between
    // spanHash's middle and last 8 bytes). spanHash reads bytes 0-7, 44-51 and 92-99, so within a
    // set it gives one hash, and a table placed by it (or by any hash of those bytes, or of the
    // first 24) piles a set into one probe chain: displacement about 2,000^2 / 2 per set.
    const crafted = (from: number, to: number) => Array.from({ length: 2000 }, (_, k) => `${"A".repeat(from)}${String(k * 7919).padStart(to - from, "0")}${"B".repeat(100 - to)}`);
    const sets = [crafted(10, 40), crafted(24, 44), crafted(56, 88)];
    for (const set of sets) expect(new Set(set.map((ua) => spanHash(Buffer.from(ua), 0, 100))).size).toBe(1);
    const doc = Buffer.from(JSON.stringify({ Records: sets.flat().map((userAgent) => ({ userAgent })) }));
    nativeWalk.reset();
    const ix = indexRecords(doc)!;
    expect(ix.count).toBe(6000);
    expect(new Set(Array.from({ length: 6000 }, (_, r) => ix.meta[fieldAt(r, F_UA) + 2])).size).toBe(6000);
    const stats = internStats();
    expect(stats.entries).toBe(6000);
    expect(stats.slots).toBeGreaterThanOrEqual(12000); // at most half full
    // A random hash at this load: about 0.3 extra probes a value and a longest run of ~10-20;
    // the bounds leave room for any seed, and are far below one crafted set in one chain.
    expect(stats.displacement).toBeLessThan(6000);
    expect(stats.longest).toBeLessThan(100);
    // The hash itself: distinct over each set under two seeds, and the seed changes it.
    for (const set of sets) for (const seed of [12345n, 0x9e3779b97f4a7c15n]) expect(new Set(set.map((ua) => nativeHash(Buffer.from(ua), seed))).size).toBeGreaterThanOrEqual(1995);
    const one = Buffer.from(sets[0]![0]!);
    expect(nativeHash(one, 12345n)).not.toBe(nativeHash(one, 54321n));
    expect(nativeHash(one, 12345n)).toBe(nativeHash(Buffer.from(one), 12345n)); // of the bytes, not where they lie
    // Each table draws its own seed (a fixed one would let crafted values be found offline).
    nativeWalk.reset();
    indexRecords(doc);
    expect(internStats().seed).not.toBe(stats.seed);
    nativeWalk.reset();
    expect(internStats()).toMatchObject({ entries: 0, slots: 0, displacement: 0, longest: 0 });
  });

  it("native and JavaScript walks agree on documents bigger than the index they start with", { tags: ["slow"] }, (ctx) => {
    if (!nativeWalk) return ctx.skip();
    const many = JSON.stringify({ Records: Array.from({ length: 5000 }, (_, k) => ({ ...BASE, eventID: `id-${k}` })) });
    expect(agrees(many)).toBe("accepted");
    expect(indexRecords(Buffer.from(many))!.count).toBe(5000);
  });

  it("reads the fields of real and generated records exactly as JSON.parse does", { tags: ["slow"] }, async () => {
    for (const f of await listInputFiles(["test/fixtures/invictus-aws"])) expect(agrees(gunzipSync(readFileSync(f)).toString("utf8"))).toBe("accepted");
    expect(agrees(JSON.stringify({ Records: [BASE, { ...BASE, errorCode: "AccessDenied" }] }, null, 2))).toBe("accepted");
  });

  it("marks records it cannot read exactly, and keeps the last of duplicate keys", () => {
    const { ix, field } = walked([
      '{"eventName":"A","eventName":"B","userIdentity":{"arn":"x"},"userIdentity":{"type":"Root"}}',
      '{"eventName":"Stop\\u004cogging"}', // an escape in a value
      '{"event\\u004eame":"X","eventName":"Y"}', // an escaped key
      '{"awsRegion":null}', // not a string
      '{"userIdentity":"nobody"}',
      '{"requestParameters":{"eventName":"Nested","userIdentity":{"arn":"nested"}},"eventName":"Top"}',
      "42",
    ]);
    expect(recordFlags(ix, 0) & COMPLEX).toBe(0);
    expect(field(0, F_NAME)).toBe("B");
    expect(field(0, F_UI_ARN)).toBeUndefined(); // the second userIdentity has no arn
    expect(field(0, F_UI_TYPE)).toBe("Root");
    for (const r of [1, 2, 3, 4, 6]) expect(recordFlags(ix, r) & COMPLEX).toBe(COMPLEX);
    expect(recordFlags(ix, 5) & COMPLEX).toBe(0);
    expect(field(5, F_NAME)).toBe("Top");
    expect(field(5, F_UI_ARN)).toBeUndefined();
  });

  it("reads roleArn and instanceType at the top of requestParameters only, the last requestParameters winning", () => {
    const { ix, field } = walked([
      '{"requestParameters":{"roleArn":"a","instanceType":"t3.micro"}}',
      '{"requestParameters":{"nested":{"roleArn":"deep"},"items":[{"instanceType":"x"}]}}',
      '{"requestParameters":{"roleArn":"first"},"requestParameters":null}',
      '{"requestParameters":null,"requestParameters":{"roleArn":"second"}}',
      '{"requestParameters":{"roleArn":42}}', // not a string
      '{"requestParameters":["roleArn"]}', // not an object
      '{"requestParameters":{"role\\u0041rn":"escaped key"}}',
      '{"eventName":"AssumeRole"}',
    ]);
    const kind = (r: number) => (ix.meta[fieldAt(r, F_RP)]! < 0 ? "absent" : ix.meta[fieldAt(r, F_RP) + 2] === 1 ? "object" : "null");
    expect([field(0, F_RP_ROLEARN), field(0, F_RP_ITYPE), kind(0)]).toEqual(["a", "t3.micro", "object"]);
    expect([field(1, F_RP_ROLEARN), field(1, F_RP_ITYPE), kind(1)]).toEqual([undefined, undefined, "object"]);
    expect([field(2, F_RP_ROLEARN), kind(2)]).toEqual([undefined, "null"]);
    expect([field(3, F_RP_ROLEARN), kind(3)]).toEqual(["second", "object"]);
    for (const r of [4, 5, 6]) expect([r, recordFlags(ix, r) & COMPLEX]).toEqual([r, COMPLEX]);
    for (const r of [0, 1, 2, 3, 7]) expect(recordFlags(ix, r) & COMPLEX).toBe(0);
    expect(kind(7)).toBe("absent");
  });

  it("gives what principalOf reads of userIdentity, or UI_PARSE: the principal from its fields is principalOf's", () => {
    const issuer = { type: "Role", principalId: "AROAEXAMPLE", arn: "arn:aws:iam::111122223333:role/Deploy", accountId: "111122223333", userName: "Deploy" };
    const role = {
      type: "AssumedRole",
      principalId: "AROAEXAMPLE:jane.doe@example.com",
      arn: "arn:aws:sts::111122223333:assumed-role/Deploy/jane.doe@example.com",
      accountId: "111122223333",
      accessKeyId: "ASIAEXAMPLE",
      sessionContext: { sessionIssuer: issuer, webIdFederationData: {}, attributes: { creationDate: "2024-03-01T08:00:00Z", mfaAuthenticated: "true" } },
    };
    const rec = (ui: unknown) => JSON.stringify({ ...BASE, userIdentity: ui });
    const before = { ...principalsChecked };
    const { ix, field } = walked([
      rec(role), // 0: read
      rec({ ...role, sessionContext: { ...role.sessionContext, attributes: { mfaAuthenticated: true } } }), // 1: a boolean: parse
      rec({ ...role, sessionContext: null }), // 2: not an object: parse
      rec({ ...role, principalId: "AROA@:x" }).replace("AROA@", "AROA\\u0041"), // 3: an escape: parse
      // 4: the last sessionContext (and sessionIssuer) wins, whole: nothing of the first is left
      rec(role).replace('"sessionContext":{', '"sessionContext":{"sourceIdentity":"first","sessionIssuer":{"userName":"Old","arn":"old"}},"sessionContext":{'),
      rec({ ...role, sessionContext: { sessionIssuer: { ...issuer, userName: "" }, sourceIdentity: "nina@example.com", attributes: { mfaAuthenticated: "True" } } }), // 5
      rec({
        type: "IAMUser",
        arn: "arn:aws:iam::111122223333:user/bob",
        userName: "bob",
        sessionCredentialFromConsole: "true",
        sessionContext: { attributes: { mfaAuthenticated: "false" } },
      }), // 6
      rec({ type: "IdentityCenterUser", accountId: "111122223333", onBehalfOf: { userId: "u-1", identityStoreArn: "arn:aws:identitystore::111122223333:identitystore/d-1" } }), // 7: parse (its type reads more)
      rec({ type: "FederatedUser", arn: "arn:aws:sts::111122223333:federated-user/carol", sessionContext: { sessionIssuer: { userName: "carol-idp" } } }), // 8
      rec({ invokedBy: "ec2.amazonaws.com", principalId: "", userName: 7 }), // 9: userName not a string: parse
      rec({ ...role, sessionContext: { attributes: { nested: { mfaAuthenticated: "true" } }, other: { sessionIssuer: { userName: "deep" } } } }), // 10: only at their places
      rec({ ...role, sessionContext: { sessionIssuer: issuer, attributes: { mfaAuthenticated: "false" } }, userIdentity: {} }).replace(
        /}$/,
        ',"userIdentity":{"type":"Root","accountId":"444455556666"}}',
      ), // 11: the last userIdentity wins
    ]);
    const parse = (r: number) => (recordFlags(ix, r) & UI_PARSE) !== 0;
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map(parse)).toEqual([false, true, true, true, false, false, false, false, false, true, false, false]);
    for (let r = 0; r < 12; r++) expect(recordFlags(ix, r) & COMPLEX).toBe(0);
    expect([field(0, F_SI_USER), field(0, F_SI_ARN), field(0, F_SI_ACCOUNT), field(0, F_MFA), field(0, F_UI_AKID)]).toEqual([
      "Deploy",
      issuer.arn,
      "111122223333",
      "true",
      "ASIAEXAMPLE",
    ]);
    expect([field(4, F_SC_SOURCEID), field(4, F_SI_USER), field(4, F_MFA)]).toEqual([undefined, "Deploy", "true"]);
    expect([field(10, F_MFA), field(10, F_SI_USER)]).toEqual([undefined, undefined]);
    expect([field(11, F_UI_TYPE), field(11, F_UI_ACCOUNT), field(11, F_SI_USER), field(11, F_UI_PID)]).toEqual(["Root", "444455556666", undefined, undefined]);
    // Every record above went through samePrincipal (walked's agrees): 7 from the fields, 5 parsed.
    expect([principalsChecked.fromIndex - before.fromIndex, principalsChecked.parsed - before.parsed]).toEqual([7, 5]);
  });

  it("gives principalOf's principal from the walk's fields for random userIdentities", { tags: ["slow"] }, () => {
    const r = rng(11);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const TYPES = ["AssumedRole", "IAMUser", "Root", "FederatedUser", "AWSService", "AWSAccount", "IdentityCenterUser", "SAMLUser", "WebIdentityUser", "Other", ""];
    // "@E@" becomes an escape sequence in the document's text.
    const VALUES: unknown[] = [
      undefined,
      null,
      true,
      false,
      0,
      "",
      "true",
      "false",
      "True",
      "x",
      {},
      [],
      "@E@x",
      "é",
      "arn:aws:sts::1111:assumed-role/R/jane.doe",
      "AROA:botocore-session-1",
      "1111",
    ];
    const role = () => ({
      type: pick(TYPES),
      principalId: "AROAEXAMPLE:i-0abc",
      arn: pick(["arn:aws:sts::111122223333:assumed-role/Deploy/i-0abc", "arn:aws:sts::111122223333:federated-user/carol", "arn:aws:iam::111122223333:user/bob"]),
      accountId: "111122223333",
      accessKeyId: "ASIAEXAMPLE",
      userName: "bob",
      sessionContext: {
        sessionIssuer: { type: "Role", arn: "arn:aws:iam::111122223333:role/Deploy", accountId: "111122223333", userName: "Deploy" },
        attributes: { mfaAuthenticated: "false" },
        sourceIdentity: "x",
      },
    });
    const PATHS = [
      ["type"],
      ["arn"],
      ["accountId"],
      ["userName"],
      ["principalId"],
      ["accessKeyId"],
      ["invokedBy"],
      ["sessionCredentialFromConsole"],
      ["sessionContext"],
      ["sessionContext", "sourceIdentity"],
      ["sessionContext", "sessionIssuer"],
      ["sessionContext", "sessionIssuer", "userName"],
      ["sessionContext", "sessionIssuer", "arn"],
      ["sessionContext", "sessionIssuer", "accountId"],
      ["sessionContext", "attributes"],
      ["sessionContext", "attributes", "mfaAuthenticated"],
    ];
    const before = { ...principalsChecked };
    for (let d = 0; d < 40; d++) {
      const records: string[] = [];
      for (let k = 0; k < 40; k++) {
        const ui: Record<string, unknown> = role();
        for (let e = 1 + Math.floor(r() * 3); e > 0; e--) {
          const path = pick(PATHS);
          let o = ui;
          for (const key of path.slice(0, -1)) {
            const next = o[key];
            if (next === null || typeof next !== "object" || Array.isArray(next)) o = o[key] = {};
            else o = next as Record<string, unknown>;
          }
          const v = structuredClone(pick(VALUES));
          if (v === undefined) delete o[path.at(-1)!];
          else o[path.at(-1)!] = v;
        }
        let text = JSON.stringify({ ...BASE, userIdentity: ui }).replaceAll("@E@", "\\u0041");
        // A duplicated key, the last one winning (JSON.parse's rule).
        if (r() < 0.2)
          text = text.replace(
            '"sessionContext":{',
            '"sessionContext":{"sourceIdentity":"dup","sessionIssuer":{"userName":"Dup"},"attributes":{"mfaAuthenticated":"true"}},"sessionContext":{',
          );
        records.push(text);
      }
      expect(agrees('{"Records":[' + records.join(",") + "]}")).toBe("accepted");
    }
    // Both outcomes, many times, or the test proves little (1,600 records: about 400 from the fields).
    expect(principalsChecked.fromIndex - before.fromIndex).toBeGreaterThan(250);
    expect(principalsChecked.parsed - before.parsed).toBeGreaterThan(250);
  });

  it("native user agents' families (F_UA_FAM) are userAgentFamily's, for every fixed family and random agents", (ctx) => {
    if (!nativeWalk) return ctx.skip();
    const r = rng(5);
    const tokens = OFFENSIVE_UA.source.slice(1, -1).split("|");
    expect(tokens.length).toBe(27);
    const agents = [
      "",
      " ",
      "[",
      "]",
      "[]",
      "[ ]",
      "x",
      "-x",
      "123abc",
      "é",
      "Mozilla/5.0 é",
      "pacu é",
      "aws-cli/2.15.0 Python/3.11",
      "aws-cli/x",
      "aws-cli/",
      "[aws-cli/1.2]",
      " aws-cli/2 ",
      "AWS-CLI/2",
      "Boto3/1.34 md/Botocore#1",
      "x botocore/1.2",
      "Botocore/1",
      "BOTOCORE/1",
      "boto3/1",
      "HashiCorp Terraform",
      "x Terraform/1.5",
      "terraform/1.5",
      "APN/1.0 HashiCorp/1.0 Terraform/1.5.7",
      "aws-sdk-go-v2/1.2",
      "aws-sdk-gox",
      "aws-sdk-python/1",
      "AWS-SDK-JAVA/1",
      "Aws-Sdk-Js/2",
      "aws-sdk-",
      "aws-sdk-nodejs/3",
      "Mozilla/5.0 (X11)",
      "mozilla/5",
      "console.amazonaws.com",
      "signin.amazonaws.com",
      "console.ec2.amazonaws.com",
      "console.amazonaws.com ",
      "x S3Console/1",
      "RDS Console",
      "aws-internal/3 x",
      "AWS Internal",
      " AWS Internal",
      "AWS Internal x",
      "ec2.amazonaws.com",
      "x.amazonaws.com ",
      ".amazonaws.com",
      "amazonaws.com",
      "amazon-ssm-agent/3",
      "curl/7.1",
      "CURL",
      "wget",
      "Go-http-client/1.1",
      "okhttp/4",
      "postmanruntime/7",
      "insomnia/8",
      "python-requests/2",
      "aws-foo",
      "AWS-x",
      "awspx aws_consoler",
      "aws_consolerawspx",
      "cloudmapper nmap",
      "xnmapx",
      "NMAP",
      "kalipacu",
      "Pacu/1 (kali)",
      "enumerate-iam/1",
      "powershell-empire",
      "s3scanner",
      "zgrab/0.x",
    ];
    for (let d = 0; d < 10; d++) agents.push(`aws-cli/${d}.0`);
    for (const n of ["go-v2", "go", "java", "js", "nodejs", "ruby", "dotnet", "php", "rust", "cpp", "kotlin", "swift"]) agents.push(`aws-sdk-${n}/1.0`);
    for (const t of tokens) agents.push(t, t.toUpperCase(), `aws-cli/2 ${t}`, `Mozilla/5.0 ${t[0]!.toUpperCase()}${t.slice(1)}x`, `[${t}]`);
    const pieces = [
      "aws-cli/2",
      "Boto3/",
      "botocore/",
      "aws-sdk-",
      "go",
      "java",
      "js",
      "Mozilla/",
      "Terraform/",
      "HashiCorp",
      " ",
      "[",
      "]",
      ".amazonaws.com",
      "amazon-ssm-agent",
      "curl",
      "aws-",
      "console",
      "AWS Internal",
      "RDS Console",
      "S3Console/",
      "x",
      "7",
      "-",
      "_",
      ...tokens,
    ];
    for (let k = 0; k < 3000; k++) {
      let ua = "";
      for (let n = 1 + Math.floor(r() * 4); n > 0; n--) {
        const p = pieces[Math.floor(r() * pieces.length)]!;
        ua += r() < 0.2 ? p.toUpperCase() : p;
      }
      agents.push(ua);
    }
    const b = Buffer.from(JSON.stringify({ Records: agents.map((userAgent) => ({ userAgent })) }));
    const ix = indexRecords(b)!;
    expect(ix.count).toBe(agents.length);
    const codes = new Set<number>();
    let js = 0;
    for (let i = 0; i < agents.length; i++) {
      const code = ix.meta[fieldAt(i, F_UA_FAM) + 2]!;
      const want = uncachedUserAgentFamily(agents[i]!);
      expect(ix.meta[fieldAt(i, F_UA_FAM)]).toBe(-1);
      if (code === 0) {
        // Left to JavaScript: only the families built from the agent's text, or agents beyond ASCII.
        expect([agents[i], /^(http-client|other):/.test(want) || /[^\x00-\x7f]/.test(agents[i]!)]).toEqual([agents[i], true]);
        js++;
      } else expect([agents[i], UA_FAMILIES[code]]).toEqual([agents[i], want]);
      codes.add(code);
    }
    // Every fixed family met (all but the unused 0), and some left to JavaScript.
    expect(codes.size).toBe(UA_FAMILIES.length);
    expect(js).toBeGreaterThan(50);
  });

  it("accepts exactly what JSON.parse accepts (random damage to valid documents)", { tags: ["slow"] }, () => {
    const r = rng(7);
    const doc = JSON.stringify({ Records: [BASE, { ...BASE, userIdentity: { type: "AWSService", invokedBy: "ec2.amazonaws.com" } }, [1, "two", { three: [] }]] });
    const alphabet = ['"', "\\", "{", "}", "[", "]", ",", ":", " ", "0", "-", ".", "e", "t", "n", "u", "\u0001", "a", "é"];
    const outcomes = { accepted: 0, rejected: 0, fallback: 0 };
    for (let k = 0; k < 3000; k++) {
      let t = doc;
      for (let e = 1 + Math.floor(r() * 2); e > 0; e--) {
        const at = Math.floor(r() * t.length);
        const ch = alphabet[Math.floor(r() * alphabet.length)]!;
        const op = r();
        t = op < 0.4 ? t.slice(0, at) + t.slice(at + 1) : op < 0.7 ? t.slice(0, at) + ch + t.slice(at) : t.slice(0, at) + ch + t.slice(at + 1);
      }
      outcomes[agrees(t)]++;
    }
    // The damage must produce both kinds, or the test proves nothing.
    expect(outcomes.accepted).toBeGreaterThan(200);
    expect(outcomes.rejected).toBeGreaterThan(1000);
    for (const t of [
      "",
      "{",
      '{"Records":[',
      '{"Records":[]} x',
      '{"Records":{}}',
      '{"Records":[],"Records":[]}',
      "[]",
      '{"Records":[01]}',
      '{"Records":[1.]}',
      '{"Records":["\\x"]}',
      '{"Records":[tru]}',
    ])
      expect(indexRecords(Buffer.from(t))).toBeUndefined();
    expect(agrees('{"Other":1,"Records":[]}')).toBe("accepted");
    expect(agrees('{"Rec\\u006frds":[]}')).toBe("fallback");
    expect(indexRecords(Buffer.from(`{"Records":[${"[".repeat(300)}${"]".repeat(300)}]}`))).toBeUndefined(); // deeper than the walk goes
  });
});

describe("isoTime", () => {
  it("equals Date.parse for CloudTrail's form, and declines everything else", () => {
    const r = rng(3);
    for (let k = 0; k < 20000; k++) {
      const t = Math.floor((r() * 2 - 0.3) * 5e12); // about 1500 to 2300
      const s = new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
      if (s.length !== 20) continue;
      const b = Buffer.from(s);
      expect(isoTime(b, 0, b.length)).toBe(Date.parse(s));
    }
    for (const s of ["2024-02-29T23:59:59Z", "2023-12-31T00:00:00Z", "2000-02-29T12:00:00Z", "1970-01-01T00:00:00Z", "0000-01-01T00:00:00Z"]) {
      const b = Buffer.from(s);
      expect(isoTime(b, 0, b.length)).toBe(Date.parse(s));
    }
    // The native walk computes eventTime itself (recordTime): the same times as isoTime, NaN for the same forms.
    const times = [
      "2024-02-29T23:59:59Z",
      "1970-01-01T00:00:00Z",
      "1970-01-01T00:00:01Z",
      "1969-12-31T23:59:59Z",
      "2106-02-07T06:28:15Z",
      "2106-02-07T06:28:16Z",
      "2105-12-31T23:59:59Z",
      "9999-12-31T23:59:59Z",
    ];
    for (let k = 0; k < 5000; k++) times.push(new Date(Math.floor((r() * 2 - 0.3) * 5e12)).toISOString().replace(/\.\d{3}Z$/, "Z"));
    times.push("2023-02-29T00:00:00Z", "2024-01-01T00:00:00.000Z", "2024-13-01T00:00:00Z", "2024-01-01T00:00:60Z");
    const doc = Buffer.from(JSON.stringify({ Records: times.map((eventTime) => ({ ...BASE, eventTime })) }));
    const ix = indexRecords(doc)!;
    for (let k = 0; k < times.length; k++) {
      expect([times[k], recordTime(doc, ix, k)]).toEqual([times[k], isoTime(Buffer.from(times[k]!), 0, times[k]!.length)]);
    }
    for (const s of [
      "2023-02-29T00:00:00Z",
      "1900-02-29T00:00:00Z",
      "2024-04-31T00:00:00Z",
      "2024-13-01T00:00:00Z",
      "2024-01-01T24:00:00Z",
      "2024-01-01T00:60:00Z",
      "2024-01-01T00:00:60Z",
      "2024-01-01T00:00:00.000Z",
      "2024-01-01 00:00:00Z",
      "2024-01-0aT00:00:00Z",
      "2024-00-01T00:00:00Z",
    ]) {
      const b = Buffer.from(s);
      expect(isoTime(b, 0, b.length)).toBeNaN();
    }
  });
});

describe("Interner", () => {
  it("gives one string object per distinct byte string, across tables that start afresh", () => {
    const values = ["us-east-1", "eu-west-1", "", "ünïcödé", "aws-cli/2.13.5 Python/3.11.4 Linux/6.1.0 exe/x86_64.ubuntu.22 prompt/off command/ec2.describe-instances"];
    const text = values.join("|");
    const b = Buffer.from(text);
    const spans: Array<[number, number]> = [];
    let s = 0;
    for (const v of values) {
      const e = s + Buffer.byteLength(v);
      spans.push([s, e]);
      s = e + 1;
    }
    const small = new Interner(3, 1 << 20);
    for (const it of [new Interner(), small]) {
      for (let round = 0; round < 3; round++)
        spans.forEach(([s, e], i) => {
          expect(it.get(b, s, e, spanHash(b, s, e))).toBe(values[i]);
        });
    }
    const big = new Interner();
    const a = big.get(b, spans[0]![0], spans[0]![1], spanHash(b, spans[0]![0], spans[0]![1]));
    const copy = Buffer.from("xx us-east-1");
    expect(big.get(copy, 3, 12, spanHash(copy, 3, 12))).toBe(a);
    expect(big.size).toBe(1);
    // Many distinct values: the table grows and still finds every one.
    const many = Buffer.from(Array.from({ length: 5000 }, (_, i) => `v${i}`).join(","));
    const got = new Map<string, string>();
    let at = 0;
    for (let i = 0; i < 5000; i++) {
      const e = many.indexOf(",", at) < 0 ? many.length : many.indexOf(",", at);
      got.set(`v${i}`, big.get(many, at, e, spanHash(many, at, e)));
      at = e + 1;
    }
    expect([...got].every(([k, v]) => k === v)).toBe(true);
    expect(big.size).toBe(5001);
  });

  it("hashes every byte of a value from a random seed: values that differ where spanHash does not look do not collide", () => {
    // 2,000 user agents of 100 bytes that differ only in bytes 10-39: spanHash reads bytes 0-7, 46-53 and 92-99.
    const uas = Array.from({ length: 2000 }, (_, k) => `${"A".repeat(10)}${String(k * 7919).padStart(30, "0")}${"B".repeat(60)}`);
    const b = Buffer.from(uas.join(""));
    const spans = uas.map((_, k) => [k * 100, k * 100 + 100] as const);
    expect(new Set(spans.map(([s, e]) => spanHash(b, s, e))).size).toBe(1);
    expect(new Set(spans.map(([s, e]) => internHash(b, s, e, 12345))).size).toBeGreaterThanOrEqual(1995);
    expect(new Set(spans.map(([s, e]) => internHash(b, s, e, 54321))).size).toBeGreaterThanOrEqual(1995);
    expect(internHash(b, 0, 100, 12345)).not.toBe(internHash(b, 0, 100, 54321)); // the seed matters
    const it = new Interner();
    expect(spans.every(([s, e], k) => it.get(b, s, e) === uas[k])).toBe(true);
    expect(it.size).toBe(2000);
  });
});

describe("scanning files on the fast lane", () => {
  it("gives exactly the report and baselines of parsing every record", { tags: ["slow"] }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "th-lane-"));
    await generate({ dir, events: 30_000, identities: 40, days: 6, perFile: 700, seed: 11 }); // hundreds of buckets per identity: order-sensitive breadth folding runs
    // Records the fast lane must hand back: unknown identity types, console logins, escaped
    // values, times with milliseconds, bad records; in a plain .json file beside the .gz files.
    const odd = join(dir, "AWSLogs", "000-odd"); // sorts last: read once the window is known, so these records meet the fast lane
    mkdirSync(odd, { recursive: true });
    const t = (h: number) => new Date(Date.parse("2024-03-03T00:00:00Z") + h * 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
    const recs: unknown[] = [];
    for (let h = 0; h < 100; h++) {
      // the last 30 hours fall in the detection window
      recs.push({
        ...BASE,
        eventTime: t(h),
        eventID: `odd-${h}-a`,
        eventName: "ConsoleLogin",
        eventSource: "signin.amazonaws.com",
        responseElements: { ConsoleLogin: h % 3 ? "Success" : "Failure" },
      });
      recs.push({ ...BASE, eventTime: t(h), eventID: `odd-${h}-b`, userIdentity: { type: "AWSService", invokedBy: "lambda.amazonaws.com" } });
      recs.push({ ...BASE, eventTime: t(h).replace("Z", ".250Z"), eventID: `odd-${h}-c`, userAgent: 'quote " inside' });
      recs.push({
        ...BASE,
        eventTime: t(h),
        eventID: `odd-${h}-d`,
        eventName: "AssumeRole",
        eventSource: "sts.amazonaws.com",
        requestParameters: { roleArn: "arn:aws:iam::111122223333:role/Deploy" },
      });
      // Calls whose request parameters the baseline reads, in every shape.
      const rp = [{ roleArn: `arn:aws:iam::111122223333:role/R${h % 3}` }, null, undefined, { roleArn: 42 }, { roleArn: "" }, { nested: { roleArn: "deep" } }, [], "text"][h % 8];
      recs.push({ ...BASE, eventTime: t(h), eventID: `odd-${h}-f`, eventName: "AssumeRoleWithWebIdentity", eventSource: "sts.amazonaws.com", requestParameters: rp });
      recs.push({ ...BASE, eventTime: t(h), eventID: `odd-${h}-g`, eventName: "RunInstances", requestParameters: h % 3 ? { instanceType: `t3.${h % 5}`, roleArn: "r" } : rp });
      // Secret and parameter reads: their targets, in every shape (strings on the lane, lists parsed).
      const sid = [`arn:aws:secretsmanager:us-east-1:111122223333:secret:db/pass${h % 3}-AbCdEf`, `plain${h % 2}`, "", 42, ["a"], null][h % 6];
      recs.push({
        ...BASE,
        eventTime: t(h),
        eventID: `odd-${h}-s`,
        eventName: "GetSecretValue",
        eventSource: "secretsmanager.amazonaws.com",
        requestParameters: { secretId: sid },
      });
      const pn = [{ name: `/app/key${h % 4}:3` }, { names: ["/a", "/b"] }, { name: "/n", names: "/m" }, { name: "/n", path: "/p" }, null, { withDecryption: true }][h % 6];
      recs.push({ ...BASE, eventTime: t(h), eventID: `odd-${h}-p`, eventName: h % 2 ? "GetParameter" : "GetParameters", eventSource: "ssm.amazonaws.com", requestParameters: pn });
      recs.push({
        ...BASE,
        eventTime: t(h),
        eventID: `odd-${h}-q`,
        eventName: "GetParametersByPath",
        eventSource: "ssm.amazonaws.com",
        requestParameters: { path: `/svc${h % 2}` },
      });
      recs.push({
        ...BASE,
        eventTime: t(h),
        eventID: `odd-${h}-l`,
        eventName: "BatchGetSecretValue",
        eventSource: "secretsmanager.amazonaws.com",
        requestParameters: { secretIdList: h % 2 ? ["x", "y"] : "z" },
      });
      recs.push({ ...BASE, eventTime: t(h), eventID: `odd-${h}-e`, errorCode: "AccessDenied", errorMessage: "User: x is not authorized to perform: ec2:DescribeInstances" });
      recs.push({ ...BASE, eventTime: t(h), eventID: "" }, { eventTime: t(h), eventName: "NoSource" }, null);
      // A delivered-twice record (the window counts it once), and calls event detectors read.
      recs.push({ ...BASE, eventTime: t(h), eventID: `odd-${h}-twice` }, { ...BASE, eventTime: t(h), eventID: `odd-${h}-twice` });
      recs.push({ ...BASE, eventTime: t(h), eventID: `odd-${h}-h`, eventName: "StopLogging", eventSource: "cloudtrail.amazonaws.com" });
      // Another identity whose only records repeat an event id already seen: it never counts, so it
      // must not appear at all (the first copy is parsed, the second comes on the lane).
      const mallory = { type: "IAMUser", arn: `arn:aws:iam::111122223333:user/mallory-${h}`, accountId: "111122223333", userName: `mallory-${h}` };
      recs.push({ ...BASE, userIdentity: mallory, eventTime: t(h), eventID: `odd-${h}-twice` }, { ...BASE, userIdentity: mallory, eventTime: t(h), eventID: `odd-${h}-twice` });
    }
    writeFileSync(join(odd, "odd.json"), JSON.stringify({ Records: recs }));
    writeFileSync(join(odd, "odd2.json.gz"), gzipSync(JSON.stringify({ Records: recs.slice(0, 100) }, null, 1)));
    const run = async (fastPath: boolean, deferBatch?: number) => {
      const s = new Scanner({ now: Date.parse("2024-04-01T00:00:00Z"), fastPath, ...(deferBatch ? { deferBatch } : {}) });
      const src = new FileSource([dir]);
      await src.read(s);
      return { ...s.finish(), read: s.recordsRead, lane: s.fastLane, laneWindow: s.fastLaneWindow };
    };
    const full = await run(false);
    const fast = await run(true);
    const small = await run(true, 97);
    expect(full.read).toBe(30_000 + recs.length + 100);
    expect(full.lane).toBe(0);
    expect(fast.lane).toBeGreaterThan(20_000);
    expect(fast.laneWindow).toBeGreaterThan(1_000); // records in the window took the lane too
    for (const r of [fast, small]) {
      expect(r.read).toBe(full.read);
      expect(r.report).toEqual(full.report);
      expect(r.profiles).toEqual(full.profiles);
    }
    const count = (pred: (x: unknown) => boolean) => recs.filter(pred).length + recs.slice(0, 100).filter(pred).length;
    expect(full.report.stats.skipped).toMatchObject({
      "not-an-object": count((x) => x === null),
      "missing-eventSource": count((x) => (x as { eventName?: string } | null)?.eventName === "NoSource"),
      "missing-eventID": count((x) => (x as { eventID?: string } | null)?.eventID === ""),
    });
    expect(full.report.stats.duplicates).toBeGreaterThan(0);
    // The parameters read on the fast lane reached the baselines (roles assumed, instance types).
    const alice = JSON.stringify(full.profiles.find((p) => p.key === "user:111122223333:alice"));
    expect(alice).toContain("role/R2");
    expect(alice).toContain("t3.4");
    for (const target of ["secret:db/pass0", "secret:plain1", "parameter:/app/key2", "parameter:/m", "parameter-path:/svc1", "secret:z"]) expect(alice).toContain(target);
  });
});

describe("gunzipSized", () => {
  it("inflates whatever the trailer claims: exact, bogus, or several members", () => {
    const text = Buffer.from(JSON.stringify({ Records: Array.from({ length: 500 }, () => BASE) }));
    const gz = gzipSync(text);
    expect(gunzipSized(gz).equals(text)).toBe(true);
    const lying = Buffer.from(gz);
    lying.writeUInt32LE(7, lying.length - 4); // ISIZE says 7 bytes: zlib still checks its own length
    expect(() => gunzipSized(lying)).toThrow();
    const two = Buffer.concat([gzipSync(text.subarray(0, 1000)), gzipSync(text.subarray(1000))]);
    expect(gunzipSized(two).equals(text)).toBe(true);
    expect(() => gunzipSized(gz.subarray(0, gz.length - 10))).toThrow();
  });

  it("gunzipReused gives gunzipSized's bytes and errors, in one buffer reused from file to file", () => {
    const text = Buffer.from(JSON.stringify({ Records: Array.from({ length: 500 }, () => BASE) }));
    const other = Buffer.from(JSON.stringify({ Records: [BASE] }));
    const gz = gzipSync(text);
    const a = gunzipReused(gz);
    expect(a.equals(text)).toBe(true);
    const b = gunzipReused(gzipSync(other));
    expect(b.equals(other)).toBe(true);
    // Natively inflated: the second file lands in the first one's buffer (read it before the next).
    if (nativeWalk?.gunzip) expect(b.buffer).toBe(a.buffer);
    const two = Buffer.concat([gzipSync(text.subarray(0, 1000)), gzipSync(text.subarray(1000))]);
    expect(gunzipReused(two).equals(text)).toBe(true); // several members: zlib's general path
    const lying = Buffer.from(gz);
    lying.writeUInt32LE(7, lying.length - 4);
    expect(() => gunzipReused(lying)).toThrow(/incorrect length check/);
    const large = Buffer.from(gz);
    large.writeUInt32LE(text.length + 5, large.length - 4);
    expect(() => gunzipReused(large)).toThrow(/incorrect length check/);
    expect(() => gunzipReused(gz.subarray(0, gz.length - 10))).toThrow(/unexpected end of file/);
    expect(() => gunzipReused(gz, 100)).toThrow(OversizedError);
    const garbage = Buffer.concat([gz, Buffer.from("trailing")]);
    let sized: unknown, reused: unknown;
    try {
      sized = gunzipSized(garbage).toString("hex");
    } catch (e) {
      sized = (e as Error).message;
    }
    try {
      reused = gunzipReused(garbage).toString("hex");
    } catch (e) {
      reused = (e as Error).message;
    }
    expect(reused).toEqual(sized);
  });

  it("gunzipReused accepts, inflates and rejects damaged gzip exactly as zlib does (libdeflate, then zlib when it declines)", () => {
    const text = Buffer.from(JSON.stringify({ Records: Array.from({ length: 40 }, () => BASE) }));
    const gz = gzipSync(text);
    const outcome = (f: (b: Buffer) => Buffer, b: Buffer): string => {
      try {
        return f(b).toString("hex");
      } catch (e) {
        return `${(e as Error).name}: ${(e as Error).message}`;
      }
    };
    const r = rng(17);
    const cases: Buffer[] = [];
    // A header CRC (FHCRC), right and wrong: libdeflate does not check it, so zlib reads those files.
    const hcrc = (ok: boolean): Buffer => {
      const head = Buffer.from(gz.subarray(0, 10));
      head[3]! |= 0x02;
      const crc = Buffer.alloc(2);
      crc.writeUInt16LE(ok ? crc32(head) & 0xffff : 0x1234);
      return Buffer.concat([head, crc, gz.subarray(10)]);
    };
    cases.push(hcrc(true), hcrc(false));
    for (let k = 0; k < 300; k++) {
      const b = Buffer.from(gz);
      const edits = 1 + Math.floor(r() * 3);
      for (let e = 0; e < edits; e++) {
        // Half the edits in the header and trailer, where a damaged file is still well formed longest.
        const at = r() < 0.5 ? (r() < 0.5 ? Math.floor(r() * 10) : b.length - 1 - Math.floor(r() * 8)) : Math.floor(r() * b.length);
        b[at] = r() < 0.5 ? b[at]! ^ (1 << Math.floor(r() * 8)) : Math.floor(r() * 256);
      }
      cases.push(r() < 0.1 ? b.subarray(0, Math.floor(r() * b.length)) : b);
    }
    let same = 0;
    for (const c of cases) {
      const want = outcome(gunzipSized, c);
      expect(outcome(gunzipReused, c)).toBe(want);
      if (want === text.toString("hex")) same++;
    }
    expect(same).toBeGreaterThan(2); // some edits (MTIME, OS) leave a readable file: both read it
  });
});
