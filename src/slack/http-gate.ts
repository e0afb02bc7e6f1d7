/**
 * In front of Bolt's HTTP receiver, for POST /slack/events: the request is read once (Bolt re-uses
 * the buffered body), then refused unless
 *
 * - its signature header is exactly `v0=` and 64 hex digits (Bolt ignores anything after the
 *   digest: `v0=<hex>=x` passes there) and its timestamp header is whole seconds, at most 5 minutes
 *   old or ahead, and the HMAC matches (constant-time);
 * - what was signed (timestamp + body) was not accepted before (ReplayGuard, kept in the store);
 * - the body parses to a JSON object the way Bolt parses it (`payload=null`, a JSON array or
 *   number would otherwise reach code that assumes an object: Bolt's receiver crashes the process
 *   on `payload=null`).
 *
 * Refusals are answered at once (401, or 400 for a signed malformed body), logged, and reported
 * to `onRefused` (the audit log, rate-limited by the caller). Nothing here throws.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { parse as parseQuery } from "node:querystring";
import type { Log } from "../log.js";
import { signedKey, type ReplayGuard } from "./replay.js";

export type RefusalKind = "signature" | "replay" | "malformed";

export interface GateOptions {
  signingSecret: string;
  guard: ReplayGuard;
  log: Log;
  now?: () => number;
  /** Called for every refusal (after the answer is sent). `claimedUser`: unverified for "signature". */
  onRefused?: (kind: RefusalKind, detail: string, claimedUser?: string) => void;
  endpoints?: string[];
  /** Bolt's default: 4 MB. */
  bodyLimit?: number;
  /** How far a timestamp may be from now (Slack: 5 minutes). */
  skewSec?: number;
}

const SIGNATURE = /^v0=[0-9a-f]{64}$/;
const TIMESTAMP = /^\d{1,12}$/;
const FORM = "application/x-www-form-urlencoded";

class TooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new TooLarge());
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** The body as Bolt parses it (HTTPModuleFunctions.parseHTTPRequestBody); throws when it does not parse. */
export function parseSlackBody(raw: string, contentType: string | undefined): unknown {
  if (contentType === FORM) {
    const q = parseQuery(raw);
    if (typeof q.payload === "string") return JSON.parse(q.payload);
    return q;
  }
  return JSON.parse(raw);
}

/** The user a body claims (unverified until the signature is checked). */
export function claimedUser(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.user_id === "string") return b.user_id;
  const u = b.user as { id?: unknown } | string | undefined;
  if (typeof u === "string") return u;
  if (u && typeof u === "object" && typeof u.id === "string") return u.id;
  const e = b.event as { user?: unknown } | undefined;
  return e && typeof e === "object" && typeof e.user === "string" ? e.user : undefined;
}

function answer(res: ServerResponse, status: number): void {
  if (res.headersSent) return;
  res.writeHead(status);
  res.end();
}

export function gateListener(next: RequestListener, o: GateOptions): RequestListener {
  const now = o.now ?? Date.now;
  const endpoints = o.endpoints ?? ["/slack/events"];
  const limit = o.bodyLimit ?? 4 * 1024 * 1024;
  const skew = o.skewSec ?? 300;
  const refuse = (res: ServerResponse, status: number, kind: RefusalKind, detail: string, user?: string) => {
    answer(res, status);
    o.log.warn(`refused a Slack request: ${detail}`, { kind, ...(user ? { claimedUser: user } : {}) });
    try {
      o.onRefused?.(kind, detail, user);
    } catch (err) {
      o.log.error("recording a refused request failed", { err });
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let raw: Buffer;
    try {
      raw = await readBody(req, limit);
    } catch (err) {
      if (err instanceof TooLarge) {
        o.log.warn("refused a Slack request: body too large", { limit });
        return answer(res, 413);
      }
      o.log.warn("could not read a Slack request", { err: err instanceof Error ? err.message : String(err) });
      return answer(res, 400);
    }
    (req as IncomingMessage & { rawBody?: Buffer }).rawBody = raw;
    const text = raw.toString();
    const contentType = req.headers["content-type"];
    let body: unknown;
    let parseError: string | undefined;
    try {
      body = parseSlackBody(text, contentType);
    } catch (err) {
      parseError = err instanceof Error ? err.message : String(err);
    }
    // Slack's SSL check is unsigned; Bolt answers it and ignores anything else in the body.
    if (contentType === FORM && (body as Record<string, unknown> | undefined)?.ssl_check === "1") return next(req, res);

    const sig = req.headers["x-slack-signature"];
    const tsHeader = req.headers["x-slack-request-timestamp"];
    const user = claimedUser(body);
    if (typeof sig !== "string" || !SIGNATURE.test(sig)) {
      return refuse(
        res,
        401,
        "signature",
        typeof sig === "string" && sig.startsWith("v0=") ? "malformed signature header (not exactly v0= and 64 hex digits)" : "missing or unknown signature",
        user,
      );
    }
    if (typeof tsHeader !== "string" || !TIMESTAMP.test(tsHeader)) return refuse(res, 401, "signature", "malformed timestamp header", user);
    const ts = Number(tsHeader);
    const nowSec = Math.floor(now() / 1000);
    if (Math.abs(nowSec - ts) > skew) return refuse(res, 401, "signature", `timestamp ${ts < nowSec ? "older" : "further ahead"} than ${skew} s`, user);
    const expected = createHmac("sha256", o.signingSecret).update(`v0:${ts}:`).update(raw).digest();
    if (!timingSafeEqual(expected, Buffer.from(sig.slice(3), "hex"))) return refuse(res, 401, "signature", "signature mismatch", user);

    // Authentic from here on.
    if (o.guard.isReplay(signedKey(ts, raw), ts)) return refuse(res, 401, "replay", "replayed request (same timestamp and body accepted before)", user);
    if (parseError !== undefined) return refuse(res, 400, "malformed", `body does not parse: ${parseError.slice(0, 200)}`, user);
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return refuse(res, 400, "malformed", `body is ${body === null ? "null" : Array.isArray(body) ? "an array" : typeof body}, not an object`, user);
    }
    next(req, res);
  };

  return (req, res) => {
    const path = (req.url ?? "").split("?")[0] ?? "";
    if (req.method !== "POST" || !endpoints.includes(path)) return next(req, res);
    handle(req, res).catch((err: unknown) => {
      o.log.error("the request gate failed", { err });
      answer(res, 500);
    });
  };
}
