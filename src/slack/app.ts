/**
 * The Bolt app: receiver (HTTP with replay protection, or Socket Mode), workspace check,
 * `/cloudtrail`, the finding buttons, the suppress modal and the Home tab. Bolt's conversation
 * store is off: no listener uses it, and it costs a lookup on every request.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { App, HTTPReceiver, SocketModeReceiver, type AnyMiddlewareArgs, type AllMiddlewareArgs, type RespondFn, type SocketModeReceiverOptions, type webApi } from "@slack/bolt";
import { toBoltLogger, type Log } from "../log.js";
import { registerContainActions, type ContainFlows } from "./actions/contain.js";
import { registerFindingActions } from "./actions/findings.js";
import { registerHome } from "./actions/home.js";
import { Access, type ViewerList } from "./access.js";
import { COMMAND, handleCloudtrail } from "./commands/cloudtrail.js";
import type { CommandArgs } from "./commands/scan.js";
import { audit, DEFAULT_SETTINGS, MessageBook, type Bot, type BotSettings, type RespondContext } from "./context.js";
import type { BotStore, DigestSchedule, ScanService } from "./ports.js";
import { claimedUser, gateListener } from "./http-gate.js";
import { ReplayGuard } from "./replay.js";
import { AuditLimiter, hardenProcessEvent, hardenSocketMode } from "./robust.js";
import { ScanRunner } from "./runner.js";

export interface SlackAppOptions {
  /** Socket Mode through a proxy: the WebSocket's dispatcher (src/net.ts). */
  socketDispatcher?: SocketModeReceiverOptions["dispatcher"];
  /** /healthz checks beside the scans (main.ts: the store; the Socket Mode connection). */
  health?: () => Record<string, boolean>;
  botToken: string;
  mode: "http" | "socket";
  /** HTTP mode. */
  signingSecret?: string;
  /** Socket Mode. */
  appToken?: string;
  /** Web API base URL (ends with "/"). */
  apiUrl?: string;
  /** Extra WebClient options (tests: `retryConfig: { retries: 0 }`). */
  clientOptions?: webApi.WebClientOptions;
  /** The only workspace allowed. */
  teamId: string;
  /** From auth.test, so that Bolt does not call it again. */
  botUserId?: string;
  botId?: string;
  admins: { users: string[]; groups: string[] };
  /** Undefined: admins only. */
  viewers?: ViewerList;
  /** Channels where results may be posted; undefined: any. */
  channels?: string[];
  ackAnyone: boolean;
  store: BotStore;
  scans: ScanService;
  digest?: DigestSchedule;
  log: Log;
  now?: () => number;
  settings?: Partial<BotSettings>;
  maxConcurrentScans?: number;
  maxQueuedScans?: number;
  /** Scans one person may have running or waiting (default 2). */
  maxScansPerUser?: number;
  /** Cache lifetime of group members and account kinds (users.info). */
  adminGroupCacheMs?: number;
  /** TRAILHOUND_RESPONDERS: who may contain (src/respond). */
  responders?: { users: string[]; groups: string[] };
  /** Containment; absent: no Contain… button. */
  respond?: RespondContext;
  /** Outbound notifications (status shows their dead letters). */
  notifier?: Bot["notifier"];
  /** Athena baselines (status). */
  athena?: Bot["athena"];
}

export interface SlackApp {
  app: App;
  bot: Bot;
  /** Containment flows (their timers stop with the bot). */
  contain: ContainFlows;
  /** HTTP mode: the receiver (its request listener serves /slack/events and /healthz). */
  receiver?: HTTPReceiver;
}

/**
 * GET /healthz: 200 `{ok: true}`, or 503 `{ok: false}` when a check fails (`checks()`: e.g. the
 * Socket Mode connection is down, the store's last write failed); each check is in the body.
 */
export function healthzHandler(mode: string, runner: ScanRunner, checks: () => Record<string, boolean> = () => ({})) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    const c = checks();
    const ok = Object.values(c).every(Boolean);
    res.writeHead(ok ? 200 : 503, { "content-type": "application/json" });
    res.end(JSON.stringify({ ok, mode, ...c, scans: runner.load }));
  };
}

/** Team ids a request claims to come from (all of them must be ours). */
function requestTeams(body: Record<string, unknown>): string[] {
  const ids = new Set<string>();
  const add = (v: unknown) => typeof v === "string" && v !== "" && ids.add(v);
  add(body.team_id);
  add((body.team as { id?: unknown } | null | undefined)?.id);
  add((body.user as { team_id?: unknown } | undefined)?.team_id);
  add(body.user_team);
  return [...ids];
}

function who(body: Record<string, unknown>): string {
  const u = body.user as { id?: string } | string | undefined;
  const id = typeof body.user_id === "string" ? body.user_id : typeof u === "string" ? u : u?.id;
  return id ?? (body.event as { user?: string } | undefined)?.user ?? "unknown";
}

export function createSlackApp(o: SlackAppOptions): SlackApp {
  const now = o.now ?? Date.now;
  const log = o.log;
  const settings: BotSettings = { ...DEFAULT_SETTINGS, ...o.settings, result: { ...DEFAULT_SETTINGS.result, ...o.settings?.result } };
  const runner = new ScanRunner(o.maxConcurrentScans ?? 2, o.maxQueuedScans ?? 20, o.maxScansPerUser ?? 2);
  const clientOptions: webApi.WebClientOptions = {
    ...(o.apiUrl ? { slackApiUrl: o.apiUrl } : {}),
    ...o.clientOptions,
  };
  const boltLogger = toBoltLogger(log.child({ src: "bolt" }));
  const auth = {
    token: o.botToken,
    ...(o.botUserId && o.botId ? { botUserId: o.botUserId, botId: o.botId } : {}),
  };

  let receiver: HTTPReceiver | undefined;
  let app: App;
  if (o.mode === "http") {
    if (!o.signingSecret) throw new Error("HTTP mode needs the signing secret");
    receiver = new HTTPReceiver({
      signingSecret: o.signingSecret,
      endpoints: "/slack/events",
      customRoutes: [{ path: "/healthz", method: ["GET"], handler: healthzHandler("http", runner, () => o.health?.() ?? {}) }],
      logger: boltLogger,
    });
    app = new App({ ...auth, receiver, clientOptions, logger: boltLogger, convoStore: false });
  } else {
    if (!o.appToken) throw new Error("Socket Mode needs the app-level token");
    if (o.socketDispatcher) {
      // Through a proxy (src/net.ts): the receiver Bolt would build, with the WebSocket's dispatcher.
      const socketReceiver = new SocketModeReceiver({ appToken: o.appToken, dispatcher: o.socketDispatcher, logger: boltLogger, installerOptions: { clientOptions } });
      app = new App({ ...auth, receiver: socketReceiver, clientOptions, logger: boltLogger, convoStore: false });
    } else app = new App({ ...auth, appToken: o.appToken, socketMode: true, clientOptions, logger: boltLogger, convoStore: false });
  }

  const bot: Bot = {
    store: o.store,
    scans: o.scans,
    authz: new Access({
      admins: o.admins,
      ...(o.viewers ? { viewers: o.viewers } : {}),
      ...(o.channels ? { channels: o.channels } : {}),
      ...(o.responders ? { responders: o.responders } : {}),
      ackAnyone: o.ackAnyone,
      api: app.client,
      log,
      ...(o.adminGroupCacheMs !== undefined ? { cacheMs: o.adminGroupCacheMs } : {}),
      now,
    }),
    runner,
    log,
    now,
    teamId: o.teamId,
    ...(o.digest ? { digest: o.digest } : {}),
    settings,
    messages: new MessageBook(500, 24 * 3_600_000, now),
    client: app.client,
    ...(o.respond ? { respond: o.respond } : {}),
    ...(o.notifier ? { notifier: o.notifier } : {}),
    ...(o.athena ? { athena: o.athena } : {}),
  };

  app.error(async (err) => {
    log.error("unhandled error in a listener", { err });
    throw err;
  });

  // 1. Refusals of requests nobody verified as a user's act: audited, at most 30 a minute.
  const limiter = new AuditLimiter(30, now);
  const auditRefusal = (actor: string, target: string, detail: string) =>
    limiter.run(
      (skipped) =>
        void audit(bot, actor, "refused", target, skipped > 0 ? `${detail} (and ${skipped} similar refusals before this one not recorded one by one)` : detail).catch(
          (err: unknown) => log.error("audit failed", { err }),
        ),
    );
  // HTTP: strict signature, replay guard (kept in the store), body must be an object.
  if (receiver && o.signingSecret) {
    const guard = new ReplayGuard(now, o.store, log);
    receiver.requestListener = gateListener(receiver.requestListener, {
      signingSecret: o.signingSecret,
      guard,
      log,
      now,
      onRefused: (kind, detail, claimed) =>
        kind === "signature"
          ? auditRefusal("unverified", "request:signature", `${detail}${claimed ? `; the body claims to be from ${claimed.slice(0, 40)}` : ""}`)
          : auditRefusal(claimed?.slice(0, 40) || "unknown", `request:${kind}`, detail),
    });
  }
  // Both modes: malformed shapes acked and refused, unknown ids acked at once, listener errors contained.
  const harden = { log, onMalformed: (problem: string, body: unknown) => auditRefusal(claimedUser(body)?.slice(0, 40) || "unknown", "request:malformed", problem) };
  hardenProcessEvent(app, harden);
  if (o.mode === "socket") hardenSocketMode(app, harden);

  // 2. One workspace only; refusals are audited and explained.
  app.use(async (args: AnyMiddlewareArgs & AllMiddlewareArgs) => {
    const body = args.body as unknown as Record<string, unknown>;
    const foreign = requestTeams(body).filter((t) => t !== bot.teamId);
    if (foreign.length === 0) return args.next();
    const user = who(body);
    log.warn("refused a request from another workspace", { teams: foreign, user, type: body.type ?? body.command });
    await audit(bot, user, "refused", `team:${foreign.join(",")}`, `request from another workspace (${String(body.type ?? body.command ?? "event")})`).catch((err: unknown) =>
      log.error("audit failed", { err }),
    );
    const a = args as unknown as { ack?: (m?: unknown) => Promise<void>; respond?: RespondFn };
    const text = ":no_entry: trailhound only works in the workspace it belongs to.";
    if ("command" in args) return a.ack?.({ response_type: "ephemeral", text });
    if (a.ack) await a.ack();
    if ("action" in args && a.respond && body.response_url) await a.respond({ response_type: "ephemeral", replace_original: false, text }).catch(() => undefined);
  });

  app.command(COMMAND, async (args) => {
    await handleCloudtrail(bot, args as unknown as CommandArgs);
  });
  registerFindingActions(app, bot);
  const contain = registerContainActions(app, bot);
  registerHome(app, bot);

  return { app, bot, contain, ...(receiver ? { receiver } : {}) };
}
