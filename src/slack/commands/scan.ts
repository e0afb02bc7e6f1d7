/**
 * `/cloudtrail scan …`: ack at once with an ephemeral "working" reply, post a "scanning" message
 * that shows progress, then replace it with the result and continue the rest in its thread.
 * When the bot cannot post in the channel (not a member, a DM), the result goes privately through
 * the command's response_url instead.
 */
import type { RespondFn, webApi } from "@slack/bolt";
import type { Finding, Report } from "../../scan/report-types.js";
import { allow } from "../access.js";
import { audit, type Bot } from "../context.js";
import type { ScanProgress, ScanRequest } from "../ports.js";
import { Throttle, UserLimitError } from "../runner.js";
import { postTimeline } from "../timeline.js";
import { stateOf } from "../views/finding.js";
import { containState } from "../actions/common.js";
import type { SlackMessage } from "../views/limits.js";
import { scanFailedMessage, scanningMessage, scanResultMessages, workingText } from "../views/report.js";
import { esc } from "../views/text.js";
import { describeTarget, describeWindow, type Command } from "./parse.js";

type ScanCommand = Extract<Command, { kind: "scan" }>;

export interface CommandArgs {
  command: { user_id: string; channel_id: string; text: string };
  ack: (msg?: string | (Record<string, unknown> & { text?: string })) => Promise<void>;
  respond: RespondFn;
  client: webApi.WebClient;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const data = (err as { data?: { error?: string } }).data;
    return data?.error ? `${err.message} (${data.error})` : err.message;
  }
  return String(err);
}

/** Where one scan shows up: a channel message it edits, or the command's response_url. */
class ScanSurface {
  private ts: string | undefined;
  private readonly progress: Throttle<ScanProgress>;

  constructor(
    private readonly bot: Bot,
    private readonly client: webApi.WebClient,
    private readonly respond: RespondFn,
    private readonly channel: string,
    private readonly req: ScanRequest,
  ) {
    this.progress = new Throttle(
      (p) => this.client.chat.update({ channel: this.channel, ts: this.ts!, ...scanningMessage(this.req, p) }),
      bot.settings.progressIntervalMs,
      (err) => bot.log.warn("progress update failed", { err }),
    );
  }

  async start(ahead: number): Promise<void> {
    // TRAILHOUND_CHANNELS: elsewhere the result goes privately to whoever asked.
    if (!this.bot.authz.mayPostIn(this.channel)) return;
    try {
      const r = await this.client.chat.postMessage({ channel: this.channel, ...scanningMessage(this.req, undefined, ahead) });
      this.ts = r.ts;
    } catch (err) {
      // Not in the channel, a DM between people, an archived channel…: answer privately instead.
      this.bot.log.info("cannot post in the channel; the result goes through response_url", { channel: this.channel, err: errorText(err) });
    }
  }

  onProgress = (p: ScanProgress): void => {
    if (this.ts) this.progress.push(p);
  };

  async finish(report: Report, signal: AbortSignal): Promise<void> {
    await this.progress.close();
    // Acknowledged or suppressed earlier: shown as such (the store answers synchronously).
    const now = this.bot.now();
    const states = (f: Finding) => ({ ...stateOf(this.bot.store.getFinding(f.id), this.bot.store.matchSuppression(f, now)), ...containState(this.bot, f) });
    const { main, thread } = scanResultMessages(report, this.req, states, this.bot.settings.result);
    if (!this.ts) {
      await this.respond({ response_type: "ephemeral", replace_original: false, text: main.text, blocks: main.blocks });
      if (thread.length > 0) {
        await this.respond({
          response_type: "ephemeral",
          replace_original: false,
          text: this.bot.authz.mayPostIn(this.channel)
            ? "More findings and the JSON report go in a thread when I can post in this channel: `/invite @trailhound` and scan again."
            : "More findings and the JSON report go in a thread only in the channels where trailhound may post results (TRAILHOUND_CHANNELS): scan from one of them to see everything.",
        });
      }
      return;
    }
    await this.edit(main);
    // The timeline of the identity scanned (user or role), first in the thread; never blocks the rest.
    const top = this.req.target.kind === "user" || this.req.target.kind === "role" ? report.identities[0] : undefined;
    if (top && !signal.aborted) await postTimeline(this.bot, this.client, { channel: this.channel, threadTs: this.ts, key: top.key, report });
    for (let i = 0; i < thread.length && !signal.aborted; i++) {
      if (i > 0) await sleep(this.bot.settings.threadPostIntervalMs, signal);
      const m = thread[i]!;
      const r = await this.client.chat.postMessage({
        channel: this.channel,
        thread_ts: this.ts,
        text: m.text,
        ...(m.blocks.length > 0 ? { blocks: m.blocks } : {}),
      });
      if (r.ts && m.blocks.length > 0) this.bot.messages.set(this.channel, r.ts, m.text, m.blocks);
    }
  }

  async fail(message: string): Promise<void> {
    await this.progress.close();
    const msg = scanFailedMessage(this.req, message);
    if (this.ts) await this.edit(msg);
    else await this.respond({ response_type: "ephemeral", replace_original: false, text: msg.text, blocks: msg.blocks });
  }

  private async edit(m: SlackMessage): Promise<void> {
    const ts = this.ts!;
    await this.bot.messages.withLock(this.channel, ts, async () => {
      await this.client.chat.update({ channel: this.channel, ts, text: m.text, blocks: m.blocks });
      this.bot.messages.set(this.channel, ts, m.text, m.blocks);
    });
  }
}

export async function startScan(bot: Bot, args: CommandArgs, cmd: ScanCommand): Promise<void> {
  const { command, ack, respond, client } = args;
  const req: ScanRequest = {
    target: cmd.target,
    ...(cmd.since !== undefined ? { since: cmd.since } : {}),
    ...(cmd.until !== undefined ? { until: cmd.until } : {}),
    requestedBy: command.user_id,
  };
  const target0 = describeTarget(req.target);
  const d = await allow(bot, command.user_id, "view", `scan:${target0}`);
  if (!d.allowed) {
    await ack({ response_type: "ephemeral", text: `:no_entry: ${esc(d.reason)}` });
    return;
  }
  if (!bot.runner.ownerMayQueue(command.user_id)) {
    const text = new UserLimitError(bot.runner.maxPerOwner).message;
    await audit(bot, command.user_id, "refused", `scan:${target0}`, text).catch((err: unknown) => bot.log.error("audit failed", { err }));
    await ack({ response_type: "ephemeral", text: `:hourglass: ${esc(text)}` });
    return;
  }
  if (!bot.runner.accepting) {
    await ack({ response_type: "ephemeral", text: ":hourglass: Too many scans are waiting already; try again in a few minutes." });
    return;
  }
  const { running, waiting } = bot.runner.load;
  const ahead = running >= bot.runner.maxConcurrent ? waiting + 1 : 0;
  await ack({ response_type: "ephemeral", text: workingText(req, ahead) });

  const surface = new ScanSurface(bot, client, respond, command.channel_id, req);
  // Post the "scanning" message on the next turn of the event loop, so that the acks of requests
  // that arrived together go out first (measured with the bench, 5 paired runs under a burst of
  // 50: p99 median 225 ms instead of 321 ms).
  const posted = new Promise<void>((r) => setImmediate(r)).then(() => surface.start(ahead));
  const target = describeTarget(req.target);
  void audit(bot, req.requestedBy, "scan", target, `${describeWindow(req.since, req.until)} in ${command.channel_id}`).catch((err: unknown) =>
    bot.log.error("audit failed", { err }),
  );
  const started = bot.now();
  bot.runner
    .submit(
      async (signal) => {
        await posted;
        let report: Report;
        try {
          if (signal.aborted) throw signal.reason;
          report = await bot.scans.scan(req, surface.onProgress, signal);
        } catch (err) {
          bot.log.error("scan failed", { target, err });
          const msg = signal.aborted ? "interrupted: trailhound is restarting; run it again in a minute" : errorText(err);
          await surface.fail(msg).catch((e: unknown) => bot.log.error("could not report the scan failure", { err: e }));
          return;
        }
        bot.log.info("scan done", { target, ms: bot.now() - started, findings: report.findings.length, by: req.requestedBy });
        // The scan worked; if posting (part of) the result fails, the message keeps what got through.
        await surface.finish(report, signal).catch((err: unknown) => bot.log.error("could not post the whole scan result", { target, err: errorText(err) }));
      },
      undefined,
      req.requestedBy,
    )
    .catch(async (err: unknown) => {
      // Refused before it ran (shutting down, queue full).
      await posted;
      await surface.fail(errorText(err)).catch((e: unknown) => bot.log.error("could not report the scan failure", { err: e }));
    });
}
