/**
 * TRAILHOUND_SQS_QUEUE_URL: alert runs over the files S3 event notifications announce, as they
 * land (src/sources/sqs.ts), beside the alert schedule's polling, which stays as it is and finds
 * whatever a lost notification did not announce. Needs TRAILHOUND_SOURCE=s3://... and
 * TRAILHOUND_ALERT_CHANNEL (checked at start by the configuration).
 */
import type { Log } from "../log.js";
import { recentTrailUrl } from "../sources/aws-cli.js";
import { trailKeys } from "../sources/s3.js";
import { sdkSqsClient, SqsPush, type SqsPort, type SqsPushOptions } from "../sources/sqs.js";
import type { TrailStore } from "../store/store.js";
import { ALERT_SCHEDULE_NAME } from "./alerts.js";
import type { DigestScheduler } from "./scheduler.js";

function list(v: string | undefined): string[] | undefined {
  const l = (v ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
  return l.length ? l : undefined;
}

export function createSqsPush(o: {
  env: Record<string, string | undefined>;
  store: Pick<TrailStore, "getCursor">;
  scheduler: Pick<DigestScheduler, "push">;
  log: Log;
  client?: SqsPort;
  waitTimeSeconds?: number;
  /** Tests: SqsPushOptions' visibility timeout and heartbeat. */
  visibilityTimeoutSeconds?: number;
  heartbeat?: SqsPushOptions["heartbeat"];
}): SqsPush | undefined {
  const queueUrl = o.env.TRAILHOUND_SQS_QUEUE_URL?.trim();
  if (!queueUrl) return undefined;
  const url = recentTrailUrl(o.env);
  if (!url)
    throw new Error(
      "TRAILHOUND_SQS_QUEUE_URL needs TRAILHOUND_SOURCE=s3://bucket[/prefix], or athena with TRAILHOUND_ATHENA_RECENT=s3://bucket[/prefix] (the trail's bucket whose notifications the queue receives)",
    );
  const accounts = list(o.env.TRAILHOUND_ACCOUNTS);
  const regions = list(o.env.TRAILHOUND_REGIONS);
  const exclude = list(o.env.TRAILHOUND_EXCLUDE_ACCOUNTS);
  const keys = trailKeys(url, {
    ...(accounts ? { accounts } : {}),
    ...(regions ? { regions } : {}),
    ...(exclude ? { excludeAccounts: exclude } : {}),
    getCursor: (k) => o.store.getCursor(k),
  });
  const profile = o.env.AWS_PROFILE;
  return new SqsPush({
    queueUrl,
    client: o.client ?? sdkSqsClient(queueUrl, profile ? { profile } : {}),
    bucket: keys.bucket,
    isTrailKey: keys.isTrailKey,
    isCommitted: keys.isCommitted,
    read: (k) => o.scheduler.push(ALERT_SCHEDULE_NAME, k),
    log: o.log.child({ src: "sqs" }),
    ...(o.waitTimeSeconds !== undefined ? { waitTimeSeconds: o.waitTimeSeconds } : {}),
    ...(o.visibilityTimeoutSeconds !== undefined ? { visibilityTimeoutSeconds: o.visibilityTimeoutSeconds } : {}),
    ...(o.heartbeat ? { heartbeat: o.heartbeat } : {}),
  });
}
