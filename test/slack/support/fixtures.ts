/** Findings, reports and a controllable ScanService for the bot's tests. */
import type { Finding, Report } from "../../../src/scan/report-types.js";
import type { ScanProgress, ScanRequest, ScanService } from "../../../src/slack/ports.js";
import type { TrailStore } from "../../../src/store/store.js";

/** makeFinding without a source IP (an AWS service's own call, say). */
export function findingWithoutIp(i: number): Finding {
  const { sourceIp: _, ...f } = makeFinding(i);
  return f;
}

export function makeFinding(i: number, over: Partial<Finding> = {}): Finding {
  return {
    id: `f${String(i).padStart(4, "0")}`,
    detector: "first-time-api",
    title: "First CreateAccessKey by this identity",
    severity: "high",
    score: 80 - (i % 50),
    identity: {
      key: `user:123456789012:alice${i % 3}`,
      type: "IAMUser",
      userName: `alice${i % 3}`,
      accountId: "123456789012",
      arn: `arn:aws:iam::123456789012:user/alice${i % 3}`,
    },
    sourceIp: "203.0.113.7",
    region: "us-east-1",
    eventIds: [`ev-${i}-1`, `ev-${i}-2`],
    firstSeen: "2024-05-01T09:00:00.000Z",
    lastSeen: "2024-05-01T09:14:00.000Z",
    count: 2,
    why: "First CreateAccessKey by this user in 41 days of history; it normally calls 12 APIs in 3 services.",
    attack: ["T1098.001"],
    investigate: ["Who created the key, and is it in use?", "List the user's access keys and their last use."],
    falsePositives: ["Planned key rotation."],
    failed: false,
    evidence: { eventName: "CreateAccessKey", userAgent: "aws-cli/2.15.0", requestParameters: { userName: `alice${i % 3}` } },
    ...over,
  };
}

export function makeReport(findings: Finding[], over: Partial<Report> = {}): Report {
  return {
    schemaVersion: 1,
    generatedAt: "2024-05-01T10:00:00.000Z",
    tool: { name: "trailhound", version: "0.1.0" },
    window: { start: "2024-04-30T10:00:00.000Z", end: "2024-05-01T10:00:00.000Z" },
    sources: [{ kind: "memory", name: "test", records: 1000, skipped: 0 }],
    partial: false,
    partialReasons: [],
    filters: {},
    stats: {
      events: 1000,
      recordsRead: 1200,
      baselineEvents: 200,
      skipped: {},
      skippedTotal: 0,
      duplicates: 0,
      filteredOut: 0,
      afterWindow: 0,
      identities: 3,
      topEventNames: [],
      topEventSources: [],
      errors: 12,
      errorRate: 0.012,
      denied: 3,
      perRegion: [],
    },
    findings,
    identities: [
      {
        key: "user:123456789012:alice0",
        type: "IAMUser",
        userName: "alice0",
        sessions: [],
        score: 87,
        events: 600,
        errors: 10,
        errorRate: 0.016,
        findings: findings.length,
        learning: false,
      },
    ],
    learning: [],
    anomalousIps: [],
    sensitiveCalls: [],
    errorAnalysis: { errors: 12, denied: 3, errorRate: 0.012, byCode: [], byIdentity: [], byApi: [] },
    baselineDeviations: [],
    recommendations: [],
    suppressed: { count: 0, ids: [] },
    ...over,
  };
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

/**
 * A ScanService whose scans finish when the test says so (or after `delayMs`). Like the real one,
 * it persists the findings in the store before resolving.
 */
export class FakeScans implements ScanService {
  readonly requests: ScanRequest[] = [];
  readonly signals: AbortSignal[] = [];
  report: Report = makeReport([makeFinding(1)]);
  delayMs = 0;
  gate: Deferred<void> | undefined;
  error: Error | undefined;
  progress: ScanProgress[] = [{ message: "reading us-east-1 page 1", fraction: 0.25 }];
  private startedWaiters: Array<() => void> = [];

  constructor(private readonly store?: TrailStore) {}

  async scan(req: ScanRequest, onProgress: (p: ScanProgress) => void, signal?: AbortSignal): Promise<Report> {
    this.requests.push(req);
    if (signal) this.signals.push(signal);
    for (const w of this.startedWaiters.splice(0)) w();
    for (const p of this.progress) onProgress(p);
    const work = Promise.all([this.delayMs > 0 ? new Promise((r) => setTimeout(r, this.delayMs)) : undefined, this.gate?.promise]);
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal!.reason);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      void work.then(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
    });
    if (this.error) throw this.error;
    if (this.store) await this.store.recordFindings(this.report.findings, Date.parse(this.report.generatedAt));
    return structuredClone(this.report);
  }

  /** Resolves when a scan has started. */
  started(): Promise<void> {
    return new Promise((r) => this.startedWaiters.push(r));
  }
}
