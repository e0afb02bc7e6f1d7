/** What every listener shares: ports, policy, settings. Built once by createSlackApp. */
import type { webApi } from "@slack/bolt";
import type { AthenaRefreshStatus } from "../athena/bot.js";
import type { Log } from "../log.js";
import type { GuardConfig } from "../respond/actions.js";
import type { Responder } from "../respond/responder.js";
import type { AuditAction } from "../store/types.js";
import type { Access } from "./access.js";
import type { BotStore, DigestSchedule, ScanService } from "./ports.js";
import type { ScanRunner } from "./runner.js";
import type { Block } from "./views/limits.js";
import { DEFAULT_RESULT_OPTIONS, type ResultOptions } from "./views/report.js";

export interface BotSettings {
  /** Minimum time between two progress edits of the "scanning" message. */
  progressIntervalMs: number;
  /** Pause between thread posts (Slack allows about one message per second per channel). */
  threadPostIntervalMs: number;
  result: ResultOptions;
}

export const DEFAULT_SETTINGS: BotSettings = {
  progressIntervalMs: 2000,
  threadPostIntervalMs: 1100,
  result: DEFAULT_RESULT_OPTIONS,
};

export interface Bot {
  store: BotStore;
  scans: ScanService;
  /** Every access check (access.ts). */
  authz: Access;
  runner: ScanRunner;
  log: Log;
  now: () => number;
  /** The only workspace allowed. */
  teamId: string;
  digest?: DigestSchedule;
  settings: BotSettings;
  /** Latest blocks we sent per message (`channel:ts`), and a lock per message. */
  messages: MessageBook;
  /** The bot's own Web API client (listeners get one too; this one works outside requests). */
  client: webApi.WebClient;
  /** Containment (src/respond); absent when TRAILHOUND_RESPONDERS is empty. */
  respond?: RespondContext;
  /** Outbound notifications (src/notify). */
  notifier?: { enabled: boolean; deadLetters(): number; delivered(): number };
  /** Athena baselines (TRAILHOUND_SOURCE=athena): their horizon and refresh, for status. */
  athena?: { status(): AthenaRefreshStatus };
}

export interface RespondContext {
  responder: Responder;
  guard: GuardConfig;
  /** Two-person rule window in minutes; absent: off. */
  approvalMinutes?: number;
  /** Called after every containment change (outbound notifications resolve the incident). */
  onChange?: (rec: import("../store/types.js").ContainmentRecord) => void;
}

/** Record an act in the audit log. */
export async function audit(bot: Bot, actor: string, action: AuditAction, target: string, detail?: string): Promise<void> {
  await bot.store.audit({ at: new Date(bot.now()).toISOString(), actor, action, target, ...(detail !== undefined ? { detail } : {}) });
}

/**
 * The blocks of messages we edit, newest first wins, and one edit at a time per message: two
 * quick clicks on one message must not overwrite each other's update with stale blocks.
 */
export class MessageBook {
  private readonly blocks = new Map<string, { text: string; blocks: Block[]; at: number }>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly max = 500,
    private readonly ttlMs = 24 * 3_600_000,
    private readonly now: () => number = Date.now,
  ) {}

  private key(channel: string, ts: string): string {
    return `${channel}:${ts}`;
  }

  get(channel: string, ts: string): { text: string; blocks: Block[] } | undefined {
    const k = this.key(channel, ts);
    const hit = this.blocks.get(k);
    if (!hit) return undefined;
    if (this.now() - hit.at > this.ttlMs) {
      this.blocks.delete(k);
      return undefined;
    }
    return hit;
  }

  set(channel: string, ts: string, text: string, blocks: Block[]): void {
    const k = this.key(channel, ts);
    this.blocks.delete(k);
    this.blocks.set(k, { text, blocks, at: this.now() });
    while (this.blocks.size > this.max) {
      const oldest = this.blocks.keys().next().value;
      if (oldest === undefined) break;
      this.blocks.delete(oldest);
    }
  }

  /** Run `fn` after any earlier work on the same message. */
  async withLock<T>(channel: string, ts: string, fn: () => Promise<T>): Promise<T> {
    const k = this.key(channel, ts);
    const prev = this.locks.get(k) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.locks.set(k, settled);
    void settled.then(() => {
      if (this.locks.get(k) === settled) this.locks.delete(k);
    });
    return next;
  }
}
