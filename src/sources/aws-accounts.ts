/**
 * Which AWS accounts a scan reads, and with which credentials: the SDK's default chain (or a
 * named profile) for the caller's own account, and STS AssumeRole for each extra role ARN.
 */
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { AwsSourceError, classifyAwsError, credentialsHelp, errorSummary } from "./aws-errors.js";
import type { Clock } from "./rate-limiter.js";
import { awsConnection } from "../net.js";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

/** The two STS calls trailhound needs: a port, so tests (and other credential setups) can swap it. */
export interface StsPort {
  getCallerIdentity(signal?: AbortSignal): Promise<{ account: string; arn?: string }>;
  assumeRole(roleArn: string, sessionName: string, durationSeconds: number, signal?: AbortSignal, opts?: { externalId?: string }): Promise<AwsCredentials>;
}

export interface StsFactoryConfig {
  region: string;
  profile?: string;
}

export type StsFactory = (cfg: StsFactoryConfig) => StsPort;

/** STS through @aws-sdk/client-sts, credentials from the default chain (or `profile`). */
export const sdkStsFactory: StsFactory = (cfg) => {
  const client = new STSClient({
    region: cfg.region,
    maxAttempts: 3,
    ...awsConnection({ profile: cfg.profile }),
  });
  return {
    async getCallerIdentity(signal) {
      const out = await client.send(new GetCallerIdentityCommand({}), signal ? { abortSignal: signal } : {});
      if (!out.Account) throw new Error("STS GetCallerIdentity returned no account");
      return { account: out.Account, ...(out.Arn ? { arn: out.Arn } : {}) };
    },
    async assumeRole(roleArn, sessionName, durationSeconds, signal, opts) {
      const out = await client.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: sessionName,
          DurationSeconds: durationSeconds,
          ...(opts?.externalId ? { ExternalId: opts.externalId } : {}),
        }),
        signal ? { abortSignal: signal } : {},
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`STS AssumeRole ${roleArn} returned no credentials`);
      return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
        ...(c.Expiration ? { expiration: c.Expiration } : {}),
      };
    },
  };
};

export interface AccountTarget {
  accountId: string;
  /** The role assumed to read it; absent for the caller's own credentials. */
  roleArn?: string;
  /** Absent: the SDK default chain (or `profile`). */
  credentials?: AwsCredentialsProvider;
}

export const ROLE_ARN_PATTERN = /^arn:aws(?:-[a-z]+)*:iam::(\d{12}):role\/[\w+=,.@/-]+$/;

export function accountOfRoleArn(roleArn: string): string | undefined {
  return ROLE_ARN_PATTERN.exec(roleArn)?.[1];
}

export interface ResolveAccountsOptions {
  roleArns?: string[];
  /** The caller's account, when known (skips GetCallerIdentity). Ignored with `roleArns`. */
  accountId?: string;
  profile?: string;
  sts: StsPort;
  sessionName: string;
  /** Sent with every AssumeRole (the member roles' trust policies may require it). */
  externalId?: string;
  /** AssumeRole session length. */
  durationSeconds?: number;
  clock: Clock;
  signal?: AbortSignal;
}

export interface ResolvedAccounts {
  targets: AccountTarget[];
  /** Roles that could not be assumed: the scan goes on with the others. */
  failures: Array<{ roleArn: string; accountId?: string; error: AwsSourceError }>;
}

const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;

export async function resolveAccounts(opts: ResolveAccountsOptions): Promise<ResolvedAccounts> {
  const roleArns = [...new Set(opts.roleArns ?? [])];
  if (roleArns.length === 0) {
    const accountId = opts.accountId ?? (await callerAccount(opts));
    return { targets: [{ accountId }], failures: [] };
  }
  for (const arn of roleArns) {
    if (!accountOfRoleArn(arn)) {
      throw new AwsSourceError("invalid-argument", `"${arn}" is not an IAM role ARN (expected arn:aws:iam::<12-digit account>:role/<name>)`);
    }
  }
  const duration = opts.durationSeconds ?? 3600;
  const settled = await Promise.all(
    roleArns.map(async (roleArn) => {
      const accountId = accountOfRoleArn(roleArn)!;
      const provider = assumedRoleProvider(opts, roleArn, duration);
      try {
        await provider(); // assume once up front: a role we cannot assume is reported before any scan
        return { ok: true as const, target: { accountId, roleArn, credentials: provider } };
      } catch (e) {
        return { ok: false as const, failure: { roleArn, accountId, error: assumeRoleError(e, roleArn, opts.profile) } };
      }
    }),
  );
  const targets: AccountTarget[] = [];
  const failures: ResolvedAccounts["failures"] = [];
  for (const s of settled) {
    if (s.ok) targets.push(s.target);
    else failures.push(s.failure);
  }
  return { targets, failures };
}

/** Cached temporary credentials, assumed again 5 minutes before they expire (long scans outlive them). */
function assumedRoleProvider(opts: ResolveAccountsOptions, roleArn: string, duration: number): AwsCredentialsProvider {
  let current: AwsCredentials | undefined;
  let inflight: Promise<AwsCredentials> | undefined;
  return () => {
    const fresh = current && (!current.expiration || current.expiration.getTime() - REFRESH_BEFORE_EXPIRY_MS > opts.clock.now());
    if (fresh) return Promise.resolve(current!);
    inflight ??= opts.sts
      .assumeRole(roleArn, opts.sessionName, duration, opts.signal, opts.externalId ? { externalId: opts.externalId } : undefined)
      .then((c) => {
        current = c;
        return c;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };
}

async function callerAccount(opts: ResolveAccountsOptions): Promise<string> {
  try {
    return (await opts.sts.getCallerIdentity(opts.signal)).account;
  } catch (e) {
    const kind = classifyAwsError(e);
    if (kind === "credentials" || kind === "unrecognized-client") {
      throw new AwsSourceError(
        "credentials",
        `AWS credentials${opts.profile ? ` of profile "${opts.profile}"` : ""} are missing, expired or invalid (${errorSummary(e)}): ${credentialsHelp(opts.profile)}`,
        { cause: e },
      );
    }
    throw new AwsSourceError("unavailable", `could not identify the AWS account (STS GetCallerIdentity: ${errorSummary(e)})`, {
      cause: e,
    });
  }
}

function assumeRoleError(e: unknown, roleArn: string, profile?: string): AwsSourceError {
  if (e instanceof AwsSourceError) return e;
  const kind = classifyAwsError(e);
  const account = accountOfRoleArn(roleArn);
  if (kind === "access-denied") {
    return new AwsSourceError(
      "missing-permission",
      `cannot assume ${roleArn}: the caller needs sts:AssumeRole on it, and the role's trust policy must allow the caller (${errorSummary(e)})`,
      { ...(account ? { account } : {}), cause: e },
    );
  }
  if (kind === "credentials" || kind === "unrecognized-client") {
    return new AwsSourceError("credentials", `cannot assume ${roleArn}: AWS credentials are missing, expired or invalid (${errorSummary(e)}): ${credentialsHelp(profile)}`, {
      ...(account ? { account } : {}),
      cause: e,
    });
  }
  return new AwsSourceError("unavailable", `cannot assume ${roleArn}: ${errorSummary(e)}`, {
    ...(account ? { account } : {}),
    cause: e,
  });
}
