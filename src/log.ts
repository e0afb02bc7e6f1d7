/**
 * A tiny JSON-lines logger (pino is not a dependency): one JSON object per line on stderr (or a
 * given stream), `{"t":"2024-…","level":"info","msg":"…",…fields}`. Built once in main.ts and
 * passed down; `child()` adds fixed fields. `toBoltLogger()` adapts it to Bolt's Logger interface.
 */
import type { Logger as BoltLogger } from "@slack/bolt";
import { LogLevel } from "@slack/bolt";

export type Level = "debug" | "info" | "warn" | "error" | "silent";
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Log {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Log;
  readonly level: Level;
}

export interface LogOptions {
  level?: Level;
  /** Where lines go; default process.stderr. */
  write?: (line: string) => void;
  now?: () => Date;
}

/** Errors become {name, message, code, stack}; everything else is kept as is. */
function serialise(v: unknown): unknown {
  if (v instanceof Error) {
    const code = (v as { code?: unknown }).code;
    return { name: v.name, message: v.message, ...(code !== undefined ? { code } : {}), stack: v.stack };
  }
  return v;
}

export function createLogger(opts: LogOptions = {}, base: Record<string, unknown> = {}): Log {
  const level = opts.level ?? "info";
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const now = opts.now ?? (() => new Date());
  const emit = (lvl: Exclude<Level, "silent">, msg: string, fields?: Record<string, unknown>) => {
    if (RANK[lvl] < RANK[level]) return;
    const rec: Record<string, unknown> = { t: now().toISOString(), level: lvl, msg, ...base };
    if (fields) for (const [k, v] of Object.entries(fields)) rec[k] = serialise(v);
    let line: string;
    try {
      line = JSON.stringify(rec);
    } catch {
      line = JSON.stringify({ t: rec.t, level: lvl, msg, note: "fields not serialisable" });
    }
    write(line + "\n");
  };
  return {
    level,
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(opts, { ...base, ...fields }),
  };
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Log = createLogger({ level: "silent" });

/** Bolt's Logger interface on top of ours (Bolt logs variadic arguments). */
export function toBoltLogger(log: Log): BoltLogger {
  const fmt = (args: unknown[]) => args.map((a) => (typeof a === "string" ? a : a instanceof Error ? a.message : JSON.stringify(a))).join(" ");
  const errOf = (args: unknown[]) => args.find((a) => a instanceof Error);
  const toBolt: Record<Level, LogLevel> = {
    debug: LogLevel.DEBUG,
    info: LogLevel.INFO,
    warn: LogLevel.WARN,
    error: LogLevel.ERROR,
    silent: LogLevel.ERROR,
  };
  // Bolt logs at debug level on every request: format only what will be written.
  const on = (lvl: Exclude<Level, "silent">) => RANK[lvl] >= RANK[log.level];
  return {
    debug: (...a: unknown[]) => on("debug") && log.debug(fmt(a), { src: "bolt" }),
    info: (...a: unknown[]) => on("info") && log.info(fmt(a), { src: "bolt" }),
    warn: (...a: unknown[]) => on("warn") && log.warn(fmt(a), { src: "bolt" }),
    error: (...a: unknown[]) => on("error") && log.error(fmt(a), { src: "bolt", err: errOf(a) }),
    setLevel: () => {},
    getLevel: () => toBolt[log.level],
    setName: () => {},
  };
}
