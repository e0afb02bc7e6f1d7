/**
 * Who may do what, decided on the server from the configuration (never from what a button
 * carries). Admins are Slack user ids and user-group ids; group membership is read with
 * usergroups.users.list and cached briefly. A failed lookup denies (fail closed).
 */
import type { Log } from "../log.js";

export interface UsergroupsApi {
  usergroups: { users: { list(args: { usergroup: string }): Promise<{ users?: string[] }> } };
}

export interface AuthorizerOptions {
  admins: { users: string[]; groups: string[] };
  /** Anyone may acknowledge (default true); else only admins. */
  ackAnyone: boolean;
  api: UsergroupsApi;
  log: Log;
  /** Group membership cache lifetime (default 60 s). */
  cacheMs?: number;
  now?: () => number;
}

export type Permission = "ack" | "suppress";

export interface Decision {
  allowed: boolean;
  /** Why not, for the user (plain words, no markup). */
  reason?: string;
}

export class Authorizer {
  private readonly users: Set<string>;
  private readonly groups: string[];
  private readonly cache = new Map<string, { members: Set<string>; at: number }>();
  private readonly inflight = new Map<string, Promise<Set<string> | undefined>>();
  private readonly cacheMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: AuthorizerOptions) {
    this.users = new Set(opts.admins.users);
    this.groups = [...opts.admins.groups];
    this.cacheMs = opts.cacheMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  get hasAdmins(): boolean {
    return this.users.size > 0 || this.groups.length > 0;
  }

  private async members(group: string): Promise<Set<string> | undefined> {
    const hit = this.cache.get(group);
    if (hit && this.now() - hit.at < this.cacheMs) return hit.members;
    let p = this.inflight.get(group);
    if (!p) {
      p = this.opts.api.usergroups.users
        .list({ usergroup: group })
        .then((r) => {
          const members = new Set(r.users ?? []);
          this.cache.set(group, { members, at: this.now() });
          return members;
        })
        .catch((err: unknown) => {
          this.opts.log.error("usergroups.users.list failed: treating the user as not an admin", { group, err });
          return undefined;
        })
        .finally(() => this.inflight.delete(group));
      this.inflight.set(group, p);
    }
    return p;
  }

  async isAdmin(userId: string): Promise<boolean> {
    if (this.users.has(userId)) return true;
    for (const g of this.groups) {
      const m = await this.members(g);
      if (m?.has(userId)) return true;
    }
    return false;
  }

  async check(userId: string, what: Permission): Promise<Decision> {
    if (what === "ack" && this.opts.ackAnyone) return { allowed: true };
    if (await this.isAdmin(userId)) return { allowed: true };
    const act = what === "ack" ? "acknowledge findings" : "suppress or unsuppress findings";
    return {
      allowed: false,
      reason: this.hasAdmins
        ? `Only trailhound admins may ${act}. Ask one of them, or ask for your user id or group to be added to TRAILHOUND_ADMINS.`
        : `Only trailhound admins may ${act}, and none are configured: set TRAILHOUND_ADMINS.`,
    };
  }
}
