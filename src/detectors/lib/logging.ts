/**
 * What counts as "the audit trail" and how logging configuration changes reduce it: CloudTrail
 * event selectors, trail updates, S3 lifecycle rules on log buckets, bucket access logging.
 */
import { at, bool, get, isObj, list, num, str, strings, type Obj } from "./util.js";

/** Names that look like audit-log storage (trail buckets, log groups). */
export const TRAILISH = /cloud-?trail|(^|[^a-z])trail|audit|guard-?duty|security-?hub|flow-?log|vpc-?flow|siem|forensic/i;
export const LOGGISH = /log/i;

export interface SelectorReduction {
  reasons: string[];
  /** Management events no longer recorded at all (the strongest reduction). */
  managementOff: boolean;
}

/**
 * PutEventSelectors: what logging the new selectors leave out. Classic selectors
 * (`eventSelectors`) and advanced selectors (`advancedEventSelectors`) are both handled.
 */
export function selectorReduction(requestParameters: Obj | null): SelectorReduction | null {
  if (!requestParameters) return null;
  const classic = get(requestParameters, "eventSelectors");
  const advanced = get(requestParameters, "advancedEventSelectors");
  const reasons: string[] = [];
  let managementOff = false;
  if (classic !== undefined) {
    const sels = list(classic).filter(isObj);
    if (sels.length === 0) {
      reasons.push("the event selector list is empty");
      managementOff = true;
    } else {
      const mgmt = sels.filter((s) => bool(get(s, "includeManagementEvents")) !== false);
      if (mgmt.length === 0) {
        reasons.push("management events are excluded (`includeManagementEvents: false`)");
        managementOff = true;
      } else {
        const rw = mgmt.map((s) => str(get(s, "readWriteType")) ?? "All");
        if (!rw.includes("All") && !(rw.includes("ReadOnly") && rw.includes("WriteOnly"))) {
          reasons.push(`only ${rw.join("/")} management events are recorded (\`readWriteType\`)`);
        }
        const excluded = mgmt.flatMap((s) => strings(get(s, "excludeManagementEventSources")));
        if (excluded.length > 0) reasons.push(`management events of ${excluded.join(", ")} are excluded`);
      }
    }
  }
  if (advanced !== undefined) {
    const sels = list(advanced).filter(isObj);
    if (sels.length === 0) {
      reasons.push("the advanced event selector list is empty");
      managementOff = true;
    } else {
      let mgmtSelectors = 0;
      for (const s of sels) {
        const fields = list(get(s, "fieldSelectors")).filter(isObj);
        const cat = fields.find((f) => str(get(f, "field")) === "eventCategory");
        const cats = cat ? strings(get(cat, "equals")) : [];
        if (!cats.includes("Management")) continue;
        mgmtSelectors++;
        const ro = fields.find((f) => str(get(f, "field")) === "readOnly");
        if (ro) reasons.push(`management events are limited to readOnly = ${strings(get(ro, "equals")).join("/")}`);
        const src = fields.find((f) => str(get(f, "field")) === "eventSource" && get(f, "notEquals") !== undefined);
        if (src) reasons.push(`management events of ${strings(get(src, "notEquals")).join(", ")} are excluded`);
      }
      if (mgmtSelectors === 0) {
        reasons.push("no advanced selector records management events");
        managementOff = true;
      }
    }
  }
  return reasons.length > 0 ? { reasons, managementOff } : null;
}

/** UpdateTrail settings that reduce what the trail records or how trustworthy it is. */
export function trailUpdateReductions(requestParameters: Obj | null): string[] {
  if (!requestParameters) return [];
  const out: string[] = [];
  if (bool(get(requestParameters, "isMultiRegionTrail")) === false) out.push("the trail no longer records all regions (`isMultiRegionTrail: false`)");
  if (bool(get(requestParameters, "includeGlobalServiceEvents")) === false)
    out.push("global service events (IAM, STS, sign-in) are no longer recorded (`includeGlobalServiceEvents: false`)");
  if (bool(get(requestParameters, "enableLogFileValidation")) === false) out.push("log file integrity validation is turned off");
  if (bool(get(requestParameters, "isOrganizationTrail")) === false) out.push("the trail no longer covers the organisation");
  const cw = get(requestParameters, "cloudWatchLogsLogGroupArn");
  if (cw === "") out.push("delivery to CloudWatch Logs is removed");
  return out;
}

export interface ShortExpiration {
  days: number;
  ruleId?: string;
  noncurrent: boolean;
}

/** The shortest enabled expiration of an S3 lifecycle configuration (current or noncurrent versions). */
export function shortestExpiration(requestParameters: Obj | null): ShortExpiration | null {
  if (!requestParameters) return null;
  const cfg = get(requestParameters, "LifecycleConfiguration") ?? get(requestParameters, "lifecycleConfiguration");
  const rules = list(at(cfg, "Rule") ?? at(cfg, "Rules") ?? at(cfg, "rules"));
  let best: ShortExpiration | null = null;
  for (const r of rules) {
    if (!isObj(r)) continue;
    if ((str(get(r, "Status")) ?? "Enabled").toLowerCase() !== "enabled") continue;
    const ruleId = str(get(r, "ID")) ?? str(get(r, "Id"));
    const cands: Array<[number | undefined, boolean]> = [
      [num(at(r, "Expiration", "Days")), false],
      [num(at(r, "NoncurrentVersionExpiration", "NoncurrentDays")), true],
    ];
    const date = str(at(r, "Expiration", "Date"));
    if (date) cands.push([0, false]);
    for (const [d, noncurrent] of cands) {
      if (d === undefined) continue;
      if (!best || d < best.days) best = ruleId ? { days: d, ruleId, noncurrent } : { days: d, noncurrent };
    }
  }
  return best;
}

/** PutBucketLogging that turns server access logging off (a BucketLoggingStatus without LoggingEnabled). */
export function bucketLoggingDisabled(requestParameters: Obj | null): boolean {
  if (!requestParameters) return false;
  const status = get(requestParameters, "BucketLoggingStatus");
  if (status === undefined) return false;
  if (!isObj(status)) return status === "" || status === null;
  return get(status, "LoggingEnabled") === undefined;
}
