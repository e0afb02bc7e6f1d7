/**
 * The CLI's streams, how much it says (`--quiet`, `--verbose`) and whether it colours.
 *
 * Colour (https://no-color.org): only for text meant for a person, and only when
 *  - `NO_COLOR` is unset or empty (any other value turns colour off, whatever else is set);
 *  - and either `FORCE_COLOR` asks for it (set and not `0`/`false`: colour even through a pipe, the
 *    one way to get it there), or the stream is a terminal (TTY), `FORCE_COLOR` is not `0`/`false`
 *    and `TERM` is not `dumb`.
 * Piped output (a file, `| jq`) is never coloured otherwise, and JSON, CSV and the other machine
 * formats never are. Colours wrap text that `termSafe` has already cleaned: attacker-controlled
 * text cannot send escape sequences of its own.
 */
import { styleText } from "node:util";
import type { Readable } from "node:stream";

/** The part of a stream the CLI writes to (process.stdout / stderr, or a test's capture). */
export interface OutStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliStreams {
  stdout: OutStream;
  stderr: OutStream;
  /** Read for the input `-`. */
  stdin: Readable & { isTTY?: boolean };
  env: Record<string, string | undefined>;
}

export function processStreams(): CliStreams {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

export type Verbosity = "quiet" | "normal" | "verbose";

const off = (v: string | undefined) => v !== undefined && /^(0|false|no|off)$/i.test(v.trim());

/** Whether text written to `stream` may carry colour (see the module comment). */
export function colorEnabled(stream: Pick<OutStream, "isTTY">, env: Record<string, string | undefined>): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && off(force)) return false;
  if (force !== undefined) return true;
  return stream.isTTY === true && env.TERM !== "dumb";
}

type Format = Parameters<typeof styleText>[0];

export interface Paint {
  readonly enabled: boolean;
  red(s: string): string;
  yellow(s: string): string;
  green(s: string): string;
  cyan(s: string): string;
  magenta(s: string): string;
  bold(s: string): string;
  dim(s: string): string;
  /** A severity label (CRITICAL, HIGH, ...) in its colour. */
  severity(sev: string, s: string): string;
}

/** Colours when `enabled`, else every function returns its text unchanged (byte for byte). */
export function paint(enabled: boolean): Paint {
  // styleText's own stream and environment checks are off: the decision above is the only one.
  const st = (f: Format) => (s: string) => (enabled && s ? styleText(f, s, { validateStream: false }) : s);
  const sev: Record<string, (s: string) => string> = {
    critical: st(["bold", "red"]),
    high: st("red"),
    medium: st("yellow"),
    low: st("cyan"),
    info: st("dim"),
  };
  return {
    enabled,
    red: st("red"),
    yellow: st("yellow"),
    green: st("green"),
    cyan: st("cyan"),
    magenta: st("magenta"),
    bold: st("bold"),
    dim: st("dim"),
    severity: (v, s) => (sev[v] ?? ((x: string) => x))(s),
  };
}

export const noPaint: Paint = paint(false);

/** What the CLI says on stderr beside its result, by verbosity, coloured for a terminal. */
export interface Messages {
  readonly verbosity: Verbosity;
  readonly paint: Paint;
  /** An error: always said. */
  error(msg: string): void;
  /** A warning: not with --quiet. */
  warn(msg: string): void;
  /** Information (costs, hints): not with --quiet. */
  info(msg: string): void;
  /** Detail for --verbose only. */
  debug(msg: string): void;
}

export function messages(stderr: OutStream, env: Record<string, string | undefined>, verbosity: Verbosity): Messages {
  const p = paint(colorEnabled(stderr, env));
  const line = (s: string): void => {
    stderr.write(s.endsWith("\n") ? s : `${s}\n`);
  };
  return {
    verbosity,
    paint: p,
    error: (m) => line(`${p.red(p.bold("trailhound:"))} ${m}`),
    warn: (m) => {
      if (verbosity !== "quiet") line(`${p.yellow("trailhound: warning:")} ${m}`);
    },
    info: (m) => {
      if (verbosity !== "quiet") line(m);
    },
    debug: (m) => {
      if (verbosity === "verbose") line(p.dim(`trailhound: ${m}`));
    },
  };
}
