/**
 * How soon alerts reach Slack: for each finding an alert run posted, the time from its first event
 * (the CloudTrail eventTime) to the post. It includes CloudTrail's own delivery delay (typically
 * 5-15 minutes to S3, about 15 minutes to LookupEvents), so it bounds from above the time from a
 * record's arrival in the source to the post. Shown in `/cloudtrail status`. Pure.
 */
import type { DigestRecord, StoredFinding } from "../store/types.js";
import { ALERT_SCHEDULE_NAME } from "./alerts.js";

export interface AlertLatency {
  /** Findings alerted (in the newest `limit` alert posts). */
  alerts: number;
  medianMs: number;
  maxMs: number;
  /** ISO time of the newest alert post. */
  lastAt: string;
}

export function alertLatency(digests: readonly DigestRecord[], getFinding: (id: string) => StoredFinding | undefined, limit = 50): AlertLatency | undefined {
  const all = digests
    .filter((d) => d.schedule === ALERT_SCHEDULE_NAME && d.state === "sent" && d.sentAt && d.findingIds.length > 0)
    .sort((a, b) => Date.parse(a.sentAt!) - Date.parse(b.sentAt!));
  // Only a finding's first alert: a later one (it got worse) is not about how fast its events came.
  const firstAlert = new Map<string, DigestRecord>();
  for (const d of all) for (const id of d.findingIds) if (!firstAlert.has(id)) firstAlert.set(id, d);
  const sent = all.slice(-limit).reverse();
  const lat: number[] = [];
  for (const d of sent) {
    const at = Date.parse(d.sentAt!);
    for (const id of d.findingIds) {
      if (firstAlert.get(id) !== d) continue;
      const first = Date.parse(getFinding(id)?.firstSeen ?? "");
      if (Number.isFinite(first) && at >= first) lat.push(at - first);
    }
  }
  if (lat.length === 0) return undefined;
  lat.sort((a, b) => a - b);
  return { alerts: lat.length, medianMs: lat[Math.floor((lat.length - 1) / 2)]!, maxMs: lat.at(-1)!, lastAt: sent[0]!.sentAt! };
}
