/**
 * Who may see and do what, decided on the server from the configuration (never from what a button
 * carries). One place for every access check of the bot:
 *
 * - view: run scans, see findings (Home, Details, status, suppressions), read baselines.
 *   Viewers are TRAILHOUND_VIEWERS (user ids, user-group ids, or `*` for every full member of the
 *   workspace) and the admins. Unset: admins only.
 * - ack: a viewer, and (TRAILHOUND_ACK_ANYONE, default true) anyone of them, else admins only.
 * - suppress / admin / audit: admins (TRAILHOUND_ADMINS).
 * - contain: responders (TRAILHOUND_RESPONDERS) only, admins included only if listed there.
 * - Guests (single- and multi-channel guests: users.info `is_restricted` / `is_ultra_restricted`)
 *   are refused everything, even when listed. So are deleted accounts and people from other
 *   organisations (`is_stranger`).
 *
 * Group membership (usergroups.users.list) and account kinds (users.info) are cached briefly.
 * A failed lookup denies (fail closed). `allow()` audits and explains refusals; listeners call it
 * before touching anything, and answer the returned reason privately.
 */
import type { Log } from "../log.js";
import type { AuditEntry } from "../store/types.js";

export interface UsergroupsApi {
  usergroups: { users: { list(args: { usergroup: string }): Promise<{ users?: string[] }> } };
}

export interface UsersApi {
  users: {
    info(args: { user: string }): Promise<{
      user?: { is_restricted?: boolean; is_ultra_restricted?: boolean; deleted?: boolean; is_stranger?: boolean; is_bot?: boolean };
    }>;
  };
}

export interface IdList {
  users: string[];
  groups: string[];
}

export interface ViewerList extends IdList {
  /** `*`: every full member of the workspace. */
  everyone: boolean;
}

export interface AccessOptions {
  admins: IdList;
  /** Undefined (TRAILHOUND_VIEWERS unset): admins only. */
  viewers?: ViewerList;
  /** Anyone who may view may acknowledge (default true); else only admins. */
  ackAnyone: boolean;
  /** Channels where results may be posted (TRAILHOUND_CHANNELS); undefined: any channel. */
  channels?: string[];
  /** Who may contain and undo (TRAILHOUND_RESPONDERS); undefined or empty: nobody. */
  responders?: IdList;
  api: UsergroupsApi & Partial<UsersApi>;
  log: Log;
  /** Cache lifetime of group members and account kinds (default 60 s). */
  cacheMs?: number;
  /** A lookup slower than this denies (default 2 s: commands must be answered within 3 s). */
  lookupTimeoutMs?: number;
  now?: () => number;
}

/** `p`, or `fallback` when it takes longer than `ms` (the lookup goes on and fills the cache). */
function within<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((r) => {
    timer = setTimeout(() => r(fallback), ms);
    timer.unref?.();
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** "view" covers scans, findings, details, baselines, status; "audit" reads the audit log. */
export type Permission = "view" | "ack" | "suppress" | "admin" | "audit" | "contain";

export interface Decision {
  allowed: boolean;
  /** Why not, for the user (plain words, no markup). */
  reason?: string;
}

type Account = "member" | "guest" | "gone" | "unknown";

const DENY_LOOKUP = "trailhound could not check your Slack account just now, so it refuses to be safe; try again in a minute.";

export class Access {
  private readonly adminUsers: Set<string>;
  private readonly viewerUsers: Set<string>;
  private readonly responderUsers: Set<string>;
  private readonly groupCache = new Map<string, { members: Set<string>; at: number }>();
  private readonly groupInflight = new Map<string, Promise<Set<string> | undefined>>();
  private readonly accountCache = new Map<string, { kind: Account; at: number }>();
  private readonly accountInflight = new Map<string, Promise<Account>>();
  private readonly cacheMs: number;
  private readonly now: () => number;
  readonly channels: ReadonlySet<string> | undefined;

  constructor(private readonly opts: AccessOptions) {
    this.adminUsers = new Set(opts.admins.users);
    this.viewerUsers = new Set(opts.viewers?.users ?? []);
    this.responderUsers = new Set(opts.responders?.users ?? []);
    this.cacheMs = opts.cacheMs ?? 60_000;
    this.now = opts.now ?? Date.now;
    this.channels = opts.channels && opts.channels.length > 0 ? new Set(opts.channels) : undefined;
  }

  /** TRAILHOUND_RESPONDERS names someone: containment is on. */
  get hasResponders(): boolean {
    return this.responderUsers.size > 0 || (this.opts.responders?.groups.length ?? 0) > 0;
  }

  get hasAdmins(): boolean {
    return this.adminUsers.size > 0 || this.opts.admins.groups.length > 0;
  }

  /** TRAILHOUND_VIEWERS was set (else only admins may view). */
  get viewersConfigured(): boolean {
    return this.opts.viewers !== undefined;
  }

  /** Whether results may be posted in this channel (TRAILHOUND_CHANNELS). */
  mayPostIn(channel: string | undefined): boolean {
    if (!channel) return false;
    return this.channels === undefined || this.channels.has(channel);
  }

  private async members(group: string): Promise<Set<string> | undefined> {
    const hit = this.groupCache.get(group);
    if (hit && this.now() - hit.at < this.cacheMs) return hit.members;
    let p = this.groupInflight.get(group);
    if (!p) {
      p = this.opts.api.usergroups.users
        .list({ usergroup: group })
        .then((r) => {
          const members = new Set(r.users ?? []);
          this.groupCache.set(group, { members, at: this.now() });
          return members;
        })
        .catch((err: unknown) => {
          this.opts.log.error("usergroups.users.list failed: treating the user as not a member", { group, err });
          return undefined;
        })
        .finally(() => this.groupInflight.delete(group));
      this.groupInflight.set(group, p);
    }
    return within(p, this.opts.lookupTimeoutMs ?? 2000, undefined);
  }

  private async inAny(userId: string, users: Set<string>, groups: readonly string[]): Promise<boolean> {
    if (users.has(userId)) return true;
    for (const g of groups) {
      const m = await this.members(g);
      if (m?.has(userId)) return true;
    }
    return false;
  }

  /** A full member, a guest, a deleted or foreign account, or unknown (the lookup failed). */
  async account(userId: string): Promise<Account> {
    const api = this.opts.api.users;
    if (!api) return "unknown";
    const hit = this.accountCache.get(userId);
    if (hit && this.now() - hit.at < this.cacheMs) return hit.kind;
    let p = this.accountInflight.get(userId);
    if (!p) {
      p = api
        .info({ user: userId })
        .then((r): Account => {
          const u = r.user;
          const kind: Account = !u ? "unknown" : u.is_restricted || u.is_ultra_restricted ? "guest" : u.deleted || u.is_stranger ? "gone" : "member";
          if (kind !== "unknown") this.accountCache.set(userId, { kind, at: this.now() });
          return kind;
        })
        .catch((err: unknown): Account => {
          this.opts.log.error("users.info failed: refusing the user for now", { user: userId, err });
          return "unknown";
        })
        .finally(() => this.accountInflight.delete(userId));
      this.accountInflight.set(userId, p);
    }
    return within(p, this.opts.lookupTimeoutMs ?? 2000, "unknown");
  }

  /** Listed as an admin (directly or through a group). Says nothing about guests: see check(). */
  async isAdmin(userId: string): Promise<boolean> {
    return this.inAny(userId, this.adminUsers, this.opts.admins.groups);
  }

  private async isViewer(userId: string): Promise<boolean> {
    const v = this.opts.viewers;
    if (!v) return false;
    return v.everyone || (await this.inAny(userId, this.viewerUsers, v.groups));
  }

  async check(userId: string, what: Permission): Promise<Decision> {
    const kind = await this.account(userId);
    if (kind === "guest") return { allowed: false, reason: "Guest accounts cannot use trailhound: its findings are for the security team's members only." };
    if (kind === "gone") return { allowed: false, reason: "This account cannot use trailhound (deactivated or from another organisation)." };
    if (kind === "unknown") return { allowed: false, reason: DENY_LOOKUP };
    if (what === "contain") {
      if (await this.inAny(userId, this.responderUsers, this.opts.responders?.groups ?? [])) return { allowed: true };
      return {
        allowed: false,
        reason: this.hasResponders
          ? "Only trailhound responders may contain or undo. Ask one of them, or ask for your user id or group to be added to TRAILHOUND_RESPONDERS."
          : "Containment is off: no responders are configured (TRAILHOUND_RESPONDERS).",
      };
    }
    const admin = await this.isAdmin(userId);
    if (admin) return { allowed: true };
    switch (what) {
      case "view":
      case "ack": {
        if (!(await this.isViewer(userId))) {
          return {
            allowed: false,
            reason: this.viewersConfigured
              ? "Only trailhound viewers may see findings, run scans or read baselines. Ask an admin to add you (or your group) to TRAILHOUND_VIEWERS."
              : "Only trailhound admins may see findings, run scans or read baselines (TRAILHOUND_VIEWERS is not set). Ask an admin.",
          };
        }
        if (what === "view" || this.opts.ackAnyone) return { allowed: true };
        return { allowed: false, reason: adminOnly("acknowledge findings", this.hasAdmins) };
      }
      case "suppress":
        return { allowed: false, reason: adminOnly("suppress or unsuppress findings", this.hasAdmins) };
      case "audit":
        return { allowed: false, reason: adminOnly("read the audit log", this.hasAdmins) };
      case "admin":
        return { allowed: false, reason: adminOnly("do this", this.hasAdmins) };
      default:
        return { allowed: false, reason: adminOnly("do this", this.hasAdmins) };
    }
  }
}

function adminOnly(act: string, hasAdmins: boolean): string {
  return hasAdmins
    ? `Only trailhound admins may ${act}. Ask one of them, or ask for your user id or group to be added to TRAILHOUND_ADMINS.`
    : `Only trailhound admins may ${act}, and none are configured: set TRAILHOUND_ADMINS.`;
}

/** What `allow()` needs from the bot (a narrow view of Bot, so that other modules can use it). */
export interface AccessContext {
  authz: Pick<Access, "check">;
  store: { audit(entry: AuditEntry): Promise<void> };
  log: Log;
  now: () => number;
}

/**
 * Check `what` for `user`; a refusal is audited (`refused`, `target`, the reason) and logged.
 * Returns the decision: on refusal, answer `reason` privately and stop.
 */
export async function allow(bot: AccessContext, user: string, what: Permission, target: string): Promise<Decision> {
  const d = await bot.authz.check(user, what);
  if (d.allowed) return d;
  bot.log.info("refused", { user, what, target });
  await bot.store
    .audit({ at: new Date(bot.now()).toISOString(), actor: user || "unknown", action: "refused", target, detail: `${what}: ${d.reason ?? "not allowed"}` })
    .catch((err: unknown) => bot.log.error("audit failed", { err }));
  return d;
}
