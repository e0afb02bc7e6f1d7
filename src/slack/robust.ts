/**
 * What keeps the bot answering whatever a signed (or Socket Mode) request holds:
 *
 * - `hardenProcessEvent(app)`: before Bolt looks at a body, its shape is checked (an object; a
 *   slash command with string fields; block_actions with a user and a list of actions that have
 *   an action_id; a view with a callback_id; an event with a type). A malformed one is acked at
 *   once, logged and reported, and goes no further. After Bolt is done, a request nobody acked
 *   (an unknown action id, callback id or command) is acked at once instead of Bolt's 404 three
 *   seconds later. An error thrown by a listener is logged; it never reaches the receiver.
 * - `AuditLimiter`: refusals of unauthenticated or malformed requests are audited, but at most
 *   `perMinute` a minute, so that a flood cannot fill the audit log (the rest are counted, and
 *   the next entry says how many were not recorded one by one).
 * - `installProcessGuards`: an unhandled rejection anywhere is logged and the process goes on.
 */
import type { App } from "@slack/bolt";
import type { Log } from "../log.js";

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === "string";

/** What is wrong with a body's shape, or undefined when listeners can rely on it. */
export function shapeProblem(body: unknown): string | undefined {
  if (!isObj(body)) return `the body is ${body === null ? "null" : Array.isArray(body) ? "an array" : typeof body}, not an object`;
  if (body.command !== undefined) {
    for (const f of ["command", "user_id", "channel_id", "team_id"]) if (!isStr(body[f])) return `slash command without a string ${f}`;
    if (body.text !== undefined && !isStr(body.text)) return "slash command text is not a string";
    if (body.response_url !== undefined && !isStr(body.response_url)) return "slash command response_url is not a string";
    return undefined;
  }
  const type = body.type;
  if (!isStr(type)) return "no type";
  const user = body.user;
  switch (type) {
    case "block_actions": {
      if (!isObj(user) || !isStr(user.id)) return "block_actions without a user id";
      if (!Array.isArray(body.actions) || body.actions.length === 0) return "block_actions without actions";
      for (const a of body.actions) if (!isObj(a) || !isStr(a.action_id)) return "an action without an action_id";
      if (body.container !== undefined && !isObj(body.container)) return "container is not an object";
      if (body.message !== undefined && body.message !== null && (!isObj(body.message) || (body.message.blocks !== undefined && !Array.isArray(body.message.blocks))))
        return "message is not an object with a list of blocks";
      if (body.channel !== undefined && body.channel !== null && !isObj(body.channel)) return "channel is not an object";
      if (body.response_url !== undefined && !isStr(body.response_url)) return "response_url is not a string";
      return undefined;
    }
    case "view_submission":
    case "view_closed": {
      if (!isObj(user) || !isStr(user.id)) return `${type} without a user id`;
      const view = body.view;
      if (!isObj(view) || !isStr(view.callback_id)) return `${type} without a view callback_id`;
      if (view.private_metadata !== undefined && !isStr(view.private_metadata)) return "private_metadata is not a string";
      if (type === "view_submission" && (!isObj(view.state) || !isObj(view.state.values))) return "view_submission without state values";
      return undefined;
    }
    case "event_callback": {
      const e = body.event;
      if (!isObj(e) || !isStr(e.type)) return "event_callback without an event type";
      if (e.user !== undefined && !isStr(e.user) && !isObj(e.user)) return "event user is neither a string nor an object";
      return undefined;
    }
    default:
      // Shortcuts, options, legacy interactive messages...: no listener here, acked below.
      return undefined;
  }
}

/** A short description of what a body asks for (logs, audit). */
export function describeRequest(body: unknown): string {
  if (!isObj(body)) return "?";
  if (isStr(body.command)) return `command ${body.command}`;
  if (body.type === "block_actions" && Array.isArray(body.actions)) {
    const a = body.actions[0] as Json | undefined;
    return `action ${isObj(a) && isStr(a.action_id) ? a.action_id : "?"}`;
  }
  if (isObj(body.view) && isStr(body.view.callback_id)) return `${String(body.type)} ${body.view.callback_id}`;
  if (isObj(body.event) && isStr(body.event.type)) return `event ${body.event.type}`;
  return `type ${String(body.type ?? "?")}`;
}

export interface HardenOptions {
  log: Log;
  /** A malformed body was refused (already acked). */
  onMalformed?: (problem: string, body: unknown) => void;
}

type ProcessEvent = App["processEvent"];
type ReceiverEvent = Parameters<ProcessEvent>[0];

export function hardenProcessEvent(app: App, o: HardenOptions): void {
  const original: ProcessEvent = app.processEvent.bind(app);
  app.processEvent = async (event: ReceiverEvent): Promise<void> => {
    let acked = false;
    const ack: ReceiverEvent["ack"] = async (response) => {
      acked = true;
      return event.ack(response);
    };
    const ackNow = async (why: string) => {
      if (acked) return;
      try {
        await ack();
      } catch (err) {
        o.log.debug("late ack failed", { why, err: err instanceof Error ? err.message : String(err) });
      }
    };
    const problem = shapeProblem(event.body);
    if (problem !== undefined) {
      o.log.warn("refused a malformed Slack request", { problem });
      await ackNow("malformed");
      try {
        o.onMalformed?.(problem, event.body);
      } catch (err) {
        o.log.error("recording a malformed request failed", { err });
      }
      return;
    }
    try {
      await original({ ...event, ack });
    } catch (err) {
      // Bolt passed it to app.error (logged there); the receiver never sees it.
      o.log.debug("a request ended with an error", { what: describeRequest(event.body), err: err instanceof Error ? err.message : String(err) });
    }
    if (!acked) {
      o.log.info("no listener acknowledged this request; answered empty", { what: describeRequest(event.body) });
      await ackNow("unhandled");
    }
  };
}

/** At most `perMinute` calls of `write` a minute; the next one allowed says how many were skipped. */
export class AuditLimiter {
  private minute = -1;
  private count = 0;
  private skipped = 0;

  constructor(
    private readonly perMinute = 30,
    private readonly now: () => number = Date.now,
  ) {}

  /** Calls `write(skippedBefore)` when allowed; returns whether it did. */
  run(write: (skippedBefore: number) => void): boolean {
    const m = Math.floor(this.now() / 60_000);
    if (m !== this.minute) {
      this.minute = m;
      this.count = 0;
    }
    if (this.count >= this.perMinute) {
      this.skipped++;
      return false;
    }
    this.count++;
    const skipped = this.skipped;
    this.skipped = 0;
    write(skipped);
    return true;
  }
}

/** Handler for unhandled rejections: log, keep running. Exported for tests. */
export function onUnhandledRejection(log: Log): (reason: unknown) => void {
  return (reason) => log.error("unhandled rejection (the bot keeps running)", { err: reason });
}

/**
 * Process-level guard: an unhandled rejection (a bug in a handler's background work) is logged
 * and the process goes on. An uncaught exception still ends it (its state is unknown): run it
 * under a restart policy (README, Docker). Returns a function that removes the handler.
 */
export function installProcessGuards(log: Log): () => void {
  const handler = onUnhandledRejection(log);
  process.on("unhandledRejection", handler);
  return () => process.off("unhandledRejection", handler);
}

/** What is wrong with a Socket Mode envelope that the socket-mode client itself would trip on. */
export function envelopeProblem(data: unknown, isBinary: unknown): { envelopeId?: string; problem: string } | undefined {
  if (isBinary) return undefined;
  let text: string;
  if (typeof data === "string") text = data;
  else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) text = new TextDecoder().decode(data as ArrayBuffer);
  else return undefined;
  let env: unknown;
  try {
    env = JSON.parse(text);
  } catch {
    return undefined; // the client ignores what does not parse
  }
  if (!isObj(env)) return undefined;
  const envelopeId = isStr(env.envelope_id) ? env.envelope_id : undefined;
  // The client reads payload.event.type of events_api envelopes before anyone can check them.
  if (env.type === "events_api" && (!isObj(env.payload) || !isObj(env.payload.event))) {
    return { ...(envelopeId ? { envelopeId } : {}), problem: "events_api envelope without an event object" };
  }
  return undefined;
}

interface SocketClientLike {
  emit(name: string | symbol, ...args: unknown[]): boolean;
  send(id: string, body?: Record<string, unknown>): Promise<void>;
}

/**
 * Socket Mode: an envelope the socket-mode client would throw on (an events_api envelope without
 * an event object) is acked and refused before the client sees it. Everything else goes on as is.
 */
export function hardenSocketMode(app: App, o: HardenOptions): void {
  const client = (app as unknown as { receiver?: { client?: SocketClientLike } }).receiver?.client;
  if (!client || typeof client.emit !== "function") {
    o.log.warn("Socket Mode client not found: malformed envelopes are left to the client");
    return;
  }
  const emit = client.emit.bind(client);
  client.emit = (name: string | symbol, ...args: unknown[]): boolean => {
    if (name === "ws_message") {
      const bad = envelopeProblem(args[0], args[1]);
      if (bad) {
        o.log.warn("refused a malformed Socket Mode envelope", { problem: bad.problem });
        if (bad.envelopeId) client.send(bad.envelopeId).catch((err: unknown) => o.log.debug("ack of a malformed envelope failed", { err }));
        try {
          o.onMalformed?.(bad.problem, undefined);
        } catch (err) {
          o.log.error("recording a malformed request failed", { err });
        }
        return true;
      }
    }
    return emit(name, ...args);
  };
}
