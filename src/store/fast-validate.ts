/**
 * The records of a store file besides its baselines (findings, suppressions, audit, cursors,
 * scans, digests, containments...) checked without zod (issue 17, the warm path: loading zod and
 * building its schemas costs about 60-70 ms of CPU at start-up, which a scan without a store never
 * pays, and its parse of a day's 1,500 findings another 20-60 ms).
 *
 * `fastStoreRecords` mirrors schema.ts's StoreDataSchema (the same fields, types, enums and
 * optional fields) and returns what `StoreDataSchema.parse` would: new objects with the schema's
 * fields in the schema's order (unknown fields dropped from strict objects, kept after the known
 * ones in loose ones), a missing `history` defaulted to []. Whenever it is not certain of that
 * (anything the schema rejects, and a few things it accepts but handles specially, such as a
 * `__proto__` key), it returns undefined and the caller runs zod, which also says what is wrong.
 * test/store/fast-validate.test.ts compares the two on real and mutated stores.
 */

type Json = Record<string, unknown>;

/** A schema: a leaf check, or a structure. */
export type Spec =
  | "string"
  | "number"
  | "int"
  | "boolean"
  | "unknown"
  | "empty"
  | { readonly enum: ReadonlySet<string> }
  | { readonly array: Spec }
  | { readonly record: Spec }
  | { readonly object: readonly Field[]; readonly loose?: boolean };

export interface Field {
  readonly key: string;
  readonly spec: Spec;
  readonly optional?: boolean;
  /** Value when absent (zod `.default([])`): a new empty array. */
  readonly defaultEmptyArray?: boolean;
}

/** Not a result: the value does not match (or might be read differently by zod). */
const NO: unique symbol = Symbol("no");
type Out = unknown | typeof NO;

const f = (key: string, spec: Spec): Field => ({ key, spec });
const opt = (key: string, spec: Spec): Field => ({ key, spec, optional: true });
const oneOf = (...values: string[]): Spec => ({ enum: new Set(values) });
const arrayOf = (spec: Spec): Spec => ({ array: spec });
const recordOf = (spec: Spec): Spec => ({ record: spec });
const obj = (...fields: Field[]): Spec => ({ object: fields });
const loose = (...fields: Field[]): Spec => ({ object: fields, loose: true });

const severity = oneOf("critical", "high", "medium", "low", "info");
const actor = obj(f("by", "string"), f("at", "string"));
const window = obj(f("start", "string"), f("end", "string"));

const FINDING = loose(
  f("id", "string"),
  f("detector", "string"),
  f("title", "string"),
  f("severity", severity),
  f("identity", loose(f("key", "string"), f("type", "string"))),
  opt("sourceIp", "string"),
  f("firstSeen", "string"),
  f("lastSeen", "string"),
  f("count", "number"),
);

const STORED_FINDING = obj(
  f("id", "string"),
  f("status", oneOf("open", "acknowledged", "suppressed", "resolved")),
  f("firstSeen", "string"),
  f("lastSeen", "string"),
  f("seenInScans", "number"),
  f("severity", severity),
  f("severityHistory", arrayOf(obj(f("at", "string"), f("severity", severity)))),
  opt("acknowledged", obj(f("by", "string"), f("at", "string"), f("severity", severity))),
  opt("resolved", actor),
  opt("suppressedBy", "string"),
  {
    key: "history",
    spec: arrayOf(
      obj(f("at", "string"), f("by", "string"), f("action", oneOf("ack", "resolve", "reopen", "suppress", "unsuppress")), opt("severity", severity), opt("detail", "string")),
    ),
    defaultEmptyArray: true,
  },
  f("finding", FINDING),
);

const SUPPRESSION = obj(
  f("id", "string"),
  f("scope", oneOf("identity-detector", "identity", "ip", "detector")),
  opt("identityKey", "string"),
  opt("detector", "string"),
  opt("sourceIp", "string"),
  f("reason", "string"),
  f("by", "string"),
  f("createdAt", "string"),
  f("until", "string"),
  opt("expiryAnnounced", "boolean"),
  opt("removed", actor),
);

/** The actions an audit entry may record (schema.ts re-exports them). */
export const AUDIT_ACTIONS = [
  "ack",
  "suppress",
  "unsuppress",
  "refused",
  "resolve",
  "digest",
  "scan",
  "prune",
  "contain-proposed",
  "contain-approved",
  "contain-executed",
  "contain-failed",
  "contain-dry-run",
  "contain-refused",
  "contain-undone",
  "contain-expired",
] as const;

const AUDIT_ENTRY = obj(f("at", "string"), f("actor", "string"), f("action", oneOf(...AUDIT_ACTIONS)), f("target", "string"), opt("detail", "string"));

const CURSOR = obj(f("newestTime", "number"), f("newestIds", arrayOf("string")), f("updatedAt", "string"), opt("lastKey", "string"), opt("readKeys", arrayOf("string")));

const SCAN_RECORD = obj(f("at", "string"), f("by", "string"), f("target", "string"), f("window", window), f("events", "number"), f("findings", "number"), f("partial", "boolean"));

const DIGEST_RECORD = obj(
  f("id", "string"),
  f("schedule", "string"),
  f("channel", "string"),
  f("window", window),
  f("createdAt", "string"),
  f("state", oneOf("pending", "sent", "failed")),
  f("posted", arrayOf("string")),
  f("findingIds", arrayOf("string")),
  opt("error", "string"),
  opt("sentAt", "string"),
  opt("parts", arrayOf(obj(f("text", "string"), f("blocks", arrayOf("unknown")), f("thread", "boolean")))),
  opt("severities", recordOf(severity)),
  opt("expiries", arrayOf("string")),
  opt("findingParts", recordOf("number")),
);

const CONTAINMENT_CALL = obj(f("api", "string"), f("input", recordOf("string")));

const CONTAINMENT = obj(
  f("id", "string"),
  f("findingId", "string"),
  f("action", "string"),
  f("account", "string"),
  f("resource", "string"),
  f("summary", "string"),
  f("calls", arrayOf(CONTAINMENT_CALL)),
  f("breaks", "string"),
  opt("undo", arrayOf(CONTAINMENT_CALL)),
  f("dryRun", "boolean"),
  f("state", oneOf("awaiting-approval", "executing", "executed", "failed", "dry-run", "expired", "undone")),
  f("proposedBy", "string"),
  f("proposedAt", "string"),
  opt("approvalDeadline", "string"),
  opt("approvedBy", "string"),
  opt("executedAt", "string"),
  opt("undone", actor),
  opt("undoRequest", obj(f("by", "string"), f("at", "string"), f("deadline", "string"))),
  f(
    "steps",
    arrayOf(
      obj(
        f("at", "string"),
        f("by", "string"),
        f("step", oneOf("proposed", "approved", "executed", "failed", "dry-run", "expired", "undo-proposed", "undo-approved", "undo-expired", "undo-executed", "undo-failed")),
        opt("api", "string"),
        opt("requestId", "string"),
        opt("error", "string"),
      ),
    ),
  ),
  opt("slack", obj(opt("team", "string"), f("channel", "string"), f("ts", "string"))),
);

/**
 * StoreDataSchema with its baselines left out (`{}`: they are checked apart, baselines.ts and fast-open.ts).
 * Exported for test/store/fast-validate.test.ts, which checks it field by field against the zod schema.
 */
export const STORE_RECORDS = obj(
  f("schemaVersion", "int"),
  f("baselines", "empty"),
  f("findings", recordOf(STORED_FINDING)),
  f("suppressions", arrayOf(SUPPRESSION)),
  f("audit", arrayOf(AUDIT_ENTRY)),
  f("cursors", recordOf(CURSOR)),
  f("scans", arrayOf(SCAN_RECORD)),
  f("digests", arrayOf(DIGEST_RECORD)),
  f("digestRuns", recordOf("string")),
  opt("containments", recordOf(CONTAINMENT)),
  opt("replay", recordOf("number")),
);

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function check(spec: Spec, v: unknown): Out {
  switch (spec) {
    case "string":
      return typeof v === "string" ? v : NO;
    case "number":
      return typeof v === "number" && Number.isFinite(v) ? v : NO;
    case "int":
      return Number.isSafeInteger(v) ? v : NO;
    case "boolean":
      return typeof v === "boolean" ? v : NO;
    case "unknown":
      return v;
    case "empty":
      return isObject(v) && Object.keys(v).length === 0 ? {} : NO;
  }
  if ("enum" in spec) return typeof v === "string" && spec.enum.has(v) ? v : NO;
  if ("array" in spec) {
    if (!Array.isArray(v)) return NO;
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = check(spec.array, v[i]);
      if (x === NO) return NO;
      out[i] = x;
    }
    return out;
  }
  if (!isObject(v)) return NO;
  if ("record" in spec) {
    const out: Json = {};
    for (const k of Object.keys(v)) {
      // zod's record drops such a key; the caller asks zod.
      if (k === "__proto__") return NO;
      const x = check(spec.record, v[k]);
      if (x === NO) return NO;
      out[k] = x;
    }
    return out;
  }
  const out: Json = {};
  for (const field of spec.object) {
    if (!Object.hasOwn(v, field.key)) {
      if (field.defaultEmptyArray) out[field.key] = [];
      else if (!field.optional) return NO;
      continue;
    }
    const x = check(field.spec, v[field.key]);
    if (x === NO) return NO;
    out[field.key] = x;
  }
  if (spec.loose) {
    for (const k of Object.keys(v)) {
      if (k === "__proto__") return NO;
      if (!Object.hasOwn(out, k) && !spec.object.some((fl) => fl.key === k)) out[k] = v[k];
    }
  }
  return out;
}

/**
 * `StoreDataSchema.parse(json)` (schema.ts) for a store file's JSON, without zod, when `json` is
 * certainly valid; undefined otherwise (then run zod: it may still accept it, and says what is
 * wrong when it does not). `json.baselines` must be `{}` (the caller checks the baselines apart).
 */
export function fastStoreRecords(json: unknown): Json | undefined {
  const out = check(STORE_RECORDS, json);
  return out === NO ? undefined : (out as Json);
}
