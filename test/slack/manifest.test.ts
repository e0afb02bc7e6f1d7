import { readFileSync } from "node:fs";
import AjvDraft04 from "ajv-draft-04";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const schema = JSON.parse(readFileSync(new URL("../fixtures/slack/slack-manifest.schema.json", import.meta.url), "utf8")) as object;
const manifest = parse(readFileSync(new URL("../../manifest.yml", import.meta.url), "utf8")) as {
  features: { slash_commands: Array<{ command: string }>; app_home: { home_tab_enabled: boolean } };
  oauth_config: { scopes: { bot: string[] } };
  settings: { socket_mode_enabled: boolean; interactivity: { is_enabled: boolean }; event_subscriptions: { bot_events: string[] } };
};

describe("manifest.yml", () => {
  it("is a valid Slack app manifest (shared JSON schema)", () => {
    // CommonJS default export: under NodeNext the class sits on `.default`.
    const Ajv = AjvDraft04.default;
    const ajv = new Ajv({ allErrors: true });
    const validate = ajv.compile(schema);
    const ok = validate(manifest);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it("declares the command, interactivity, the Home tab, Socket Mode and only the scopes the bot uses", () => {
    expect(manifest.features.slash_commands.map((c) => c.command)).toEqual(["/cloudtrail"]);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.features.app_home.home_tab_enabled).toBe(true);
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(["app_home_opened"]);
    expect(manifest.settings.socket_mode_enabled).toBe(true);
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual(["channels:history", "chat:write", "commands", "files:write", "groups:history", "usergroups:read", "users:read"]);
  });
});
