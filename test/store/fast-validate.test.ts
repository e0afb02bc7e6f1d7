import { describe, expect, it } from "vitest";
import { fastStoreRecords, STORE_RECORDS, type Spec } from "../../src/store/fast-validate.js";
import { storeSchemas } from "../../src/store/schema.js";

/** A store's records with every section and optional field used, and extra fields in the loose records. */
function sample(): Record<string, unknown> {
  const finding = (id: string, extra: Record<string, unknown> = {}) => ({
    id,
    detector: "instance-credential-abuse",
    title: "EC2 instance credentials used elsewhere",
    severity: "high",
    identity: { key: "role:444455556666:app", type: "AssumedRole", arn: "arn:aws:iam::444455556666:role/app", accountId: "444455556666" },
    sourceIp: "85.17.171.181",
    firstSeen: "2024-03-30T02:58:21.000Z",
    lastSeen: "2024-03-30T02:58:21.000Z",
    count: 1,
    score: 83,
    eventIds: ["57d2d109"],
    why: "Instance-profile credentials were used from `85.17.171.181`.",
    ...extra,
  });
  return {
    schemaVersion: 1,
    baselines: {},
    findings: {
      Fa: {
        id: "Fa",
        status: "acknowledged",
        firstSeen: "2024-03-30T02:58:21.000Z",
        lastSeen: "2024-03-31T02:58:21.000Z",
        seenInScans: 2,
        severity: "high",
        severityHistory: [{ at: "2026-12-07T07:45:05.383Z", severity: "high" }],
        acknowledged: { by: "U1", at: "2026-12-07T08:00:00.000Z", severity: "high" },
        resolved: { by: "U2", at: "2026-12-07T09:00:00.000Z" },
        suppressedBy: "S1",
        history: [
          { at: "2026-12-07T08:00:00.000Z", by: "U1", action: "ack", severity: "high", detail: "seen" },
          { at: "2026-12-07T09:00:00.000Z", by: "U2", action: "resolve" },
        ],
        // Fields in another order than the schema's, and the finding's own fields in another order too.
        finding: Object.fromEntries(Object.entries(finding("Fa")).reverse()),
      },
      // No history (an older record): the schema gives [].
      Fb: {
        finding: finding("Fb", { attack: ["T1552.005"] }),
        id: "Fb",
        status: "open",
        firstSeen: "2024-03-30T02:58:21.000Z",
        lastSeen: "2024-03-30T02:58:21.000Z",
        seenInScans: 1,
        severity: "medium",
        severityHistory: [],
        unknownField: "dropped by the strict schema",
      },
    },
    suppressions: [
      {
        id: "S1",
        scope: "identity-detector",
        identityKey: "role:1:x",
        detector: "unusual-hour",
        sourceIp: "1.2.3.4",
        reason: "ci",
        by: "U1",
        createdAt: "2026-12-01T00:00:00.000Z",
        until: "2027-01-01T00:00:00.000Z",
        expiryAnnounced: true,
        removed: { by: "U2", at: "2026-12-02T00:00:00.000Z" },
      },
    ],
    audit: [
      { at: "2026-12-07T08:00:00.000Z", actor: "U1", action: "ack", target: "Fa", detail: "d" },
      { at: "2026-12-07T08:00:00.000Z", actor: "U1", action: "contain-expired", target: "C1" },
    ],
    cursors: { "111122223333/us-east-1": { newestTime: 1, newestIds: ["a"], updatedAt: "2026-12-07T08:00:00.000Z", lastKey: "k", readKeys: ["k1", "k2"] } },
    scans: [{ at: "2026-12-07T07:45:05.383Z", by: "cli", target: "all", window: { start: "a", end: "b" }, events: 34394, findings: 1509, partial: false }],
    digests: [
      {
        id: "D1",
        schedule: "daily",
        channel: "C1",
        window: { start: "a", end: "b" },
        createdAt: "c",
        state: "sent",
        posted: ["p"],
        findingIds: ["Fa"],
        error: "e",
        sentAt: "s",
        parts: [{ text: "t", blocks: [{ type: "section", text: { type: "mrkdwn", text: "x" } }, 3, null], thread: false }],
        severities: { Fa: "high" },
        expiries: ["S1"],
        findingParts: { Fa: 0 },
      },
    ],
    digestRuns: { daily: "2026-12-07" },
    containments: {
      C1: {
        id: "C1",
        findingId: "Fa",
        action: "deny-role",
        account: "1",
        resource: "r",
        summary: "s",
        calls: [{ api: "iam:PutRolePolicy", input: { RoleName: "x" } }],
        breaks: "b",
        undo: [{ api: "iam:DeleteRolePolicy", input: { RoleName: "x" } }],
        dryRun: false,
        state: "executed",
        proposedBy: "U1",
        proposedAt: "a",
        approvalDeadline: "d",
        approvedBy: "U2",
        executedAt: "e",
        undone: { by: "U3", at: "f" },
        undoRequest: { by: "U3", at: "g", deadline: "h" },
        steps: [{ at: "a", by: "U1", step: "undo-failed", api: "x", requestId: "r", error: "e" }],
        slack: { team: "T", channel: "C", ts: "1.2" },
      },
    },
    replay: { abc: 1 },
    baselinesDigest: "sha256:x",
  };
}

/** Every [parent, key] of a JSON value, depth first. */
function places(v: unknown, out: Array<[Record<string, unknown> | unknown[], string | number]> = []) {
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      out.push([v, i]);
      places(x, out);
    });
  } else if (typeof v === "object" && v !== null) {
    for (const k of Object.keys(v)) {
      out.push([v as Record<string, unknown>, k]);
      places((v as Record<string, unknown>)[k], out);
    }
  }
  return out;
}

/** fastStoreRecords must give what the schema gives (fields and their order), or nothing. */
function agrees(json: unknown): "fast" | "zod" | "both-reject" {
  const fast = fastStoreRecords(json);
  const zod = storeSchemas().StoreDataSchema.safeParse(json);
  if (!zod.success) {
    expect(fast).toBeUndefined();
    return "both-reject";
  }
  if (fast === undefined) return "zod";
  expect(JSON.stringify(fast)).toBe(JSON.stringify(zod.data));
  return "fast";
}

describe("fastStoreRecords (the store's records checked without zod)", () => {
  it("gives what StoreDataSchema gives for a store with every section and optional field", () => {
    const s = sample();
    expect(agrees(s)).toBe("fast");
    const out = fastStoreRecords(s)!;
    // The schema's order and defaults: strict records lose unknown fields, loose ones keep them after theirs.
    const findings = out.findings as Record<string, Record<string, unknown>>;
    expect(findings.Fb!.history).toEqual([]);
    expect(Object.keys(findings.Fb!)).not.toContain("unknownField");
    expect(Object.keys(findings.Fa!.finding as object).slice(0, 3)).toEqual(["id", "detector", "title"]);
    expect(Object.keys(out)).not.toContain("baselinesDigest");
    // Optional sections absent.
    const bare = sample();
    delete bare.containments;
    delete bare.replay;
    expect(agrees(bare)).toBe("fast");
  });

  it("never accepts what the schema rejects, and agrees with it wherever it accepts (each field mutated)", () => {
    const mutations: Array<(parent: Record<string, unknown> | unknown[], key: string | number) => void> = [
      (p, k) => {
        if (Array.isArray(p)) p.splice(k as number, 1);
        else delete p[k as string];
      },
      (p, k) => ((p as Record<string | number, unknown>)[k] = null),
      (p, k) => ((p as Record<string | number, unknown>)[k] = 7),
      (p, k) => ((p as Record<string | number, unknown>)[k] = "x"),
      (p, k) => ((p as Record<string | number, unknown>)[k] = []),
      (p, k) => ((p as Record<string | number, unknown>)[k] = { extra: 1 }),
      (p, k) => ((p as Record<string | number, unknown>)[k] = Number.NaN),
      (p, k) => ((p as Record<string | number, unknown>)[k] = 1.5),
      (p, k) => {
        // An unknown field in an object (kept by loose records, dropped by strict ones).
        const v = (p as Record<string | number, unknown>)[k];
        if (typeof v === "object" && v !== null && !Array.isArray(v)) (v as Record<string, unknown>).zz = { a: 1 };
        else (p as Record<string | number, unknown>)[k] = -0;
      },
    ];
    const count = places(sample()).length;
    const seen = { fast: 0, zod: 0, "both-reject": 0 };
    for (let i = 0; i < count; i++) {
      for (const m of mutations) {
        const s = sample();
        const [parent, key] = places(s)[i]!;
        m(parent, key);
        seen[agrees(s)]++;
      }
    }
    // Both outcomes are exercised: the mutations are not all rejected, nor all accepted.
    expect(seen.fast).toBeGreaterThan(50);
    expect(seen["both-reject"]).toBeGreaterThan(200);
  });

  it("leaves a __proto__ key to the schema", () => {
    const s = JSON.parse(JSON.stringify(sample()).replace('"replay":{"abc":1}', '"replay":{"__proto__":1}')) as Record<string, unknown>;
    expect(fastStoreRecords(s)).toBeUndefined();
    expect(agrees(s)).toBe("zod");
  });

  it("mirrors StoreDataSchema field by field: a field added to the schema and not here would be dropped at load", () => {
    // Both schemas in one plain form: the zod side read from its definitions, baselines left out.
    type Def = { type: string; [k: string]: unknown };
    const def = (z: unknown): Def => (z as { _zod: { def: Def } })._zod.def;
    const fromZod = (z: unknown): unknown => {
      const d = def(z);
      switch (d.type) {
        case "object": {
          const shape = d.shape as Record<string, unknown>;
          return {
            object: Object.entries(shape).map(([key, v]) => {
              const t = def(v).type;
              const inner = t === "optional" || t === "default" ? (def(v).innerType as unknown) : v;
              return { key, spec: fromZod(inner), optional: t === "optional", defaultEmptyArray: t === "default" };
            }),
            loose: d.catchall !== undefined,
          };
        }
        case "array":
          return { array: fromZod(d.element) };
        case "record":
          return { record: fromZod(d.valueType) };
        case "enum":
          return { enum: Object.values(d.entries as Record<string, string>).sort() };
        case "number":
          return (d.checks as { _zod: { def: { format?: string } } }[] | undefined)?.some((c) => c._zod.def.format === "safeint") ? "int" : "number";
        default:
          return d.type;
      }
    };
    const fromFast = (spec: Spec): unknown => {
      if (typeof spec === "string") return spec;
      if ("enum" in spec) return { enum: [...spec.enum].sort() };
      if ("array" in spec) return { array: fromFast(spec.array) };
      if ("record" in spec) return { record: fromFast(spec.record) };
      return {
        object: spec.object.map((f) => ({ key: f.key, spec: fromFast(f.spec), optional: f.optional === true, defaultEmptyArray: f.defaultEmptyArray === true })),
        loose: spec.loose === true,
      };
    };
    const withoutBaselines = (s: unknown) => {
      const o = s as { object: { key: string }[]; loose: boolean };
      return { ...o, object: o.object.filter((f) => f.key !== "baselines") };
    };
    expect(withoutBaselines(fromFast(STORE_RECORDS))).toEqual(withoutBaselines(fromZod(storeSchemas().StoreDataSchema)));
  });
});
