/**
 * Posting stored digests to Slack so that each reader sees every part exactly once.
 *
 * - The digest (all its parts) is in the store before the first post; after each post its ts is
 *   written (`markDigestPart`, durable); at the end the digest is marked sent. A resend starts
 *   after the last part written.
 * - Each message carries metadata `{event_type: "trailhound_digest", event_payload: {digest, part}}`.
 *   When a delivery resumes (after a restart, or after an error that may have hidden a success:
 *   a timeout, a 5xx), the parts already in the channel are found by that metadata
 *   (conversations.history / conversations.replies) and recorded instead of posted again. Those
 *   calls need the channels:history / groups:history scopes; without them trailhound resends
 *   what it did not record and logs once that a part may show twice.
 * - Pacing: at most one message per `postIntervalMs` per channel (Slack allows about 1/s).
 *   429: wait `Retry-After`, then retry. 5xx, network errors and Slack's transient errors: retry
 *   with exponential backoff, then stop and leave the digest pending (retried later). Other
 *   errors (not_in_channel, channel_not_found, invalid_blocks, ...): the digest is marked failed
 *   with the error (the Home tab shows it) and retried at the next run or start.
 */
import type { webApi } from "@slack/bolt";
import type { Log } from "../log.js";
import type { TrailStore } from "../store/store.js";
import type { DigestRecord } from "../store/types.js";

export const DIGEST_EVENT_TYPE = "trailhound_digest";

/** Part 0 cannot be older than its digest; this much slack for our clock against Slack's. */
const CLOCK_SKEW_MS = 5 * 60_000;

export interface PostedMessage {
  ts: string;
  metadata?: { event_type?: string; event_payload?: Record<string, unknown> };
}

/** The Slack calls the digest makes (a WebClient adapter in production, fakes in tests). */
export interface DigestSlack {
  post(m: { channel: string; text: string; blocks?: unknown[]; threadTs?: string; metadata: { digest: string; part: number } }): Promise<string>;
  /** Messages in the channel since `oldest` (a ts), or the replies of thread `threadTs`, with metadata. */
  history(q: { channel: string; oldest?: string; threadTs?: string }): Promise<PostedMessage[]>;
}

/** The store methods delivery uses. */
export type DeliveryStore = Pick<TrailStore, "markDigestPart" | "markDigestSent" | "markDigestFailed" | "pendingDigests" | "getDigest" | "audit">;

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const defaultSleep: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

export interface DeliveryOptions {
  store: DeliveryStore;
  slack: DigestSlack;
  log: Log;
  now: () => number;
  sleep?: Sleep;
  /** Minimum time between two posts in one channel. Default 1100 ms. */
  postIntervalMs?: number;
  /** 429s tolerated per message before giving up for now. Default 5. */
  maxRateLimitWaits?: number;
  /** Retries of a message after 5xx / network / transient errors. Default 4. */
  maxRetries?: number;
  /** First backoff; doubles each retry. Default 2000 ms. */
  backoffMs?: number;
  /** Longest Retry-After honoured (a longer one leaves the digest pending). Default 10 min. */
  maxRetryAfterMs?: number;
  signal?: AbortSignal;
}

export type DeliveryOutcome = "sent" | "pending" | "failed";

type Problem = { kind: "rate-limited"; retryAfterMs: number; why: string } | { kind: "transient"; why: string } | { kind: "permanent"; why: string };

/** conversations.history/replies will not work for this token at all. */
const NO_HISTORY = new Set(["missing_scope", "not_allowed_token_type", "no_permission", "access_denied"]);

const TRANSIENT_PLATFORM = new Set(["internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited", "rate_limited"]);

/** What a Web API error means for a retry. */
export function classifySlackError(err: unknown): Problem {
  const e = err as { code?: string; retryAfter?: number; statusCode?: number; data?: { error?: string }; message?: string };
  switch (e?.code) {
    case "slack_webapi_rate_limited_error":
      return { kind: "rate-limited", retryAfterMs: Math.max(1, Number(e.retryAfter) || 1) * 1000, why: `rate limited (Retry-After ${e.retryAfter}s)` };
    case "slack_webapi_http_error":
      return (e.statusCode ?? 0) >= 500 || e.statusCode === 408
        ? { kind: "transient", why: `Slack answered HTTP ${e.statusCode}` }
        : { kind: "permanent", why: `Slack answered HTTP ${e.statusCode}` };
    case "slack_webapi_request_error":
      return { kind: "transient", why: `cannot reach Slack: ${e.message ?? "network error"}` };
    case "slack_webapi_platform_error": {
      const code = e.data?.error ?? "unknown_error";
      if (code === "ratelimited" || code === "rate_limited") return { kind: "rate-limited", retryAfterMs: 1000, why: code };
      return TRANSIENT_PLATFORM.has(code) ? { kind: "transient", why: code } : { kind: "permanent", why: code };
    }
    default:
      return { kind: "transient", why: e instanceof Error ? e.message : String(err) };
  }
}

class Stop extends Error {
  constructor(readonly problem: Problem) {
    super(problem.why);
  }
}

/** Slack ts of an epoch-ms time. */
export function tsOf(ms: number): string {
  return (ms / 1000).toFixed(6);
}

export class DigestDelivery {
  readonly #o: Required<Omit<DeliveryOptions, "signal">> & { signal?: AbortSignal };
  readonly #lastPost = new Map<string, number>();
  /** conversations.history/replies refused (missing scope): stop asking, resend instead. */
  #historyRefused = false;

  constructor(o: DeliveryOptions) {
    this.#o = {
      sleep: (ms, signal) => (o.sleep ?? defaultSleep)(ms, signal),
      postIntervalMs: 1100,
      maxRateLimitWaits: 5,
      maxRetries: 4,
      backoffMs: 2000,
      maxRetryAfterMs: 600_000,
      ...o,
    };
  }

  get #aborted(): boolean {
    return this.#o.signal?.aborted === true;
  }

  /**
   * Post what is not posted yet of one digest. `resume`: it may have been (partly) posted by an
   * attempt whose outcome is unknown: look in the channel before posting.
   */
  async deliver(d: DigestRecord, resume: boolean): Promise<DeliveryOutcome> {
    const { store, log } = this.#o;
    const parts = d.parts ?? [];
    const posted = [...d.posted];
    try {
      if (resume && posted.length < parts.length) await this.#recover(d, posted);
      for (let i = posted.length; i < parts.length; i++) {
        if (this.#aborted) return "pending";
        const part = parts[i]!;
        const ts = await this.#postPart(d, i, posted);
        // Durable before the next part: a crash after this line never reposts part i.
        await store.markDigestPart(d.id, ts);
        posted.push(ts);
        log.debug("digest part posted", { digest: d.id, part: i, of: parts.length, ts, thread: part.thread });
      }
      await store.markDigestSent(d.id, this.#o.now());
      await store
        .audit({
          at: new Date(this.#o.now()).toISOString(),
          actor: "trailhound",
          action: "digest",
          target: d.id,
          detail: `sent to ${d.channel}: ${parts.length} message(s), ${d.findingIds.length} finding(s), ${d.window.start} → ${d.window.end}`,
        })
        .catch((err: unknown) => log.warn("could not audit a sent digest", { err, digest: d.id }));
      log.info("digest sent", { digest: d.id, channel: d.channel, parts: parts.length, findings: d.findingIds.length });
      return "sent";
    } catch (err) {
      if (err instanceof Stop && err.problem.kind === "permanent") {
        log.error("digest not delivered: Slack refused it", { digest: d.id, channel: d.channel, error: err.problem.why, posted: posted.length, parts: parts.length });
        await store.markDigestFailed(d.id, err.problem.why).catch((e: unknown) => log.error("could not mark a digest failed", { err: e, digest: d.id }));
        return "failed";
      }
      const why = err instanceof Stop ? err.problem.why : err instanceof Error ? err.message : String(err);
      log.warn("digest left pending; it will be resent", { digest: d.id, channel: d.channel, error: why, posted: posted.length, parts: parts.length });
      return "pending";
    }
  }

  /**
   * Send every unsent digest, oldest first. A channel whose digest could not go out gets no newer
   * one in this pass (the order in a channel is the order of the digests). `only`: just these states.
   */
  async deliverPending(opts: { resume?: (d: DigestRecord) => boolean; only?: Array<DigestRecord["state"]> } = {}): Promise<Map<string, DeliveryOutcome>> {
    const out = new Map<string, DeliveryOutcome>();
    const blocked = new Set<string>();
    for (const d of this.#o.store.pendingDigests()) {
      if (this.#aborted) break;
      if (blocked.has(d.channel)) continue;
      if (opts.only && !opts.only.includes(d.state)) {
        blocked.add(d.channel);
        continue;
      }
      const r = await this.deliver(d, opts.resume ? opts.resume(d) : true);
      out.set(d.id, r);
      if (r !== "sent") blocked.add(d.channel);
    }
    return out;
  }

  async #pace(channel: string): Promise<void> {
    const last = this.#lastPost.get(channel);
    if (last === undefined) return;
    const wait = last + this.#o.postIntervalMs - this.#o.now();
    if (wait > 0) await this.#o.sleep(wait, this.#o.signal);
  }

  async #postPart(d: DigestRecord, i: number, posted: string[]): Promise<string> {
    const { slack, sleep } = this.#o;
    const part = d.parts![i]!;
    let rateWaits = 0;
    let failures = 0;
    let ambiguous = false;
    for (;;) {
      if (this.#aborted) throw new Stop({ kind: "transient", why: "stopping" });
      if (ambiguous) {
        // The last attempt may have reached Slack: look before posting again.
        const found = await this.#find(d, i, posted);
        if (found) return found;
      }
      await this.#pace(d.channel);
      try {
        const ts = await slack.post({
          channel: d.channel,
          text: part.text,
          ...(part.blocks.length ? { blocks: part.blocks } : {}),
          ...(part.thread ? { threadTs: posted[0]! } : {}),
          metadata: { digest: d.id, part: i },
        });
        this.#lastPost.set(d.channel, this.#o.now());
        return ts;
      } catch (err) {
        this.#lastPost.set(d.channel, this.#o.now());
        const p = classifySlackError(err);
        if (p.kind === "permanent") throw new Stop(p);
        if (p.kind === "rate-limited") {
          if (++rateWaits > this.#o.maxRateLimitWaits || p.retryAfterMs > this.#o.maxRetryAfterMs) throw new Stop({ kind: "transient", why: p.why });
          this.#o.log.info("Slack rate-limited a digest post; waiting", { digest: d.id, part: i, retryAfterMs: p.retryAfterMs });
          await sleep(p.retryAfterMs, this.#o.signal);
          continue;
        }
        if (++failures > this.#o.maxRetries) throw new Stop(p);
        ambiguous = true;
        const backoff = this.#o.backoffMs * 2 ** (failures - 1);
        this.#o.log.warn("digest post failed; retrying", { digest: d.id, part: i, error: p.why, retryInMs: backoff });
        await sleep(backoff, this.#o.signal);
      }
    }
  }

  /** The ts of part `i` if it is already in the channel (by its metadata). */
  async #find(d: DigestRecord, i: number, posted: string[]): Promise<string | undefined> {
    if (this.#historyRefused) return undefined;
    try {
      const msgs =
        i === 0
          ? await this.#o.slack.history({ channel: d.channel, oldest: tsOf(Date.parse(d.createdAt) - CLOCK_SKEW_MS) })
          : await this.#o.slack.history({ channel: d.channel, threadTs: posted[0]! });
      return partsIn(msgs, d.id).get(i);
    } catch (err) {
      const p = classifySlackError(err);
      if (p.kind === "permanent" && NO_HISTORY.has(p.why)) {
        this.#historyRefused = true;
        this.#o.log.warn("cannot look up which digest parts reached Slack (add the channels:history and groups:history scopes); a part whose post was interrupted may show twice", {
          error: p.why,
        });
      } else {
        this.#o.log.warn("cannot look up which digest parts reached Slack; resending what is not recorded", { error: p.why });
      }
      return undefined;
    }
  }

  /** Record the parts that reached Slack but not the store (a crash or error between the two). */
  async #recover(d: DigestRecord, posted: string[]): Promise<void> {
    const parts = d.parts ?? [];
    while (posted.length < parts.length) {
      const ts = await this.#find(d, posted.length, posted);
      if (!ts) return;
      await this.#o.store.markDigestPart(d.id, ts);
      posted.push(ts);
      this.#o.log.info("digest part found in Slack, not posted again", { digest: d.id, part: posted.length - 1, ts });
    }
  }
}

/** part -> ts of a digest's messages among `msgs`. */
export function partsIn(msgs: readonly PostedMessage[], digestId: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const m of msgs) {
    const md = m.metadata;
    if (md?.event_type !== DIGEST_EVENT_TYPE || md.event_payload?.digest !== digestId) continue;
    const part = Number(md.event_payload.part);
    if (Number.isInteger(part) && !out.has(part)) out.set(part, m.ts);
  }
  return out;
}

/**
 * DigestSlack over a WebClient. Build the client with `retryConfig: { retries: 0 }` and
 * `rejectRateLimitedCalls: true`: the digest does its own retries, with its own clock.
 */
export function webClientSlack(client: webApi.WebClient, pages = 5): DigestSlack {
  return {
    async post(m) {
      const r = await client.chat.postMessage({
        channel: m.channel,
        text: m.text,
        ...(m.blocks ? { blocks: m.blocks as never } : {}),
        ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
        unfurl_links: false,
        unfurl_media: false,
        metadata: { event_type: DIGEST_EVENT_TYPE, event_payload: { digest: m.metadata.digest, part: m.metadata.part } },
      });
      if (!r.ts) throw new Error("chat.postMessage returned no ts");
      return r.ts;
    },
    async history(q) {
      const out: PostedMessage[] = [];
      let cursor: string | undefined;
      for (let p = 0; p < pages; p++) {
        const r = q.threadTs
          ? await client.conversations.replies({ channel: q.channel, ts: q.threadTs, include_all_metadata: true, limit: 200, ...(cursor ? { cursor } : {}) })
          : await client.conversations.history({
              channel: q.channel,
              include_all_metadata: true,
              limit: 200,
              ...(q.oldest ? { oldest: q.oldest } : {}),
              ...(cursor ? { cursor } : {}),
            });
        for (const m of (r.messages ?? []) as Array<{ ts?: string; metadata?: PostedMessage["metadata"] }>) {
          if (m.ts) out.push({ ts: m.ts, ...(m.metadata ? { metadata: m.metadata } : {}) });
        }
        cursor = r.response_metadata?.next_cursor || undefined;
        if (!cursor) break;
      }
      return out;
    },
  };
}
