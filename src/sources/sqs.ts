/**
 * New CloudTrail files pushed by S3 event notifications through SQS (TRAILHOUND_SQS_QUEUE_URL),
 * instead of waiting for the next listing (docs/ORG.md section 5 in the shared notes).
 *
 * - A message body is parsed in this order: JSON; an SNS envelope (`Type: "Notification"`) is
 *   opened (`Message`); `s3:TestEvent` is dropped (deleted); otherwise each `Records[]` entry with
 *   `eventSource: "aws:s3"`, an `ObjectCreated:*` event name and event version 2.x (x >= 1) gives a
 *   bucket and a key (form-URL-decoded). A body that is none of this is never deleted: it is
 *   logged and left to the queue's redrive policy (its dead-letter queue).
 * - Keys are deduplicated (one read per bucket+key whatever the number of notifications), and
 *   read in delivery-time order whatever order they came in; a file the store already records as
 *   read (the S3 cursor's `readKeys`: by an earlier notification, before a restart, or by the
 *   listing) is not read again.
 * - A message is deleted only once every file it names is committed (read and saved in the
 *   store with the scan's results), or is not a log file of this trail; otherwise it comes back
 *   after its visibility timeout and is tried again.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { DeleteMessageBatchCommandOutput, ReceiveMessageCommandOutput } from "@aws-sdk/client-sqs";
import type { Log } from "../log.js";
import { awsRequestHandler } from "../net.js";
import { keyTime } from "./s3-layout.js";

export type Notification = { kind: "test" } | { kind: "objects"; objects: Array<{ bucket: string; key: string; sequencer?: string }> } | { kind: "invalid"; reason: string };

function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** S3 event versions 2.1 and later (2.x) are read; unknown fields are ignored. */
function versionOk(v: unknown): boolean {
  const m = typeof v === "string" ? /^(\d+)\.(\d+)/.exec(v) : null;
  return m !== null && Number(m[1]) === 2 && Number(m[2]) >= 1;
}

/** One SQS message body: an S3 event notification (direct or through SNS), the test event, or not one. */
export function parseNotification(body: string): Notification {
  let doc: Record<string, unknown> | undefined;
  try {
    doc = obj(JSON.parse(body));
  } catch {
    return { kind: "invalid", reason: "not JSON" };
  }
  if (!doc) return { kind: "invalid", reason: "not a JSON object" };
  if (doc.Type === "Notification") {
    if (typeof doc.Message !== "string") return { kind: "invalid", reason: "SNS notification without a Message" };
    try {
      doc = obj(JSON.parse(doc.Message));
    } catch {
      return { kind: "invalid", reason: "SNS Message is not JSON" };
    }
    if (!doc) return { kind: "invalid", reason: "SNS Message is not a JSON object" };
  }
  if (doc.Event === "s3:TestEvent") return { kind: "test" };
  if (!Array.isArray(doc.Records)) return { kind: "invalid", reason: "no Records (not an S3 event notification)" };
  const objects: Array<{ bucket: string; key: string; sequencer?: string }> = [];
  for (const r of doc.Records) {
    const rec = obj(r);
    if (rec?.eventSource !== "aws:s3") return { kind: "invalid", reason: "a record that is not from aws:s3" };
    if (!versionOk(rec.eventVersion)) return { kind: "invalid", reason: `S3 event version ${JSON.stringify(rec.eventVersion)} (2.1 or later 2.x is read)` };
    if (typeof rec.eventName !== "string" || !rec.eventName.startsWith("ObjectCreated:")) continue; // not a new object: nothing to read
    const s3 = obj(rec.s3);
    const bucket = obj(s3?.bucket)?.name;
    const o = obj(s3?.object);
    if (typeof bucket !== "string" || typeof o?.key !== "string") return { kind: "invalid", reason: "an S3 record without bucket name or object key" };
    let key: string;
    try {
      key = decodeURIComponent(o.key.replace(/\+/g, " "));
    } catch {
      return { kind: "invalid", reason: "an object key that is not URL-encoded" };
    }
    objects.push({ bucket, key, ...(typeof o.sequencer === "string" ? { sequencer: o.sequencer } : {}) });
  }
  return { kind: "objects", objects };
}

/** What the push loop needs of an SQS client. `SQSClient` fits. */
export interface SqsPort {
  send(command: ReceiveMessageCommand, options?: { abortSignal?: AbortSignal }): Promise<ReceiveMessageCommandOutput>;
  send(command: DeleteMessageBatchCommand, options?: { abortSignal?: AbortSignal }): Promise<DeleteMessageBatchCommandOutput>;
}

/** The region of a queue URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`), if it says. */
export function queueRegion(url: string): string | undefined {
  return /^https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\//.exec(url)?.[1];
}

export function sdkSqsClient(queueUrl: string, o: { profile?: string } = {}): SQSClient {
  return new SQSClient({
    region: queueRegion(queueUrl) ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1",
    maxAttempts: 4,
    ...(o.profile ? { profile: o.profile } : {}),
    requestHandler: awsRequestHandler(),
  });
}

export interface SqsPushOptions {
  queueUrl: string;
  client: SqsPort;
  /** The trail's bucket: notifications for other buckets are not ours (deleted, logged). */
  bucket: string;
  /** A log file of this trail location that the bot reads (account/region lists applied). */
  isTrailKey(key: string): boolean;
  /** Already read and saved (the S3 cursor's readKeys). */
  isCommitted(key: string): boolean;
  /** Read these keys and save the results (an alert run); resolves when done, whatever happened. */
  read(keys: string[]): Promise<unknown>;
  log: Log;
  /** Long poll (default 20 s). */
  waitTimeSeconds?: number;
  /** Pause after a failed receive (default 5 s). */
  errorPauseMs?: number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface PushRound {
  received: number;
  /** Distinct files named by the round's notifications (ours). */
  files: number;
  /** Files read by this round (not committed before it). */
  read: number;
  deleted: number;
  /** Messages left in the queue: not parseable, or naming a file not committed yet. */
  kept: number;
  tests: number;
}

const defaultSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

export class SqsPush {
  readonly #o: SqsPushOptions;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  /** Totals since start, for the log and the benchmark. */
  readonly totals = { received: 0, files: 0, read: 0, deleted: 0, kept: 0, tests: 0 };

  constructor(o: SqsPushOptions) {
    this.#o = o;
  }

  /** One receive, the reads it needs, and the deletes it allows. */
  async round(): Promise<PushRound> {
    const o = this.#o;
    const signal = this.#abort.signal;
    const out = await o.client.send(
      new ReceiveMessageCommand({
        QueueUrl: o.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: o.waitTimeSeconds ?? 20,
        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
      }),
      { abortSignal: signal },
    );
    const msgs = out.Messages ?? [];
    const r: PushRound = { received: msgs.length, files: 0, read: 0, deleted: 0, kept: 0, tests: 0 };
    const deletable: Array<{ Id: string; ReceiptHandle: string }> = [];
    const waiting: Array<{ handle: { Id: string; ReceiptHandle: string }; keys: string[] }> = [];
    const keys = new Set<string>();
    msgs.forEach((m, i) => {
      if (!m.ReceiptHandle) return;
      const handle = { Id: String(i), ReceiptHandle: m.ReceiptHandle };
      const n = parseNotification(m.Body ?? "");
      if (n.kind === "invalid") {
        r.kept++;
        o.log.warn("SQS message is not an S3 event notification; left for the dead-letter queue", {
          messageId: m.MessageId,
          reason: n.reason,
          receiveCount: m.Attributes?.ApproximateReceiveCount,
        });
        return;
      }
      if (n.kind === "test") {
        r.tests++;
        deletable.push(handle);
        return;
      }
      const mine = n.objects.filter((x) => x.bucket === o.bucket && o.isTrailKey(x.key)).map((x) => x.key);
      const other = n.objects.length - mine.length;
      if (other) o.log.debug("S3 notification names objects that are not this trail's log files; not read", { messageId: m.MessageId, objects: other });
      for (const k of mine) keys.add(k);
      if (mine.length) waiting.push({ handle, keys: mine });
      else deletable.push(handle);
    });
    r.files = keys.size;
    // Out-of-order delivery: read in delivery-time order; duplicates and files read before are not read again.
    const fresh = [...keys].filter((k) => !o.isCommitted(k)).sort((a, b) => (keyTime(a) ?? 0) - (keyTime(b) ?? 0) || (a < b ? -1 : a > b ? 1 : 0));
    if (fresh.length) {
      r.read = fresh.length;
      await o.read(fresh);
    }
    let notRead = 0;
    for (const w of waiting) {
      if (w.keys.every((k) => o.isCommitted(k))) deletable.push(w.handle);
      else notRead++;
    }
    r.kept += notRead;
    if (notRead) o.log.warn("new files not read and saved yet: their notifications come back after the visibility timeout", { messages: notRead });
    for (let i = 0; i < deletable.length; i += 10) {
      const res = await o.client.send(new DeleteMessageBatchCommand({ QueueUrl: o.queueUrl, Entries: deletable.slice(i, i + 10) }), { abortSignal: signal });
      r.deleted += res.Successful?.length ?? 0;
      for (const f of res.Failed ?? []) o.log.warn("could not delete an SQS message (it comes back and is recognised as read)", { id: f.Id, code: f.Code, message: f.Message });
    }
    for (const k of Object.keys(this.totals) as Array<keyof PushRound>) this.totals[k] += r[k];
    return r;
  }

  /** Receive until stopped; a failed receive is logged and retried after a pause. */
  start(): void {
    if (this.#loop) return;
    const signal = this.#abort.signal;
    const sleep = this.#o.sleep ?? defaultSleep;
    this.#loop = (async () => {
      while (!signal.aborted) {
        try {
          await this.round();
        } catch (err) {
          if (signal.aborted) break;
          this.#o.log.error("reading the SQS queue failed; retrying", { queue: this.#o.queueUrl, err: err instanceof Error ? err.message : String(err) });
          await sleep(this.#o.errorPauseMs ?? 5000, signal);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }
}
