/**
 * `trailhound timeline IDENTITY --out file.png`: the identity's activity timeline as a PNG (or an
 * SVG, by the --out extension), from CloudTrail files (--input, a scan that is not saved) or from
 * the store (its profile, findings and the scan's window). Prints the same in words on stdout.
 */
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { extname } from "node:path";
import { TrailStore } from "../store/store.js";
import { FileSource, InputError } from "../sources/files.js";
import { runScan } from "../scan/run.js";
import type { ScanOptions } from "../scan/scanner.js";
import { parseSince, parseUntil } from "../scan/time.js";
import { VERSION } from "../version.js";
import { defaultGeoResolver } from "../geo/default.js";
import { timelineAltText } from "./alt.js";
import type { Timeline } from "./model.js";
import { svgToPng } from "./png.js";
import { resolveIdentity, timelineFromReport, timelineFromStore } from "./source.js";
import { timelineSvg } from "./svg.js";

export interface TimelineCliOptions {
  input?: string[];
  store: string | false;
  since?: string;
  until?: string;
  out?: string;
  geo: boolean;
}

/** Usage problems: the CLI prints the message and exits 2. */
export class TimelineUsageError extends Error {
  readonly code = "invalid-argument";
}

function ambiguous(name: string, candidates: string[]): TimelineUsageError {
  if (candidates.length === 0)
    return new TimelineUsageError(`no identity called ${JSON.stringify(name)} in the data (give a user or role name, an ARN, or a key such as user:111122223333:alice)`);
  const shown = candidates.slice(0, 10).join(", ");
  const more = candidates.length > 10 ? ` and ${candidates.length - 10} more` : "";
  return new TimelineUsageError(`${JSON.stringify(name)} matches ${candidates.length} identities: ${shown}${more}; give the key`);
}

export async function timelineCommand(identity: string, o: TimelineCliOptions): Promise<number> {
  if (!o.out) throw new TimelineUsageError("--out FILE is required (file.png, or file.svg for the SVG)");
  const ext = extname(o.out).toLowerCase();
  if (ext !== ".png" && ext !== ".svg") throw new TimelineUsageError(`--out ${o.out}: expected a .png or .svg file`);
  const since = o.since !== undefined ? parseSince(o.since) : undefined;
  const until = o.until !== undefined ? parseUntil(o.until) : undefined;

  let timeline: Timeline;
  if (o.input?.length) {
    // The stored baselines, when there is a store (a read-only command creates none).
    const store = o.store !== false && existsSync(o.store) ? await TrailStore.open(o.store) : undefined;
    try {
      const scanOpts: ScanOptions = { now: Date.now(), filters: {}, version: VERSION };
      if (since) scanOpts.since = since;
      if (until !== undefined) scanOpts.until = until;
      if (o.geo) scanOpts.geo = await defaultGeoResolver(process.env);
      if (store) {
        scanOpts.storedProfile = (k) => store.getBaseline(k);
        scanOpts.storedTrainedUntil = (k) => store.getBaselineTrainedUntil(k);
      }
      const { report, profiles } = await runScan({ ...scanOpts, sources: [new FileSource(o.input)] });
      if (report.stats.recordsRead === 0) throw new InputError(`no CloudTrail records could be read from ${o.input.join(", ")}`);
      const m = resolveIdentity(profiles, identity);
      if (!m.ok) throw ambiguous(identity, m.candidates);
      timeline = timelineFromReport(
        report,
        profiles.find((p) => p.key === m.key),
        m.key,
      );
    } finally {
      await store?.close();
    }
  } else {
    if (o.store === false) throw new TimelineUsageError("give --input FILES, or a --store to read the identity's profile from");
    if (!existsSync(o.store)) throw new TimelineUsageError(`no store at ${o.store}: give --store DIR (where scans keep it), or --input FILES`);
    const store = await TrailStore.open(o.store);
    try {
      const m = resolveIdentity(store.getBaselines().values(), identity);
      if (!m.ok) throw ambiguous(identity, m.candidates);
      const window = since || until !== undefined ? explicitWindow(since, until, store.getBaseline(m.key)?.last) : undefined;
      timeline = timelineFromStore(store, m.key, { ...(window ? { window } : {}), now: Date.now() });
    } finally {
      await store.close();
    }
  }
  const svg = timelineSvg(timeline);
  await writeFile(o.out, ext === ".svg" ? svg : await svgToPng(svg));
  process.stdout.write(timelineAltText(timeline) + "\n");
  return 0;
}

function explicitWindow(since: ReturnType<typeof parseSince> | undefined, until: number | undefined, last: number | undefined): { start: number; end: number } {
  const end = until ?? (last !== undefined && Number.isFinite(last) ? last + 1 : Date.now());
  const start = since === undefined ? end - 24 * 3_600_000 : since.kind === "absolute" ? since.at : end - since.ms;
  if (start >= end) throw new TimelineUsageError("--since is not before --until");
  return { start, end };
}
