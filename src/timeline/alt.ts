/**
 * The timeline in words: the alt text of the image in Slack (and the HTML report's <desc>), and
 * what `trailhound timeline` prints. Plain text, at most ALT_MAX characters (Slack's `alt_txt`
 * limit is 1000), the same figures as the picture.
 */
import { HOUR } from "../baseline/profile.js";
import type { Timeline } from "./model.js";
import { dayLabel, timeLabel } from "./svg.js";

export const ALT_MAX = 1000;

const int = (x: number) => Math.round(x).toLocaleString("en-US");
const num = (x: number) => (x >= 10 ? int(x) : String(Math.round(x * 10) / 10));
const plural = (n: number, one: string, many = one + "s") => `${int(n)} ${n === 1 ? one : many}`;

/** One line without control characters, cut to `max` code points. */
function flat(s: string, max: number): string {
  const cps = [
    ...s
      .replace(/[\u0000-\u001F\u007F\u202A-\u202E\u2066-\u2069]/g, " ")
      .replace(/\s+/g, " ")
      .trim(),
  ];
  return cps.length <= max ? cps.join("") : cps.slice(0, max - 1).join("") + "…";
}

export function timelineAltText(t: Timeline, max = ALT_MAX): string {
  const parts: string[] = [];
  parts.push(
    `Bar chart of hourly API calls by ${flat(t.identity.label, 60)} (${flat(t.identity.key, 90)}) from ${dayLabel(t.start)} to ${dayLabel(t.end - 1)} UTC: ` +
      `${plural(t.totals.calls, "call")}, ${plural(t.totals.errors, "error")}.`,
  );
  if (t.peak) {
    const b = t.band.find((x) => x.h === t.peak!.h);
    const usual = !b ? "" : b.hi === 0 ? " (usually none at that hour)" : ` (usual for that hour: ${num(b.lo)} to ${num(b.hi)})`;
    parts.push(`Busiest hour ${timeLabel(t.peak.h * HOUR)}: ${plural(t.peak.calls, "call")}, ${plural(t.peak.errors, "error")}${usual}.`);
  }
  if (t.band.length) {
    const his = t.band.slice(0, 24).map((b) => b.hi);
    const top = Math.max(...his);
    parts.push(`Usual band from ${num(t.baselineDays)} days before the window: ${top > 0 ? `up to ${num(top)} calls an hour` : "idle at every hour"}.`);
  } else parts.push("No usual band: too little history before the window.");
  parts.push(`Detection window ${timeLabel(t.window.start)} to ${timeLabel(t.window.end)}: ${plural(t.totals.windowCalls, "call")}, ${plural(t.totals.windowErrors, "error")}.`);
  if (t.markers.length === 0) parts.push("No findings.");
  else {
    const listed = t.markers.slice(0, 4).map((m) => `${m.n} ${m.severity} at ${timeLabel(m.first)}: ${flat(m.title, 70)}${m.failed ? " (failed)" : ""}`);
    const more = t.markers.length - listed.length;
    parts.push(`${plural(t.markers.length, "finding")}: ${listed.join("; ")}${more > 0 ? `; and ${more} more` : ""}.`);
  }
  const news = t.newValues.map((nv) => {
    const shown = nv.values.slice(0, 4).map((v) => flat(v, 40));
    const more = nv.values.length - shown.length;
    return `${nv.label.toLowerCase()} ${shown.join(", ")}${more > 0 ? ` and ${more} more` : ""}`;
  });
  if (news.length) parts.push(`New in the window: ${news.join("; ")}.`);
  for (const n of t.notes) parts.push(`Note: ${flat(n, 150)}.`);
  const text = parts.join(" ");
  return flat(text, max);
}
