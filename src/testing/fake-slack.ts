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
  /** Bytes received at upload URLs (files.getUploadURLExternal), by file id. */
  readonly uploads = new Map<string, Buffer>();
  /** Files shared by files.completeUploadExternal: id, title, where, and the alt text given for it. */
  readonly files: Array<{ id: string; title?: string; channel?: string; threadTs?: string; comment?: string; altText?: string; filename?: string; bytes: number }> = [];
  private pendingFiles = new Map<string, { filename?: string; altText?: string; length: number }>();
  /**
   * Messages posted (chat.postMessage) as they now are (chat.update applied), by `channel:ts`:
   * conversations.history and conversations.replies read them back.
   */
  readonly messages = new Map<string, { channel: string; ts: string; text: string; blocks?: unknown[]; threadTs?: string }>();
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
    const bytes = Buffer.concat(chunks);
    const raw = bytes.toString();
    const path = (req.url ?? "").split("?")[0]!;
    if (path.startsWith("/upload/")) {
      // Step 2 of files.uploadV2: the file's bytes (the SDK posts them as a form).
      const id = path.slice("/upload/".length);
      this.record({ method: "upload", args: { id, bytes: bytes.length }, at: Date.now() });
      const override = this.handlers.get("upload");
      if (override) {
        const r = await override({ id });
        return { status: typeof r.status === "number" ? r.status : 200, body: r };
      }
      if (!this.pendingFiles.has(id)) return { status: 404, body: { ok: false, error: "unknown upload" } };
      this.uploads.set(id, bytes);
      return { status: 200, body: { ok: true } };
    }
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
      if (["blocks", "view", "attachments", "files"].includes(k)) {
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
      case "chat.postMessage": {
        const ts = this.nextTs();
        const channel = String(args.channel);
        this.messages.set(`${channel}:${ts}`, {
          channel,
          ts,
          text: String(args.text ?? ""),
          ...(Array.isArray(args.blocks) ? { blocks: args.blocks } : {}),
          ...(typeof args.thread_ts === "string" ? { threadTs: args.thread_ts } : {}),
        });
        return { status: 200, body: { ok: true, channel: args.channel, ts, message: { text: args.text } } };
      }
      case "chat.update": {
        const m = this.messages.get(`${String(args.channel)}:${String(args.ts)}`);
        if (m) {
          m.text = String(args.text ?? m.text);
          if (Array.isArray(args.blocks)) m.blocks = args.blocks;
        }
        return { status: 200, body: { ok: true, channel: args.channel, ts: args.ts } };
      }
      case "conversations.history":
      case "conversations.replies": {
        // Top-level messages of the channel, or the thread of `ts` (its parent first); newest
        // first for history, oldest first for replies, between oldest and latest (inclusive).
        const channel = String(args.channel);
        const inclusive = args.inclusive === "true" || args.inclusive === true;
        const lo = args.oldest !== undefined ? Number(args.oldest) : -Infinity;
        const hi = args.latest !== undefined ? Number(args.latest) : Infinity;
        const inRange = (ts: string) => (inclusive ? Number(ts) >= lo && Number(ts) <= hi : Number(ts) > lo && Number(ts) < hi);
        const thread = method === "conversations.replies" ? String(args.ts) : undefined;
        let list = [...this.messages.values()].filter(
          (m) => m.channel === channel && (thread ? m.ts === thread || m.threadTs === thread : m.threadTs === undefined || m.threadTs === m.ts) && inRange(m.ts),
        );
        list.sort((a, b) => Number(a.ts) - Number(b.ts));
        if (!thread) list.reverse();
        if (args.limit !== undefined) list = list.slice(0, Number(args.limit));
        return {
          status: 200,
          body: {
            ok: true,
            has_more: false,
            messages: list.map((m) => ({ type: "message", ts: m.ts, text: m.text, ...(m.blocks ? { blocks: m.blocks } : {}), ...(m.threadTs ? { thread_ts: m.threadTs } : {}) })),
          },
        };
      }
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
      case "files.getUploadURLExternal": {
        const id = `F${String(this.tsCounter++).padStart(10, "0")}`;
        const f: { filename?: string; altText?: string; length: number } = { length: Number(args.length) };
        if (typeof args.filename === "string") f.filename = args.filename;
        const alt = args.alt_txt ?? args.alt_text;
        if (typeof alt === "string") {
          f.altText = alt;
          if (alt.length > 1000) return { status: 200, body: { ok: false, error: "alt_txt_too_large" } };
        }
        this.pendingFiles.set(id, f);
        return { status: 200, body: { ok: true, upload_url: `${this.url}/upload/${id}`, file_id: id } };
      }
      case "files.completeUploadExternal": {
        const list = Array.isArray(args.files) ? (args.files as Array<{ id: string; title?: string }>) : [];
        const done = [];
        for (const x of list) {
          const pending = this.pendingFiles.get(x.id);
          const got = this.uploads.get(x.id);
          if (!pending || !got) {
            this.invalid.push(`files.completeUploadExternal: file ${x.id} was never uploaded`);
            return { status: 200, body: { ok: false, error: "invalid_arguments" } };
          }
          const entry: (typeof this.files)[number] = { id: x.id, bytes: got.length };
          if (x.title !== undefined) entry.title = x.title;
          if (typeof args.channel_id === "string") entry.channel = args.channel_id;
          if (typeof args.thread_ts === "string") entry.threadTs = args.thread_ts;
          if (typeof args.initial_comment === "string") entry.comment = args.initial_comment;
          if (pending.altText !== undefined) entry.altText = pending.altText;
          if (pending.filename !== undefined) entry.filename = pending.filename;
          this.files.push(entry);
          done.push({ id: x.id, title: x.title ?? pending.filename });
        }
        return { status: 200, body: { ok: true, files: done } };
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
