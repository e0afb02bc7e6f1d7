#!/usr/bin/env node
import { Argument, Command, CommanderError, Option } from "commander";
import { stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { SEVERITIES, SEVERITY_RANK, type Severity } from "./events/types.js";
import { InputError, FileSource, lastReadTiming, STDIN_PATH } from "./sources/files.js";
import { maxFileBytesFromEnv } from "./sources/limits.js";
import { foldThreadFromEnv, scanThreadsFromEnv } from "./sources/read-pool.js";
import type { EventSource, SourceProgress } from "./sources/types.js";
import { runScan } from "./scan/run.js";
import type { ScanFilters } from "./events/types.js";
import type { ScanOptions } from "./scan/scanner.js";
import { detectionWindow, liveWindow, parseDuration, parseSince, parseUntil, TimeSpecError } from "./scan/time.js";
import { formatReportText } from "./scan/text.js";
import { VERSION } from "./version.js";
import type { ScanStore } from "./app/store-port.js";
import { defaultGeoResolver, geoEnvOf } from "./geo/default.js";
import { knownSettings, loadDotEnv, settingWarnings, type DotEnvResult } from "./env.js";
import { networkProblem } from "./net-errors.js";
import { installProxyFromEnv, proxySettings } from "./net.js";
import { messages, paint, colorEnabled, processStreams, type CliStreams, type Messages, type Verbosity } from "./term.js";

/** Exit codes: 0 ok, 1 unexpected failure, 2 usage or input error, 3 --fail-on threshold reached. */
export const EXIT = { ok: 0, failure: 1, usage: 2, threshold: 3 } as const;

export class UsageError extends Error {
  readonly code = "usage";
}

/** The streams, verbosity and messages of one CLI run. */
export interface CliContext extends CliStreams {
  verbosity: Verbosity;
  msg: Messages;
}

export function cliContext(streams: CliStreams = processStreams(), verbosity: Verbosity = "normal"): CliContext {
  return { ...streams, verbosity, msg: messages(streams.stderr, streams.env, verbosity) };
}

interface ScanCliOptions {
  input?: string[];
  since?: string;
  until?: string;
  user?: string;
  ip?: string;
  account?: string;
  region?: string;
  eventName?: string;
  format?: "text" | "json" | "html" | "jsonl" | "csv" | "ocsf";
  out?: string;
  store: string | false;
  failOn?: string;
  geo: boolean;
  progress: boolean;
  profile?: string;
  regions?: string;
  roleArn?: string[];
  deadline?: string;
  roleTemplate?: string;
  externalId?: string;
  excludeAccounts?: string;
  train?: string;
  incremental?: boolean;
  source?: string;
  accounts?: string;
  s3Region?: string;
  engine?: string;
  athenaRegion?: string;
  athenaWorkgroup?: string;
  athenaDatabase?: string;
  athenaTable?: string;
  athenaOutput?: string;
  athenaTableFlavor?: "trailhound" | "aws";
  baselineDays?: string;
  athenaBaseline: boolean;
  export?: string;
}

function list(s: string | undefined): string[] | undefined {
  const l = (s ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
  return l.length ? l : undefined;
}

/**
 * Progress on stderr: a bar that rewrites itself on a terminal; with --verbose and no terminal, a
 * line at each tenth of the work (or every 5 s when the total is unknown); nothing with --quiet.
 */
function progressBar(ctx: CliContext, wanted: boolean): { update(p: SourceProgress): void; done(): void } {
  const stderr = ctx.stderr;
  if (!wanted || ctx.verbosity === "quiet") return { update() {}, done() {} };
  if (stderr.isTTY !== true) {
    if (ctx.verbosity !== "verbose") return { update() {}, done() {} };
    let step = -1;
    let last = 0;
    return {
      update(p) {
        const now = Date.now();
        const s = p.total ? Math.floor((p.done / p.total) * 10) : -1;
        if (p.total ? s === step : now - last < 5000) return;
        step = s;
        last = now;
        ctx.msg.debug(`progress: ${p.done}${p.total ? "/" + p.total : ""} ${p.unit}, ${p.records} records`);
      },
      done() {},
    };
  }
  let last = 0;
  let shown = false;
  return {
    update(p) {
      const now = Date.now();
      if (now - last < 100 && (p.total === undefined || p.done < p.total)) return;
      last = now;
      const frac = p.total ? p.done / p.total : undefined;
      const width = 28;
      const bar = frac !== undefined ? "█".repeat(Math.round(frac * width)).padEnd(width, "░") : "";
      const eta = p.etaMs !== undefined ? ` ~${Math.ceil(p.etaMs / 1000)}s left` : "";
      const line = `${bar} ${p.done}${p.total ? "/" + p.total : ""} ${p.unit}, ${p.records} records${eta}`;
      stderr.write("\r" + line.slice(0, (stderr.columns ?? 100) - 1) + "\x1b[K");
      shown = true;
    },
    done() {
      if (shown) stderr.write("\r\x1b[K");
      shown = false;
    },
  };
}

/** `--out` names a file in an existing folder (checked before the scan, not after it). */
async function checkOutPath(out: string): Promise<void> {
  const folder = dirname(out);
  const st = await stat(folder).catch(() => undefined);
  if (!st) throw new UsageError(`--out ${out}: the folder ${folder} does not exist`);
  if (!st.isDirectory()) throw new UsageError(`--out ${out}: ${folder} is not a folder`);
  const self = await stat(out).catch(() => undefined);
  if (self?.isDirectory()) throw new UsageError(`--out ${out}: is a folder, expected a file name`);
}

export async function scanCommand(o: ScanCliOptions, ctx: CliContext = cliContext()): Promise<number> {
  const { msg } = ctx;
  const format = o.format ?? (ctx.stdout.isTTY ? "text" : "json");
  if (!["text", "json", "html", "jsonl", "csv", "ocsf"].includes(format)) throw new UsageError(`--format ${o.format}: expected text, json, html, jsonl, csv or ocsf`);
  if (o.out) await checkOutPath(o.out);
  let failOn: Severity | undefined;
  if (o.failOn !== undefined) {
    if (!SEVERITIES.includes(o.failOn as Severity)) throw new UsageError(`--fail-on ${o.failOn}: expected one of ${SEVERITIES.join(", ")}`);
    failOn = o.failOn as Severity;
  }
  const since = o.since !== undefined ? parseSince(o.since) : undefined;
  const until = o.until !== undefined ? parseUntil(o.until) : undefined;
  if (since?.kind === "absolute" && until !== undefined && since.at >= until) throw new UsageError(`--since ${o.since} is not before --until ${o.until}`);

  const filters: ScanFilters = {};
  if (o.user) filters.user = o.user;
  if (o.ip) filters.ip = o.ip;
  if (o.account) filters.account = o.account;
  if (o.region) filters.region = o.region;
  if (o.eventName) filters.eventName = o.eventName;

  let store: ScanStore | undefined;
  if (o.store !== false) store = await (await import("./app/store-port.js")).openScanStore(o.store);
  const now = Date.now();
  const sources: EventSource[] = [];
  let windowSince = since;
  let windowUntil = until;
  const env = ctx.env;
  const engine = o.engine ?? "local";
  const started = Date.now();
  let files: FileSource | undefined;
  if (engine !== "local" && engine !== "athena") throw new UsageError(`--engine ${engine}: expected local or athena`);
  if (o.input?.length) {
    if (o.source || engine === "athena") throw new UsageError("--input cannot be combined with --source or --engine athena");
    if (o.input.filter((p) => p === STDIN_PATH).length > 1) throw new UsageError("--input - (standard input) can be given once");
    if (o.input.includes(STDIN_PATH) && ctx.stdin.isTTY) msg.info("trailhound: reading CloudTrail records from standard input (end with Ctrl-D)");
    files = new FileSource(o.input, { stdin: ctx.stdin, maxBytes: maxFileBytesFromEnv(env) });
    sources.push(files);
    msg.debug(`reading ${o.input.map((p) => (p === STDIN_PATH ? "standard input" : p)).join(", ")}`);
  } else if (engine === "athena") {
    // Athena reads and aggregates; see below.
  } else if (o.source) {
    const { s3SourceFromOptions } = await import("./sources/s3.js");
    const win = detectionWindow(now, since, until);
    const s3: Parameters<typeof s3SourceFromOptions>[0] = { url: o.source, since: win.start, until: win.end };
    const accounts = list(o.accounts);
    if (accounts) s3.accounts = accounts;
    const exclude = list(o.excludeAccounts);
    if (exclude) s3.excludeAccounts = exclude;
    const regions = list(o.regions) ?? (filters.region ? [filters.region] : list(env.TRAILHOUND_REGIONS));
    if (regions) s3.regions = regions;
    if (o.profile) s3.profile = o.profile;
    if (o.s3Region) s3.region = o.s3Region;
    if (store) s3.cursorStore = store.cursors();
    sources.push(s3SourceFromOptions(s3));
    windowSince = { kind: "absolute", at: win.start };
    windowUntil = win.end;
  } else {
    // Live scans: relative times count back from now; --train reads history before the window.
    const { start, end } = liveWindow(now, since, until);
    windowUntil = end;
    windowSince = { kind: "absolute", at: start };
    const trainMs = o.train !== undefined ? parseDuration(o.train) : 0;
    if (trainMs === undefined) throw new UsageError(`--train ${o.train}: expected a duration such as 7d`);
    const { awsSource } = await import("./sources/aws-cli.js");
    const awsOpts: Parameters<typeof awsSource>[0] = { start: start - trainMs, end: windowUntil, filters };
    if (o.profile) awsOpts.profile = o.profile;
    if (o.regions) awsOpts.regions = o.regions;
    if (o.roleArn) awsOpts.roleArns = o.roleArn;
    if (o.deadline) awsOpts.deadline = o.deadline;
    if (o.roleTemplate) {
      const { roleTemplateProblem } = await import("./sources/org.js");
      const p = roleTemplateProblem(o.roleTemplate);
      if (p) throw new UsageError(`--role-template: ${p}`);
      awsOpts.roleTemplate = o.roleTemplate;
    }
    if (o.externalId) {
      const { externalIdProblem } = await import("./sources/org.js");
      const p = externalIdProblem(o.externalId);
      if (p) throw new UsageError(`--external-id: ${p}`);
      awsOpts.externalId = o.externalId;
    }
    const allowAccounts = list(o.accounts);
    if (allowAccounts) awsOpts.accounts = allowAccounts;
    const denyAccounts = list(o.excludeAccounts);
    if (denyAccounts) awsOpts.excludeAccounts = denyAccounts;
    if (o.incremental && store) awsOpts.cursorStore = store.cursors();
    sources.push(awsSource(awsOpts));
  }

  const proxy = proxySettings(env);
  if (proxy)
    msg.debug(
      `proxy: ${Object.entries(proxy)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ")}`,
    );
  msg.debug(`store: ${o.store === false ? "none (--no-store)" : o.store}; engine: ${engine}; format: ${format}`);
  const bar = progressBar(ctx, o.progress);
  let closeRetry = true;
  try {
    const scanOpts: ScanOptions = { now, filters, version: VERSION };
    if (windowSince) scanOpts.since = windowSince;
    if (windowUntil !== undefined) scanOpts.until = windowUntil;
    if (o.geo) scanOpts.geo = await defaultGeoResolver(env);
    // The updated baselines go to the store, and the HTML report draws timelines from them; else nothing reads them.
    if (!store && format !== "html") scanOpts.keepProfiles = false;
    if (store) {
      scanOpts.storedProfile = (k) => store!.getBaseline(k);
      scanOpts.storedDim = (k, d) => store!.getBaselineDim(k, d);
      scanOpts.storedTrainedUntil = (k) => store!.getBaselineTrainedUntil(k);
      scanOpts.findingStatus = (id) => store!.findingStatus(id);
      if (store.noteProfile) scanOpts.onProfile = (p) => store!.noteProfile!(p);
    }
    let result: Awaited<ReturnType<typeof runScan>>;
    if (engine === "athena") result = await athenaScan(o, scanOpts, (p) => bar.update(p), ctx);
    else {
      // TRAILHOUND_FOLD_THREAD=1, with more than one scan thread: records are folded and the scan
      // finished in a worker thread (when the options allow: see ScanOptions.foldThreads); same report.
      if (foldThreadFromEnv(env)) scanOpts.foldThreads = scanThreadsFromEnv(env);
      if (o.geo) scanOpts.foldGeoEnv = geoEnvOf(env);
      result = await runScan({ ...scanOpts, sources, onProgress: (p) => bar.update(p) });
    }
    const { report, profiles } = result;
    bar.done();
    if (ctx.verbosity === "verbose") verboseSummary(ctx, report, files, Date.now() - started);
    if (report.stats.recordsRead === 0 && report.stats.skippedTotal > 0) {
      const notes = report.sources
        .map((s) => s.note)
        .filter(Boolean)
        .join("; ");
      throw new InputError(`no CloudTrail records could be read: ${notes || JSON.stringify(report.stats.skipped)}`);
    }
    let saveError: unknown;
    if (store) {
      try {
        await store.saveScan(report, profiles, { by: "cli", target: describeTarget(filters) });
      } catch (e) {
        // The report is the work: it is printed all the same, and the failure said below.
        saveError = e;
      }
    }
    const formats = format === "jsonl" || format === "csv" || format === "ocsf" ? await import("./scan/formats.js") : undefined;
    // JSON to a file is written piece by piece (the same bytes, without the whole text in memory).
    const piecewise = format === "json" && o.out ? await import("./scan/report-json.js") : undefined;
    const text = piecewise
      ? ""
      : format === "json"
        ? JSON.stringify(report, null, 2) + "\n"
        : format === "jsonl"
          ? formats!.findingsJsonl(report)
          : format === "csv"
            ? formats!.findingsCsv(report)
            : format === "ocsf"
              ? formats!.findingsOcsf(report, { version: VERSION })
              : format === "html"
                ? await (await import("./report/html.js")).reportHtml(report, profiles)
                : formatReportText(report, undefined, paint(!o.out && colorEnabled(ctx.stdout, env)));
    let written = 0;
    try {
      if (piecewise && o.out) written = await piecewise.writePieces(o.out, piecewise.jsonPieces(report as unknown as Record<string, unknown>));
      else if (o.out) await writeFile(o.out, text);
    } catch (e) {
      // --out was checked before the scan; this is a write that failed since (disk full, removed folder).
      const saved = store && saveError === undefined ? "; the scan's baselines and findings were saved to the store" : "";
      throw new UsageError(`--out ${o.out}: the report could not be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})${saved}`);
    }
    if (!o.out) ctx.stdout.write(text);
    if (o.out) msg.debug(`report written to ${o.out} (${piecewise ? written : Buffer.byteLength(text)} bytes)`);
    // --export securityhub: the scan's findings, with their state in the store when there is one.
    let exportFailed = false;
    if (o.export) {
      const { exportFindings } = await import("./notify/securityhub-cli.js");
      const r = await exportFindings(report.findings, (id) => (store && saveError === undefined ? store.findingStatus(id) : undefined), {
        env,
        err: (s) => ctx.stderr.write(s),
      });
      exportFailed = r.failed.length > 0;
    }
    if (saveError !== undefined) {
      const verbose = debugEnabled(ctx);
      msg.error(
        saveFailureMessage(
          saveError,
          { report, profiles: profiles.length, out: o.out, storeDir: o.store as string, incremental: Boolean(o.incremental || o.source) },
          verbose,
        ).replace(/^trailhound: /, ""),
      );
      if (verbose) ctx.stderr.write(`${(saveError as Error).stack ?? String(saveError)}\n`);
      closeRetry = false;
      return EXIT.usage;
    }
    // Findings not imported are an expected failure (named above): exit 2, before --fail-on's 3.
    if (exportFailed) return EXIT.usage;
    if (failOn && report.findings.some((f) => SEVERITY_RANK[f.severity] >= SEVERITY_RANK[failOn!])) return EXIT.threshold;
    return EXIT.ok;
  } finally {
    bar.done();
    if (closeRetry) await store?.close();
    else await store?.close({ retry: false }).catch(() => undefined);
  }
}

/** Stack traces of expected failures: with --verbose (or TRAILHOUND_LOG_LEVEL=debug). */
function debugEnabled(ctx?: CliContext): boolean {
  return ctx?.verbosity === "verbose" || (ctx?.env ?? process.env).TRAILHOUND_LOG_LEVEL === "debug";
}

/** --verbose: what was read, what was skipped and why, what was found, how long it took. */
function verboseSummary(ctx: CliContext, report: import("./scan/report-types.js").Report, files: FileSource | undefined, ms: number): void {
  const d = (m: string) => ctx.msg.debug(m);
  if (files) {
    const notes = files.notes;
    const MAX = 50;
    for (const n of notes.slice(0, MAX)) d(`  ${n.file}: ${n.format}, ${n.records} record${n.records === 1 ? "" : "s"}${n.problem ? `; ${n.problem}` : ""}`);
    if (notes.length > MAX) d(`  ... and ${notes.length - MAX} more inputs (${notes.length} in all)`);
  }
  const s = report.stats;
  const skipped = Object.entries(s.skipped).map(([k, v]) => `${k} ${v}`);
  d(
    `read ${s.recordsRead} records${skipped.length ? `, skipped ${s.skippedTotal} (${skipped.join(", ")})` : ""}; ${s.events} events in the window ${report.window.start} → ${report.window.end}, ${s.baselineEvents} baseline events`,
  );
  d(
    `${report.findings.length} finding${report.findings.length === 1 ? "" : "s"}, ${s.identities} identities${report.partial ? `; PARTIAL: ${report.partialReasons.join("; ")}` : ""}; ${(ms / 1000).toFixed(1)} s`,
  );
}

/** What failed, what was kept, what to do: for a scan whose report is out but whose results were not saved. */
export function saveFailureMessage(
  e: unknown,
  o: { report: { findings: unknown[] }; profiles: number; out?: string | undefined; storeDir: string; incremental: boolean },
  verbose = debugEnabled(),
): string {
  const err = e as { code?: string; reason?: string; message?: string; cause?: unknown };
  const sys = [err, err.cause as { code?: string } | undefined].map((x) => x?.code).find((c) => c !== undefined && /^E[A-Z]+$/.test(c));
  const dir = o.storeDir;
  let fix: string;
  if (sys === "ENOSPC" || sys === "EDQUOT") fix = `free some space on the disk that holds ${dir}`;
  else if (sys === "EACCES" || sys === "EPERM" || sys === "EROFS") fix = `make ${dir} writable by this user (or pass --store with a writable directory)`;
  else if (err.code === "conflict" && err.reason === "missing")
    fix = `the store file disappeared while the scan ran: restore it with \`trailhound store restore --store ${dir} latest\``;
  else if (err.code === "conflict" && err.reason === "locked") fix = `another trailhound held the store's lock for too long: let it finish (or stop it)`;
  else if (err.code === "conflict") fix = `another process changed the store while the scan ran`;
  else fix = `check the store with \`trailhound store check --store ${dir}\``;
  const kept = o.out ? `The report was written to ${o.out}.` : "The report is printed above.";
  const lost =
    `Nothing of this scan was saved to the store (${o.profiles} baseline(s), ${o.report.findings.length} finding(s), the scan record` +
    (o.incremental ? ", and the cursors: the next incremental scan reads these events again, so none is skipped" : "") +
    `).`;
  // A write-failed error's own message speaks for a long-running process; the cause is what failed.
  const what = err.code === "write-failed" && err.cause instanceof Error ? err.cause.message : (err.message ?? String(e));
  return (
    `trailhound: saving the scan's results to the store failed: ${what}\n${kept} ${lost}\nTo fix: ${fix}, then run the scan again.` +
    (verbose ? "" : " (--verbose shows the stack trace.)") +
    "\n"
  );
}

async function athenaScan(o: ScanCliOptions, scanOpts: ScanOptions, onProgress: (p: SourceProgress) => void, ctx: CliContext) {
  const env = ctx.env;
  const { runAthenaScan, formatQueryCost, athenaSettingsProblems } = await import("./athena/index.js");
  const athena: import("./athena/engine.js").AthenaScanSettings = {
    region: o.athenaRegion ?? env.TRAILHOUND_ATHENA_REGION ?? "",
    database: o.athenaDatabase ?? env.TRAILHOUND_ATHENA_DATABASE ?? "",
  };
  const wg = o.athenaWorkgroup ?? env.TRAILHOUND_ATHENA_WORKGROUP;
  if (wg) athena.workgroup = wg;
  const table = o.athenaTable ?? env.TRAILHOUND_ATHENA_TABLE;
  if (table) athena.table = table;
  const output = o.athenaOutput ?? env.TRAILHOUND_ATHENA_OUTPUT;
  if (output) athena.outputLocation = output;
  if (o.athenaTableFlavor) athena.flavor = o.athenaTableFlavor;
  if (o.profile) athena.profile = o.profile;
  const accounts = list(o.accounts);
  if (accounts) athena.accounts = accounts;
  const regions = list(o.regions);
  if (regions) athena.regions = regions;
  const problems = athenaSettingsProblems(athena);
  if (problems.length) throw new UsageError(`Athena settings: ${problems.join("; ")} (flags --athena-*, or TRAILHOUND_ATHENA_REGION, _DATABASE, _TABLE, _WORKGROUP, _OUTPUT)`);
  const ao: Parameters<typeof runAthenaScan>[0] = {
    ...scanOpts,
    athena,
    fetchBaseline: o.athenaBaseline,
    onQuery: (q) => ctx.msg.info(formatQueryCost(q)),
    onProgress,
  };
  if (o.baselineDays !== undefined) {
    const n = Number(o.baselineDays);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--baseline-days ${o.baselineDays}: expected a whole number of days`);
    ao.baselineDays = n;
  }
  const r = await runAthenaScan(ao);
  ctx.msg.info(`Athena: ${r.queries.length} quer${r.queries.length === 1 ? "y" : "ies"}, about $${r.costUsd.toFixed(4)} in all`);
  return r;
}

function describeTarget(f: ScanFilters): string {
  const parts = Object.entries(f).map(([k, v]) => `${k}=${v}`);
  return parts.length ? parts.join(" ") : "all";
}

/** What happened before the command line was read (main's caller loads .env first). */
export interface Startup {
  dotenv?: DotEnvResult;
  warnings?: string[];
}

export function buildProgram(streams: CliStreams = processStreams(), state: { ctx: CliContext; startup?: Startup } = { ctx: cliContext(streams) }): Command {
  const program = new Command();
  program
    .name("trailhound")
    .description("Find the suspicious parts of an AWS account's CloudTrail activity.")
    .version(VERSION)
    .option("-q, --quiet", "print only the result and errors (no progress, warnings or notes)")
    .option("-v, --verbose", "print progress and detail on stderr, and the stack trace of a failure")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => streams.stdout.write(s),
      writeErr: (s) => streams.stderr.write(s),
      outputError: (s, write) => write(state.ctx.msg.paint.red(s)),
    })
    .hook("preAction", () => {
      const g = program.opts<{ quiet?: boolean; verbose?: boolean }>();
      if (g.quiet && g.verbose) throw new UsageError("--quiet and --verbose cannot be combined");
      state.ctx = cliContext(streams, g.quiet ? "quiet" : g.verbose ? "verbose" : "normal");
      const { msg } = state.ctx;
      const st = state.startup;
      if (st?.dotenv?.path) {
        msg.debug(
          `read ${st.dotenv.path}: set ${st.dotenv.loaded.join(", ") || "nothing"}` +
            (st.dotenv.kept.length ? `; the environment's own value kept for ${st.dotenv.kept.join(", ")}` : ""),
        );
      }
      for (const w of st?.warnings ?? []) msg.warn(w);
    });

  program
    .command("scan")
    .description("Scan CloudTrail files (--input) or the live account (LookupEvents) and report findings")
    .option("-i, --input <paths...>", "files or directories (recursive): S3 delivery .json/.json.gz, JSON Lines, lookup-events output; - for standard input")
    .option("--since <when>", "window start: a duration (24h, 7d) before --until/the newest event, or an ISO time")
    .option("--until <iso>", "window end (default: the newest event)")
    .option("--user <name>", "IAM user name, role name, role session name, or ARN")
    .option("--ip <ip>", "source IP address")
    .option("--account <id>", "AWS account id")
    .option("--region <region>", "AWS region")
    .option("--event-name <name>", "event name")
    .addOption(new Option("--format <format>", "output format (default: text on a terminal, else json)").choices(["text", "json", "html", "jsonl", "csv", "ocsf"]))
    .option("-o, --out <file>", "write the report to a file")
    .addOption(
      new Option("--export <target>", "also import the findings into AWS Security Hub (BatchImportFindings, ASFF; TRAILHOUND_SECURITYHUB_* settings)").choices(["securityhub"]),
    )
    .option("--store <dir>", "lowdb store directory", process.env.TRAILHOUND_DATA_DIR || "./data")
    .option("--no-store", "do not read or write the store")
    .option("--fail-on <severity>", "exit 3 when a finding at or above this severity exists")
    .option("--no-geo", "do not resolve public IPs to country/network")
    .option("--no-progress", "no progress bar")
    .option("--profile <name>", "AWS profile (live scans)")
    .option("--regions <list>", "comma-separated regions (live scans; default TRAILHOUND_REGIONS or all)")
    .option("--role-arn <arns...>", "assume these roles, one per member account (live scans)")
    .option("--deadline <duration>", "stop a live read after this long and report what it covered (default TRAILHOUND_SCAN_DEADLINE or 2h; none: no deadline)")
    .option("--role-template <arn>", "every active account of the organisation through this role, e.g. arn:aws:iam::{account}:role/TrailhoundRead (live scans)")
    .option("--external-id <id>", "the ExternalId the assumed roles require (live scans)")
    .option("--exclude-accounts <list>", "with --role-template or --source s3://: comma-separated account ids never read")
    .option("--train <duration>", "live scans: also read this much history before the window to train baselines (e.g. 7d)")
    .option("--incremental", "live scans: read only what is new since the last scan (cursors in the store)")
    .option("--source <url>", "read CloudTrail log files from S3: s3://bucket/prefix (the trail's delivery location)")
    .option("--accounts <list>", "S3/Athena/--role-template: comma-separated account ids (default: all found)")
    .option("--s3-region <region>", "S3: the bucket's region")
    .option("--engine <engine>", "local (default) or athena: let Athena read and aggregate")
    .option("--athena-region <region>", "Athena: region of the workgroup and table (TRAILHOUND_ATHENA_REGION)")
    .option("--athena-workgroup <name>", "Athena: workgroup (default primary; TRAILHOUND_ATHENA_WORKGROUP)")
    .option("--athena-database <name>", "Athena: Glue database of the CloudTrail table (TRAILHOUND_ATHENA_DATABASE)")
    .option("--athena-table <name>", "Athena: table (default cloudtrail_logs; TRAILHOUND_ATHENA_TABLE)")
    .option("--athena-output <s3url>", "Athena: query results location (TRAILHOUND_ATHENA_OUTPUT)")
    .addOption(new Option("--athena-table-flavor <flavor>", "Athena: table layout").choices(["trailhound", "aws"]))
    .option("--baseline-days <n>", "Athena: days of history before the window to aggregate into baselines")
    .option("--no-athena-baseline", "Athena: do not aggregate history (use the stored baselines only)")
    .action(async (opts: ScanCliOptions) => {
      process.exitCode = await scanCommand(opts, state.ctx);
    });

  program
    .command("serve")
    .description("Start the Slack bot (Socket Mode with SLACK_APP_TOKEN, else HTTP on PORT)")
    .action(async () => {
      const { serve } = await import("./main.js");
      // --quiet / --verbose set the bot's log level (over TRAILHOUND_LOG_LEVEL).
      if (state.ctx.verbosity !== "normal") streams.env.TRAILHOUND_LOG_LEVEL = state.ctx.verbosity === "quiet" ? "error" : "debug";
      await serve(streams.env);
    });

  program
    .command("athena")
    .description("Athena helpers")
    .command("ddl")
    .description("Print the CREATE TABLE for CloudTrail logs with partition projection (account, region, date)")
    .requiredOption("--location <s3url>", "the trail's delivery location, s3://bucket[/prefix]")
    .option("--org <id>", "organisation id (o-...) for organisation trails")
    .option("--accounts <list>", "comma-separated account ids (default: found by listing the bucket)")
    .option("--regions <list>", "comma-separated regions to project")
    .option("--database <name>", "database name")
    .option("--table <name>", "table name")
    .option("--since <yyyy/MM/dd>", "first day of the projection range")
    .addOption(new Option("--flavor <flavor>", "table layout").choices(["trailhound", "aws"]))
    .option("--profile <name>", "AWS profile for the discovery listing")
    .option("--region <region>", "the bucket's region")
    .action(
      async (o: {
        location: string;
        org?: string;
        accounts?: string;
        regions?: string;
        database?: string;
        table?: string;
        since?: string;
        flavor?: "trailhound" | "aws";
        profile?: string;
        region?: string;
      }) => {
        const { athenaDdlFromOptions } = await import("./athena/index.js");
        const d: Parameters<typeof athenaDdlFromOptions>[0] = { location: o.location };
        if (o.org) d.orgId = o.org;
        const accounts = list(o.accounts);
        if (accounts) d.accounts = accounts;
        const regions = list(o.regions);
        if (regions) d.regions = regions;
        if (o.database) d.database = o.database;
        if (o.table) d.table = o.table;
        if (o.since) d.since = o.since;
        if (o.flavor) d.flavor = o.flavor;
        if (o.profile) d.profile = o.profile;
        if (o.region) d.region = o.region;
        process.stdout.write(await athenaDdlFromOptions(d));
      },
    );

  program
    .command("contain")
    .description("Contain the identity of a finding (deactivate its key, revoke sessions, quarantine, ...); without --action, list what fits")
    .argument("<finding-id>", "the finding's id (from a report or Slack)")
    .addOption(new Option("--action <action>", "what to do").choices(["deactivate-key", "revoke-sessions", "quarantine", "delete-login-profile", "detach-policy"]))
    .option("--dry-run", "show and audit the calls, make none")
    .option("-y, --yes", "make the calls without asking (runbooks)")
    .option("--access-key-id <ids...>", "deactivate-key: the key(s), when the finding's events cannot be read")
    .option("-i, --input <paths...>", "read the finding's events from these CloudTrail files (default: CloudTrail LookupEvents)")
    .option("--undo <containment-id>", "undo a containment of this finding (reactivate the key, remove the quarantine)")
    .option("--store <dir>", "store directory", process.env.TRAILHOUND_DATA_DIR || "./data")
    .action(async (id: string, o: import("./respond/cli.js").ContainCliOptions) => {
      const { containCommand } = await import("./respond/cli.js");
      process.exitCode = await containCommand(id, o);
    });

  program
    .command("export")
    .description("Import the stored findings into AWS Security Hub (the same ids: a re-import updates them; suppressed and resolved ones are archived)")
    .addArgument(new Argument("<target>", "where to").choices(["securityhub"]))
    .option("--status <list>", "comma-separated finding states to export (default: open,acknowledged,suppressed,resolved)")
    .option("--store <dir>", "store directory", process.env.TRAILHOUND_DATA_DIR || "./data")
    .action(async (target: string, o: import("./notify/securityhub-cli.js").ExportCliOptions) => {
      const { exportCommand } = await import("./notify/securityhub-cli.js");
      process.exitCode = await exportCommand(target, o, { env: process.env, err: (s) => process.stderr.write(s) });
    });

  program
    .command("show")
    .description("Print a stored finding, its containments and (--events) its CloudTrail records")
    .argument("<finding-id>", "the finding's id")
    .option("--events", "also print the cited records, with a CloudTrail console link each")
    .option("-i, --input <paths...>", "read the records from these CloudTrail files (default: CloudTrail LookupEvents)")
    .addOption(new Option("--format <format>", "output").choices(["text", "json"]))
    .option("--store <dir>", "store directory", process.env.TRAILHOUND_DATA_DIR || "./data")
    .action(async (id: string, o: import("./respond/cli.js").ShowCliOptions) => {
      const { showCommand } = await import("./respond/cli.js");
      process.exitCode = await showCommand(id, o);
    });

  program
    .command("timeline")
    .description("Draw an identity's hourly activity, usual band, findings and detection window as a PNG (or SVG)")
    .argument("<identity>", "user or role name, ARN, or key (user:111122223333:alice)")
    .option("-i, --input <paths...>", "CloudTrail files or directories to scan (not saved); default: the store")
    .option("--store <dir>", "store directory", process.env.TRAILHOUND_DATA_DIR || "./data")
    .option("--no-store", "do not read the store")
    .option("--since <when>", "window start: a duration before --until, or an ISO time")
    .option("--until <iso>", "window end")
    .option("-o, --out <file>", "file.png, or file.svg")
    .option("--no-geo", "do not resolve public IPs to country/network")
    .action(async (identity: string, o: import("./timeline/cli.js").TimelineCliOptions) => {
      const { timelineCommand } = await import("./timeline/cli.js");
      process.exitCode = await timelineCommand(identity, o);
    });

  program
    .command("audit")
    .description("Print the audit log, newest first: who, what, when, the outcome (refusals and signature failures included)")
    .option("-n, --limit <n>", "entries to show (default 50; older ones come from the audit-*.jsonl files)")
    .option("--actor <id>", "only this Slack user id (or trailhound, unverified, unknown)")
    .option("--action <action>", "only this action (scan, ack, suppress, unsuppress, refused, ...)")
    .addOption(new Option("--format <format>", "output").choices(["text", "json"]))
    .option("--store <dir>", "store directory", process.env.TRAILHOUND_DATA_DIR || "./data")
    .action(async (o: import("./store/audit-cli.js").AuditCliOptions) => {
      const { auditCommand } = await import("./store/audit-cli.js");
      process.exitCode = await auditCommand(o);
    });

  const store = program.command("store").description("Inspect or repair the store");
  store
    .command("check")
    .description("Check that the store file is complete and valid")
    .option("--store <dir>", "store directory", process.env.TRAILHOUND_DATA_DIR || "./data")
    .action(async (o: { store: string }) => {
      const { storeCheckCommand } = await import("./store/cli.js");
      process.exitCode = await storeCheckCommand(o.store);
    });
  store
    .command("restore")
    .description("List backups, or restore one (the damaged file is kept aside)")
    .argument("[backup]", "backup file name (default: list them)")
    .option("--store <dir>", "store directory", process.env.TRAILHOUND_DATA_DIR || "./data")
    .action(async (backup: string | undefined, o: { store: string }) => {
      const { storeRestoreCommand } = await import("./store/cli.js");
      process.exitCode = await storeRestoreCommand(o.store, backup);
    });
  store
    .command("prune")
    .description("Drop what a long-running store no longer needs (the bot does this every day)")
    .option("--store <dir>", "store directory", process.env.TRAILHOUND_DATA_DIR || "./data")
    .option("--days <n>", "baselines of identities not seen, resolved findings, ended suppressions and scan records older than this (default 90)")
    .option("--findings-days <n>", "any finding, acknowledged too, not seen in this many days (default 365)")
    .option("--audit-days <n>", "rotated audit files (audit-<date>.jsonl) older than this (default 365)")
    .action(async (o: { store: string; days?: string; findingsDays?: string; auditDays?: string }) => {
      const { storePruneCommand } = await import("./store/cli.js");
      const num = (v: string | undefined, flag: string): number | undefined => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} ${v}: expected a whole number of days (1 or more)`);
        return n;
      };
      const opts: { days?: number; findingsDays?: number; auditDays?: number } = {};
      const d = num(o.days, "--days");
      if (d !== undefined) opts.days = d;
      const f = num(o.findingsDays, "--findings-days");
      if (f !== undefined) opts.findingsDays = f;
      const a = num(o.auditDays, "--audit-days");
      if (a !== undefined) opts.auditDays = a;
      process.exitCode = await storePruneCommand(o.store, opts);
    });
  return program;
}

/**
 * Runs one command line. `streams` are the process's by default (tests pass their own: a TTY or
 * not, an environment, a standard input); `startup` is what loading .env found, said once the
 * verbosity is known.
 */
export async function main(argv: string[], streams: CliStreams = processStreams(), startup?: Startup): Promise<number> {
  const state: { ctx: CliContext; startup?: Startup } = { ctx: cliContext(streams) };
  if (startup) state.startup = startup;
  const program = buildProgram(streams, state);
  const stack = (e: unknown) => {
    if (state.ctx.verbosity === "verbose") streams.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  };
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
  } catch (e) {
    const msg = state.ctx.msg;
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.exitCode === 0) return EXIT.ok;
      return EXIT.usage;
    }
    if (e instanceof UsageError || e instanceof InputError || e instanceof TimeSpecError) {
      msg.error(e.message);
      stack(e);
      return EXIT.usage;
    }
    // No network, DNS, a proxy refusing, an endpoint down, STS unreachable: what failed and what to check.
    const net = networkProblem(e, streams.env);
    if (net) {
      msg.error(`${String((e as Error).message ?? e).split("\n")[0]}\n  ${net}`);
      stack(e);
      return EXIT.usage;
    }
    const code = (e as { code?: string }).code;
    if (
      code &&
      [
        "missing-permission",
        "credentials",
        "invalid-time",
        "unknown-region",
        "invalid-argument",
        "config",
        "damaged",
        "unreadable",
        "newer-version",
        "missing",
        "write-failed",
        "conflict",
        "GEO_DB_MISSING",
        "GEO_DB_INVALID",
        "unavailable",
        "usage",
        "input",
      ].includes(code)
    ) {
      msg.error((e as Error).message);
      stack(e);
      return EXIT.usage;
    }
    // A worker thread of the scan failed (src/scan/fold-shard.ts FoldWorkerError): said in a line, exit 1.
    if (code === "worker-failed") {
      msg.error(
        `${(e as Error).message}\nThe scan was stopped: no report was written. TRAILHOUND_FOLD_THREAD=0 scans without that thread.${state.ctx.verbosity === "verbose" ? "" : " (--verbose shows the stack trace.)"}`,
      );
      stack(e);
      return EXIT.failure;
    }
    msg.error(`unexpected error: ${(e as Error).stack ?? e}`);
    return EXIT.failure;
  }
}

const invokedDirectly = process.argv[1] !== undefined && /cli\.(js|ts)$/.test(process.argv[1]);
if (invokedDirectly) {
  // `.env` first (never overriding the environment), so that defaults such as --store see it.
  const startup: Startup = {};
  try {
    startup.dotenv = loadDotEnv(".env");
    // Said once --quiet / --verbose are known (quiet: not at all).
    startup.warnings = settingWarnings(process.env, knownSettings());
    // HTTPS_PROXY / NO_PROXY for every fetch (the Slack Web API); AWS clients and Socket Mode take it in src/net.ts.
    installProxyFromEnv();
  } catch (e) {
    process.stderr.write(`trailhound: .env: ${(e as Error).message}\n`);
    process.exit(EXIT.usage);
  }
  main(process.argv, processStreams(), startup).then(
    (code) => {
      process.exitCode = code;
      // For the benchmark: peak resident memory of the whole scan.
      if (process.env.TRAILHOUND_REPORT_RSS) {
        const u = process.resourceUsage();
        const m = process.threadCpuUsage();
        // mainCpuMs: the main thread alone (with worker threads, the scan's critical path when it is near the wall clock).
        let phases = "";
        const t = lastReadTiming;
        if (t) {
          // The file read's phases (ms): start-up until the read, the read (the main thread waiting
          // for files, and taking their records), and the finish after it; the read workers' part.
          const r = Math.round;
          phases =
            ` startupMs=${r(t.start)} readMs=${r(t.end - t.start)} listMs=${r(t.list)} waitMs=${r(t.wait)} firstWaitMs=${r(t.firstWait)} takeMs=${r(t.take)} finishMs=${r(performance.now() - t.end)}` +
            ` startupCpuMs=${r(t.startCpu)} readMainCpuMs=${r(t.mainCpu)} takeCpuMs=${r(t.takeCpu)} finishCpuMs=${r((m.user + m.system) / 1000 - t.startCpu - t.mainCpu)} files=${t.files} offThread=${t.offThread}`;
          const p = t.pool;
          if (p)
            phases += ` workers=${p.workers} workerCpuMs=${r(p.cpu)} wReadMs=${r(p.read)} wGunzipMs=${r(p.gunzip)} wPrepareMs=${r(p.prepare)} wCopyMs=${r(p.copy)} wFullMs=${r(p.full)}`;
        }
        process.stderr.write(`maxRSS=${u.maxRSS} cpuMs=${Math.round((u.userCPUTime + u.systemCPUTime) / 1000)} mainCpuMs=${Math.round((m.user + m.system) / 1000)}${phases}\n`);
      }
    },
    (e) => {
      process.stderr.write(String(e) + "\n");
      process.exitCode = EXIT.failure;
    },
  );
}
