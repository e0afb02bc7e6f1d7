/**
 * Errors from the AWS sources that a person can act on, and the classification of SDK errors
 * that the retry loop and the region handling need.
 */

export type AwsSourceErrorCode =
  /** The caller lacks an IAM permission (cloudtrail:LookupEvents, sts:AssumeRole). */
  | "missing-permission"
  /** Credentials missing, expired or invalid. */
  | "credentials"
  /** The time range cannot be read (start after end, entirely older than 90 days, not a number). */
  | "invalid-time"
  /** A region name that is not a region. */
  | "unknown-region"
  /** Retries exhausted (throttling, 5xx, network) or an unexpected API error. */
  | "unavailable"
  /** An option that cannot be used as given (e.g. a malformed role ARN). */
  | "invalid-argument";

export class AwsSourceError extends Error {
  override readonly name = "AwsSourceError";
  constructor(
    readonly code: AwsSourceErrorCode,
    message: string,
    readonly details: { account?: string; region?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }
}

export type ErrorKind =
  | "throttled"
  | "server"
  | "network"
  | "dns"
  | "access-denied"
  | "credentials"
  /** The security token is not recognised: bad credentials, or an opt-in region not enabled. */
  | "unrecognized-client"
  | "region-not-enabled"
  | "invalid-next-token"
  | "invalid-time"
  | "aborted"
  | "other";

const THROTTLE_NAMES = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "SlowDown",
  "ProvisionedThroughputExceededException",
]);
const CREDENTIAL_NAMES = new Set([
  "ExpiredTokenException",
  "ExpiredToken",
  "TokenRefreshRequired",
  "CredentialsProviderError",
  "TokenProviderError",
  "InvalidSignatureException",
  "SignatureDoesNotMatch",
  "IncompleteSignature",
  "RequestExpired",
  "MissingAuthenticationToken",
  "MissingAuthenticationTokenException",
  "InvalidAccessKeyId",
]);
const UNRECOGNIZED_NAMES = new Set(["UnrecognizedClientException", "InvalidClientTokenId"]);
const DENIED_NAMES = new Set(["AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "UnauthorizedException"]);
const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "ESOCKETTIMEDOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

interface SdkLikeError {
  name?: string;
  code?: string;
  message?: string;
  $fault?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
  cause?: unknown;
}

export function classifyAwsError(err: unknown): ErrorKind {
  if (typeof err !== "object" || err === null) return "other";
  const e = err as SdkLikeError;
  const name = e.name ?? "";
  const code = typeof e.code === "string" ? e.code : "";
  const message = typeof e.message === "string" ? e.message : "";
  const status = e.$metadata?.httpStatusCode;

  if (name === "AbortError" || code === "ABORT_ERR") return "aborted";
  if (THROTTLE_NAMES.has(name) || THROTTLE_NAMES.has(code) || status === 429) return "throttled";
  if (name === "InvalidNextTokenException" || name === "InvalidNextToken") return "invalid-next-token";
  if (name === "InvalidTimeRangeException") return "invalid-time";
  if (name === "OptInRequired" || name === "OptInRequiredException" || (/not (been )?enabled|opt-?in/i.test(message) && /region/i.test(message))) {
    return "region-not-enabled";
  }
  if (UNRECOGNIZED_NAMES.has(name)) return "unrecognized-client";
  if (CREDENTIAL_NAMES.has(name) || CREDENTIAL_NAMES.has(code) || /could not load credentials/i.test(message)) {
    return "credentials";
  }
  if (DENIED_NAMES.has(name) || DENIED_NAMES.has(code) || status === 403) return "access-denied";
  if (code === "ENOTFOUND") return "dns";
  if (NETWORK_CODES.has(code) || name === "TimeoutError" || name === "RequestTimeout") return "network";
  if (status !== undefined && status >= 500) return "server";
  if (e.$fault === "server") return "server";
  // Errors below the SDK's deserialiser (socket closed mid-body) may hide the code in `cause`.
  if (e.cause && e.cause !== err) {
    const inner = classifyAwsError(e.cause);
    if (inner !== "other") return inner;
  }
  return "other";
}

export function isRetryable(kind: ErrorKind): boolean {
  return kind === "throttled" || kind === "server" || kind === "network";
}

export function errorSummary(err: unknown): string {
  if (typeof err !== "object" || err === null) return String(err);
  const e = err as SdkLikeError;
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? "Error";
  const msg = (e.message ?? "").split("\n")[0]!.slice(0, 300);
  return `${name}${e.code && e.code !== name ? ` (${e.code})` : ""}${status ? ` HTTP ${status}` : ""}: ${msg}`;
}

export function credentialsHelp(profile?: string): string {
  return profile
    ? `refresh them (for SSO: \`aws sso login --profile ${profile}\`; otherwise update the profile "${profile}" in ~/.aws/credentials) and run again`
    : "refresh them (for SSO: `aws sso login`; otherwise set AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN) and run again";
}
