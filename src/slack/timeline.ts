/**
 * The activity timeline in a thread: drawn from the store (the identity's profile, findings and
 * the scan's window), uploaded with files.uploadV2 to the conversation (scope files:write), with
 * alt text and a comment that say the same in words. When Slack refuses the upload, a message in
 * the thread says so, with the words; the caller's other posts go on either way.
 */
import type { webApi } from "@slack/bolt";
import type { Report } from "../scan/report-types.js";
import { timelineAltText } from "../timeline/alt.js";
import type { Timeline } from "../timeline/model.js";
import { svgToPng } from "../timeline/png.js";
import { timelineFromReport, timelineFromStore } from "../timeline/source.js";
import { timelineSvg } from "../timeline/svg.js";
import type { Bot } from "./context.js";
import { esc, truncate } from "./views/text.js";

export type TimelinePost = "posted" | "refused" | "no-profile";

export interface TimelineTarget {
  channel: string;
  /** The parent message: the image goes in its thread. */
  threadTs: string;
  key: string;
  /** The scan that just ran (its window and findings); without it, the store's. */
  report?: Report;
  /** Without a report: a time inside the scan window to shade (a finding's last event). */
  at?: number;
}

const HINTS: Record<string, string> = {
  missing_scope: "the app lacks the files:write scope: reinstall it from manifest.yml",
  file_uploads_disabled: "file uploads are turned off in this workspace",
  file_upload_size_restricted: "the workspace limits the size of uploads",
  not_in_channel: "trailhound is not a member of this channel",
  channel_not_found: "trailhound cannot see this conversation",
  restricted_action: "a workspace policy forbids uploads here",
};

function slackError(err: unknown): string {
  const code = (err as { data?: { error?: string } }).data?.error;
  if (code) return HINTS[code] ? `${code}: ${HINTS[code]}` : code;
  return err instanceof Error ? err.message : String(err);
}

/** Build, draw and upload; never throws (a failure is told in the thread and logged). */
export async function postTimeline(bot: Bot, client: webApi.WebClient, o: TimelineTarget): Promise<TimelinePost> {
  let t: Timeline;
  let png: Buffer;
  try {
    const profile = bot.store.getBaseline(o.key);
    if (!profile) {
      bot.log.info("no stored profile: no timeline image", { key: o.key });
      return "no-profile";
    }
    t = o.report ? timelineFromReport(o.report, profile, o.key) : timelineFromStore(bot.store, o.key, { now: bot.now(), ...(o.at !== undefined ? { at: o.at } : {}) });
    png = await svgToPng(timelineSvg(t));
  } catch (err) {
    bot.log.error("could not draw the timeline", { key: o.key, err: err instanceof Error ? err.message : String(err) });
    await tellRefused(bot, client, o, `it could not be drawn (${err instanceof Error ? err.message : String(err)})`, undefined);
    return "refused";
  }
  const alt = timelineAltText(t);
  const title = truncate(`Activity timeline of ${t.identity.label}`, 200);
  try {
    const file = { file: png, filename: "timeline.png", title, alt_text: alt, initial_comment: `:bar_chart: ${esc(alt)}` };
    if (o.threadTs) await client.filesUploadV2({ channel_id: o.channel, thread_ts: o.threadTs, ...file });
    else await client.filesUploadV2({ channel_id: o.channel, ...file });
    return "posted";
  } catch (err) {
    const why = slackError(err);
    bot.log.warn("timeline upload refused", { key: o.key, channel: o.channel, err: why });
    await tellRefused(bot, client, o, `Slack refused the upload (${why})`, alt);
    return "refused";
  }
}

async function tellRefused(bot: Bot, client: webApi.WebClient, o: TimelineTarget, why: string, alt: string | undefined): Promise<void> {
  const text = `:warning: No timeline image: ${esc(why)}.${alt ? ` In words: ${esc(alt)}` : ""}`;
  try {
    await client.chat.postMessage({ channel: o.channel, ...(o.threadTs ? { thread_ts: o.threadTs } : {}), text });
  } catch (err) {
    bot.log.warn("could not say that the timeline is missing", { err: err instanceof Error ? err.message : String(err) });
  }
}
