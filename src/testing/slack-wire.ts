/**
 * Slack requests as Slack sends them (docs: ../shared/docs/SLACK.md), for the e2e tests and the
 * benchmark: v0 signatures, form encoding, slash-command bodies, and a small HTTP client that
 * sends the body as a string with the exact Content-Type Bolt expects.
 */
import { createHmac } from "node:crypto";
import { request, type Agent } from "node:http";

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** From sending to the end of the response. */
  ms: number;
}

export function httpRequest(url: string, method: string, headers: Record<string, string>, body?: string, agent?: Agent): Promise<HttpResult> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method, ...(agent ? { agent } : {}), headers: { ...headers, ...(body !== undefined ? { "content-length": String(Buffer.byteLength(body)) } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), ms: performance.now() - t0 }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** `v0=` + hex(HMAC-SHA256(secret, "v0:<ts>:<body>")). */
export function sign(body: string, ts: number, secret: string): string {
  return "v0=" + createHmac("sha256", secret).update(`v0:${ts}:${body}`).digest("hex");
}

/** Form-encode like Slack does (%20 for spaces, every value a string, in the given order). */
export function formEncode(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&");
}

export interface SlashCommand {
  text: string;
  team: string;
  channel: string;
  user: string;
  responseUrl: string;
  triggerId: string;
}

/** A slash-command body with Slack's fields in Slack's order. */
export function slashCommandBody(c: SlashCommand): string {
  return formEncode({
    token: "vtok123",
    team_id: c.team,
    team_domain: "acme",
    channel_id: c.channel,
    channel_name: "security",
    user_id: c.user,
    user_name: "alice",
    command: "/cloudtrail",
    text: c.text,
    api_app_id: "A0TEST",
    is_enterprise_install: "false",
    response_url: c.responseUrl,
    trigger_id: c.triggerId,
  });
}

/** POST a signed form body to Bolt's endpoint. */
export function postSigned(url: string, body: string, secret: string, o: { ts?: number; signature?: string; contentType?: string; agent?: Agent } = {}): Promise<HttpResult> {
  const ts = o.ts ?? Math.floor(Date.now() / 1000);
  return httpRequest(
    url,
    "POST",
    {
      "content-type": o.contentType ?? "application/x-www-form-urlencoded",
      "x-slack-request-timestamp": String(ts),
      "x-slack-signature": o.signature ?? sign(body, ts, secret),
    },
    body,
    o.agent,
  );
}
