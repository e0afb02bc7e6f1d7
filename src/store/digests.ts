/**
 * Digest deliveries and schedule runs. A digest is created pending with the messages to post;
 * each part posted is recorded (its Slack ts) so that a resend skips what went out; once sent its
 * content is dropped. The last DIGESTS_KEPT sent ones are kept, and every unsent one.
 */
import { StoreError } from "./errors.js";
import type { DigestPart, DigestRecord, StoreData } from "./types.js";
import type { Severity } from "../events/types.js";
import { iso, jsonClone, newId, requireText, type When } from "./values.js";

/** Sent digests kept (pending and failed ones are always kept). */
export const DIGESTS_KEPT = 200;

export interface CreateDigestInput {
  id?: string;
  schedule: string;
  channel: string;
  window: { start: string; end: string };
  findingIds: string[];
  /** The messages to post (see DigestRecord.parts), severities announced, expiries announced. */
  parts?: DigestPart[];
  severities?: Record<string, Severity>;
  expiries?: string[];
  /** The part each finding is shown in (DigestRecord.findingParts). */
  findingParts?: Record<string, number>;
}

/** A pending digest delivery (one per schedule run); StoreError "invalid" in the queue when its id exists. */
export function prepCreateDigest(input: CreateDigestInput, now: When): (data: StoreData) => DigestRecord {
  const base: Omit<DigestRecord, "id"> = jsonClone(
    {
      schedule: requireText(input.schedule, "Digest schedule"),
      channel: requireText(input.channel, "Digest channel"),
      window: input.window,
      createdAt: iso(now),
      state: "pending" as const,
      posted: [],
      findingIds: [...input.findingIds],
      ...(input.parts !== undefined ? { parts: input.parts } : {}),
      ...(input.severities !== undefined ? { severities: input.severities } : {}),
      ...(input.expiries !== undefined ? { expiries: input.expiries } : {}),
      ...(input.findingParts !== undefined ? { findingParts: input.findingParts } : {}),
    },
    "Digest",
  );
  return (data) => {
    if (input.id !== undefined && data.digests.some((d) => d.id === input.id)) throw new StoreError("invalid", `Digest ${input.id} exists already`);
    const d: DigestRecord = { id: input.id ?? newId("d-", (id) => data.digests.some((x) => x.id === id)), ...base };
    data.digests.push(d);
    trimDigests(data);
    return d;
  };
}

/** Replace digest `id` by `change(it)` (StoreError "not-found" when there is none). */
export function changeDigest(id: string, change: (d: DigestRecord) => DigestRecord): (data: StoreData) => DigestRecord {
  return (data) => {
    const i = data.digests.findIndex((d) => d.id === id);
    if (i < 0) throw new StoreError("not-found", `No digest ${id}.`);
    const next = change(data.digests[i]!);
    data.digests[i] = next;
    trimDigests(data);
    return next;
  };
}

/** A posted part (its Slack ts) recorded once. */
export function withPostedPart(d: DigestRecord, ts: string): DigestRecord {
  return d.posted.includes(ts) ? d : { ...d, posted: [...d.posted, ts] };
}

/** Sent at `at`: the error and the content go (every part is out; the ts and severities remain). */
export function asSent(d: DigestRecord, at: string): DigestRecord {
  const next: DigestRecord = { ...d, state: "sent", sentAt: at };
  delete next.error;
  delete next.parts;
  return next;
}

export function asFailed(d: DigestRecord, error: string): DigestRecord {
  return { ...d, state: "failed", error: String(error) };
}

/** Keep the last DIGESTS_KEPT sent digests (and every unsent one). */
export function trimDigests(data: StoreData): void {
  const sent = data.digests.filter((d) => d.state === "sent");
  if (sent.length <= DIGESTS_KEPT) return;
  const drop = new Set(sent.slice(0, sent.length - DIGESTS_KEPT));
  data.digests = data.digests.filter((d) => !drop.has(d));
}

export function getDigest(data: StoreData, id: string): DigestRecord | undefined {
  return data.digests.find((d) => d.id === id);
}

/** Digests not sent yet (pending or failed), oldest first. */
export function pendingDigests(data: StoreData): DigestRecord[] {
  return data.digests.filter((d) => d.state !== "sent");
}

export function getDigestRun(data: StoreData, schedule: string): string | undefined {
  return Object.hasOwn(data.digestRuns, schedule) ? data.digestRuns[schedule] : undefined;
}

/** When a schedule last ran. */
export function prepDigestRun(schedule: string, at: When): (data: StoreData) => void {
  requireText(schedule, "Digest schedule");
  const t = iso(at);
  return (data) => {
    data.digestRuns[schedule] = t;
  };
}
