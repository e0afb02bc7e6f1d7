/**
 * The CLI's output to a person: --quiet, --verbose, `-` for standard input, colour on a terminal
 * (NO_COLOR, FORCE_COLOR, never when piped). main() runs with injected streams: a terminal or a
 * pipe, an environment, a standard input.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gunzipSync, gzipSync } from "node:zlib";
import { EXIT, main } from "../src/cli.js";
import type { CliStreams } from "../src/term.js";
import { colorEnabled } from "../src/term.js";

const ESC = "\x1b[";
const OTRF = "test/fixtures/otrf/ec2-proxy-s3-exfiltration.jsonl";
const INVICTUS = "test/fixtures/invictus-aws/AWSLogs/123837392027/CloudTrail/us-east-1/2023/07/10/218007301253_CloudTrail_us-east-1_20230710T1210Z_6CICdbJQM3beT7n3.json.gz";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "th-cli-out-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

class Capture {
  text = "";
  constructor(
    readonly isTTY: boolean,
    readonly columns = 120,
  ) {}
  write(s: string | Uint8Array): boolean {
    this.text += String(s);
    return true;
  }
}

interface RunOpts {
  env?: Record<string, string>;
  stdin?: Buffer | Buffer[];
  stdinTTY?: boolean;
  tty?: boolean;
  ttyErr?: boolean;
  startup?: Parameters<typeof main>[2];
}

async function run(args: string[], o: RunOpts = {}): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Capture(o.tty ?? false);
  const stderr = new Capture(o.ttyErr ?? false);
  const chunks = o.stdin === undefined ? [] : Array.isArray(o.stdin) ? o.stdin : [o.stdin];
  const stdin = Object.assign(Readable.from(chunks, { objectMode: false }), o.stdinTTY ? { isTTY: true } : {});
  // The test's own environment (PATH, ...) without colour settings, plus the case's.
  const env: Record<string, string | undefined> = { ...process.env };
  for (const k of ["NO_COLOR", "FORCE_COLOR", "TERM", "TRAILHOUND_LOG_LEVEL"]) delete env[k];
  Object.assign(env, o.env);
  const streams: CliStreams = { stdout, stderr, stdin, env };
  process.exitCode = undefined;
  try {
    const code = await main(["node", "trailhound", ...args], streams, o.startup);
    return { code, out: stdout.text, err: stderr.text };
  } finally {
    process.exitCode = undefined;
  }
}

const scanArgs = (...extra: string[]) => ["scan", "--no-store", "--no-geo", ...extra];

interface Rep {
  stats: { events: number; recordsRead: number; skipped: Record<string, number>; skippedTotal: number };
  findings: Array<{ id: string }>;
  partial: boolean;
}
const parse = (s: string) => JSON.parse(s) as Rep;

// Each test runs whole scans in process, several times: a busy 2-core machine needs more than the default 20 s.
describe("- reads standard input", { timeout: 120_000 }, () => {
  it("a gzip S3 delivery file on stdin gives the report the file gives", async () => {
    const file = await run(scanArgs("-i", INVICTUS, "--format", "json"));
    const piped = await run(scanArgs("-i", "-", "--format", "json"), { stdin: await readFile(INVICTUS) });
    expect(piped.code).toBe(EXIT.ok);
    const a = parse(file.out);
    const b = parse(piped.out);
    expect(a.stats.recordsRead).toBeGreaterThan(10);
    expect(b.stats).toEqual(a.stats);
    expect(b.findings.map((f) => f.id)).toEqual(a.findings.map((f) => f.id));
  });

  it("plain {Records:[...]} in small chunks, and JSON Lines longer than the head (streamed) with malformed lines counted", async () => {
    const doc = Buffer.from(JSON.stringify(JSON.parse(gunzip(await readFile(INVICTUS)))));
    const chunks: Buffer[] = [];
    for (let i = 0; i < doc.length; i += 7000) chunks.push(doc.subarray(i, i + 7000));
    const plain = await run(scanArgs("-i", "-", "--format", "json"), { stdin: chunks });
    expect(plain.code).toBe(EXIT.ok);
    const file = parse((await run(scanArgs("-i", INVICTUS, "--format", "json"))).out);
    expect(parse(plain.out).stats.recordsRead).toBe(file.stats.recordsRead);

    const lines = (await readFile(OTRF, "utf8")).trim().split("\n");
    expect(Buffer.byteLength(lines.join("\n"))).toBeGreaterThan(64 * 1024);
    const withBad = [...lines.slice(0, 50), "{not json", ...lines.slice(50), "[1,2"].join("\n") + "\n";
    const jl = await run(scanArgs("-i", "-", "--format", "json"), { stdin: Buffer.from(withBad) });
    expect(jl.code).toBe(EXIT.ok);
    const r = parse(jl.out);
    expect(r.stats.recordsRead).toBe(lines.length);
    expect(r.stats.skipped["invalid-json"]).toBe(2);
    // gzip JSON Lines too, and stdin beside a file.
    const gz = await run(scanArgs("-i", OTRF, "-", "--format", "json"), { stdin: gzipSync(lines.slice(0, 10).join("\n")) });
    expect(gz.code).toBe(EXIT.ok);
    expect(parse(gz.out).stats.recordsRead).toBe(lines.length + 10);
  });

  it("the size limit holds: a gzip bomb or an oversized document on stdin is not read, and said so", async () => {
    const env = { TRAILHOUND_MAX_FILE_MB: "1" };
    const bomb = gzipSync(Buffer.alloc(3 * 1024 * 1024, 0x20));
    let r = await run(scanArgs("-i", "-", "--format", "json"), { stdin: bomb, env });
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toMatch(/no CloudTrail records could be read: \(stdin\): larger than the 1 MiB limit/);
    const big = Buffer.from(`{"Records":[${" ".repeat(2 * 1024 * 1024)}]}`);
    r = await run(scanArgs("-i", "-", "--format", "json"), { stdin: big, env });
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toMatch(/\(stdin\): larger than the 1 MiB limit/);
    // Beside a readable file: the report is partial and names standard input.
    r = await run(scanArgs("-i", OTRF, "-", "--format", "json"), { stdin: big, env });
    expect(r.code).toBe(EXIT.ok);
    expect(parse(r.out).partial).toBe(true);
    expect(parse(r.out).stats.skipped["oversized-file"]).toBe(1);
  });

  it("not CloudTrail on stdin: exit 2 naming standard input; - twice is a usage error", async () => {
    let r = await run(scanArgs("-i", "-"), { stdin: Buffer.from('{"hello":"world"}') });
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toMatch(/\(stdin\): valid JSON but not CloudTrail/);
    r = await run(scanArgs("-i", "-", "-"), { stdin: Buffer.from("") });
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toMatch(/standard input\) can be given once/);
  });

  it("a terminal on stdin gets a hint (not with --quiet)", async () => {
    const line = (await readFile(OTRF, "utf8")).split("\n")[0]!;
    let r = await run(scanArgs("-i", "-", "--format", "json"), { stdin: Buffer.from(line), stdinTTY: true });
    expect(r.err).toMatch(/reading CloudTrail records from standard input \(end with Ctrl-D\)/);
    r = await run(["--quiet", ...scanArgs("-i", "-", "--format", "json")], { stdin: Buffer.from(line), stdinTTY: true });
    expect(r.code).toBe(EXIT.ok);
    expect(r.err).toBe("");
  });
});

function gunzip(b: Buffer): string {
  return gunzipSync(b).toString("utf8");
}

describe("colour", { timeout: 120_000 }, () => {
  it("decides from NO_COLOR, FORCE_COLOR, TERM and whether the stream is a terminal", () => {
    const tty = { isTTY: true };
    const pipe = { isTTY: false };
    expect(colorEnabled(tty, {})).toBe(true);
    expect(colorEnabled(pipe, {})).toBe(false);
    expect(colorEnabled(tty, { NO_COLOR: "1" })).toBe(false);
    expect(colorEnabled(tty, { NO_COLOR: "0" })).toBe(false); // any non-empty value
    expect(colorEnabled(tty, { NO_COLOR: "" })).toBe(true); // empty: as if unset
    expect(colorEnabled(tty, { NO_COLOR: "1", FORCE_COLOR: "1" })).toBe(false);
    expect(colorEnabled(pipe, { FORCE_COLOR: "1" })).toBe(true);
    expect(colorEnabled(pipe, { FORCE_COLOR: "" })).toBe(true);
    expect(colorEnabled(tty, { FORCE_COLOR: "0" })).toBe(false);
    expect(colorEnabled(tty, { FORCE_COLOR: "false" })).toBe(false);
    expect(colorEnabled(tty, { TERM: "dumb" })).toBe(false);
  });

  it("the text report is coloured on a terminal, byte-identical and plain when piped or NO_COLOR is set", async () => {
    const args = scanArgs("-i", "test/fixtures/invictus-aws", "--format", "text", "--until", "2023-07-10T13:00:00Z");
    const tty = await run(args, { tty: true });
    expect(tty.code).toBe(EXIT.ok);
    expect(tty.out).toContain(`${ESC}31m[HIGH`);
    const piped = await run(args);
    const noColor = await run(args, { tty: true, env: { NO_COLOR: "1" } });
    expect(piped.out).not.toContain("\x1b");
    const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "").replace(/generated \S+/, "");
    expect(strip(noColor.out)).toBe(strip(piped.out));
    expect(noColor.out).not.toContain("\x1b");
    // Colour text is the same text: stripped, the coloured report equals the plain one.
    expect(strip(tty.out)).toBe(strip(piped.out));
    // FORCE_COLOR colours a pipe; --out never gets colour.
    expect((await run(args, { env: { FORCE_COLOR: "1" } })).out).toContain(ESC);
    const out = join(dir, "r.txt");
    expect((await run([...args, "--out", out], { tty: true })).code).toBe(EXIT.ok);
    expect(await readFile(out, "utf8")).not.toContain("\x1b");
  });

  it("JSON is never coloured, even on a terminal with FORCE_COLOR", async () => {
    const r = await run(scanArgs("-i", OTRF, "--format", "json"), { tty: true, env: { FORCE_COLOR: "3" } });
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).not.toContain("\x1b");
    expect(() => JSON.parse(r.out)).not.toThrow();
  });

  it("error messages are coloured on a terminal stderr only, and not with NO_COLOR", async () => {
    const missing = join(dir, "missing-dir");
    let r = await run(scanArgs("-i", missing), { ttyErr: true });
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toMatch(/^\x1b\[31m\x1b\[1mtrailhound:\x1b\[22m\x1b\[39m .*missing-dir: no such file or directory/);
    r = await run(scanArgs("-i", missing), { ttyErr: true, env: { NO_COLOR: "yes" } });
    expect(r.err).toMatch(/^trailhound: .*missing-dir: no such file or directory\n$/);
    r = await run(scanArgs("-i", missing));
    expect(r.err).toMatch(/^trailhound: .*missing-dir: no such file or directory\n$/);
  });
});

describe("--quiet and --verbose", { timeout: 120_000 }, () => {
  const warnings = { warnings: ["TRAILHOUND_DATADIR is not a trailhound setting: did you mean TRAILHOUND_DATA_DIR?"] };

  it("normal: warnings are said; --quiet: only the result, errors still said", async () => {
    const args = scanArgs("-i", OTRF, "--format", "json");
    let r = await run(args, { startup: warnings });
    expect(r.err).toBe("trailhound: warning: TRAILHOUND_DATADIR is not a trailhound setting: did you mean TRAILHOUND_DATA_DIR?\n");
    r = await run(["--quiet", ...args], { startup: warnings });
    expect(r.code).toBe(EXIT.ok);
    expect(r.err).toBe("");
    expect(parse(r.out).stats.recordsRead).toBeGreaterThan(100);
    // -q after the command too; an error is still said.
    r = await run([...scanArgs("-i", join(dir, "nope")), "-q"], { startup: warnings });
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toMatch(/^trailhound: .*nope: no such file or directory\n$/);
  });

  it("--verbose: what was read and skipped, progress lines without a terminal, the result unchanged", async () => {
    const args = scanArgs("-i", OTRF, INVICTUS, "--format", "json");
    const plain = await run(args);
    const r = await run(["--verbose", ...args], { startup: { ...warnings, dotenv: { path: "/x/.env", loaded: ["TRAILHOUND_REGIONS"], kept: ["AWS_REGION"] } } });
    expect(r.code).toBe(EXIT.ok);
    expect(r.err).toMatch(/trailhound: read \/x\/\.env: set TRAILHOUND_REGIONS; the environment's own value kept for AWS_REGION/);
    expect(r.err).toMatch(/warning: TRAILHOUND_DATADIR/);
    expect(r.err).toMatch(/ec2-proxy-s3-exfiltration\.jsonl: jsonl, 1\d\d records/);
    expect(r.err).toMatch(/_CloudTrail_us-east-1_20230710T1210Z_6CICdbJQM3beT7n3\.json\.gz: s3-delivery, 246 records/);
    expect(r.err).toMatch(/progress: 2\/2 files, \d+ records/);
    expect(r.err).toMatch(/read \d+ records.*events in the window/);
    expect(r.err).toMatch(/\d+ findings?, \d+ identities; \d+\.\d s/);
    const a = parse(plain.out);
    const b = parse(r.out);
    expect(b.findings.map((f) => f.id)).toEqual(a.findings.map((f) => f.id));
    // Many inputs: 50 are named, the rest counted.
    const many = await run(["--verbose", ...scanArgs("-i", "test/fixtures/invictus-aws", "--format", "json")]);
    expect(many.err).toMatch(/\.\.\. and 5 more inputs \(55 in all\)/);
  });

  it("stack traces of expected failures only with --verbose", async () => {
    const args = scanArgs("-i", join(dir, "nope2"));
    const normal = await run(args);
    expect(normal.code).toBe(EXIT.usage);
    expect(normal.err).not.toMatch(/\n\s+at /);
    const verbose = await run(["-v", ...args]);
    expect(verbose.code).toBe(EXIT.usage);
    expect(verbose.err).toMatch(/nope2: no such file or directory/);
    expect(verbose.err).toMatch(/\n\s+at .*files\.ts/);
  });

  it("--quiet with --verbose is a usage error", async () => {
    const r = await run(["-q", "-v", ...scanArgs("-i", OTRF)]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toMatch(/--quiet and --verbose cannot be combined/);
  });
});
