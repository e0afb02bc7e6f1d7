/**
 * The environment at start: .env loading (the environment wins), warnings for unknown and
 * misspelt settings, did-you-mean for time zones and cron fields, and .env.example listing every
 * variable the code reads with values that change nothing.
 */
import { describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { closest, editDistance, loadDotEnv, SERVE_SETTINGS, settingWarnings, suggestTimeZone, timeZoneProblem } from "../src/env.js";
import { type ConfigError, knownSettings, loadConfig, schemaSettings } from "../src/config.js";
import { cronProblem } from "../src/digest/config.js";

const TOKENS = { SLACK_BOT_TOKEN: "xoxb-1-2-abc", SLACK_APP_TOKEN: "xapp-1-A-2-abc" };

describe("loadDotEnv", () => {
  it("sets what the environment lacks, keeps what it has, and skips empty values", () => {
    const dir = mkdtempSync(join(tmpdir(), "th-env-"));
    const file = join(dir, ".env");
    writeFileSync(file, 'TRAILHOUND_TZ=Europe/Paris\nPORT=\nTRAILHOUND_LOG_LEVEL=debug\n# a comment\nTRAILHOUND_DIGESTS="C0A=0 8 * * *; C0B=0 9 * * *"\n');
    const env: Record<string, string | undefined> = { TRAILHOUND_LOG_LEVEL: "warn" };
    const r = loadDotEnv(file, env);
    expect(env).toEqual({ TRAILHOUND_TZ: "Europe/Paris", TRAILHOUND_LOG_LEVEL: "warn", TRAILHOUND_DIGESTS: "C0A=0 8 * * *; C0B=0 9 * * *" });
    expect({ ...r, loaded: [...r.loaded].sort() }).toEqual({ path: file, loaded: ["TRAILHOUND_DIGESTS", "TRAILHOUND_TZ"], kept: ["TRAILHOUND_LOG_LEVEL"] });
    expect(loadDotEnv(join(dir, "missing.env"), env)).toEqual({ loaded: [], kept: [] });
  });
});

describe("settingWarnings", () => {
  const known = knownSettings();
  it("knows serve's settings in the schema's order (the CLI reads the list without loading the schema)", () => {
    expect([...SERVE_SETTINGS]).toEqual(schemaSettings());
    expect(known.slice(0, SERVE_SETTINGS.length)).toEqual(schemaSettings());
  });
  it("names the closest known setting for a misspelt or unknown one", () => {
    const w = settingWarnings({ TRAILHOUND_DIGEST_CRONE: "x", TRAILHOUD_TZ: "x", SLACK_BOT_TOKN: "x", TRAILHOUND_REGION: "x", AWS_PROFIL: "x", TRAILHOUND_WHATEVER: "1" }, known);
    expect(w).toEqual([
      "AWS_PROFIL is not a trailhound setting: did you mean AWS_PROFILE?",
      "SLACK_BOT_TOKN is not a trailhound setting: did you mean SLACK_BOT_TOKEN?",
      "TRAILHOUD_TZ is not a trailhound setting: did you mean TRAILHOUND_TZ?",
      "TRAILHOUND_DIGEST_CRONE is not a trailhound setting: did you mean TRAILHOUND_DIGEST_CRON?",
      "TRAILHOUND_REGION is not a trailhound setting: did you mean TRAILHOUND_REGIONS?",
      "TRAILHOUND_WHATEVER is not a trailhound setting (.env.example lists them all); it is ignored",
    ]);
  });

  it("stays quiet on known settings and on the variables of the shell, the AWS SDK and Node", () => {
    const env = {
      ...Object.fromEntries(known.map((k) => [k, "x"])),
      PATH: "/bin",
      HOME: "/root",
      AWS_ACCESS_KEY_ID: "x",
      AWS_SECRET_ACCESS_KEY: "x",
      NODE_OPTIONS: "",
      https_proxy: "x",
      no_proxy: "x",
      HOSTNAME: "h",
      TERM: "xterm",
    };
    expect(settingWarnings(env, known)).toEqual([]);
  });

  it("closest() declines names too far from any candidate", () => {
    expect(closest("COMPLETELY_DIFFERENT", ["TRAILHOUND_TZ"])).toBeUndefined();
  });

  it("editDistance counts insertions, deletions, substitutions and adjacent swaps; closest() takes the first nearest", () => {
    expect([
      editDistance("", "abc"),
      editDistance("abc", ""),
      editDistance("abc", "acb"),
      editDistance("kitten", "sitting"),
      editDistance("ca", "abc"),
      editDistance("a".repeat(70), "b".repeat(80)),
    ]).toEqual([3, 3, 1, 3, 3, 80]);
    // Far candidates (stopped early) never hide a near one, wherever it is in the list.
    expect(closest("TRAILHOUND_REGION", ["TRAILHOUND_ADMINS", "X", "TRAILHOUND_REGIONS", "TRAILHOUND_REGIONX"])).toBe("TRAILHOUND_REGIONS");
    expect(closest("abcdefgh", ["zzzzzzzz", "abcdefgz", "abcdefgy"], 1)).toBe("abcdefgz");
    expect(closest("abcdefgh", ["zzzzzzzz", "abcdefzz"], 1)).toBeUndefined();
  });
});

describe("time zones and cron expressions", () => {
  it("a wrong time zone gets a did-you-mean", () => {
    expect(suggestTimeZone("europe/paris")).toBe("Europe/Paris");
    expect(suggestTimeZone("Paris")).toBe("Europe/Paris");
    expect(suggestTimeZone("America/NewYork")).toBe("America/New_York");
    expect(timeZoneProblem("Europe/Pariss")).toBe('"Europe/Pariss" is not a known IANA time zone: did you mean Europe/Paris?');
    expect(timeZoneProblem("Mars/Olympus")).toMatch(/not a known IANA time zone \(e\.g\. Europe\/Paris/);
    const e = (() => {
      try {
        loadConfig({ ...TOKENS, TRAILHOUND_TZ: "Europe/Pariss" });
      } catch (err) {
        return err as ConfigError;
      }
    })();
    expect(e?.problems.map((p) => [p.setting, p.message])).toEqual([["TRAILHOUND_TZ", '"Europe/Pariss" is not a known IANA time zone: did you mean Europe/Paris?']]);
  });

  it("a wrong cron expression says which field, where it is and what it takes", () => {
    expect(cronProblem("0 25 * * *")).toBe(
      'the hour field (number 2 of 5 fields: minute hour day-of-month month day-of-week) is "25": it takes 0-23, a range, a list or a step (*/2), e.g. 8 or 8-18',
    );
    expect(cronProblem("0 8 * * MON-FRY")).toMatch(/^the day of week field \(number 5 of 5 .*"MON-FRY": it takes 0-7 .* sun-sat/);
    expect(cronProblem("0 8 * *")).toMatch(/expected 5 or 6 fields but got 4 \(expected 5 fields: minute hour day-of-month month day-of-week, e\.g\./);
    expect(cronProblem("0 8 1 * *")).toBeUndefined();
  });
});

describe(".env.example", () => {
  const text = readFileSync(".env.example", "utf8");
  const listed = new Set([...text.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!));

  it("lists every setting trailhound reads", () => {
    expect(knownSettings().filter((k) => !listed.has(k))).toEqual([]);
    // The code's own reads: every TRAILHOUND_* name in src, and process.env / env reads.
    const read = new Set<string>();
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith(".ts")) {
          const src = readFileSync(p, "utf8");
          for (const m of src.matchAll(/\bTRAILHOUND_[A-Z0-9_]*[A-Z0-9]\b/g)) read.add(m[0]);
          // Reads, not assignments (a benchmark sets the AWS SDK's own variables for its child).
          for (const m of src.matchAll(/\b(?:process\.env|env)\??\.([A-Z][A-Z0-9_]+)\b(?!\s*=[^=])/g)) read.add(m[1]!);
        }
      }
    };
    walk("src");
    expect([...read].filter((k) => !knownSettings().includes(k)).sort()).toEqual([]);
  });

  it("an unchanged copy with the tokens filled in gives the defaults", () => {
    const env: Record<string, string | undefined> = {};
    const dir = mkdtempSync(join(tmpdir(), "th-env-"));
    writeFileSync(
      join(dir, ".env"),
      text.replace(/^SLACK_BOT_TOKEN=$/m, `SLACK_BOT_TOKEN=${TOKENS.SLACK_BOT_TOKEN}`).replace(/^SLACK_APP_TOKEN=$/m, `SLACK_APP_TOKEN=${TOKENS.SLACK_APP_TOKEN}`),
    );
    loadDotEnv(join(dir, ".env"), env);
    expect(env).toEqual(TOKENS);
    expect(loadConfig(env)).toEqual(loadConfig(TOKENS));
    // Every value that is set (commented out or not) parses as a valid setting.
    const values = parseEnv(text.replace(/^# ([A-Z][A-Z0-9_]+=)/gm, "$1"));
    expect(settingWarnings(values, knownSettings())).toEqual([]);
  });
});
