/**
 * A finding's raw CloudTrail records, by event id: from files (`--input`) or from the live
 * account (CloudTrail LookupEvents, attribute EventId, in the finding's region, then us-east-1
 * where IAM and other global services log). Used by `trailhound show --events` and to find which
 * access key a finding's events were signed with.
 */
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { FileSource } from "../sources/files.js";
import type { AwsCredentials } from "../sources/aws-accounts.js";
import type { Finding } from "../scan/report-types.js";
import { awsConnection } from "../net.js";

export interface EventLookupResult {
  /** Raw records found, in the order of the finding's event ids. */
  records: Array<Record<string, unknown>>;
  /** Ids not found (outside the files given, older than LookupEvents' 90 days, ...). */
  missing: string[];
  /** Why some could not be read (throttled, no access), shown with the result. */
  problems: string[];
}

export interface EventLookup {
  /** `limit`: stop once this many records are found (the key of the first event is enough). */
  find(finding: Finding, ids: readonly string[], opts?: { limit?: number }): Promise<EventLookupResult>;
}

function order(ids: readonly string[], found: Map<string, Record<string, unknown>>, problems: string[]): EventLookupResult {
  const records: Array<Record<string, unknown>> = [];
  const missing: string[] = [];
  for (const id of ids) {
    const r = found.get(id);
    if (r) records.push(r);
    else missing.push(id);
  }
  return { records, missing, problems };
}

/** Records from CloudTrail files (S3 delivery files, JSON Lines, lookup-events output). */
export function fileEventLookup(paths: readonly string[]): EventLookup {
  return {
    async find(_finding, ids) {
      const want = new Set(ids);
      const found = new Map<string, Record<string, unknown>>();
      const problems: string[] = [];
      const skipped = new Map<string, number>();
      await new FileSource([...paths]).read({
        record(raw) {
          const r = raw as Record<string, unknown>;
          const id = typeof r?.eventID === "string" ? r.eventID : undefined;
          if (id && want.has(id) && !found.has(id)) found.set(id, r);
        },
        skip(reason, _origin, count = 1) {
          skipped.set(reason, (skipped.get(reason) ?? 0) + count);
        },
      });
      if (skipped.size) problems.push(`skipped while reading the files: ${[...skipped].map(([r, n]) => `${n} ${r}`).join(", ")}`);
      return order(ids, found, problems);
    },
  };
}

export type CloudTrailCredentials = (account: string) => Promise<{ credentials?: () => Promise<AwsCredentials>; profile?: string }>;

export interface CloudTrailLookupOptions {
  credentialsFor: CloudTrailCredentials;
  /** Tests: 1. */
  maxAttempts?: number;
}

/** Records from the live account: LookupEvents by EventId (one id per call; 2 calls/s per region at most). */
export function cloudTrailEventLookup(o: CloudTrailLookupOptions): EventLookup {
  return {
    async find(finding, ids, opts = {}) {
      const found = new Map<string, Record<string, unknown>>();
      const problems: string[] = [];
      const account = finding.identity.accountId;
      if (!account) return { records: [], missing: [...ids], problems: ["the finding names no account to look its events up in"] };
      const creds = await o.credentialsFor(account);
      const regions = [...new Set([finding.region ?? "us-east-1", "us-east-1"])];
      const clients = new Map<string, CloudTrailClient>();
      const client = (region: string) => {
        let c = clients.get(region);
        if (!c) {
          c = new CloudTrailClient({
            region,
            maxAttempts: o.maxAttempts ?? 3,
            ...awsConnection({ credentials: creds.credentials, profile: creds.profile }),
          });
          clients.set(region, c);
        }
        return c;
      };
      try {
        for (const id of ids) {
          if (opts.limit !== undefined && found.size >= opts.limit) break;
          for (const region of regions) {
            try {
              const out = await client(region).send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventId", AttributeValue: id }], MaxResults: 1 }));
              const raw = out.Events?.[0]?.CloudTrailEvent;
              if (raw) {
                found.set(id, JSON.parse(raw) as Record<string, unknown>);
                break;
              }
            } catch (e) {
              problems.push(`LookupEvents ${id} in ${region}: ${(e as Error).name}: ${(e as Error).message}`);
              break;
            }
          }
        }
      } finally {
        for (const c of clients.values()) c.destroy();
      }
      return order(ids, found, problems);
    },
  };
}

/** The long-term access keys (AKIA...) of `userName` that signed these records. */
export function keysInRecords(records: ReadonlyArray<Record<string, unknown>>, userName: string): string[] {
  const keys = new Set<string>();
  for (const r of records) {
    const ui = r.userIdentity as Record<string, unknown> | undefined;
    if (ui?.type !== "IAMUser") continue;
    if (typeof ui.userName === "string" && ui.userName !== userName) continue;
    if (typeof ui.accessKeyId === "string" && /^AKIA[A-Z0-9]{12,124}$/.test(ui.accessKeyId)) keys.add(ui.accessKeyId);
  }
  return [...keys];
}

export { consoleEventUrl } from "./console.js";
