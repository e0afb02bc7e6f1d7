/**
 * The only file that wires real implementations together for the bot.
 *
 *   serve(env)                 `trailhound serve`: config, logger, store, bot, signal handlers
 *   startBot(config, deps)     start the Slack app with the given ports (tests pass in-memory ones)
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { webApi, type App } from "@slack/bolt";
import { loadConfig, type Config } from "./config.js";
import { createDigestScheduler, type DigestScheduler } from "./digest/index.js";
import { createSqsPush } from "./digest/push.js";
import type { SqsPort } from "./sources/sqs.js";
import { createScanService, type LiveScanOptions, type SourceFactory } from "./app/scan-service.js";
import { liveSourceFactory, parseLiveSource } from "./sources/aws-cli.js";
import { defaultGeoResolver } from "./geo/default.js";
import type { GeoResolver } from "./geo/types.js";
import { createLogger, toBoltLogger, type Log } from "./log.js";
import { createSlackApp, healthzHandler } from "./slack/app.js";
import { installProcessGuards } from "./slack/robust.js";
import type { Bot, BotSettings } from "./slack/context.js";
import type { BotStore, DigestSchedule, ScanService } from "./slack/ports.js";
import { TrailStore } from "./store/store.js";
import { slackDispatcher } from "./net.js";
import { networkProblem } from "./net-errors.js";
import { buildResponder, guardOf, type RespondSettings, type ResponderWiring } from "./respond/wiring.js";
import type { RespondContext } from "./slack/context.js";
import { containState } from "./slack/actions/common.js";
import type { Finding } from "./scan/report-types.js";
import { deadLetterPath, Notifier } from "./notify/index.js";
import { sdkStsFactory } from "./sources/aws-accounts.js";
import { VERSION } from "./version.js";
import { pruneSettingsFromEnv, startPruneSchedule } from "./store/prune-schedule.js";

export interface BotDeps {
  store: BotStore;
  scans: ScanService;
  log?: Log;
  /** The digest scheduler's view of its schedule (Home tab); default: from the config. */
  digest?: DigestSchedule;
  /** /healthz: false when the store cannot save (its last write failed). */
  storeHealthy?: () => boolean;
  /** Called last when stopping (flush and close the store). */
  onShutdown?: () => Promise<void> | void;
  now?: () => number;
  /** Extra Web API client options (tests: `retryConfig: { retries: 0 }`). */
  clientOptions?: webApi.WebClientOptions;
  settings?: Partial<BotSettings>;
  maxConcurrentScans?: number;
  maxQueuedScans?: number;
  /** Outbound notifications (dead letters shown by /cloudtrail status). */
  notifier?: Pick<Notifier, "deadLetters" | "delivered" | "enabled">;
  /** Athena baselines (TRAILHOUND_SOURCE=athena): shown by /cloudtrail status. */
  athena?: { status(): import("./athena/bot.js").AthenaRefreshStatus };
  /** Containment wiring overrides (tests: IAM/STS SDK attempts, the finding's events). */
  respond?: Partial<Omit<ResponderWiring, "store" | "settings">>;
}

export interface RunningBot {
  mode: "http" | "socket";
  /** The bound port: HTTP receiver, or the /healthz server in Socket Mode (when PORT is set). */
  port?: number;
  /** The workspace served. */
  teamId: string;
  app: App;
  bot: Bot;
  /** Stop receiving, abort running scans (their messages say so), then `onShutdown`. Idempotent. */
  stop(): Promise<void>;
}

/** A start-up problem the operator must fix (the CLI prints it and exits with the usage code). */
class StartError extends Error {
  readonly code = "config";
}

export async function startBot(config: Config, deps: BotDeps): Promise<RunningBot> {
  const log = deps.log ?? createLogger({ level: config.logLevel });
  const clientOptions: webApi.WebClientOptions = { ...deps.clientOptions };
  // One auth.test: checks the token, names the workspace, and spares Bolt its own call.
  const probe = new webApi.WebClient(config.slack.botToken, {
    ...(config.slack.apiUrl ? { slackApiUrl: config.slack.apiUrl } : {}),
    // Fail within seconds at start rather than retry for minutes.
    retryConfig: { retries: 2 },
    logger: toBoltLogger(log),
    ...clientOptions,
  });
  let who: { team_id?: string; user_id?: string; bot_id?: string };
  try {
    who = await probe.auth.test();
  } catch (err) {
    const refused = (err as { data?: { error?: string } }).data?.error;
    if (refused) throw new StartError(`Slack refused SLACK_BOT_TOKEN (${refused}): copy the Bot User OAuth Token (xoxb-...) from api.slack.com/apps -> OAuth & Permissions`);
    // What failed underneath ("fetch failed" says nothing): DNS, a proxy, a refusal, a timeout.
    const net = networkProblem(err);
    throw new StartError(
      `Could not reach Slack at ${config.slack.apiUrl ?? "https://slack.com/api/"} to check the token (${err instanceof Error ? err.message : String(err)}): ` +
        (net ?? "check the network, a proxy (HTTPS_PROXY), or SLACK_API_URL"),
    );
  }
  const tokenTeam = who.team_id ?? "";
  if (config.slack.teamId && tokenTeam && config.slack.teamId !== tokenTeam) {
    throw new StartError(`TRAILHOUND_TEAM_ID is ${config.slack.teamId} but SLACK_BOT_TOKEN belongs to workspace ${tokenTeam}: fix one of them`);
  }
  const teamId = config.slack.teamId ?? tokenTeam;

  // Containment: on when TRAILHOUND_RESPONDERS names someone.
  let respond: RespondContext | undefined;
  const rc = config.respond;
  if (rc.responders.users.length + rc.responders.groups.length > 0) {
    const settings = respondSettingsOf(config);
    respond = {
      responder: buildResponder({ ...deps.respond, store: deps.store, settings, ...(deps.now ? { now: deps.now } : {}) }),
      guard: guardOf(settings),
      ...(rc.approvalMinutes ? { approvalMinutes: rc.approvalMinutes } : {}),
    };
  }

  // /healthz answers 503 when the store cannot save or the Socket Mode connection is down.
  let socketUp = true;
  const checks = (): Record<string, boolean> => ({
    store: deps.storeHealthy?.() ?? true,
    ...(config.slack.mode === "socket" ? { slack: socketUp } : {}),
  });
  const { app, bot, receiver, contain } = createSlackApp({
    health: checks,
    ...(config.slack.mode === "socket" && slackDispatcher() ? { socketDispatcher: slackDispatcher() } : {}),
    botToken: config.slack.botToken,
    mode: config.slack.mode,
    ...(config.slack.signingSecret ? { signingSecret: config.slack.signingSecret } : {}),
    ...(config.slack.appToken ? { appToken: config.slack.appToken } : {}),
    ...(config.slack.apiUrl ? { apiUrl: config.slack.apiUrl } : {}),
    clientOptions,
    teamId,
    ...(who.user_id && who.bot_id ? { botUserId: who.user_id, botId: who.bot_id } : {}),
    admins: config.admins,
    ...(config.viewers ? { viewers: config.viewers } : {}),
    ...(config.channels ? { channels: config.channels } : {}),
    maxScansPerUser: config.maxScansPerUser,
    ackAnyone: config.ackAnyone,
    responders: rc.responders,
    ...(respond ? { respond } : {}),
    ...(deps.notifier ? { notifier: deps.notifier } : {}),
    ...(deps.athena ? { athena: deps.athena } : {}),
    store: deps.store,
    scans: deps.scans,
    digest: deps.digest ?? {
      nextRun: () => null,
      ...(config.digest.channel ? { channel: config.digest.channel } : {}),
      cron: config.digest.cron,
      tz: config.digest.tz,
    },
    log,
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.settings ? { settings: deps.settings } : {}),
    ...(deps.maxConcurrentScans !== undefined ? { maxConcurrentScans: deps.maxConcurrentScans } : {}),
    ...(deps.maxQueuedScans !== undefined ? { maxQueuedScans: deps.maxQueuedScans } : {}),
  });
  if (!bot.authz.hasAdmins) log.warn("TRAILHOUND_ADMINS is empty: nobody can suppress or unsuppress findings");
  if (!config.viewers) log.warn("TRAILHOUND_VIEWERS is not set: only admins may run scans, see findings or read baselines");
  for (const d of config.digests) {
    if (config.channels && !config.channels.includes(d.channel)) log.warn("a digest channel is not in TRAILHOUND_CHANNELS; digests are still posted there", { channel: d.channel });
  }

  let port: number | undefined;
  let health: Server | undefined;
  if (receiver) {
    const server = (await app.start(config.slack.port ?? 3000)) as Server;
    port = (server.address() as AddressInfo).port;
  } else {
    await app.start();
    // Bolt's SocketModeReceiver keeps its SocketModeClient (an EventEmitter of connection states).
    const sock = (app as unknown as { receiver?: { client?: { on(ev: string, fn: () => void): void } } }).receiver?.client;
    sock?.on("connected", () => void (socketUp = true));
    for (const ev of ["close", "disconnected", "reconnecting"]) sock?.on(ev, () => void (socketUp = false));
    if (config.slack.port !== undefined) {
      const handler = healthzHandler("socket", bot.runner, checks);
      health = createServer((req, res) => {
        if (req.method === "GET" && req.url?.split("?")[0] === "/healthz") return handler(req, res);
        res.writeHead(404);
        res.end();
      });
      await new Promise<void>((resolve, reject) => {
        health!.once("error", reject);
        health!.listen(config.slack.port, resolve);
      });
      port = (health.address() as AddressInfo).port;
    }
  }
  log.info("trailhound bot started", { mode: config.slack.mode, port, team: teamId, admins: config.admins.users.length + config.admins.groups.length });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info("stopping the bot");
      await app.stop().catch((err: unknown) => log.error("app.stop failed", { err }));
      if (health) await new Promise<void>((r) => health!.close(() => r()));
      contain.stop();
      await bot.runner.shutdown("trailhound is shutting down");
      await deps.onShutdown?.();
      log.info("bot stopped");
    })());
  return { mode: config.slack.mode, ...(port !== undefined ? { port } : {}), teamId, app, bot, stop };
}

/** How long a stop may take before the process exits anyway: under Docker's 10 s before SIGKILL. */
export const SHUTDOWN_GRACE_MS = 8_000;

/** SIGTERM/SIGINT: stop cleanly (store flushed by onShutdown), exit; give up after `graceMs`. */
export function installSignalHandlers(bot: RunningBot, log: Log, graceMs = SHUTDOWN_GRACE_MS): void {
  const onSignal = (sig: NodeJS.Signals) => {
    log.info("signal received", { sig });
    const t = setTimeout(() => {
      log.error("shutdown took too long; exiting");
      process.exit(1);
    }, graceMs);
    t.unref();
    bot.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error("shutdown failed", { err });
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
}

/** The containment settings of the configuration (the bot's and its digests'). */
function respondSettingsOf(config: Config): RespondSettings {
  const rc = config.respond;
  return {
    responderRoleArns: rc.roleArns,
    scanRoleArns: config.aws.roleArns,
    protectedArns: rc.protectedArns,
    ...(config.aws.profile ? { profile: config.aws.profile } : {}),
    ...(rc.approvalMinutes ? { approvalWindowMs: rc.approvalMinutes * 60_000 } : {}),
  };
}

/** `trailhound serve`. `digestSources`: where digest scans read (default LookupEvents). */
export async function serve(
  env: NodeJS.ProcessEnv = process.env,
  wiring: {
    scans?: ScanService;
    digestSources?: SourceFactory;
    securityHub?: import("./notify/securityhub.js").SecurityHubFactory;
    sqs?: SqsPort;
    sqsWaitSeconds?: number;
    /** TRAILHOUND_SOURCE=athena: the query runner (tests: DuckDB or a fake; default the SDK's). */
    athenaRunner?: import("./athena/client.js").QueryRunner;
  } = {},
): Promise<RunningBot> {
  const config = loadConfig(env);
  const log = createLogger({ level: config.logLevel });
  // A rejection nobody handled (a bug in a handler's background work) is logged; the bot goes on.
  installProcessGuards(log);
  const pruning = pruneSettingsFromEnv(env);
  const store = await TrailStore.open(config.dataDir, { onWarning: (m) => log.warn(m) });
  // Off the request path: the first /cloudtrail status would otherwise decode every baseline's active days before its ack.
  store.warmBaselineFacts().catch((err: unknown) => log.warn("warming the baselines' facts failed", { err }));
  const notifier = new Notifier({ settings: config.notify, getFinding: (id) => store.getFinding(id), log, deadLetterFile: deadLetterPath(config.dataDir) });
  if (notifier.enabled) store.onChange(notifier.handle);
  // Security Hub (TRAILHOUND_SECURITYHUB=on): the findings of every scan, and their state changes.
  if (config.securityHub.auto) {
    const { SecurityHubSync, securityHubFactory } = await import("./notify/securityhub.js");
    const sh = config.securityHub;
    const factory =
      wiring.securityHub ??
      securityHubFactory({
        roleArns: sh.roleArns,
        sts: sdkStsFactory({ region: "us-east-1", ...(sh.profile ? { profile: sh.profile } : {}) }),
        ...(sh.profile ? { profile: sh.profile } : {}),
      });
    const sync = new SecurityHubSync({
      settings: sh,
      factory,
      getFinding: (id) => {
        const f = store.getFinding(id);
        return f ? { finding: f.finding, status: f.status } : undefined;
      },
      log,
      version: VERSION,
    });
    store.onChange(sync.handle);
    log.info("Security Hub export on", { region: sh.region ?? "each finding's region", minSeverity: sh.minSeverity });
  }
  // Bounded growth: prune a minute after start, then daily (TRAILHOUND_PRUNE_DAYS=off: never).
  const pruner = pruning ? startPruneSchedule(store, pruning, log) : undefined;
  // One geo resolver and one scan service for slash commands and digests alike.
  let geo: GeoResolver | undefined;
  try {
    geo = await defaultGeoResolver(env);
  } catch (err) {
    log.warn("scans run without geography (no GeoIP data)", { err });
  }
  const live: LiveScanOptions = { store, sourceFactory: wiring.digestSources ?? liveSourceFactory(env, wiring.athenaRunner ? { athenaRunner: wiring.athenaRunner } : {}) };
  if (geo) live.geo = geo;
  // TRAILHOUND_SOURCE=athena: baselines aggregated in Athena on a schedule, saved in the store.
  let athena: import("./athena/bot.js").AthenaBaselineRefresher | undefined;
  if (parseLiveSource(env.TRAILHOUND_SOURCE).kind === "athena") {
    const { AthenaBaselineRefresher, athenaBotSettings, athenaRunner } = await import("./athena/bot.js");
    const { settings, problems } = athenaBotSettings(env);
    // loadConfig has listed any problem already.
    if (!settings) throw new Error(problems.map((p) => `${p.setting}: ${p.message}`).join("; "));
    athena = new AthenaBaselineRefresher({
      store,
      runner: wiring.athenaRunner ?? athenaRunner(settings.athena),
      settings,
      ...(geo ? { geo } : {}),
      log: log.child({ src: "athena" }),
    });
  }
  const scans = wiring.scans ?? createScanService(live);
  let bot: RunningBot;
  // Digests (src/digest): scheduled once the bot is up, stopped before the store closes; the
  // Home tab shows their next run.
  let digests: DigestScheduler | undefined;
  let push: ReturnType<typeof createSqsPush>;
  try {
    // Contain… on the findings digests and alerts post, as on scan results (containment on).
    const rc = config.respond;
    const guard = rc.responders.users.length + rc.responders.groups.length > 0 ? guardOf(respondSettingsOf(config)) : undefined;
    digests = await createDigestScheduler({
      ...(guard ? { containState: (f: Finding) => containState({ respond: { guard }, store }, f) } : {}),
      schedules: config.digests,
      botToken: config.slack.botToken,
      ...(config.slack.apiUrl ? { apiUrl: config.slack.apiUrl } : {}),
      store,
      log,
      env,
      ...(wiring.digestSources ? { sourceFactory: wiring.digestSources } : {}),
      ...(geo ? { geo } : {}),
    });
    // New files pushed through SQS (TRAILHOUND_SQS_QUEUE_URL) start alert runs as they land.
    push = digests
      ? createSqsPush({
          env,
          store,
          scheduler: digests,
          log,
          ...(wiring.sqs ? { client: wiring.sqs } : {}),
          ...(wiring.sqsWaitSeconds !== undefined ? { waitTimeSeconds: wiring.sqsWaitSeconds } : {}),
        })
      : undefined;
    const stopDigests = digests ? async () => (await push?.stop(), await digests!.stop()) : () => undefined;
    bot = await startBot(config, {
      store,
      scans,
      log,
      storeHealthy: () => !store.writeFailing,
      notifier,
      ...(digests ? { digest: digests } : {}),
      ...(athena ? { athena } : {}),
      onShutdown: async () => {
        pruner?.stop();
        await athena?.stop();
        await stopDigests();
        await store.close();
      },
    });
  } catch (err) {
    pruner?.stop();
    await digests?.stop();
    await store.close();
    throw err;
  }
  digests?.start().catch((err: unknown) => log.error("digest start-up (resend, catch-up) failed", { err }));
  if (athena) {
    athena.start();
    const s = athena.stored();
    log.info("baselines from Athena", { horizon: s ? new Date(s.horizon).toISOString() : "none yet: aggregating now", every: env.TRAILHOUND_ATHENA_BASELINE_EVERY ?? "1d" });
  }
  if (push) {
    push.start();
    log.info("new S3 files are read as their notifications arrive (SQS)", { queue: env.TRAILHOUND_SQS_QUEUE_URL });
  }
  installSignalHandlers(bot, log);
  return bot;
}
