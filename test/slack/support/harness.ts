/**
 * The real bot (Bolt HTTP receiver via startBot) on a random port, a fake Slack behind it, an
 * in-memory TrailStore and a controllable ScanService; plus builders for requests exactly as Slack
 * sends them (form-encoded, signed, `payload=` for interactions).
 */
import { FakeSlack } from "../../../src/testing/fake-slack.js";
import { formEncode, postSigned, slashCommandBody, type HttpResult } from "../../../src/testing/slack-wire.js";
import { loadConfig } from "../../../src/config.js";
import { silentLogger, type Log } from "../../../src/log.js";
import { startBot, type BotDeps, type RunningBot } from "../../../src/main.js";
import { TrailStore } from "../../../src/store/store.js";
import { FakeScans } from "./fixtures.js";

export { httpRequest, sign, type HttpResult } from "../../../src/testing/slack-wire.js";

export const SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
export const TEAM = "T0TEST";
export const CHANNEL = "C0TEST";
export const ADMIN = "U0ADMIN";
export const USER = "U0USER";

export interface SendOptions {
  ts?: number;
  secret?: string;
  signature?: string;
  contentType?: string;
}

export interface CommandOptions {
  user?: string;
  team?: string;
  channel?: string;
  responseId?: string;
}

export interface TestBot {
  running: RunningBot;
  fake: FakeSlack;
  store: TrailStore;
  scans: FakeScans;
  base: string;
  /** POST a signed body to /slack/events. */
  post(body: string, opts?: SendOptions): Promise<HttpResult>;
  commandBody(text: string, opts?: CommandOptions): string;
  command(text: string, opts?: CommandOptions & SendOptions): Promise<HttpResult>;
  interaction(payload: Record<string, unknown>, opts?: SendOptions): Promise<HttpResult>;
  stop(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  deps?: Partial<BotDeps>;
  log?: Log;
  groups?: Record<string, string[]>;
}

export async function startTestBot(o: StartOptions = {}): Promise<TestBot> {
  const fake = await new FakeSlack().start();
  for (const [g, users] of Object.entries(o.groups ?? {})) fake.groups.set(g, users);
  const store = TrailStore.memory();
  const scans = new FakeScans(store);
  const config = loadConfig({
    SLACK_BOT_TOKEN: "xoxb-test-token",
    SLACK_SIGNING_SECRET: SECRET,
    PORT: "0",
    SLACK_API_URL: fake.apiUrl,
    TRAILHOUND_TEAM_ID: TEAM,
    TRAILHOUND_ADMINS: ADMIN,
    TRAILHOUND_VIEWERS: "*",
    ...o.env,
  });
  let shutdowns = 0;
  const running = await startBot(config, {
    store,
    scans,
    log: o.log ?? silentLogger,
    clientOptions: { retryConfig: { retries: 0 } },
    settings: { progressIntervalMs: 10, threadPostIntervalMs: 0 },
    onShutdown: () => {
      shutdowns++;
    },
    ...o.deps,
  });
  const base = `http://127.0.0.1:${running.port}`;
  const post = (body: string, s: SendOptions = {}) => postSigned(`${base}/slack/events`, body, s.secret ?? SECRET, s);
  let responseIds = 0;
  const commandBody = (text: string, c: CommandOptions = {}) =>
    slashCommandBody({
      text,
      team: c.team ?? TEAM,
      channel: c.channel ?? CHANNEL,
      user: c.user ?? USER,
      responseUrl: fake.responseUrl(c.responseId ?? `cmd${++responseIds}`),
      triggerId: `123.456.${responseIds}`,
    });
  return {
    running,
    fake,
    store,
    scans,
    base,
    post,
    commandBody,
    command: (text, c = {}) => post(commandBody(text, c), c),
    interaction: (payload, s = {}) => post(formEncode({ payload: JSON.stringify(payload) }), s),
    async stop() {
      await running.stop();
      await fake.stop();
      if (shutdowns !== 1) throw new Error(`onShutdown called ${shutdowns} times`);
    },
  };
}

/** The Events API body Slack sends when a user opens the app's Home tab (JSON, not form-encoded). */
export function homeOpened(eventId: string, user = USER, team = TEAM): string {
  return JSON.stringify({
    token: "vtok123",
    team_id: team,
    api_app_id: "A0TEST",
    event: { type: "app_home_opened", user, channel: "D0DM", tab: "home", event_ts: "1700000000.1" },
    type: "event_callback",
    event_id: eventId,
    event_time: 1700000000,
    authorizations: [{ enterprise_id: null, team_id: team, user_id: "U0BOT", is_bot: true, is_enterprise_install: false }],
  });
}

/** A block_actions payload for a button in a channel message, as Slack sends it. */
export function buttonClick(
  fake: FakeSlack,
  a: {
    actionId: string;
    value: string;
    blockId: string;
    user?: string;
    team?: string;
    message?: { ts: string; text: string; blocks: unknown[]; thread_ts?: string };
    channel?: string;
    view?: boolean;
  },
): Record<string, unknown> {
  const user = a.user ?? USER;
  const team = a.team ?? TEAM;
  const channel = a.channel ?? CHANNEL;
  const action = {
    action_id: a.actionId,
    block_id: a.blockId,
    text: { type: "plain_text", text: "Button", emoji: true },
    value: a.value,
    type: "button",
    action_ts: "1700000050.123456",
  };
  if (a.view) {
    return {
      type: "block_actions",
      user: { id: user, username: "alice", name: "alice", team_id: team },
      api_app_id: "A0TEST",
      token: "vtok123",
      container: { type: "view", view_id: "V0HOME" },
      trigger_id: "123.456.home",
      team: { id: team, domain: "acme" },
      enterprise: null,
      is_enterprise_install: false,
      view: { id: "V0HOME", type: "home", blocks: [], team_id: team },
      actions: [action],
    };
  }
  const msg = a.message!;
  return {
    type: "block_actions",
    user: { id: user, username: "alice", name: "alice", team_id: team },
    api_app_id: "A0TEST",
    token: "vtok123",
    container: { type: "message", message_ts: msg.ts, channel_id: channel, is_ephemeral: false },
    trigger_id: "123.456.def",
    team: { id: team, domain: "acme" },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channel, name: "security" },
    message: {
      type: "message",
      user: "U0BOT",
      bot_id: "B0BOT",
      app_id: "A0TEST",
      text: msg.text,
      ts: msg.ts,
      team,
      blocks: msg.blocks,
      ...(msg.thread_ts ? { thread_ts: msg.thread_ts } : {}),
    },
    state: { values: {} },
    response_url: fake.responseUrl(`act-${a.actionId}-${user}`),
    actions: [action],
  };
}

/** A view_submission payload of a modal, as Slack sends it. */
export function viewSubmission(v: {
  team?: string;
  user: { id: string; name: string };
  triggerId: string;
  viewId: string;
  callbackId: string;
  title: string;
  privateMetadata: string;
  values: Record<string, unknown>;
}): Record<string, unknown> {
  const team = v.team ?? TEAM;
  return {
    type: "view_submission",
    team: { id: team, domain: "acme" },
    user: { id: v.user.id, username: v.user.name, name: v.user.name, team_id: team },
    api_app_id: "A0TEST",
    token: "vtok123",
    trigger_id: v.triggerId,
    view: {
      id: v.viewId,
      team_id: team,
      type: "modal",
      callback_id: v.callbackId,
      private_metadata: v.privateMetadata,
      blocks: [],
      title: { type: "plain_text", text: v.title },
      state: { values: v.values },
      hash: "1700000100.abc",
      previous_view_id: null,
      root_view_id: v.viewId,
      app_id: "A0TEST",
      external_id: "",
      app_installed_team_id: TEAM,
      bot_id: "B0BOT",
      clear_on_close: false,
      notify_on_close: false,
    },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}

/** A view_submission payload for the suppress modal, as Slack sends it. */
export function suppressSubmission(a: {
  privateMetadata: string;
  user?: string;
  team?: string;
  scope?: string | null;
  duration?: string | null;
  date?: string | null;
  reason?: string | null;
}): Record<string, unknown> {
  const opt = (v: string | null | undefined) => (v ? { text: { type: "plain_text", text: v, emoji: true }, value: v } : null);
  return viewSubmission({
    ...(a.team !== undefined ? { team: a.team } : {}),
    user: { id: a.user ?? ADMIN, name: "admin" },
    triggerId: "123.456.ghi",
    viewId: "V0MODAL",
    callbackId: "suppress_modal",
    title: "Suppress",
    privateMetadata: a.privateMetadata,
    values: {
      scope: { scope_sel: { type: "static_select", selected_option: opt(a.scope === undefined ? "identity-detector" : a.scope) } },
      duration: { duration_sel: { type: "static_select", selected_option: opt(a.duration === undefined ? "1d" : a.duration) } },
      until: { until_date: { type: "datepicker", selected_date: a.date ?? null } },
      reason: { reason_in: { type: "plain_text_input", value: a.reason === undefined ? "known CI role" : a.reason } },
    },
  });
}
