import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";
import { parseDigestSchedules } from "../../src/digest/config.js";

const BASE = { SLACK_BOT_TOKEN: "xoxb-1-abc", SLACK_APP_TOKEN: "xapp-1-abc" };

function problems(env: Record<string, string>): Array<{ setting: string; message: string; hint: string }> {
  try {
    loadConfig({ ...BASE, ...env });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("digest configuration", () => {
  it("one digest from TRAILHOUND_DIGEST_CHANNEL, every day at 08:00 UTC by default", () => {
    const c = loadConfig({ ...BASE, TRAILHOUND_DIGEST_CHANNEL: "C0SEC" });
    expect(c.digests).toEqual([{ name: "C0SEC", channel: "C0SEC", cron: "0 8 * * *", tz: "UTC", filters: {}, quiet: "line", top: 5 }]);
    expect(loadConfig(BASE).digests).toEqual([]);
  });

  it("several digests: channel=cron@tz and options; the zone defaults to TRAILHOUND_TZ, quiet to TRAILHOUND_DIGEST_QUIET", () => {
    const c = loadConfig({
      ...BASE,
      TRAILHOUND_TZ: "Europe/Paris",
      TRAILHOUND_DIGEST_QUIET: "silent",
      TRAILHOUND_DIGESTS: "C0SEC=0 8 * * *@America/New_York; C0PROD = 30 7 * * 1-5 account=111122223333 region=eu-west-1 quiet=line top=3\n G0OPS=@daily@Asia/Kolkata name=ops",
    });
    expect(c.digests).toEqual([
      { name: "C0SEC", channel: "C0SEC", cron: "0 8 * * *", tz: "America/New_York", filters: {}, quiet: "silent", top: 5 },
      {
        name: "C0PROD/111122223333/eu-west-1",
        channel: "C0PROD",
        cron: "30 7 * * 1-5",
        tz: "Europe/Paris",
        filters: { account: "111122223333", region: "eu-west-1" },
        quiet: "line",
        top: 3,
      },
      { name: "ops", channel: "G0OPS", cron: "@daily", tz: "Asia/Kolkata", filters: {}, quiet: "silent", top: 5 },
    ]);
  });

  it("validation errors name the setting, the entry and what is wrong (cron checked field by field, zones by Intl)", () => {
    const p = problems({
      TRAILHOUND_DIGESTS: "C0A=0 8 * * *; C0B=61 8 * * *; C0C=0 8 * * *@Mars/Olympus; #sec=0 8 * * *; C0D=0 8 * * * account=12 colour=blue; C0E",
      TRAILHOUND_DIGEST_QUIET: "loud",
    });
    const digests = p.filter((x) => x.setting === "TRAILHOUND_DIGESTS").map((x) => x.message);
    expect(digests).toHaveLength(6);
    expect(digests[0]).toMatch(/^entry 2 .*C0B=61.*cron "61 8 \* \* \*".*minute/);
    expect(digests[1]).toMatch(/^entry 3 .*time zone "Mars\/Olympus" is not a known IANA time zone/);
    expect(digests[2]).toMatch(/^entry 4 .*"#sec" must be a channel id/);
    expect(digests[3]).toMatch(/^entry 5 .*account=12: expected a 12-digit/);
    expect(digests[4]).toMatch(/^entry 5 .*unknown option colour=/);
    expect(digests[5]).toMatch(/^entry 6 .*expected CHANNEL=CRON/);
    expect(p.find((x) => x.setting === "TRAILHOUND_DIGEST_QUIET")?.message).toMatch(/"loud": expected line or silent/);
    for (const x of p) expect(x.hint.length).toBeGreaterThan(10);
  });

  it("the single-digest settings are named when they are wrong, and two digests with one name are refused", () => {
    expect(problems({ TRAILHOUND_DIGEST_CHANNEL: "C0SEC", TRAILHOUND_DIGEST_CRON: "0 25 * * *" }).map((x) => x.setting)).toEqual(["TRAILHOUND_DIGEST_CRON"]);
    expect(problems({ TRAILHOUND_DIGEST_CHANNEL: "C0SEC", TRAILHOUND_TZ: "Nowhere/Town" }).map((x) => x.setting)).toEqual(["TRAILHOUND_TZ"]);
    const dup = parseDigestSchedules({ TRAILHOUND_DIGEST_CHANNEL: "C0SEC", TRAILHOUND_DIGESTS: "C0SEC=0 18 * * *" });
    expect(dup.problems).toEqual([{ setting: "TRAILHOUND_DIGESTS", message: expect.stringContaining("two digests are named C0SEC") }]);
    expect(parseDigestSchedules({ TRAILHOUND_DIGEST_CHANNEL: "C0SEC", TRAILHOUND_DIGESTS: "C0SEC=0 18 * * * name=evening" }).problems).toEqual([]);
  });
});
