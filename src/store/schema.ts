/**
 * The zod schema of the store file (current schema version), used to validate what is loaded.
 *
 * Records owned by other parts of trailhound (Profile, Finding) are validated on the fields the
 * store relies on and otherwise passed through untouched (`looseObject`), so that a field added
 * to them elsewhere is never silently dropped by a load/save cycle.
 *
 * JSON has no Infinity: an empty profile's `first`/`last`/`trainedUntil` (+/-Infinity) are
 * written as null and turned back into +/-Infinity here.
 */
import { createRequire } from "node:module";
import type * as Zod from "zod";
import type { z } from "zod";
import { AUDIT_ACTIONS } from "./fast-validate.js";
import { unpackProfile } from "./pack.js";

function isFiniteNumber(x: unknown): x is number {
  return typeof x === "number" && Number.isFinite(x);
}

/**
 * `{ value: [count, errors, firstMs, lastMs] }`. Hand-written (not z.record(z.tuple(...))): a
 * store of 10,000 identities holds millions of these, and a plain loop is many times faster.
 */
function isStatMap(v: unknown): boolean {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  for (const k in v) {
    const s = (v as Record<string, unknown>)[k];
    if (!Array.isArray(s) || s.length !== 4) return false;
    if (!isFiniteNumber(s[0]) || !isFiniteNumber(s[1]) || !isFiniteNumber(s[2]) || !isFiniteNumber(s[3])) return false;
  }
  return true;
}

function isHourly(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  for (const h of v) {
    if (!Array.isArray(h) || h.length !== 3) return false;
    if (!isFiniteNumber(h[0]) || !isFiniteNumber(h[1]) || !isFiniteNumber(h[2])) return false;
  }
  return true;
}

function isNumberArray(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  for (const x of v) if (!isFiniteNumber(x)) return false;
  return true;
}

export { AUDIT_ACTIONS };

/**
 * The schemas, built on first use. zod is loaded then, not when this module is: a store file as
 * this build writes it is opened without it (fast-validate.ts checks the records it holds), and
 * loading zod costs about 60-70 ms of CPU at start-up, which a scan without a store does not pay
 * (issue 17, the warm path). Loaded with require (zod ships CommonJS too): the store's decoding
 * is synchronous.
 */
function build() {
  const { z } = createRequire(import.meta.url)("zod") as typeof Zod;
  const num = z.number();
  const severity = z.enum(["critical", "high", "medium", "low", "info"]);
  const numbers = z.custom<number[]>(isNumberArray, { message: "expected an array of numbers" });

  const ProfileSchema = z.looseObject({
    v: num,
    key: z.string(),
    type: z.string(),
    arn: z.string().optional(),
    accountId: z.string().optional(),
    userName: z.string().optional(),
    first: num.nullable().transform((x) => x ?? Infinity),
    last: num.nullable().transform((x) => x ?? -Infinity),
    trainedUntil: num.nullable().transform((x) => x ?? -Infinity),
    events: num,
    errors: num,
    denied: num,
    days: numbers,
    hours: numbers,
    weekdays: numbers,
    dims: z.record(
      z.string(),
      z.custom<Record<string, [number, number, number, number]>>(isStatMap, {
        message: "expected { value: [count, errors, firstMs, lastMs] }",
      }),
    ),
    hourly: z.custom<Array<[number, number, number]>>(isHourly, { message: "expected [[hourIndex, calls, errors], ...]" }),
    breadth: z.tuple([num, num]),
  });

  /** A baseline as stored: packed (see pack.ts) or plain. */
  const StoredProfileSchema = z.preprocess((v, ctx) => {
    try {
      return unpackProfile(v);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message, input: v });
      return z.NEVER;
    }
  }, ProfileSchema);

  const FindingSchema = z.looseObject({
    id: z.string(),
    detector: z.string(),
    title: z.string(),
    severity,
    identity: z.looseObject({ key: z.string(), type: z.string() }),
    sourceIp: z.string().optional(),
    firstSeen: z.string(),
    lastSeen: z.string(),
    count: num,
  });

  const actor = z.object({ by: z.string(), at: z.string() });

  const StoredFindingSchema = z.object({
    id: z.string(),
    status: z.enum(["open", "acknowledged", "suppressed", "resolved"]),
    firstSeen: z.string(),
    lastSeen: z.string(),
    seenInScans: num,
    severity,
    severityHistory: z.array(z.object({ at: z.string(), severity })),
    acknowledged: z.object({ by: z.string(), at: z.string(), severity }).optional(),
    resolved: actor.optional(),
    suppressedBy: z.string().optional(),
    history: z
      .array(
        z.object({
          at: z.string(),
          by: z.string(),
          action: z.enum(["ack", "resolve", "reopen", "suppress", "unsuppress"]),
          severity: severity.optional(),
          detail: z.string().optional(),
        }),
      )
      .default([]),
    finding: FindingSchema,
  });

  const SuppressionSchema = z.object({
    id: z.string(),
    scope: z.enum(["identity-detector", "identity", "ip", "detector"]),
    identityKey: z.string().optional(),
    detector: z.string().optional(),
    sourceIp: z.string().optional(),
    reason: z.string(),
    by: z.string(),
    createdAt: z.string(),
    until: z.string(),
    expiryAnnounced: z.boolean().optional(),
    removed: actor.optional(),
  });

  const AuditEntrySchema = z.object({
    at: z.string(),
    actor: z.string(),
    action: z.enum(AUDIT_ACTIONS),
    target: z.string(),
    detail: z.string().optional(),
  });

  const CursorSchema = z.object({
    newestTime: num,
    newestIds: z.array(z.string()),
    updatedAt: z.string(),
    lastKey: z.string().optional(),
    readKeys: z.array(z.string()).optional(),
  });

  const ScanRecordSchema = z.object({
    at: z.string(),
    by: z.string(),
    target: z.string(),
    window: z.object({ start: z.string(), end: z.string() }),
    events: num,
    findings: num,
    partial: z.boolean(),
  });

  const DigestRecordSchema = z.object({
    id: z.string(),
    schedule: z.string(),
    channel: z.string(),
    window: z.object({ start: z.string(), end: z.string() }),
    createdAt: z.string(),
    state: z.enum(["pending", "sent", "failed"]),
    posted: z.array(z.string()),
    findingIds: z.array(z.string()),
    error: z.string().optional(),
    sentAt: z.string().optional(),
    parts: z.array(z.object({ text: z.string(), blocks: z.array(z.unknown()), thread: z.boolean() })).optional(),
    severities: z.record(z.string(), severity).optional(),
    expiries: z.array(z.string()).optional(),
    findingParts: z.record(z.string(), z.number()).optional(),
  });

  const containmentCall = z.object({ api: z.string(), input: z.record(z.string(), z.string()) });

  const ContainmentRecordSchema = z.object({
    id: z.string(),
    findingId: z.string(),
    action: z.string(),
    account: z.string(),
    resource: z.string(),
    summary: z.string(),
    calls: z.array(containmentCall),
    breaks: z.string(),
    undo: z.array(containmentCall).optional(),
    dryRun: z.boolean(),
    state: z.enum(["awaiting-approval", "executing", "executed", "failed", "dry-run", "expired", "undone"]),
    proposedBy: z.string(),
    proposedAt: z.string(),
    approvalDeadline: z.string().optional(),
    approvedBy: z.string().optional(),
    executedAt: z.string().optional(),
    undone: actor.optional(),
    undoRequest: z.object({ by: z.string(), at: z.string(), deadline: z.string() }).optional(),
    steps: z.array(
      z.object({
        at: z.string(),
        by: z.string(),
        step: z.enum(["proposed", "approved", "executed", "failed", "dry-run", "expired", "undo-proposed", "undo-approved", "undo-expired", "undo-executed", "undo-failed"]),
        api: z.string().optional(),
        requestId: z.string().optional(),
        error: z.string().optional(),
      }),
    ),
    slack: z.object({ team: z.string().optional(), channel: z.string(), ts: z.string() }).optional(),
  });

  const StoreDataSchema = z.object({
    schemaVersion: z.number().int(),
    baselines: z.record(z.string(), StoredProfileSchema),
    findings: z.record(z.string(), StoredFindingSchema),
    suppressions: z.array(SuppressionSchema),
    audit: z.array(AuditEntrySchema),
    cursors: z.record(z.string(), CursorSchema),
    scans: z.array(ScanRecordSchema),
    digests: z.array(DigestRecordSchema),
    digestRuns: z.record(z.string(), z.string()),
    containments: z.record(z.string(), ContainmentRecordSchema).optional(),
    replay: z.record(z.string(), z.number()).optional(),
  });
  return {
    ProfileSchema,
    StoredProfileSchema,
    FindingSchema,
    StoredFindingSchema,
    SuppressionSchema,
    AuditEntrySchema,
    CursorSchema,
    ScanRecordSchema,
    DigestRecordSchema,
    ContainmentRecordSchema,
    StoreDataSchema,
  };
}

let built: ReturnType<typeof build> | undefined;

/** The store's zod schemas (built, and zod loaded, on the first call). */
export function storeSchemas(): ReturnType<typeof build> {
  built ??= build();
  return built;
}

/** A schema problem: where, and what. */
export type Issue = z.core.$ZodIssue;

/** Human-readable summary of the first few schema problems: `baselines["role:1:x"].dims.api: expected ...`. */
export function describeIssues(error: z.ZodError | readonly Issue[], max = 5): string[] {
  const issues = Array.isArray(error) ? (error as readonly Issue[]) : (error as z.ZodError).issues;
  const out: string[] = [];
  for (const issue of issues.slice(0, max)) {
    const where = issue.path
      .map((p, i) => (typeof p === "number" ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(String(p)) ? `${i ? "." : ""}${String(p)}` : `[${JSON.stringify(String(p))}]`))
      .join("");
    out.push(`${where || "(top level)"}: ${issue.message}`);
  }
  if (issues.length > max) out.push(`... and ${issues.length - max} more`);
  return out;
}
