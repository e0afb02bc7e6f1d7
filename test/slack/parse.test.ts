import { describe, expect, it } from "vitest";
import { describeTarget, describeWindow, parseCommand, unescapeSlackText } from "../../src/slack/commands/parse.js";

const NOW = Date.parse("2024-05-10T12:00:00Z");
const p = (t: string) => parseCommand(t, NOW);

describe("parseCommand", () => {
  it("help for empty text, help and ?", () => {
    for (const t of ["", "  ", "help", "HELP", "?"]) expect(p(t)).toEqual({ kind: "help" });
  });

  it("scan user with windows", () => {
    expect(p("scan user alice")).toEqual({ kind: "scan", target: { kind: "user", value: "alice" }, since: "24h" });
    expect(p("scan user alice 7d")).toEqual({ kind: "scan", target: { kind: "user", value: "alice" }, since: "7d" });
    expect(p("scan  user   alice@example.com   last 30m")).toEqual({ kind: "scan", target: { kind: "user", value: "alice@example.com" }, since: "30m" });
    expect(p("scan user alice since 2024-05-01")).toEqual({ kind: "scan", target: { kind: "user", value: "alice" }, since: "2024-05-01" });
    expect(p("scan user alice since 2024-05-01T09:00Z until 2024-05-02T09:00:00Z")).toEqual({
      kind: "scan",
      target: { kind: "user", value: "alice" },
      since: "2024-05-01T09:00Z",
      until: "2024-05-02T09:00:00Z",
    });
  });

  it("scan ip, role, account", () => {
    expect(p("scan ip 203.0.113.7")).toMatchObject({ kind: "scan", target: { kind: "ip", value: "203.0.113.7" } });
    expect(p("scan ip 2001:db8::1 7d")).toMatchObject({ target: { kind: "ip", value: "2001:db8::1" }, since: "7d" });
    expect(p("scan role arn:aws:iam::123456789012:role/Deploy")).toMatchObject({ target: { kind: "role", value: "arn:aws:iam::123456789012:role/Deploy" } });
    expect(p("scan role Deploy 24h")).toMatchObject({ target: { kind: "role", value: "Deploy" } });
    expect(p("scan account")).toEqual({ kind: "scan", target: { kind: "account" }, since: "24h" });
    expect(p("scan account 123456789012 7d")).toEqual({ kind: "scan", target: { kind: "account", value: "123456789012" }, since: "7d" });
    expect(p("scan account 7d")).toEqual({ kind: "scan", target: { kind: "account" }, since: "7d" });
    expect(p("scan 24h")).toEqual({ kind: "scan", target: { kind: "account" }, since: "24h" });
    expect(p("scan")).toEqual({ kind: "scan", target: { kind: "account" }, since: "24h" });
  });

  it("other verbs", () => {
    expect(p("status")).toEqual({ kind: "status" });
    expect(p("suppressions")).toEqual({ kind: "suppressions" });
    expect(p("unsuppress s-abc123")).toEqual({ kind: "unsuppress", id: "s-abc123" });
    expect(p("baseline user alice")).toEqual({ kind: "baseline", identity: { kind: "user", value: "alice" } });
    expect(p("baseline role Deploy")).toEqual({ kind: "baseline", identity: { kind: "role", value: "Deploy" } });
    expect(p("baseline user:123456789012:alice")).toEqual({ kind: "baseline", identity: { kind: "key", value: "user:123456789012:alice" } });
  });

  it("says what was not understood", () => {
    const cases: Array<[string, RegExp]> = [
      ["frobnicate", /`frobnicate` is not a command/],
      ["scan user", /needs a user name/],
      ["scan user <script>", /user name has/],
      ["scan ip 999.1.1.1", /not an IPv4 or IPv6/],
      ["scan ip", /needs an address/],
      ["scan role not/a/role!", /not a role ARN/],
      ["scan planet mars", /scan what\?/],
      ["scan user alice 3 weeks", /not a window/],
      ["scan user alice 91d", /at most 90 days/],
      ["scan user alice 0h", /longer than zero/],
      ["scan user alice since yesterday", /not an ISO time/],
      ["scan user alice since 2024-06-01", /in the future/],
      ["scan user alice since 2023-01-01", /at most 90 days ago/],
      ["scan user alice since 2024-05-02 until 2024-05-01", /until.*after/],
      ["status now", /takes no arguments/],
      ["unsuppress", /needs one suppression id/],
      ["unsuppress a b", /needs one suppression id/],
      ["unsuppress <!channel>", /not a suppression id/],
      ["baseline", /needs an identity/],
      ["baseline user", /needs an identity/],
    ];
    for (const [text, re] of cases) {
      const c = p(text);
      expect(c.kind, text).toBe("invalid");
      if (c.kind === "invalid") {
        expect(c.problem, text).toMatch(re);
        expect(c.input).toBe(unescapeSlackText(text).trim());
      }
    }
  });

  it("undoes Slack's escaping and auto-links", () => {
    expect(unescapeSlackText("a &lt;b&gt; &amp; c")).toBe("a <b> & c");
    expect(unescapeSlackText("<mailto:alice@example.com|alice@example.com>")).toBe("alice@example.com");
    expect(unescapeSlackText("<https://example.com>")).toBe("https://example.com");
    expect(p("scan user <mailto:alice@example.com|alice@example.com>")).toMatchObject({ target: { value: "alice@example.com" } });
    expect(p("unsuppress &lt;!channel&gt;")).toMatchObject({ kind: "invalid" });
  });

  it("describes targets and windows", () => {
    expect(describeTarget({ kind: "user", value: "alice" })).toBe("user alice");
    expect(describeTarget({ kind: "account" })).toBe("the whole account");
    expect(describeTarget({ kind: "account", value: "123456789012" })).toBe("account 123456789012");
    expect(describeWindow("24h")).toBe("the last 24h");
    expect(describeWindow()).toBe("the last 24h");
    expect(describeWindow("2024-05-01", "2024-05-02")).toBe("2024-05-01 to 2024-05-02");
  });
});
