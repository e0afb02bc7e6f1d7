/**
 * Outbound notifications: findings reach a generic webhook (JSON, HMAC-SHA256-signed body) and
 * PagerDuty (Events API v2), each from its own minimum severity. New, worse or reopened open
 * findings trigger; an acknowledgement acknowledges the PagerDuty alert, a suppression, a
 * resolution or an executed containment resolves it (dedup_key = the finding id). Deliveries are
 * retried with exponential backoff on network errors, 429 and 5xx; what still fails is a dead
 * letter: counted (`/cloudtrail status`) and appended to `<data dir>/dead-letters.jsonl`.
 * Secrets (the webhook secret, the routing key) are never logged nor written.
 */
import { createHmac, randomUUID } from "node:crypto";
import { appendFile } from "node:fs/promises";
import path from "node:path";
import { SEVERITY_RANK, type Severity } from "../events/types.js";
import type { Log } from "../log.js";
import type { Finding } from "../scan/report-types.js";
import type { StoreChange } from "../store/store.js";
import type { StoredFinding } from "../store/types.js";
import { VERSION } from "../version.js";

export const PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue";

export interface NotifySettings {
  webhook?: { url: string; secret: string; minSeverity: Severity };
  pagerduty?: { routingKey: string; minSeverity: Severity; url?: string };
}

export interface NotifierOptions {
  settings: NotifySettings;
  getFinding(id: string): StoredFinding | undefined;
  log: Log;
  /** Where dead letters are appended (JSON lines); none: counted only. */
  deadLetterFile?: string;
  /** Attempts per delivery (default 5). */
  attempts?: number;
  /** Backoff before retry n (1-based): default 1 s * 2^(n-1), at most 60 s, with jitter. */
  backoffMs?: (n: number) => number;
  sleep?: (ms: number) => Promise<void>;
  fetch?: typeof fetch;
  /** Per request (default 10 s). */
  timeoutMs?: number;
}

export type WebhookEvent = "finding.new" | "finding.raised" | "finding.reopened" | "finding.acknowledged" | "finding.suppressed" | "finding.resolved" | "finding.contained";

export function sign(secret: string, body: string): string {
  return "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
}

const PD_SEVERITY: Record<Severity, "critical" | "error" | "warning" | "info"> = {
  critical: "critical",
  high: "error",
  medium: "warning",
  low: "info",
  info: "info",
};

export function pagerDutyTrigger(routingKey: string, f: Finding): Record<string, unknown> {
  return {
    routing_key: routingKey,
    event_action: "trigger",
    dedup_key: f.id,
    payload: {
      summary: `${f.title} (${f.identity.userName ?? f.identity.key}${f.identity.accountId ? ` in ${f.identity.accountId}` : ""})`.slice(0, 1024),
      source: f.identity.accountId ? `aws:${f.identity.accountId}` : "aws",
      severity: PD_SEVERITY[f.severity] ?? "info",
      timestamp: f.lastSeen,
      component: f.identity.key.slice(0, 255),
      group: f.detector,
      class: f.detector,
      custom_details: {
        finding_id: f.id,
        severity: f.severity,
        score: f.score,
        why: f.why.slice(0, 2000),
        source_ip: f.sourceIp,
        region: f.region,
        event_ids: f.eventIds,
        count: f.count,
        attack: f.attack,
      },
    },
    client: "trailhound",
  };
}

interface Delivery {
  target: "webhook" | "pagerduty";
  /** What it is, for logs and dead letters (no secret). */
  what: string;
  body: string;
  headers: Record<string, string>;
  url: string;
}

export class Notifier {
  #dead = 0;
  #delivered = 0;
  #queue: Promise<void> = Promise.resolve();
  readonly #o: NotifierOptions;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #fetch: typeof fetch;

  constructor(o: NotifierOptions) {
    this.#o = o;
    this.#sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.#fetch = o.fetch ?? fetch;
  }

  get enabled(): boolean {
    return Boolean(this.#o.settings.webhook || this.#o.settings.pagerduty);
  }

  /** Deliveries that failed for good. */
  deadLetters(): number {
    return this.#dead;
  }

  delivered(): number {
    return this.#delivered;
  }

  /** Resolves when everything queued so far was delivered or dead-lettered. */
  idle(): Promise<void> {
    return this.#queue;
  }

  /** The store listener (`store.onChange(n.handle)`). */
  readonly handle = (c: StoreChange): void => {
    switch (c.kind) {
      case "findings":
        for (const r of c.results) {
          if (!r.notify) continue;
          const s = this.#o.getFinding(r.id);
          if (!s) continue;
          const event: WebhookEvent = r.kind === "new" ? "finding.new" : r.kind === "severity-raised" ? "finding.raised" : r.reopened ? "finding.reopened" : "finding.new";
          this.#webhook(event, s.finding, {});
          const pd = this.#o.settings.pagerduty;
          if (pd && this.#reaches(s.finding.severity, pd.minSeverity)) this.#pagerduty(pagerDutyTrigger(pd.routingKey, s.finding), `trigger ${s.id}`);
        }
        return;
      case "acknowledged":
        this.#changed(c.findingId, "finding.acknowledged", "acknowledge", { by: c.by });
        return;
      case "resolved":
        this.#changed(c.findingId, "finding.resolved", "resolve", { by: c.by });
        return;
      case "suppressed":
        for (const id of c.findingIds) this.#changed(id, "finding.suppressed", "resolve", { by: c.by });
        return;
      case "containment":
        // Only once it has been done (not proposals, dry runs or failures), and once per containment:
        // on the change into "executed", not on the later changes of an executed record (undo requests).
        if (c.record.state === "executed" && c.previousState !== "executed" && c.record.executedAt && !c.record.dryRun)
          this.#changed(c.record.findingId, "finding.contained", "resolve", {
            by: c.record.proposedBy,
            containment: { id: c.record.id, action: c.record.action, summary: c.record.summary },
          });
        return;
    }
  };

  #reaches(sev: Severity, min: Severity): boolean {
    return (SEVERITY_RANK[sev] ?? 0) >= SEVERITY_RANK[min];
  }

  #changed(findingId: string, event: WebhookEvent, pdAction: "acknowledge" | "resolve", extra: Record<string, unknown>): void {
    const s = this.#o.getFinding(findingId);
    if (!s) return;
    this.#webhook(event, s.finding, extra);
    const pd = this.#o.settings.pagerduty;
    if (pd && this.#reaches(s.finding.severity, pd.minSeverity))
      this.#pagerduty({ routing_key: pd.routingKey, event_action: pdAction, dedup_key: findingId }, `${pdAction} ${findingId}`);
  }

  #webhook(event: WebhookEvent, f: Finding, extra: Record<string, unknown>): void {
    const w = this.#o.settings.webhook;
    if (!w || !this.#reaches(f.severity, w.minSeverity)) return;
    const id = randomUUID();
    const body = JSON.stringify({ type: event, id, sentAt: new Date().toISOString(), source: "trailhound", findingId: f.id, ...extra, finding: f });
    this.#enqueue({
      target: "webhook",
      what: `${event} ${f.id}`,
      url: w.url,
      body,
      headers: {
        "content-type": "application/json",
        "user-agent": `trailhound/${VERSION}`,
        "x-trailhound-event": event,
        // Same id on every retry: receivers de-duplicate on it.
        "x-trailhound-delivery": id,
        "x-trailhound-signature": sign(w.secret, body),
      },
    });
  }

  #pagerduty(event: Record<string, unknown>, what: string): void {
    const pd = this.#o.settings.pagerduty!;
    this.#enqueue({ target: "pagerduty", what, url: pd.url ?? PAGERDUTY_URL, body: JSON.stringify(event), headers: { "content-type": "application/json" } });
  }

  #enqueue(d: Delivery): void {
    this.#queue = this.#queue.then(() => this.#deliver(d)).catch((err: unknown) => this.#o.log.error("notification delivery crashed", { err }));
  }

  async #deliver(d: Delivery): Promise<void> {
    const attempts = this.#o.attempts ?? 5;
    const backoff = this.#o.backoffMs ?? ((n: number) => Math.min(60_000, 1000 * 2 ** (n - 1)) * (0.5 + Math.random() / 2));
    let last = "";
    for (let n = 1; n <= attempts; n++) {
      let retry = true;
      try {
        const res = await this.#fetch(d.url, { method: "POST", headers: d.headers, body: d.body, signal: AbortSignal.timeout(this.#o.timeoutMs ?? 10_000) });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) {
          this.#delivered++;
          return;
        }
        last = `HTTP ${res.status}`;
        // 4xx other than 408/429: the request itself is wrong; sending it again changes nothing.
        retry = res.status === 408 || res.status === 429 || res.status >= 500;
      } catch (e) {
        last = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      }
      if (!retry || n === attempts) break;
      await this.#sleep(backoff(n));
    }
    this.#dead++;
    // The host only: a webhook URL may carry a token in its path or query.
    const host = (() => {
      try {
        return new URL(d.url).host;
      } catch {
        return "?";
      }
    })();
    this.#o.log.warn("notification not delivered (dead letter)", { target: d.target, host, what: d.what, error: last });
    if (this.#o.deadLetterFile) {
      const body = d.target === "pagerduty" ? redactRoutingKey(d.body) : d.body;
      await appendFile(this.#o.deadLetterFile, JSON.stringify({ at: new Date().toISOString(), target: d.target, host, what: d.what, error: last, body }) + "\n").catch(
        (err: unknown) => this.#o.log.error("could not write the dead letter", { err }),
      );
    }
  }
}

function redactRoutingKey(body: string): string {
  try {
    const v = JSON.parse(body) as Record<string, unknown>;
    v.routing_key = "(redacted)";
    return JSON.stringify(v);
  } catch {
    return "(unreadable)";
  }
}

export function deadLetterPath(dataDir: string): string {
  return path.join(dataDir, "dead-letters.jsonl");
}

const SEV = /^(critical|high|medium|low|info)$/;

/** From the environment (validated by config.ts). */
export function notifySettings(env: Record<string, string | undefined>): NotifySettings {
  const s: NotifySettings = {};
  const url = env.TRAILHOUND_WEBHOOK_URL?.trim();
  const secret = env.TRAILHOUND_WEBHOOK_SECRET?.trim();
  if (url && secret) {
    const m = env.TRAILHOUND_WEBHOOK_SEVERITY?.trim();
    s.webhook = { url, secret, minSeverity: (m && SEV.test(m) ? m : "medium") as Severity };
  }
  const key = env.TRAILHOUND_PAGERDUTY_ROUTING_KEY?.trim();
  if (key) {
    const m = env.TRAILHOUND_PAGERDUTY_SEVERITY?.trim();
    s.pagerduty = { routingKey: key, minSeverity: (m && SEV.test(m) ? m : "high") as Severity };
  }
  return s;
}
