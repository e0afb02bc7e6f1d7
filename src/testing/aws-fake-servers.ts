/**
 * Local S3 and SQS for benchmarks (127.0.0.1, random ports), spoken to by the real SDK clients
 * (`endpoint` + `forcePathStyle` for S3).
 *
 * - S3: path-style ListObjectsV2 (prefix, delimiter, start-after, continuation-token, max-keys up
 *   to 1000) over a sorted key list, and GetObject. Counts listings (with and without
 *   StartAfter, with a delimiter) and downloads.
 * - SQS (AWS JSON 1.0): ReceiveMessage with long polling (answers as soon as a message is there,
 *   or after WaitTimeSeconds; VisibilityTimeout, default 30 s), the MD5 of each body as the SDK
 *   checks it, ChangeMessageVisibilityBatch (refused for a message no longer in flight) and
 *   DeleteMessageBatch.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export class FakeS3Server {
  readonly objects = new Map<string, Buffer>();
  #sorted: string[] | undefined;
  readonly stats = { lists: 0, listsWithStartAfter: 0, delimiterLists: 0, listsFromPrefixStart: 0, gets: 0 };
  #server: Server | undefined;
  url = "";

  constructor(readonly bucket: string) {}

  /** When each object landed (its Last-Modified). */
  readonly #landed = new Map<string, number>();

  put(key: string, data: Buffer): void {
    if (!this.objects.has(key)) this.#sorted = undefined;
    this.objects.set(key, data);
    this.#landed.set(key, Date.now());
  }

  resetStats(): void {
    for (const k of Object.keys(this.stats) as Array<keyof FakeS3Server["stats"]>) this.stats[k] = 0;
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.url = await listen(this.#server);
    return this;
  }

  stop(): Promise<void> {
    return this.#server ? close(this.#server) : Promise.resolve();
  }

  #keys(): string[] {
    return (this.#sorted ??= [...this.objects.keys()].sort());
  }

  /** First index whose key is > after (or >= prefix). */
  #lowerBound(keys: string[], k: string, strict: boolean): number {
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const v = keys[mid]!;
      if (strict ? v <= k : v < k) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await body(req);
    const url = new URL(req.url ?? "/", this.url);
    const path = decodeURIComponent(url.pathname);
    if (!path.startsWith(`/${this.bucket}`)) {
      res.writeHead(404, { "content-type": "application/xml" });
      res.end(`<Error><Code>NoSuchBucket</Code><Message>no bucket</Message></Error>`);
      return;
    }
    const key = path.slice(this.bucket.length + 2);
    if (url.searchParams.get("list-type") === "2") {
      res.writeHead(200, { "content-type": "application/xml" });
      res.end(this.#list(url.searchParams));
      return;
    }
    this.stats.gets++;
    const data = this.objects.get(key);
    if (!data) {
      res.writeHead(404, { "content-type": "application/xml" });
      res.end(`<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>`);
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(data.length), "last-modified": new Date(this.#landed.get(key) ?? 0).toUTCString() });
    res.end(data);
  }

  #list(q: URLSearchParams): string {
    const prefix = q.get("prefix") ?? "";
    const delimiter = q.get("delimiter") ?? undefined;
    const startAfter = q.get("start-after") ?? undefined;
    const token = q.get("continuation-token") ?? undefined;
    const max = Math.min(1000, Number(q.get("max-keys") ?? 1000));
    this.stats.lists++;
    if (delimiter) this.stats.delimiterLists++;
    if (startAfter && !token) this.stats.listsWithStartAfter++;
    if (!startAfter && !token && !delimiter) this.stats.listsFromPrefixStart++;
    const keys = this.#keys();
    const after = token ?? startAfter;
    let i = after !== undefined && after >= prefix ? this.#lowerBound(keys, after, true) : this.#lowerBound(keys, prefix, false);
    const entries: Array<{ key?: string; prefix?: string }> = [];
    let last: string | undefined;
    let truncated = false;
    for (; i < keys.length; i++) {
      const k = keys[i]!;
      if (!k.startsWith(prefix)) break;
      if (entries.length >= max) {
        truncated = true;
        break;
      }
      if (delimiter) {
        const d = k.indexOf(delimiter, prefix.length);
        if (d >= 0) {
          const p = k.slice(0, d + 1);
          entries.push({ prefix: p });
          last = `${p}\uffff`;
          // Skip the rest of this common prefix.
          i = this.#lowerBound(keys, last, true) - 1;
          continue;
        }
      }
      entries.push({ key: k });
      last = k;
    }
    return (
      `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
      `<Name>${this.bucket}</Name><Prefix>${esc(prefix)}</Prefix><KeyCount>${entries.length}</KeyCount><MaxKeys>${max}</MaxKeys>` +
      `<IsTruncated>${truncated}</IsTruncated>` +
      (truncated && last ? `<NextContinuationToken>${esc(last)}</NextContinuationToken>` : "") +
      entries
        .map((e) =>
          e.key
            ? `<Contents><Key>${esc(e.key)}</Key><LastModified>2026-12-06T12:00:00.000Z</LastModified><ETag>"x"</ETag><Size>${this.objects.get(e.key)!.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`
            : `<CommonPrefixes><Prefix>${esc(e.prefix!)}</Prefix></CommonPrefixes>`,
        )
        .join("") +
      `</ListBucketResult>`
    );
  }
}

export class FakeSqsServer {
  readonly #messages: Array<{ id: string; body: string; handle: string; visibleAt: number; deleted: boolean }> = [];
  #n = 0;
  #waiters: Array<() => void> = [];
  #server: Server | undefined;
  url = "";
  readonly stats = { received: 0, deleted: 0, extended: 0 };

  async start(): Promise<this> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.url = await listen(this.#server);
    return this;
  }

  stop(): Promise<void> {
    for (const w of this.#waiters.splice(0)) w();
    return this.#server ? close(this.#server) : Promise.resolve();
  }

  /** The queue URL the client is given (any account/name: one queue). */
  queueUrl(): string {
    return `${this.url}/111111111111/trailhound-new-files`;
  }

  send(body: string): void {
    const id = `m-${++this.#n}`;
    this.#messages.push({ id, body, handle: `rh-${id}`, visibleAt: 0, deleted: false });
    for (const w of this.#waiters.splice(0)) w();
  }

  pending(): number {
    return this.#messages.filter((m) => !m.deleted).length;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const input = JSON.parse((await body(req)).toString("utf8") || "{}") as Record<string, unknown>;
    const target = String(req.headers["x-amz-target"] ?? "");
    const reply = (o: unknown) => {
      res.writeHead(200, { "content-type": "application/x-amz-json-1.0" });
      res.end(JSON.stringify(o));
    };
    if (target === "AmazonSQS.ReceiveMessage") {
      const max = Number(input.MaxNumberOfMessages ?? 1);
      const deadline = Date.now() + Number(input.WaitTimeSeconds ?? 0) * 1000;
      for (;;) {
        const now = Date.now();
        const out = this.#messages.filter((m) => !m.deleted && m.visibleAt <= now).slice(0, max);
        if (out.length || now >= deadline || !this.#server?.listening) {
          for (const m of out) m.visibleAt = now + Number(input.VisibilityTimeout ?? 30) * 1000;
          this.stats.received += out.length;
          return reply(
            out.length ? { Messages: out.map((m) => ({ MessageId: m.id, ReceiptHandle: m.handle, MD5OfBody: createHash("md5").update(m.body).digest("hex"), Body: m.body })) } : {},
          );
        }
        await new Promise<void>((r) => {
          const t = setTimeout(r, Math.max(1, deadline - now));
          this.#waiters.push(() => (clearTimeout(t), r()));
        });
      }
    }
    if (target === "AmazonSQS.ChangeMessageVisibilityBatch") {
      const entries = (input.Entries ?? []) as Array<{ Id: string; ReceiptHandle: string; VisibilityTimeout?: number }>;
      const Successful: Array<{ Id: string }> = [];
      const Failed: Array<{ Id: string; SenderFault: boolean; Code: string; Message: string }> = [];
      const now = Date.now();
      for (const e of entries) {
        const m = this.#messages.find((x) => x.handle === e.ReceiptHandle);
        if (m && !m.deleted && m.visibleAt > now) {
          m.visibleAt = now + Number(e.VisibilityTimeout ?? 0) * 1000;
          this.stats.extended++;
          Successful.push({ Id: e.Id });
        } else Failed.push({ Id: e.Id, SenderFault: true, Code: "MessageNotInflight", Message: "Message does not exist or is not available for visibility timeout change." });
      }
      return reply({ Successful, Failed });
    }
    if (target === "AmazonSQS.DeleteMessageBatch") {
      const entries = (input.Entries ?? []) as Array<{ Id: string; ReceiptHandle: string }>;
      for (const e of entries) {
        const m = this.#messages.find((x) => x.handle === e.ReceiptHandle);
        if (m && !m.deleted) {
          m.deleted = true;
          this.stats.deleted++;
        }
      }
      return reply({ Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] });
    }
    res.writeHead(400, { "content-type": "application/x-amz-json-1.0" });
    res.end(JSON.stringify({ __type: "com.amazonaws.sqs#UnsupportedOperation", message: target }));
  }
}
