import { describe, expect, it } from "vitest";
import { digestMessages } from "../../src/digest/messages.js";
import { planDigest, type DigestItem, type DigestPlan } from "../../src/digest/plan.js";
import { blockKitProblems, LIMITS } from "../../src/slack/views/limits.js";
import type { StoredFinding, Suppression } from "../../src/store/types.js";
import { makeFinding, makeReport } from "../slack/support/fixtures.js";

const EVIL = "<!channel> <https://evil.example|AWS console> `x` \u202Eevil";

function plan(over: Partial<DigestPlan> = {}): DigestPlan {
  return {
    schedule: { name: "C0SEC", channel: "C0SEC", tz: "UTC", quiet: "line", top: 5, filters: {} },
    window: { start: "2024-05-01T08:00:00.000Z", end: "2024-05-02T08:00:00.000Z" },
    catchUp: false,
    items: [],
    stillOpen: 0,
    acknowledged: 0,
    suppressed: 0,
    expiries: [],
    events: 1234,
    partialReasons: [],
    ...over,
  };
}

const item = (i: number, over: Partial<DigestItem> = {}): DigestItem => ({
  finding: makeFinding(i, {
    severity: (["critical", "high", "medium", "low", "info"] as const)[i % 5]! /* i % 5 indexes the five */,
    title: `${EVIL} ${i}`,
    identity: { key: `user:1:${EVIL}`, type: "IAMUser", userName: EVIL },
  }),
  change: "new",
  state: { status: "open" },
  ...over,
});

const suppression = (i: number): Suppression => ({
  id: `s-${i}`,
  scope: "identity",
  identityKey: `user:1:${EVIL}`,
  reason: `${EVIL} `.repeat(40),
  by: "U0ADMIN",
  createdAt: "2024-04-01T00:00:00Z",
  until: "2024-05-01T12:00:00Z",
});

describe("digest messages", () => {
  it("stay within Slack's limits with hundreds of findings, many expiries and hostile text; the thread is capped and says so", () => {
    const items = Array.from({ length: 300 }, (_, i) => item(i + 1, i % 3 === 1 ? { change: "worse", was: "low" } : i % 3 === 2 ? { change: "reopened" } : {}));
    const parts = digestMessages(
      plan({
        items,
        expiries: Array.from({ length: 20 }, (_, i) => ({ suppression: suppression(i), released: i })),
        suppressed: 3,
        stillOpen: 4,
        acknowledged: 2,
        partialReasons: [EVIL],
      }),
      { maxInThread: 60 },
    );
    expect(parts[0]!.thread).toBe(false);
    expect(parts.slice(1).every((p) => p.thread)).toBe(true);
    // 5 in the message, 60 in 5 thread messages of 12.
    expect(parts).toHaveLength(6);
    for (const p of parts) {
      expect(blockKitProblems({ blocks: p.blocks, text: p.text }, "message")).toEqual([]);
      expect(p.blocks.length).toBeLessThanOrEqual(LIMITS.messageBlocks);
      const json = JSON.stringify(p);
      expect(json).not.toContain("<!channel>");
      expect(json).not.toContain("<https://evil");
      expect(json).not.toContain("\u202E");
    }
    const head = JSON.stringify(parts[0]!.blocks);
    expect(head).toContain("300 new or worse findings");
    expect(head).toContain("20 suppressions expired");
    expect(head).toContain("…and 12 more: `/cloudtrail suppressions`");
    expect(head).toContain(":mute: 3 suppressed · :eyes: 4 still open, reported before · :white_check_mark: 2 acknowledged, not repeated");
    expect(head).toContain("Partial data");
    expect(head).toContain("…and 295 more in the thread");
    expect(JSON.stringify(parts[1]!.blocks)).toContain("Findings 6–17 of 300");
    expect(JSON.stringify(parts.at(-1)!.blocks)).toContain("…and 235 more findings, less severe");
    // Finding blocks keep the bot's ids (unique in each message), with the digest's label before each.
    const ids = parts.flatMap((p) => (p.blocks as Array<{ block_id?: string }>).map((b) => b.block_id ?? ""));
    // Open findings: a section and the buttons.
    expect(ids.filter((id) => id.startsWith("fnd:")).length).toBe(65 * 2);
    expect(ids.filter((id) => id.startsWith("dg:l:")).length).toBe(65);
  });

  it("a quiet day: one short line, or nothing when the digest is silent", () => {
    const [line, ...rest] = digestMessages(plan({ suppressed: 3, stillOpen: 1 }));
    expect(rest).toEqual([]);
    expect(line!.blocks).toEqual([]);
    expect(line!.text).toMatch(
      /^:white_check_mark: trailhound digest: nothing new or worse in CloudTrail from <!date\^1714550400\^.*→ <!date\^1714636800\^.* · 1,234 events · 3 suppressed · 1 still open, reported before$/,
    );
    expect(digestMessages(plan({ schedule: { ...plan().schedule, quiet: "silent" } }))).toEqual([]);
    // An expiry alone is worth a message even on a silent digest.
    const exp = digestMessages(plan({ schedule: { ...plan().schedule, quiet: "silent" }, expiries: [{ suppression: suppression(1), released: 2 }] }));
    expect(exp).toHaveLength(1);
    expect(JSON.stringify(exp[0]!.blocks)).toContain("2 findings it hid are open again");
  });
});

describe("planning a digest", () => {
  const at = (iso: string) => Date.parse(iso);
  const stored = (f: ReturnType<typeof makeFinding>, over: Partial<StoredFinding> = {}): StoredFinding => ({
    id: f.id,
    status: "open",
    firstSeen: f.firstSeen,
    lastSeen: f.lastSeen,
    seenInScans: 1,
    severity: f.severity,
    severityHistory: [{ at: f.firstSeen, severity: f.severity }],
    history: [],
    finding: f,
    ...over,
  });

  it("new / worse / reopened / still open against the channel's earlier digests; other channels do not count", () => {
    const A = makeFinding(1, { severity: "high" });
    const B = makeFinding(2, { severity: "medium" });
    const C = makeFinding(3, { severity: "low" });
    const D = makeFinding(4, { severity: "low" });
    const E = makeFinding(5, { severity: "info" });
    const db = new Map<string, StoredFinding>([
      [A.id, stored(A)],
      [B.id, stored(B, { history: [{ at: "2024-05-01T12:00:00Z", by: "trailhound", action: "reopen" }] })],
      [C.id, stored(C)],
      [D.id, stored(D)],
      [E.id, stored(E, { status: "acknowledged" })],
    ]);
    const digest = (channel: string, createdAt: string, severities: Record<string, "high" | "medium" | "low" | "info">) => ({
      id: `d-${channel}-${createdAt}`,
      schedule: channel,
      channel,
      window: { start: createdAt, end: createdAt },
      createdAt,
      state: "sent" as const,
      posted: ["1.1"],
      findingIds: Object.keys(severities),
      severities,
    });
    const p = planDigest({
      schedule: plan().schedule,
      window: { start: at("2024-05-01T08:00:00Z"), end: at("2024-05-02T08:00:00Z") },
      catchUp: false,
      report: makeReport([A, B, C, D, E]),
      changedSince: at("2024-05-01T08:00:00Z"),
      getFinding: (id) => db.get(id),
      findings: [...db.values()],
      digests: [digest("C0SEC", "2024-05-01T08:00:00Z", { [A.id]: "medium", [B.id]: "medium", [C.id]: "low" }), digest("C0OTHER", "2024-05-01T08:00:00Z", { [D.id]: "low" })],
      expired: [],
      activeSuppression: () => undefined,
    });
    expect(p.items.map((i) => [i.finding.id, i.change, i.was ?? null])).toEqual([
      [A.id, "worse", "medium"],
      [B.id, "reopened", "medium"],
      [D.id, "new", null],
    ]);
    expect(p).toMatchObject({ stillOpen: 1, acknowledged: 1 });
  });
});
