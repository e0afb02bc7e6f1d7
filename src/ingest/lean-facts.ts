/**
 * The lean half of normalisation: what a record that only trains baselines (or is merely counted
 * in the window) yields without building a TrailEvent, from a parsed record (`baselineFacts`) or
 * from fields read off the file bytes (`leanFacts`). The other half, the TrailEvent, is in
 * events/normalize.ts; both apply the same checks in the same order, so skip reasons agree.
 */
import type { EventFacts, IpKind, Principal, SkipReason } from "../events/types.js";
import type { GeoInfo } from "../geo/types.js";
import { readsRequestParameters } from "../events/targets.js";
import {
  apiOf,
  classifySourceIp,
  emptyIdentityParts,
  isDeniedCode,
  missingField,
  principalFrom,
  principalOf,
  TYPES_READING_UI,
  userAgentFamily,
  type ApiNames,
} from "../events/normalize.js";
import { F_MFA, F_SC_SOURCEID, F_SI_ACCOUNT, F_SI_ARN, F_SI_USER, F_UI_AKID, F_UI_ACCOUNT, F_UI_CONSOLE, F_UI_PID, F_UI_USER, fieldAt, flagsAt, UI_PARSE } from "./record-bytes.js";

function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * The fields of a record that train a baseline, read without parsing the record (see
 * record-bytes.ts). Values are the record's own strings; `undefined` where the record has
 * no such key. A source only offers a record this way when every one of them that is present is
 * a plain JSON string, `eventTime` is in CloudTrail's `YYYY-MM-DDTHH:MM:SSZ` form, `eventSource`,
 * `eventName` and `eventID` are non-empty and `userIdentity` is an object.
 */
export interface RecordFields {
  /** `eventTime` in epoch milliseconds. */
  time: number;
  /** `eventID`; "" when the source did not read it (see LaneSink.eventIdsFrom). */
  eventId: string;
  eventSource: string;
  eventName: string;
  awsRegion: string | undefined;
  sourceIPAddress: string | undefined;
  /** Undefined also when `uaFamily` is given (the family is all that is read of it then). */
  userAgent: string | undefined;
  errorCode: string | undefined;
  errorMessage: string | undefined;
  recipientAccountId: string | undefined;
  /** `userIdentity.type`, `.arn`, `.invokedBy`. */
  identityType: string | undefined;
  identityArn: string | undefined;
  invokedBy: string | undefined;
  /**
   * The request parameters the baseline reads (see readsRequestParameters): null when the record
   * has none (or null), an object with only the read keys otherwise; undefined: not read (the
   * record then takes the full path when its call needs them).
   */
  requestParameters?: Record<string, unknown> | null | undefined;
  /**
   * The record's `resources` as parsed, read for KMS key reads only (undefined: absent or not
   * read); the fast lane may give its usual one-entry form as `[{ ARN }]`, all that targetsOf reads.
   */
  resources: unknown;
  /** What the reader already knows (else computed here): apiOf(eventSource, eventName), userAgentFamily(userAgent). */
  names: ApiNames | undefined;
  uaFamily: string | undefined;
  /**
   * The reader's memo of the sink's identities by `identityArn` (see Ingest.fields), and the
   * ARN's number in it (-1: none): kept per intern table by the reader, opaque to it.
   */
  arnMemo: ArnMemo | undefined;
  arnId: number;
  /** What the reader knows of `sourceIPAddress` (by its intern id: see Place), if anything. */
  place: Place | undefined;
  /** The bytes holding the record, and the span of its `userIdentity` object in them (undefined: not given). */
  bytes: Buffer | undefined;
  uiStart: number;
  uiEnd: number;
  /**
   * The walk's index of `bytes` (record-bytes.ts) and the record's number in it, when the reader
   * has them (undefined: not given): a principal met the first time is then read from the fields
   * the walk found in its userIdentity (principalFromIndex), not parsed.
   */
  index: Int32Array | undefined;
  record: number;
}

/**
 * A source address's kind (classifySourceIp) and, when public, its location as the sink's geoOf
 * gives it (undefined: none, or the sink locates elsewhere): what Ingest.placeOf derives from the
 * address, kept by the reader per intern id (LaneSink.placeFor, LaneSink.located) and carried with
 * the record's facts.
 */
export interface Place {
  kind: IpKind;
  geo: GeoInfo | undefined;
}

/**
 * A KMS key read's `resources` in CloudTrail's usual form, one entry naming one key ARN, as the
 * fast lane reads it (fast-lane.ts oneKeyResource): the key's target as targetsOf names it
 * (`key:<region>:<account>:key/<id>`), made once by the reader, where an array of one `{ ARN }`
 * object per record was taken apart again by targetsOf (IdentityAcc.add tracks `target` as it is:
 * keyTargetOf). `entries` gives the `[{ ARN }]` it stands for.
 */
export class KeyTarget {
  constructor(
    /** The ARN's text before the target's (`arn:<partition>:kms:`). */
    readonly prefix: string,
    readonly target: string,
  ) {}

  /** The `resources` this stands for, as the full path would parse it (what targetsOf reads). */
  entries(): Array<{ ARN: string }> {
    return [{ ARN: this.prefix + this.target.slice(4) }];
  }
}

/** See RecordFields.arnMemo: the sink's values by ARN number, valid while `epoch` is the sink's. */
export interface ArnMemo {
  epoch: number;
  entries: unknown[];
}

/** Facts of a record that only trains baselines (see Scanner's fast path). Reused: copy what you keep. */
export interface BaselineFacts extends EventFacts {
  accountId: string;
  errorCode: string | undefined;
  principal: Principal;
  /** RecordFields.place, when the facts were read from it. */
  place?: Place | undefined;
}

/** A blank BaselineFacts (every field present: one hidden class for all). */
export function emptyBaselineFacts(): BaselineFacts {
  return {
    id: "",
    time: 0,
    api: "",
    eventName: "",
    region: "",
    sourceIp: "",
    ipKind: "none",
    uaFamily: "",
    failed: false,
    denied: false,
    errorCode: undefined,
    accountId: "",
    requestParameters: null,
    resources: undefined,
    principal: { key: "", type: "" },
    place: undefined,
  };
}

const scratch = emptyBaselineFacts();

/** The record-level inputs of `factsFrom`: RecordFields, or a parsed record's values unchecked. */
interface LooseFields {
  time: number;
  names: ApiNames | undefined;
  uaFamily: string | undefined;
  eventSource: string;
  eventName: string;
  awsRegion: unknown;
  sourceIPAddress: unknown;
  userAgent: unknown;
  errorCode: unknown;
  errorMessage: unknown;
  recipientAccountId: unknown;
  identityType: unknown;
  identityArn: unknown;
  invokedBy: unknown;
  place: Place | undefined;
}

/** The calls whose request parameters the baseline reads (src/events/targets.ts). */
export { readsRequestParameters };

const NOT_READ: unique symbol = Symbol("not read");

/**
 * Principals by what determines them (the ARN of users, roles and root; the invoking service),
 * bounded. `clears` counts the times it started afresh, so that caches built on it can follow.
 */
export class PrincipalCache {
  readonly map = new Map<string, Principal>();
  clears = 0;
  constructor(readonly max = 100_000) {}
  set(key: string, p: Principal): void {
    if (this.map.size > this.max) {
      this.map.clear();
      this.clears++;
    }
    this.map.set(key, p);
  }
}
/** A blank RecordFields (every field present: one hidden class for all). */
export function emptyRecordFields(): RecordFields {
  return {
    time: 0,
    eventId: "",
    eventSource: "",
    eventName: "",
    awsRegion: undefined,
    sourceIPAddress: undefined,
    userAgent: undefined,
    errorCode: undefined,
    errorMessage: undefined,
    recipientAccountId: undefined,
    identityType: undefined,
    identityArn: undefined,
    invokedBy: undefined,
    requestParameters: undefined,
    resources: undefined,
    names: undefined,
    uaFamily: undefined,
    arnMemo: undefined,
    arnId: -1,
    place: undefined,
    bytes: undefined,
    uiStart: 0,
    uiEnd: 0,
    index: undefined,
    record: 0,
  };
}
const looseScratch: LooseFields = emptyRecordFields();

/**
 * The fast path for records that only train baselines: the same validation, in the same order,
 * as `toTrailEvent` (so skip reasons agree), but no TrailEvent is built and principals come from
 * `principals`, a cache keyed on what determines them (the ARN of users, roles and root; the
 * invoking service). `time` is the already parsed eventTime. Returns a reused object.
 */
export function baselineFacts(
  r: Record<string, unknown>,
  time: number,
  principals: PrincipalCache,
  /** False: leave `ipKind` to the caller (the scanner classifies once per identity and address). */
  classify = true,
): BaselineFacts | SkipReason {
  const bad = missingField(r);
  if (bad) return bad;
  const u = r.userIdentity as Record<string, unknown>;
  const x = looseScratch;
  x.time = time;
  x.eventSource = r.eventSource as string;
  x.eventName = r.eventName as string;
  x.awsRegion = r.awsRegion;
  x.sourceIPAddress = r.sourceIPAddress;
  x.userAgent = r.userAgent;
  x.errorCode = r.errorCode;
  x.errorMessage = r.errorMessage;
  x.recipientAccountId = r.recipientAccountId;
  x.identityType = u.type;
  x.identityArn = u.arn;
  x.invokedBy = u.invokedBy;
  x.place = undefined;
  const f = factsFrom(x, r.eventID as string, principals, u, r.responseElements, r.requestParameters, classify)!;
  f.resources = r.resources;
  return f;
}

/**
 * `baselineFacts` from fields read without parsing the record (see RecordFields), or undefined
 * when they are not enough: an identity not met before (its principal needs the whole
 * userIdentity), a console login (its outcome is in responseElements), or a call whose request
 * parameters the baseline reads when `f` does not carry them. The caller then parses the record.
 * `ipKind` is left to the caller.
 */
export function leanFacts(f: RecordFields, principals: PrincipalCache): BaselineFacts | undefined {
  let p = principalFor(f, principals, undefined);
  if (p === undefined && f.bytes !== undefined) {
    // An identity not met before: its principal is read from its userIdentity, parsed alone
    // (not the whole record), unless the record takes the full path anyway (see factsWith).
    const names = f.names ?? apiOf(f.eventSource, f.eventName);
    if ((f.requestParameters === undefined && names.readsParams) || names.name === "ConsoleLogin") return undefined;
    p = principalFromIndex(f);
    if (p !== undefined) {
      const ck = principalCacheKey(f.identityType, f.identityArn, f.invokedBy);
      if (ck !== undefined) principals.set(ck, p);
    } else p = principalFor(f, principals, JSON.parse(f.bytes.toString("utf8", f.uiStart, f.uiEnd)) as Record<string, unknown>);
  }
  // The event id only matters inside the detection window: the caller sets it there (RecordFields.eventId).
  const b = p && factsWith(f, "", p, NOT_READ, f.requestParameters === undefined ? NOT_READ : f.requestParameters, false);
  if (b !== undefined) b.resources = f.resources;
  return b;
}

/** `leanFacts` for a record whose principal the caller already knows (same rules otherwise). */
export function leanFactsFor(f: RecordFields, principal: Principal): BaselineFacts | undefined {
  const b = factsWith(f, "", principal, NOT_READ, f.requestParameters === undefined ? NOT_READ : f.requestParameters, false);
  if (b !== undefined) b.resources = f.resources;
  return b;
}

function factsFrom(
  x: LooseFields,
  id: string,
  principals: PrincipalCache,
  ui: Record<string, unknown> | undefined,
  responseElements: unknown,
  requestParameters: unknown,
  classify: boolean,
): BaselineFacts | undefined {
  const p = principalFor(x, principals, ui);
  return p && factsWith(x, id, p, responseElements, requestParameters, classify);
}

/**
 * The cache keys of services (`svc\0<invokedBy>`), by invokedBy: one string per service, not a new
 * concatenation per record that the map then flattens and hashes (a sixth of realistic records
 * are a service's). Bounded (invokedBy is the logs' text): past the bound it starts afresh.
 */
const serviceKeys = new Map<string, string>();

function serviceKey(invokedBy: string): string {
  let k = serviceKeys.get(invokedBy);
  if (k === undefined) {
    if (serviceKeys.size >= 4096) serviceKeys.clear();
    serviceKeys.set(invokedBy, (k = "svc\u0000" + invokedBy));
  }
  return k;
}

/** What determines a principal, as the cache's key: the ARN of users, roles and root; the invoking service. */
function principalCacheKey(type: unknown, arn: unknown, invokedBy: unknown): string | undefined {
  if (typeof arn === "string" && arn.startsWith("arn:") && (type === "IAMUser" || type === "AssumedRole" || type === "Root"))
    // invokedBy varies per event for one ARN (a service acting with the caller's credentials).
    return typeof invokedBy === "string" ? arn + "\u0000" + invokedBy : arn;
  if (typeof invokedBy === "string" && invokedBy.length > 0 && (type === "AWSService" || type === undefined)) return serviceKey(invokedBy);
  return undefined;
}

/**
 * Note the principal of a record that took the full path (`toTrailEvent`), so that later records
 * of it may take the fast lane: the same principal `baselineFacts` would have cached for it.
 */
export function rememberPrincipal(r: Record<string, unknown>, principal: Principal, principals: PrincipalCache): void {
  const u = r.userIdentity as Record<string, unknown>;
  const ck = principalCacheKey(u.type, u.arn, u.invokedBy);
  if (ck !== undefined && !principals.map.has(ck)) principals.set(ck, principal);
}

/** The record's principal from the cache, else from `ui` (cached); undefined without `ui`. */
function principalFor(x: LooseFields, principals: PrincipalCache, ui: Record<string, unknown> | undefined): Principal | undefined {
  const ck = principalCacheKey(x.identityType, x.identityArn, x.invokedBy);
  let principal = ck !== undefined ? principals.map.get(ck) : undefined;
  if (!principal) {
    if (!ui) return undefined;
    principal = principalOf(ui, typeof x.recipientAccountId === "string" ? x.recipientAccountId : undefined);
    if (ck !== undefined) principals.set(ck, principal);
  }
  return principal;
}

const parts = emptyIdentityParts();

/**
 * principalOf of the record's userIdentity from the fields the walk found in it (RecordFields.index),
 * without parsing it: undefined when the walk did not give all that principalOf reads (UI_PARSE),
 * or for the types whose principal reads more (TYPES_READING_UI). The same principal as parsing
 * would give: the walk gives only plain strings (no escapes), whose bytes decode to what JSON.parse
 * makes of them, and leaves out keys where JSON.parse would find none.
 */
export function principalFromIndex(f: RecordFields): Principal | undefined {
  const m = f.index;
  const b = f.bytes;
  if (m === undefined || b === undefined) return undefined;
  const r = f.record;
  if ((m[flagsAt(r)]! & UI_PARSE) !== 0) return undefined;
  const type = f.identityType;
  if (type !== undefined && TYPES_READING_UI.has(type)) return undefined;
  const x = parts;
  x.type = type;
  x.arn = f.identityArn;
  x.invokedBy = f.invokedBy;
  x.accountId = span(b, m, fieldAt(r, F_UI_ACCOUNT));
  x.userName = span(b, m, fieldAt(r, F_UI_USER));
  x.principalId = span(b, m, fieldAt(r, F_UI_PID));
  x.accessKeyId = span(b, m, fieldAt(r, F_UI_AKID));
  x.sessionCredentialFromConsole = isTrue(b, m, fieldAt(r, F_UI_CONSOLE));
  x.sourceIdentity = span(b, m, fieldAt(r, F_SC_SOURCEID));
  x.issuerUserName = span(b, m, fieldAt(r, F_SI_USER));
  x.issuerArn = span(b, m, fieldAt(r, F_SI_ARN));
  x.issuerAccountId = span(b, m, fieldAt(r, F_SI_ACCOUNT));
  x.mfaAuthenticated = isTrue(b, m, fieldAt(r, F_MFA));
  return principalFrom(x, typeof f.recipientAccountId === "string" ? f.recipientAccountId : undefined);
}

/** The string of a field the walk found (undefined: absent). */
function span(b: Buffer, m: Int32Array, at: number): string | undefined {
  const s = m[at]!;
  return s < 0 ? undefined : b.toString("utf8", s, m[at + 1]!);
}

/** A string field as principalFrom reads it, true or not: "true" when its bytes say so, "" for any other string (undefined: absent). */
function isTrue(b: Buffer, m: Int32Array, at: number): string | undefined {
  const s = m[at]!;
  if (s < 0) return undefined;
  return m[at + 1]! - s === 4 && b[s] === 0x74 && b[s + 1] === 0x72 && b[s + 2] === 0x75 && b[s + 3] === 0x65 ? "true" : "";
}

function factsWith(x: LooseFields, id: string, principal: Principal, responseElements: unknown, requestParameters: unknown, classify: boolean): BaselineFacts | undefined {
  const recipient = typeof x.recipientAccountId === "string" ? x.recipientAccountId : undefined;
  const names = x.names ?? apiOf(x.eventSource, x.eventName);
  if (requestParameters === NOT_READ && names.readsParams) return undefined;
  const sourceIp = typeof x.sourceIPAddress === "string" ? x.sourceIPAddress : "";
  const errorCode = typeof x.errorCode === "string" && x.errorCode.length > 0 ? x.errorCode : undefined;
  let failed = errorCode !== undefined;
  let denied = false;
  if (names.name === "ConsoleLogin") {
    if (responseElements === NOT_READ) return undefined;
    const re = obj(responseElements);
    if (re?.ConsoleLogin === "Failure") failed = denied = true;
  }
  if (!denied && errorCode !== undefined) denied = isDeniedCode(errorCode, typeof x.errorMessage === "string" ? x.errorMessage : undefined);
  const f = scratch;
  f.id = id;
  f.time = x.time;
  f.api = names.api;
  f.eventName = names.name;
  f.region = typeof x.awsRegion === "string" ? x.awsRegion : "unknown";
  f.sourceIp = sourceIp;
  f.place = x.place;
  if (classify) f.ipKind = classifySourceIp(sourceIp);
  f.uaFamily = x.uaFamily ?? userAgentFamily(typeof x.userAgent === "string" ? x.userAgent : "");
  f.failed = failed;
  f.denied = denied;
  f.errorCode = errorCode;
  f.accountId = recipient ?? principal.accountId ?? "unknown";
  const rp = requestParameters;
  f.requestParameters = rp !== null && typeof rp === "object" && !Array.isArray(rp) ? (rp as Record<string, unknown>) : null;
  f.principal = principal;
  f.resources = undefined;
  return f;
}
