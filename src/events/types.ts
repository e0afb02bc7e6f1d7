/**
 * The normalised CloudTrail event that every part of trailhound works on.
 * Built once, at the boundary, by `normalizeRecord` (see normalize.ts).
 */

export type Severity = "critical" | "high" | "medium" | "low" | "info";
export const SEVERITIES: readonly Severity[] = ["critical", "high", "medium", "low", "info"] as const;
export const SEVERITY_RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1, info: 0 };

/** How the source address of an event is classified. Only `public` feeds geography. */
export type IpKind = "public" | "private" | "service" | "internal" | "other" | "none";

// Optional fields of Principal and TrailEvent are typed `?: T | undefined`: normalize.ts builds every
// object with all of them present (undefined when CloudTrail has no value), one hidden class for all.
export interface Principal {
  /** Stable identity key, e.g. `user:1111:alice`, `role:1111:Deploy`, `root:1111`, `service:lambda.amazonaws.com`. */
  key: string;
  /** CloudTrail userIdentity.type (IAMUser, AssumedRole, Root, AWSService, ...). */
  type: string;
  /** IAM user ARN, role ARN (session issuer), root ARN, or the STS ARN when nothing better exists. */
  arn?: string | undefined;
  accountId?: string | undefined;
  /** IAM user name or role name. */
  userName?: string | undefined;
  /** Assumed-role session name (kept beside the key, never the key). */
  sessionName?: string | undefined;
  principalId?: string | undefined;
  accessKeyId?: string | undefined;
  /** The AWS service that acted with these credentials, when present. */
  invokedBy?: string | undefined;
  /** sessionContext.attributes.mfaAuthenticated === "true". */
  mfa?: boolean | undefined;
  /** Session issued to the console (sessionCredentialFromConsole). */
  fromConsole?: boolean | undefined;
  /**
   * The person behind a shared role's session, when the session names one: its `sourceIdentity`,
   * else a session name that is a person's (any on an IAM Identity Center permission set, an
   * e-mail address or a first.last name elsewhere). Such sessions also get a baseline of their own
   * (src/detectors/lib/people.ts).
   */
  person?: string | undefined;
}

export interface TrailEvent {
  id: string;
  /** Epoch milliseconds. */
  time: number;
  /** Event name with API-version suffixes removed (`UpdateFunctionCode20150331v2` -> `UpdateFunctionCode`). */
  eventName: string;
  rawEventName: string;
  eventSource: string;
  /** Short service name: `iam`, `s3`, `ec2`, ... */
  service: string;
  /** `service:eventName` (interned), the key of the `api` baseline dimension. */
  api: string;
  eventType: string;
  region: string;
  /** recipientAccountId, else the caller's account. */
  accountId: string;
  principal: Principal;
  sourceIp: string;
  ipKind: IpKind;
  userAgent: string;
  /** User-agent family: terraform, aws-cli/2, python, aws-sdk-go, browser, console, internal, aws-service, ... */
  uaFamily: string;
  errorCode?: string | undefined;
  errorMessage?: string | undefined;
  /** Any failure: an errorCode, or a failed console login. */
  failed: boolean;
  /** Authorisation failures (AccessDenied family, UnauthorizedOperation, failed console logins). */
  denied: boolean;
  readOnly?: boolean | undefined;
  managementEvent?: boolean | undefined;
  eventCategory?: string | undefined;
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  additionalEventData: Record<string, unknown> | null;
  serviceEventDetails?: Record<string, unknown> | null | undefined;
  resources?: Array<{ arn?: string; accountId?: string; type?: string }> | undefined;
  vpcEndpointId?: string | undefined;
  sharedEventId?: string | undefined;
}

/**
 * What the accumulator reads of an event. A TrailEvent is one; the scanner's fast path for
 * records before the window fills a reused object of this shape instead of building a TrailEvent.
 */
export interface EventFacts {
  id: string;
  time: number;
  api: string;
  eventName: string;
  region: string;
  sourceIp: string;
  ipKind: IpKind;
  uaFamily: string;
  failed: boolean;
  denied: boolean;
  errorCode?: string | undefined;
  /** Read for AssumeRole* (`roleArn`) and RunInstances (`instanceType`). */
  requestParameters: Record<string, unknown> | null;
  /** The record's `resources` (raw or normalised), read for KMS key reads' targets (src/events/targets.ts). */
  resources?: unknown;
  principal: Pick<Principal, "sessionName" | "invokedBy" | "mfa">;
}

/** What a scan is asked to keep of the window's events (all given must match). */
export interface ScanFilters {
  /** IAM user name, role name, role session name, or an ARN. */
  user?: string;
  ip?: string;
  account?: string;
  region?: string;
  eventName?: string;
}

/** Reasons a raw record may be skipped; counted in `stats.skipped`. */
export type SkipReason =
  | "not-an-object"
  | "missing-eventTime"
  | "bad-eventTime"
  /** Dated more than the allowed clock skew after the scan's `now` (a wrong clock or a tampered file). */
  | "future-eventTime"
  /** Dated before 2013, when CloudTrail did not exist yet (a tampered or generated file). */
  | "pre-2013-eventTime"
  | "missing-eventName"
  | "missing-eventSource"
  | "missing-userIdentity"
  | "missing-eventID"
  | "insight-event"
  | "duplicate-eventID"
  | "invalid-json"
  | "not-cloudtrail"
  | "corrupt-file"
  /** A file or object beyond the decompressed size limit (a gzip bomb), or a JSON Lines line beyond the line limit. */
  | "oversized-file"
  /** A named pipe, socket or device named like an input file: never opened. */
  | "special-file"
  /** A symbolic link to a directory already read (a loop), or a link that loops on itself. */
  | "symlink-loop"
  /** A file that vanished, a broken link, a read error. */
  | "unreadable-file";
