import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, SETTING_HINTS } from "../src/config.js";

const HTTP = { SLACK_BOT_TOKEN: "xoxb-1-2-abc", SLACK_SIGNING_SECRET: "8f742231b10e8888abcd99yyyzzz85a5" };

function problems(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("HTTP mode with defaults", () => {
    const c = loadConfig(HTTP);
    expect(c.slack).toEqual({ botToken: HTTP.SLACK_BOT_TOKEN, signingSecret: HTTP.SLACK_SIGNING_SECRET, mode: "http", port: 3000 });
    expect(c.dataDir).toBe("./data");
    expect(c.ackAnyone).toBe(true);
    expect(c.admins).toEqual({ users: [], groups: [] });
    expect(c.digest).toEqual({ cron: "0 8 * * *", tz: "UTC" });
    expect(c.logLevel).toBe("info");
  });

  it("Socket Mode when SLACK_APP_TOKEN is set (no signing secret needed, no port unless set)", () => {
    const c = loadConfig({ SLACK_BOT_TOKEN: "xoxb-1", SLACK_APP_TOKEN: "xapp-1-A1-2-abc" });
    expect(c.slack.mode).toBe("socket");
    expect(c.slack.port).toBeUndefined();
    expect(loadConfig({ SLACK_BOT_TOKEN: "xoxb-1", SLACK_APP_TOKEN: "xapp-1", PORT: "8080" }).slack.port).toBe(8080);
  });

  it("parses every setting", () => {
    const c = loadConfig({
      ...HTTP,
      PORT: "0",
      SLACK_API_URL: "http://127.0.0.1:9999/api",
      TRAILHOUND_DATA_DIR: "/data",
      TRAILHOUND_ADMINS: "U012ABC, W0XYZ ,S0SECTEAM",
      TRAILHOUND_ACK_ANYONE: "false",
      TRAILHOUND_TEAM_ID: "T0TEST",
      TRAILHOUND_REGIONS: "us-east-1,eu-west-3,us-gov-west-1",
      AWS_PROFILE: "security",
      TRAILHOUND_ROLE_ARNS: "arn:aws:iam::123456789012:role/TrailhoundRead,arn:aws:iam::210987654321:role/path/Read",
      TRAILHOUND_DIGEST_CHANNEL: "C0SEC",
      TRAILHOUND_DIGEST_CRON: "30 7 * * 1-5",
      TRAILHOUND_TZ: "Europe/Paris",
      TRAILHOUND_LOG_LEVEL: "debug",
    });
    expect(c.slack.port).toBe(0);
    expect(c.slack.apiUrl).toBe("http://127.0.0.1:9999/api/");
    expect(c.slack.teamId).toBe("T0TEST");
    expect(c.dataDir).toBe("/data");
    expect(c.admins).toEqual({ users: ["U012ABC", "W0XYZ"], groups: ["S0SECTEAM"] });
    expect(c.ackAnyone).toBe(false);
    expect(c.aws).toEqual({
      regions: ["us-east-1", "eu-west-3", "us-gov-west-1"],
      profile: "security",
      roleArns: ["arn:aws:iam::123456789012:role/TrailhoundRead", "arn:aws:iam::210987654321:role/path/Read"],
    });
    expect(c.digest).toEqual({ channel: "C0SEC", cron: "30 7 * * 1-5", tz: "Europe/Paris" });
    expect(c.logLevel).toBe("debug");
  });

  it("treats empty values as unset", () => {
    const c = loadConfig({ ...HTTP, TRAILHOUND_ADMINS: "", TRAILHOUND_TZ: " ", PORT: "" });
    expect(c.admins.users).toEqual([]);
    expect(c.digest.tz).toBe("UTC");
    expect(c.slack.port).toBe(3000);
  });

  it("lists every missing setting with how to get it", () => {
    const e = problems({});
    const names = e.problems.map((p) => p.setting);
    expect(names).toEqual(["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]);
    expect(e.problems[0]!.message).toBe("missing");
    expect(e.message).toContain("OAuth & Permissions");
    expect(e.message).toContain("Signing Secret");
    expect(e.code).toBe("config");
  });

  it("lists every malformed setting at once", () => {
    const e = problems({
      SLACK_BOT_TOKEN: "xoxp-user-token",
      SLACK_APP_TOKEN: "not-a-token",
      PORT: "99999",
      SLACK_API_URL: "ftp://x",
      TRAILHOUND_ADMINS: "U012,alice",
      TRAILHOUND_ACK_ANYONE: "maybe",
      TRAILHOUND_TEAM_ID: "acme",
      TRAILHOUND_REGIONS: "us-east-1,mars-1",
      TRAILHOUND_ROLE_ARNS: "Deploy",
      TRAILHOUND_DIGEST_CHANNEL: "#security",
      TRAILHOUND_DIGEST_CRON: "every day",
      TRAILHOUND_TZ: "Mars/Olympus",
      TRAILHOUND_GEOIP_CITY_DB: "/nonexistent/city.mmdb",
      TRAILHOUND_LOG_LEVEL: "loud",
    });
    const by = Object.fromEntries(e.problems.map((p) => [p.setting, p.message]));
    expect(Object.keys(by).sort()).toEqual(
      [
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "PORT",
        "SLACK_API_URL",
        "TRAILHOUND_ADMINS",
        "TRAILHOUND_ACK_ANYONE",
        "TRAILHOUND_TEAM_ID",
        "TRAILHOUND_REGIONS",
        "TRAILHOUND_ROLE_ARNS",
        "TRAILHOUND_DIGEST_CHANNEL",
        "TRAILHOUND_DIGEST_CRON",
        "TRAILHOUND_TZ",
        "TRAILHOUND_GEOIP_CITY_DB",
        "TRAILHOUND_LOG_LEVEL",
      ].sort(),
    );
    expect(by.SLACK_BOT_TOKEN).toContain("xoxb-");
    expect(by.TRAILHOUND_DIGEST_CHANNEL).toContain("not a #name");
    for (const p of e.problems) expect(p.hint.length).toBeGreaterThan(10);
  });

  it(".env.example lists every setting", () => {
    const example = readFileSync(new URL("../.env.example", import.meta.url), "utf8");
    for (const name of Object.keys(SETTING_HINTS)) expect(example).toMatch(new RegExp(`^#? ?${name}=`, "m"));
  });
});
