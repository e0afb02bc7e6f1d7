/**
 * `/cloudtrail status` and `/cloudtrail baseline` answer from the facts kept beside the stored
 * baselines (only the profile shown is decoded): their replies are the ones computed from the
 * decoded profiles (the former implementation, kept here as the reference).
 */
import { describe, expect, it, vi } from "vitest";
import { DEFAULT_BASELINE_CONFIG, emptyProfile, type Profile } from "../../src/baseline/profile.js";
import { BaselineView } from "../../src/baseline/view.js";
import { handleCloudtrail } from "../../src/slack/commands/cloudtrail.js";
import type { CommandArgs } from "../../src/slack/commands/scan.js";
import type { Bot } from "../../src/slack/context.js";
import type { SlackMessage } from "../../src/slack/views/limits.js";
import { baselineMessage, noBaselineMessage, statusMessage } from "../../src/slack/views/status.js";
import { TrailStore } from "../../src/store/store.js";

const DAY = 86_400_000;
const NOW = Date.UTC(2024, 5, 1, 12);
const today = Math.floor(NOW / DAY);

function profile(key: string, o: { userName?: string; arn?: string; events: number; historyDays: number; activeDays: number }): Profile {
  const p = emptyProfile(key, key.startsWith("role:") ? "AssumedRole" : "IAMUser");
  p.first = NOW - o.historyDays * DAY;
  p.last = NOW - 3_600_000;
  p.trainedUntil = p.last;
  p.events = o.events;
  p.days = Array.from({ length: o.activeDays }, (_, i) => today - o.activeDays + i + 1);
  p.dims.api = { DescribeInstances: [o.events, 0, p.first, p.last] };
  if (o.userName !== undefined) p.userName = o.userName;
  if (o.arn !== undefined) p.arn = o.arn;
  return p;
}

const PROFILES: Profile[] = [
  profile("user:1:alice", { userName: "alice", events: 400, historyDays: 20, activeDays: 15 }),
  profile("user:2:alice", { userName: "alice", events: 900, historyDays: 30, activeDays: 2 }), // learning: 1 active day before today
  profile("user:3:bob", { userName: "bob", events: 10, historyDays: 40, activeDays: 30 }), // learning: few events
  profile("role:1:Deploy", { userName: "Deploy", arn: "arn:aws:iam::1:role/Deploy", events: 5000, historyDays: 60, activeDays: 50 }),
  profile("role:2:Deploy", { arn: "arn:aws:iam::2:role/Deploy", events: 7000, historyDays: 2, activeDays: 2 }), // learning: 2 days of history
  profile("role:3:ci", { arn: "arn:aws:iam::3:role/team/Deploy", events: 100, historyDays: 10, activeDays: 9 }),
  emptyProfile("role:4:new", "AssumedRole"),
];

// The former implementation: every profile decoded.
function referenceStatus(store: TrailStore): SlackMessage {
  const profiles = [...store.getBaselines().values()];
  return statusMessage({
    stats: store.stats(NOW),
    scans: store.scans(5).reverse(),
    learning: profiles.filter((p) => new BaselineView(p, NOW, DEFAULT_BASELINE_CONFIG).learning).map((p) => p.key),
  });
}

function referenceBaseline(store: TrailStore, kind: "key" | "user" | "role", value: string): SlackMessage {
  const matches = [...store.getBaselines().values()]
    .filter((p) => {
      if (kind === "key") return p.key === value;
      const isRole = p.key.startsWith("role:");
      if (kind === "role") return isRole && (p.userName === value || p.arn?.endsWith(`/${value}`) === true || p.key.endsWith(`:${value}`));
      return !isRole && (p.userName === value || p.key.endsWith(`:${value}`));
    })
    .sort((a, b) => b.events - a.events);
  const p = matches[0];
  if (!p) return noBaselineMessage(`${kind === "key" ? "" : kind + " "}${value}`);
  return baselineMessage(p, new BaselineView(p, NOW, DEFAULT_BASELINE_CONFIG).learning, matches.length - 1);
}

async function command(store: TrailStore, text: string): Promise<Record<string, unknown>> {
  const bot = { store, now: () => NOW, authz: { check: async () => ({ allowed: true }) }, log: { error() {}, warn() {}, info() {}, debug() {} } } as unknown as Bot;
  let reply: Record<string, unknown> | undefined;
  const args = {
    command: { user_id: "U1", channel_id: "C1", text },
    ack: async (m?: unknown) => {
      reply = m as Record<string, unknown>;
    },
    respond: async () => undefined,
    client: {},
  } as unknown as CommandArgs;
  await handleCloudtrail(bot, args);
  return reply!;
}

function asReply(m: SlackMessage): Record<string, unknown> {
  return { response_type: "ephemeral", text: m.text, ...(m.blocks.length > 0 ? { blocks: m.blocks } : {}) };
}

describe("/cloudtrail status and baseline from the baselines' facts", () => {
  it("status lists the same identities as still learning, decoding none", async () => {
    const store = TrailStore.memory();
    await store.putBaselines(PROFILES);
    const want = asReply(referenceStatus(store));
    const decodeOne = vi.spyOn(store, "getBaseline");
    const decodeAll = vi.spyOn(store, "getBaselines");
    const got = await command(store, "status");
    expect(decodeOne).not.toHaveBeenCalled();
    expect(decodeAll).not.toHaveBeenCalled();
    expect(got).toEqual(want);
    expect(JSON.stringify(got.blocks)).toContain("Still learning* (4)");
    await store.close();
  });

  it("baseline finds the same identity (most events among matches), with the same count of others", async () => {
    const store = TrailStore.memory();
    await store.putBaselines(PROFILES);
    const cases: Array<["key" | "user" | "role", string, string]> = [
      ["user", "alice", "baseline user alice"],
      ["user", "bob", "baseline user bob"],
      ["user", "nobody", "baseline user nobody"],
      ["user", "Deploy", "baseline user Deploy"],
      ["role", "Deploy", "baseline role Deploy"],
      ["role", "ci", "baseline role ci"],
      ["role", "new", "baseline role new"],
      ["key", "user:1:alice", "baseline user:1:alice"],
      ["key", "role:4:new", "baseline role:4:new"],
      ["key", "user:9:ghost", "baseline user:9:ghost"],
    ];
    const decodeOne = vi.spyOn(store, "getBaseline");
    const decodeAll = vi.spyOn(store, "getBaselines");
    for (const [kind, value, text] of cases) {
      decodeOne.mockClear();
      decodeAll.mockClear();
      const got = await command(store, text);
      // Only the profile shown is decoded.
      expect(decodeAll).not.toHaveBeenCalled();
      expect(decodeOne.mock.calls.length, text).toBeLessThanOrEqual(1);
      expect(got, text).toEqual(asReply(referenceBaseline(store, kind, value)));
    }
    // The one shown for "alice" is the busier of the two, and the other is counted.
    const alice = JSON.stringify((await command(store, "baseline user alice")).blocks);
    expect(alice).toContain("900");
    await store.close();
  });
});
