/**
 * A local Slack for tests and benchmarks: the Web API (form-encoded POSTs to /api/<method>) and response_urls
 * (/respond/<id>), on 127.0.0.1 and a random port. Strict: a method it does not know answers 404
 * and is listed in `unexpected`; every payload with blocks or a view is checked against the Block
 * Kit limits and problems are listed in `invalid`. Tests assert both stay empty.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { blockKitProblems, viewProblems } from "../slack/views/limits.js";

export interface ApiCall {
  method: string;
  /** Form fields, with `blocks`, `view`, `attachments` JSON-decoded. */
  args: Record<string, unknown>;
  at: number;
  /** For response_url posts: the JSON body. */
  json?: Record<string, unknown>;
}

type Handler = (args: Record<string, unknown>) => Record<string, unknown> | Promise<Record<string, unknown>>;

export class FakeSlack {
  readonly calls: ApiCall[] = [];
  readonly unexpected: string[] = [];
  readonly invalid: string[] = [];
  private server!: Server;
  private tsCounter = 100;
  private waiters: Array<() => void> = [];
  /** Per-method overrides. */
  readonly handlers = new Map<string, Handler>();
  /** Members of user groups (usergroups.users.list). */
  readonly groups = new Map<string, string[]>();
  /**
   * users.info: fields that differ from a full member of `team` (e.g. `{ is_restricted: true }`
   * for a guest); `null`: no such user. Users not listed are full members.
   */
  readonly users = new Map<string, Record<string, unknown> | null>();
  team = "T0TEST";
  url = "";

  /** `check: false` skips the Block Kit checks (benchmarks). */
  constructor(private readonly opts: { check?: boolean } = {}) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        ({ status, body }) => {
          res.writeHead(status, { "content-type": "application/json" });
          res.end(JSON.stringify(body));
        },
        (err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        },
      );
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  responseUrl(id: string): string {
    return `${this.url}/respond/${id}`;
  }

  private nextTs(): string {
    return `1700000000.${String(this.tsCounter++).padStart(6, "0")}`;
  }

  private check(method: string, args: Record<string, unknown>): void {
    if (this.opts.check === false) return;
    if (Array.isArray(args.blocks)) {
      const problems = blockKitProblems({ blocks: args.blocks, text: args.text as string }, "message");
      for (const p of problems) this.invalid.push(`${method}: ${p}`);
    } else if (method === "chat.postMessage" || method === "chat.update" || method === "respond") {
      if (typeof args.text !== "string" || args.text === "") this.invalid.push(`${method}: neither blocks nor text`);
    }
    if (args.view && typeof args.view === "object") for (const p of viewProblems(args.view as never)) this.invalid.push(`${method}: ${p}`);
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: Record<string, unknown> }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString();
    const path = (req.url ?? "").split("?")[0]!;
    if (path.startsWith("/respond/")) {
      const json = JSON.parse(raw || "{}") as Record<string, unknown>;
      this.check("respond", json);
      this.record({ method: "respond", args: { ...json, id: path.slice("/respond/".length) }, json, at: Date.now() });
      return { status: 200, body: { ok: true } };
    }
    const method = path.replace(/^\/api\//, "");
    const form = new URLSearchParams(raw);
    const args: Record<string, unknown> = {};
    for (const [k, v] of form) {
      if (["blocks", "view", "attachments"].includes(k)) {
        try {
          args[k] = JSON.parse(v);
        } catch {
          args[k] = v;
        }
      } else args[k] = v;
    }
    this.check(method, args);
    this.record({ method, args, at: Date.now() });
    const override = this.handlers.get(method);
    if (override) return { status: 200, body: await override(args) };
    switch (method) {
      case "auth.test":
        return { status: 200, body: { ok: true, user_id: "U0BOT", bot_id: "B0BOT", team_id: this.team, team: "acme", user: "trailhound" } };
      case "chat.postMessage":
        return { status: 200, body: { ok: true, channel: args.channel, ts: this.nextTs(), message: { text: args.text } } };
      case "chat.update":
        return { status: 200, body: { ok: true, channel: args.channel, ts: args.ts } };
      case "chat.postEphemeral":
        return { status: 200, body: { ok: true, message_ts: this.nextTs() } };
      case "views.open":
      case "views.publish":
      case "views.update":
        return { status: 200, body: { ok: true, view: { id: "V" + this.tsCounter++ } } };
      case "users.info": {
        const id = String(args.user);
        const extra = this.users.get(id);
        if (extra === null) return { status: 200, body: { ok: false, error: "user_not_found" } };
        return {
          status: 200,
          body: { ok: true, user: { id, team_id: this.team, name: id.toLowerCase(), deleted: false, is_bot: false, is_restricted: false, is_ultra_restricted: false, ...extra } },
        };
      }
      case "usergroups.users.list": {
        const users = this.groups.get(String(args.usergroup));
        return { status: 200, body: users ? { ok: true, users } : { ok: false, error: "no_such_subteam" } };
      }
      default:
        this.unexpected.push(method);
        return { status: 404, body: { ok: false, error: "unknown_method" } };
    }
  }

  private record(c: ApiCall): void {
    this.calls.push(c);
    for (const w of this.waiters.splice(0)) w();
  }

  of(method: string): ApiCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Wait until `pred` holds over the recorded calls (fails after `timeoutMs`). */
  async waitFor<T>(pred: (calls: ApiCall[]) => T | undefined | false, timeoutMs = 5000, what = "a Slack call"): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = pred(this.calls);
      if (v) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; calls: ${this.calls.map((c) => c.method).join(", ")}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => (clearTimeout(t), r()));
      });
    }
  }
}
