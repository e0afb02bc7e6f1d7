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
 *   after its visibility timeout and is tried again. Messages that need no read (the test event,
 *   other buckets, files already read) are deleted before the read starts.
 * - Messages are received with a visibility timeout of `visibilityTimeoutSeconds` (default 120 s)
 *   and, while the run that reads their files is still working (waiting behind a digest, reading,
 *   posting), extended to that again every third of it (ChangeMessageVisibilityBatch), so a run
 *   longer than the queue's timeout does not hand its messages back. The extending stops before
 *   the messages are deleted. A receipt handle that expired anyway (the process stalled, another
 *   consumer received the message) is no longer extended and is logged: the message comes back,
 *   and since its files are then committed, it is deleted without reading them again.
 */
import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { ChangeMessageVisibilityBatchCommandOutput, DeleteMessageBatchCommandOutput, ReceiveMessageCommandOutput } from "@aws-sdk/client-sqs";
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
  send(command: ChangeMessageVisibilityBatchCommand, options?: { abortSignal?: AbortSignal }): Promise<ChangeMessageVisibilityBatchCommandOutput>;
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
  /** Visibility timeout asked at receive and renewed while the messages' run works (default 120 s). */
  visibilityTimeoutSeconds?: number;
  /**
   * Calls `beat` every `everyMs` until the returned function is called (default: an unref'd
   * setInterval). Tests pass their own and call `beat` themselves.
   */
  heartbeat?: (beat: () => Promise<void>, everyMs: number) => () => void;
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
  /** Visibility extensions that SQS accepted (one per message per beat). */
  extended: number;
  /** Receipt handles that expired during the run (not extended again; the message comes back). */
  expired: number;
}

/** Default visibility timeout of a received message, renewed while its run works. */
export const DEFAULT_SQS_VISIBILITY_SECONDS = 120;

type Handle = { Id: string; ReceiptHandle: string };

const defaultHeartbeat = (beat: () => Promise<void>, everyMs: number): (() => void) => {
  const t = setInterval(() => void beat(), everyMs);
  t.unref();
  return () => clearInterval(t);
};

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
  readonly totals: PushRound = { received: 0, files: 0, read: 0, deleted: 0, kept: 0, tests: 0, extended: 0, expired: 0 };

  constructor(o: SqsPushOptions) {
    this.#o = o;
  }

  /** One receive, the reads it needs (its messages kept invisible meanwhile), and the deletes it allows. */
  async round(): Promise<PushRound> {
    const o = this.#o;
    const signal = this.#abort.signal;
    const visibility = o.visibilityTimeoutSeconds ?? DEFAULT_SQS_VISIBILITY_SECONDS;
    const out = await o.client.send(
      new ReceiveMessageCommand({
        QueueUrl: o.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: o.waitTimeSeconds ?? 20,
        VisibilityTimeout: visibility,
        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
      }),
      { abortSignal: signal },
    );
    const msgs = out.Messages ?? [];
    const r: PushRound = { received: msgs.length, files: 0, read: 0, deleted: 0, kept: 0, tests: 0, extended: 0, expired: 0 };
    const deletable: Handle[] = [];
    const waiting: Array<{ handle: Handle; keys: string[] }> = [];
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
      // Files all read and saved before (a duplicate, a message that came back, the listing read them): nothing to wait for.
      if (mine.length && !mine.every((k) => o.isCommitted(k))) waiting.push({ handle, keys: mine });
      else deletable.push(handle);
    });
    r.files = keys.size;
    // What needs no read goes first, so that a slow read does not hold it.
    r.deleted += await this.#delete(deletable.splice(0));
    // Out-of-order delivery: read in delivery-time order; duplicates and files read before are not read again.
    const fresh = [...keys].filter((k) => !o.isCommitted(k)).sort((a, b) => (keyTime(a) ?? 0) - (keyTime(b) ?? 0) || (a < b ? -1 : a > b ? 1 : 0));
    if (fresh.length) {
      r.read = fresh.length;
      const keeper = this.#keepInvisible(
        waiting.map((w) => w.handle),
        visibility,
        r,
      );
      try {
        await o.read(fresh);
      } finally {
        // No extension after this point: the messages are deleted (or left to come back) next.
        await keeper.stop();
      }
    }
    let notRead = 0;
    for (const w of waiting) {
      if (w.keys.every((k) => o.isCommitted(k))) deletable.push(w.handle);
      else notRead++;
    }
    r.kept += notRead;
    if (notRead) o.log.warn("new files not read and saved yet: their notifications come back after the visibility timeout", { messages: notRead });
    r.deleted += await this.#delete(deletable);
    for (const k of Object.keys(this.totals) as Array<keyof PushRound>) this.totals[k] += r[k];
    return r;
  }

  /** Delete in batches of 10; failures are logged (the message comes back and is recognised as read). */
  async #delete(entries: Handle[]): Promise<number> {
    const o = this.#o;
    let deleted = 0;
    for (let i = 0; i < entries.length; i += 10) {
      try {
        const res = await o.client.send(new DeleteMessageBatchCommand({ QueueUrl: o.queueUrl, Entries: entries.slice(i, i + 10) }), { abortSignal: this.#abort.signal });
        deleted += res.Successful?.length ?? 0;
        for (const f of res.Failed ?? []) o.log.warn("could not delete an SQS message (it comes back and is recognised as read)", { id: f.Id, code: f.Code, message: f.Message });
      } catch (err) {
        if (this.#abort.signal.aborted) throw err;
        o.log.warn("could not delete SQS messages (they come back and are recognised as read)", {
          messages: Math.min(10, entries.length - i),
          err: err instanceof Error ? err.message : String(err),
        });
      }
    }
    return deleted;
  }

  /**
   * While a run works: every third of the visibility timeout, set the held messages' visibility
   * to the full timeout again. A handle SQS refuses (expired, or the message was received again)
   * is dropped from the beat and counted. `stop()` ends the beat and waits for one in flight.
   */
  #keepInvisible(handles: Handle[], visibility: number, r: PushRound): { stop(): Promise<void> } {
    const o = this.#o;
    const live = new Map(handles.map((h) => [h.Id, h]));
    let stopped = false;
    let inFlight: Promise<void> | undefined;
    const once = async () => {
      const entries = [...live.values()];
      for (let i = 0; i < entries.length && !stopped; i += 10) {
        const batch = entries.slice(i, i + 10);
        try {
          const res = await o.client.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: o.queueUrl, Entries: batch.map((h) => ({ ...h, VisibilityTimeout: visibility })) }), {
            abortSignal: this.#abort.signal,
          });
          r.extended += res.Successful?.length ?? 0;
          for (const f of res.Failed ?? []) {
            if (!f.Id || !live.delete(f.Id)) continue;
            r.expired++;
            o.log.warn(
              "an SQS message's receipt handle expired while its files were being read: it comes back after its visibility timeout and is then deleted unread (its files are recognised as read)",
              {
                code: f.Code,
                message: f.Message,
              },
            );
          }
        } catch (err) {
          if (this.#abort.signal.aborted) return;
          o.log.warn("could not extend the visibility of SQS messages; retrying at the next beat", {
            messages: batch.length,
            err: err instanceof Error ? err.message : String(err),
          });
        }
      }
    };
    const beat = (): Promise<void> => {
      if (stopped || inFlight || live.size === 0) return inFlight ?? Promise.resolve();
      inFlight = once().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    };
    const cancel = (o.heartbeat ?? defaultHeartbeat)(beat, Math.max(1000, Math.floor((visibility * 1000) / 3)));
    return {
      async stop() {
        stopped = true;
        cancel();
        await inFlight;
      },
    };
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
