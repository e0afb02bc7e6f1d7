/**
 * The timeline as an SVG string: one drawing for the PNG (rasterised by png.ts) and for the HTML
 * report (inline). Dark card, so that it reads the same in Slack's light and dark themes; text at
 * least 15 px on a 1200 px canvas, so that it stays legible at Slack's preview size.
 *
 * Everything from CloudTrail (identity names, finding titles, API and network names) is
 * attacker-controlled: it goes through `xmlText` (escaped, control characters dropped) and is cut
 * to a length with the cut said ("+3 more").
 */
import { HOUR } from "../baseline/profile.js";
import type { Severity } from "../events/types.js";
import type { Timeline, TimelineHour, TimelineMarker } from "./model.js";

export const TIMELINE_WIDTH = 1000;

export const PALETTE = {
  bg: "#1a1d21",
  panel: "#22262b",
  grid: "#33383f",
  axis: "#5b616a",
  text: "#e8eaed",
  muted: "#a3a9b1",
  calls: "#5b9cf6",
  errors: "#c58af9",
  band: "#2ec4b6",
  window: "#ffffff",
  severity: {
    critical: "#ff2d6f",
    high: "#ff5a4e",
    medium: "#ff9d3d",
    low: "#f7d046",
    info: "#c9ced6",
  } satisfies Record<Severity, string>,
} as const;

/** Font stack: the bundled Inter for the PNG; the browser's own sans-serif in the HTML report. */
export const FONT_FAMILY = "Inter, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

/**
 * Text for an XML text node or attribute: escaped (& < > " '), characters that XML 1.0 forbids
 * (C0 controls, lone surrogates, U+FFFE/U+FFFF) dropped, bidi overrides dropped (they would let a
 * name render reversed).
 */
export function xmlText(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uFFFE\uFFFF\u202A-\u202E\u2066-\u2069]/g, "")
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "")
    .replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** Cut to `max` characters (code points), with an ellipsis. */
export function clip(s: string, max: number): string {
  const cps = [...s.replace(/\s+/g, " ")];
  return cps.length <= max ? cps.join("") : cps.slice(0, Math.max(1, max - 1)).join("") + "…";
}

const n0 = (x: number) => (Math.round(x * 10) / 10).toString();
const fmtInt = (x: number) => Math.round(x).toLocaleString("en-US");

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
export function dayLabel(ms: number): string {
  const d = new Date(ms);
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;
}
export function timeLabel(ms: number): string {
  const d = new Date(ms);
  return `${dayLabel(ms)} ${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;
}

/** 0 and 3-5 round ticks up to at least `max`. */
export function niceTicks(max: number): number[] {
  if (max <= 0) return [0, 1];
  const raw = max / 4;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const st = Math.max(step, 1);
  const out: number[] = [];
  for (let v = 0; v < max + st * 0.999; v += st) out.push(Math.round(v * 1000) / 1000);
  return out;
}

function fmtTick(v: number): string {
  if (v >= 1_000_000) return `${n0(v / 1_000_000)}M`;
  if (v >= 10_000) return `${n0(v / 1000)}k`;
  return fmtInt(v);
}

interface Cluster {
  x: number;
  markers: TimelineMarker[];
}

/** Markers closer than `gap` px share one triangle (labelled with their numbers). */
function clusterMarkers(markers: readonly TimelineMarker[], x: (ms: number) => number, gap: number): Cluster[] {
  const byX = [...markers].sort((a, b) => a.first - b.first || a.n - b.n);
  const out: Cluster[] = [];
  for (const m of byX) {
    const mx = x(m.first);
    const last = out[out.length - 1];
    if (last && mx - last.x < gap) last.markers.push(m);
    else out.push({ x: mx, markers: [m] });
  }
  return out;
}

function clusterLabel(ms: readonly TimelineMarker[]): string {
  const ns = ms.map((m) => m.n).sort((a, b) => a - b);
  return ns.length <= 3 ? ns.join(",") : `${ns.slice(0, 2).join(",")} +${ns.length - 2}`;
}

/**
 * Where to stop the y axis when a few hours dwarf the rest: 3x the usual level (the band's top or
 * the 95th percentile of active hours, whichever is higher), if the peak is more than twice that.
 */
export function yCap(t: Pick<Timeline, "hours" | "peak">, bandMax: number): number | undefined {
  const active = t.hours
    .map((h) => h.calls)
    .filter((c) => c > 0)
    .sort((a, b) => a - b);
  if (active.length < 10 || !t.peak) return undefined;
  const p95 = active[Math.floor((active.length - 1) * 0.95)]!;
  const cap = 3 * Math.max(bandMax, p95, 4);
  return t.peak.calls > 2 * cap ? cap : undefined;
}

const SEV_RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1, info: 0 };

/** The most findings listed under the chart; the rest are counted ("+N more"). */
export const LEGEND_FINDINGS = 4;

export interface SvgOptions {
  width?: number;
  /** id prefix, so that several charts can live in one HTML page. */
  idPrefix?: string;
  /** `role="img"` + <title>/<desc> for screen readers (the HTML report). */
  title?: string;
  desc?: string;
  /**
   * Average glyph width in em, to cut labels to fit: 0.5 for the bundled Inter (the PNG); more for
   * a browser's own sans-serif (the HTML report cannot know which one it gets).
   */
  charWidth?: number;
}

export function timelineSvg(t: Timeline, o: SvgOptions = {}): string {
  const W = o.width ?? TIMELINE_WIDTH;
  const pid = (o.idPrefix ?? "tl").replace(/[^A-Za-z0-9_-]/g, "");
  const F = { title: 34, sub: 20, body: 21, tick: 18, small: 18 };
  const left = 24;
  const padL = 68;
  const padR = 22;
  const plotTop = 172;
  const plotBottom = 430;
  const x0 = padL;
  const x1 = W - padR;
  const span = Math.max(HOUR, t.end - t.start);
  const x = (ms: number) => x0 + ((ms - t.start) / span) * (x1 - x0);
  const barW = (x1 - x0) / Math.max(1, t.hours.length);

  const peakCalls = t.peak?.calls ?? 0;
  const bandMax = t.band.reduce((m, b) => Math.max(m, b.hi), 0);
  // One huge hour would flatten two weeks of normal work into a line: the axis then stops at a
  // few times the usual level, and taller bars are cut with a break mark and their count written.
  const cap = yCap(t, bandMax);
  const ticks = niceTicks(Math.max(Math.min(peakCalls, cap ?? Infinity), bandMax, 4));
  const yMax = ticks[ticks.length - 1]!;
  const y = (v: number) => plotBottom - (Math.min(v, yMax) / yMax) * (plotBottom - plotTop);

  const out: string[] = [];
  const push = (s: string) => out.push(s);

  // ---- lower panel size
  const shown = t.markers.slice(0, LEGEND_FINDINGS);
  const hidden = t.markers.length - shown.length;
  const lineH = 30;
  const panelTop = plotBottom + 66;
  const findingLines = Math.max(1, shown.length + (hidden > 0 ? 1 : 0));
  const newLines = Math.max(1, Math.min(4, t.newValues.length));
  const panelLines = Math.max(findingLines, newLines) + 1;
  const notes = t.notes.slice(0, 3);
  if (t.notes.length > notes.length) notes.push(`and ${t.notes.length - notes.length} more notes`);
  const notesH = notes.length ? 8 + 24 * notes.length : 0;
  const H = panelTop + (panelLines - 1) * lineH + 26 + notesH;

  const aria = o.title !== undefined ? ` role="img" aria-labelledby="${pid}-title ${pid}-desc"` : "";
  push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}"${aria} font-family="${xmlText(FONT_FAMILY)}">`);
  if (o.title !== undefined) push(`<title id="${pid}-title">${xmlText(o.title)}</title>`);
  if (o.desc !== undefined) push(`<desc id="${pid}-desc">${xmlText(o.desc)}</desc>`);
  push(`<rect x="0" y="0" width="${W}" height="${H}" rx="14" fill="${PALETTE.bg}"/>`);

  // ---- header
  push(`<text x="${left}" y="48" font-size="${F.title}" font-weight="600" fill="${PALETTE.text}">${xmlText(clip(t.identity.label, 40))}</text>`);
  const sub = `${clip(t.identity.key, 56)} · calls per hour, ${dayLabel(t.start)} – ${dayLabel(t.end - 1)} UTC`;
  push(`<text x="${left}" y="80" font-size="${F.sub}" fill="${PALETTE.muted}">${xmlText(sub)}</text>`);

  // ---- legend row
  let lx = left;
  const ly = 118;
  const legendItem = (swatch: string, label: string, w: number) => {
    push(`<g transform="translate(${lx},${ly})">${swatch}<text x="25" y="7" font-size="${F.small}" fill="${PALETTE.text}">${xmlText(label)}</text></g>`);
    lx += w;
  };
  legendItem(`<rect x="0" y="-9" width="18" height="18" rx="3" fill="${PALETTE.calls}"/>`, "Calls", 96);
  legendItem(`<rect x="0" y="-9" width="18" height="18" rx="3" fill="${PALETTE.errors}"/>`, "Errors", 106);
  if (t.band.length)
    legendItem(`<rect x="0" y="-9" width="18" height="18" rx="3" fill="${PALETTE.band}" fill-opacity="0.3" stroke="${PALETTE.band}" stroke-width="1.5"/>`, "Usual range", 146);
  legendItem(
    `<rect x="0" y="-9" width="18" height="18" rx="3" fill="${PALETTE.window}" fill-opacity="0.14" stroke="${PALETTE.muted}" stroke-dasharray="3 3"/>`,
    "Detection window",
    196,
  );
  legendItem(`<path d="M0,-8 L18,-8 L9,8 Z" fill="${PALETTE.severity.high}"/>`, "Finding", 120);

  // ---- plot: grid and y axis
  push(`<g font-size="${F.tick}" fill="${PALETTE.muted}">`);
  for (const v of ticks) {
    const yy = y(v);
    push(`<line x1="${x0}" x2="${x1}" y1="${n0(yy)}" y2="${n0(yy)}" stroke="${PALETTE.grid}" stroke-width="1"/>`);
    push(`<text x="${x0 - 10}" y="${n0(yy + 6)}" text-anchor="end">${fmtTick(v)}</text>`);
  }
  // Days: a tick at each midnight, labelled when there is room.
  const firstMidnight = Math.ceil(t.start / (24 * HOUR)) * 24 * HOUR;
  const dayPx = ((24 * HOUR) / span) * (x1 - x0);
  const every = Math.max(1, Math.ceil(70 / Math.max(1, dayPx)));
  let di = 0;
  for (let d = firstMidnight; d < t.end; d += 24 * HOUR, di++) {
    const xx = n0(x(d));
    push(`<line x1="${xx}" x2="${xx}" y1="${plotTop}" y2="${plotBottom + 6}" stroke="${PALETTE.grid}" stroke-width="1"/>`);
    if (di % every === 0 && x(d) + 30 < x1 && x(d) - 30 > x0 - 20) push(`<text x="${xx}" y="${plotBottom + 28}" text-anchor="middle">${dayLabel(d)}</text>`);
  }
  // A short range (a young identity): hours between the midnights.
  if (span <= 3 * 24 * HOUR) {
    const step = span <= 30 * HOUR ? 3 : 6;
    for (let h = Math.ceil(t.start / HOUR / step) * step; h * HOUR < t.end; h += step) {
      if (h % 24 === 0) continue;
      const xx = x(h * HOUR);
      if (xx - 24 < x0 || xx + 24 > x1) continue;
      push(`<text x="${n0(xx)}" y="${plotBottom + 28}" text-anchor="middle">${String(h % 24).padStart(2, "0")}:00</text>`);
    }
  }
  push(`</g>`);

  // ---- detection window
  const wx0 = Math.max(x0, x(t.window.start));
  const wx1 = Math.min(x1, x(t.window.end));
  if (wx1 > wx0) {
    push(
      `<rect x="${n0(wx0)}" y="${plotTop - 8}" width="${n0(Math.max(2, wx1 - wx0))}" height="${plotBottom - plotTop + 8}" fill="${PALETTE.window}" fill-opacity="0.1" stroke="${PALETTE.muted}" stroke-opacity="0.8" stroke-dasharray="4 4"/>`,
    );
  }

  // ---- usual band (stepped area)
  if (t.band.length) {
    const top: string[] = [];
    const bottom: string[] = [];
    for (const b of t.band) {
      const bx0 = n0(x(b.h * HOUR));
      const bx1 = n0(x((b.h + 1) * HOUR));
      top.push(`${bx0},${n0(y(b.hi))}`, `${bx1},${n0(y(b.hi))}`);
      bottom.unshift(`${bx1},${n0(y(b.lo))}`, `${bx0},${n0(y(b.lo))}`);
    }
    push(`<polygon points="${[...top, ...bottom].join(" ")}" fill="${PALETTE.band}" fill-opacity="0.25"/>`);
    push(`<polyline points="${top.join(" ")}" fill="none" stroke="${PALETTE.band}" stroke-opacity="0.9" stroke-width="1.5"/>`);
  }

  // ---- bars: calls, errors from the bottom (errors are a part of the calls); cut bars marked
  const gap = barW > 3 ? 1 : 0;
  const bw = Math.max(2, barW - gap);
  const cut: TimelineHour[] = [];
  push(`<g>`);
  for (const r of t.hours) {
    if (r.calls <= 0) continue;
    const bx = x(r.h * HOUR) + gap / 2 - (bw > barW ? (bw - barW) / 2 : 0);
    const hCalls = Math.max(2, plotBottom - y(r.calls));
    push(`<rect x="${n0(bx)}" y="${n0(plotBottom - hCalls)}" width="${n0(bw)}" height="${n0(hCalls)}" fill="${PALETTE.calls}"/>`);
    if (r.errors > 0) {
      // A cut bar shows its errors as the same share of what is drawn.
      const hErr = r.calls > yMax ? (hCalls * r.errors) / r.calls : Math.min(hCalls, Math.max(2, plotBottom - y(r.errors)));
      push(`<rect x="${n0(bx)}" y="${n0(plotBottom - hErr)}" width="${n0(bw)}" height="${n0(hErr)}" fill="${PALETTE.errors}"/>`);
    }
    if (r.calls > yMax) cut.push(r);
  }
  push(`</g>`);
  // Break marks on every cut bar; the count of the tallest ones (a label per 60 px at most).
  const labelled: number[] = [];
  for (const r of [...cut].sort((a, b) => b.calls - a.calls)) {
    const cx = x((r.h + 0.5) * HOUR);
    const yb = plotTop + 14;
    push(`<path d="M${n0(cx - 9)},${yb + 4} L${n0(cx + 9)},${yb - 4} M${n0(cx - 9)},${yb + 10} L${n0(cx + 9)},${yb + 2}" stroke="${PALETTE.bg}" stroke-width="3"/>`);
    if (labelled.every((lxx) => Math.abs(lxx - cx) > 60)) {
      labelled.push(cx);
      const anchor = cx > x1 - 50 ? "end" : "start";
      const tx = anchor === "end" ? cx - 8 : cx + 8;
      push(
        `<text x="${n0(tx)}" y="${plotTop + 34}" font-size="${F.body}" font-weight="600" text-anchor="${anchor}" fill="${PALETTE.text}">${fmtInt(r.calls)} calls${r.errors ? `, ${fmtInt(r.errors)} errors` : ""}</text>`,
      );
    }
  }
  push(`<line x1="${x0}" x2="${x1}" y1="${plotBottom}" y2="${plotBottom}" stroke="${PALETTE.axis}" stroke-width="1.5"/>`);
  if (t.totals.calls === 0) {
    push(
      `<text x="${(x0 + x1) / 2}" y="${(plotTop + plotBottom) / 2}" font-size="${F.body}" text-anchor="middle" fill="${PALETTE.muted}">No calls recorded in these ${Math.round(span / (24 * HOUR))} days</text>`,
    );
  }

  // ---- finding markers: a triangle above the plot, a line down through it, the span as a bar
  const clusters = clusterMarkers(t.markers, (ms) => Math.min(x1, Math.max(x0, x(ms))), 34);
  for (const c of clusters) {
    const worst = c.markers.reduce((a, b) => (SEV_RANK[b.severity] > SEV_RANK[a.severity] ? b : a));
    const col = PALETTE.severity[worst.severity] ?? PALETTE.severity.info;
    for (const m of c.markers) {
      const mc = PALETTE.severity[m.severity] ?? PALETTE.severity.info;
      const sx = Math.max(x0, x(m.first));
      const ex = Math.min(x1, x(m.last));
      if (ex - sx > 3) push(`<rect x="${n0(sx)}" y="${plotTop - 8}" width="${n0(ex - sx)}" height="4" fill="${mc}"/>`);
    }
    push(`<line x1="${n0(c.x)}" x2="${n0(c.x)}" y1="${plotTop - 8}" y2="${plotBottom}" stroke="${col}" stroke-width="1.5" stroke-dasharray="5 4" stroke-opacity="0.9"/>`);
    push(`<path d="M${n0(c.x - 12)},${plotTop - 30} L${n0(c.x + 12)},${plotTop - 30} L${n0(c.x)},${plotTop - 9} Z" fill="${col}" stroke="${PALETTE.bg}" stroke-width="1.5"/>`);
    const anchor = c.x > x1 - 50 ? "end" : c.x < x0 + 50 ? "start" : "middle";
    const tx = anchor === "end" ? c.x - 16 : anchor === "start" ? c.x + 16 : c.x;
    const ty = anchor === "middle" ? plotTop - 36 : plotTop - 13;
    push(`<text x="${n0(tx)}" y="${ty}" font-size="${F.small}" font-weight="600" text-anchor="${anchor}" fill="${col}">${clusterLabel(c.markers)}</text>`);
  }

  // ---- lower panel: findings (left), new in the window (right)
  const colR = Math.round(W * 0.57);
  const cw = o.charWidth ?? 0.5;
  const leftChars = Math.floor((colR - left - 50) / (F.body * cw));
  push(`<text x="${left}" y="${panelTop}" font-size="${F.body}" font-weight="600" fill="${PALETTE.text}">Findings (${t.markers.length})</text>`);
  if (t.markers.length === 0) push(`<text x="${left}" y="${panelTop + lineH}" font-size="${F.body}" fill="${PALETTE.muted}">None in this range</text>`);
  shown.forEach((m, i) => {
    const yy = panelTop + (i + 1) * lineH;
    const col = PALETTE.severity[m.severity] ?? PALETTE.severity.info;
    const head = `${m.n} ${m.severity.toUpperCase()}`;
    const when = shortTime(m.first, t.window.end);
    const room = Math.max(12, leftChars - head.length - when.length - 2 - (m.failed ? 9 : 0));
    push(`<path d="M${left},${yy - 15} L${left + 17},${yy - 15} L${left + 8.5},${yy} Z" fill="${col}"/>`);
    push(
      `<text x="${left + 25}" y="${yy}" font-size="${F.body}" fill="${PALETTE.text}"><tspan font-weight="600" fill="${col}">${head}</tspan> <tspan fill="${PALETTE.muted}">${when}</tspan> ${xmlText(clip(m.title, room))}${m.failed ? ` <tspan fill="${PALETTE.muted}">(failed)</tspan>` : ""}</text>`,
    );
  });
  if (hidden > 0) {
    push(
      `<text x="${left + 25}" y="${panelTop + (shown.length + 1) * lineH}" font-size="${F.body}" fill="${PALETTE.muted}">+${hidden} more on the chart (numbers ${shown.length + 1}–${t.markers.length})</text>`,
    );
  }

  push(`<text x="${colR}" y="${panelTop}" font-size="${F.body}" font-weight="600" fill="${PALETTE.text}">New in the window</text>`);
  const rightChars = Math.floor((W - padR - colR) / (F.body * cw));
  if (t.newValues.length === 0) {
    const why = t.learning ? "Still learning: too little history" : "Nothing new";
    push(`<text x="${colR}" y="${panelTop + lineH}" font-size="${F.body}" fill="${PALETTE.muted}">${why}</text>`);
  }
  t.newValues.slice(0, 4).forEach((nv, i) => {
    const yy = panelTop + (i + 1) * lineH;
    const head = `${nv.label} (${nv.values.length}):`;
    const room = rightChars - head.length - 4;
    const parts: string[] = [];
    let used = 0;
    for (const v of nv.values) {
      const c = clip(v, Math.max(8, room));
      if (parts.length > 0 && used + c.length + 2 > room) break;
      parts.push(c);
      used += c.length + 2;
    }
    const more = nv.values.length - parts.length;
    push(
      `<text x="${colR}" y="${yy}" font-size="${F.body}" fill="${PALETTE.text}"><tspan fill="${PALETTE.muted}">${head}</tspan> ${xmlText(parts.join(", "))}${more > 0 ? ` <tspan fill="${PALETTE.muted}">+${more}</tspan>` : ""}</text>`,
    );
  });

  // ---- notes
  const notesTop = panelTop + (panelLines - 1) * lineH + 34;
  notes.forEach((note, i) => {
    push(`<text x="${left}" y="${notesTop + i * 24}" font-size="${F.small}" fill="${PALETTE.muted}">Note: ${xmlText(clip(note, 90))}</text>`);
  });
  push(`</svg>`);
  return out.join("\n");
}

/** "02:05" on the window's last day, else "Mar 12 14:00". */
function shortTime(ms: number, windowEnd: number): string {
  const d = new Date(ms);
  const hm = `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;
  return dayLabel(ms) === dayLabel(windowEnd - 1) ? hm : `${dayLabel(ms)} ${hm}`;
}
