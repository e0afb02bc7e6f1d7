/**
 * The IAM calls of containment, through @aws-sdk/client-iam, with the responder's credentials for
 * the finding's account: the role named for that account in TRAILHOUND_RESPONDER_ROLE_ARNS
 * (assumed with STS, as scans assume TRAILHOUND_ROLE_ARNS), else the default credential chain
 * (or AWS_PROFILE) when it belongs to that account.
 */
import {
  DeleteLoginProfileCommand,
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  DetachGroupPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  IAMClient,
  ListAccessKeysCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
} from "@aws-sdk/client-iam";
import { accountOfRoleArn, type AwsCredentials, type StsPort } from "../sources/aws-accounts.js";
import { RespondError } from "./actions.js";
import { awsConnection } from "../net.js";

/** A failed IAM call: the AWS error name and the request id (for AWS support and the audit log). */
export class IamCallError extends Error {
  constructor(
    readonly api: string,
    readonly errorName: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(`${api} failed: ${errorName}: ${message}`);
    this.name = "IamCallError";
  }
}

export interface IamPort {
  /** One of the containment calls; resolves with the AWS request id. Throws IamCallError. */
  call(api: string, input: Record<string, string>): Promise<{ requestId?: string }>;
  /** The user's keys and their status (to record the state before, for undo). */
  listAccessKeys(userName: string): Promise<{ keys: Array<{ id: string; status: string }>; requestId?: string }>;
}

/** The IAM port for an account, with the responder's credentials; `actor` names the STS session. */
export type IamFactory = (account: string, actor: string) => Promise<IamPort>;

// The table dispatches to SDK command classes whose inputs differ (the plan validated the
// parameters); no common constructor type accepts them all and stays sendable by IAMClient.
// biome-ignore lint/suspicious/noExplicitAny: see above
type AnyCommand = new (input: any) => any;

const COMMANDS: Record<string, AnyCommand> = {
  "iam:UpdateAccessKey": UpdateAccessKeyCommand,
  "iam:PutUserPolicy": PutUserPolicyCommand,
  "iam:PutRolePolicy": PutRolePolicyCommand,
  "iam:DeleteUserPolicy": DeleteUserPolicyCommand,
  "iam:DeleteRolePolicy": DeleteRolePolicyCommand,
  "iam:DeleteLoginProfile": DeleteLoginProfileCommand,
  "iam:DetachUserPolicy": DetachUserPolicyCommand,
  "iam:DetachRolePolicy": DetachRolePolicyCommand,
  "iam:DetachGroupPolicy": DetachGroupPolicyCommand,
};

/** Every IAM permission the responder role needs (docs/RESPOND.md prints the policy). */
export const RESPONDER_PERMISSIONS = [...Object.keys(COMMANDS), "iam:ListAccessKeys"].sort();

function asCallError(api: string, e: unknown): IamCallError {
  const err = e as { name?: string; message?: string; $metadata?: { requestId?: string } };
  return new IamCallError(api, err.name ?? "Error", err.message ?? String(e), err.$metadata?.requestId);
}

export interface SdkIamOptions {
  credentials?: () => Promise<AwsCredentials>;
  profile?: string;
  /** SDK attempts (default 3: IAM's ServiceFailure and throttling are retried); tests pass 1. */
  maxAttempts?: number;
  /** IAM's endpoint region (global service; default us-east-1). */
  region?: string;
}

export function sdkIamPort(o: SdkIamOptions): IamPort {
  const client = new IAMClient({
    region: o.region ?? "us-east-1",
    maxAttempts: o.maxAttempts ?? 3,
    ...awsConnection({ credentials: o.credentials, profile: o.profile }),
  });
  return {
    async call(api, input) {
      const Cmd = COMMANDS[api];
      if (!Cmd) throw new RespondError("invalid", `${api} is not a containment call`);
      try {
        const out = (await client.send(new Cmd(input))) as { $metadata?: { requestId?: string } };
        return out.$metadata?.requestId ? { requestId: out.$metadata.requestId } : {};
      } catch (e) {
        throw asCallError(api, e);
      }
    },
    async listAccessKeys(userName) {
      const keys: Array<{ id: string; status: string }> = [];
      let marker: string | undefined;
      let requestId: string | undefined;
      try {
        do {
          const out = await client.send(new ListAccessKeysCommand({ UserName: userName, ...(marker ? { Marker: marker } : {}) }));
          requestId ??= out.$metadata?.requestId;
          for (const k of out.AccessKeyMetadata ?? []) if (k.AccessKeyId) keys.push({ id: k.AccessKeyId, status: k.Status ?? "Unknown" });
          marker = out.IsTruncated ? out.Marker : undefined;
        } while (marker);
      } catch (e) {
        throw asCallError("iam:ListAccessKeys", e);
      }
      return { keys, ...(requestId ? { requestId } : {}) };
    },
  };
}

export interface ResponderCredentialOptions {
  /** TRAILHOUND_RESPONDER_ROLE_ARNS: one responder role per account. */
  roleArns: readonly string[];
  profile?: string;
  sts: StsPort;
  maxAttempts?: number;
  now?: () => number;
}

/**
 * IAM ports per account: the responder role of the account (assumed once, again 5 minutes
 * before expiry), else the caller's own credentials if they are of that account.
 */
export function responderIamFactory(o: ResponderCredentialOptions): IamFactory {
  const now = o.now ?? Date.now;
  const cache = new Map<string, { creds: AwsCredentials }>();
  let caller: Promise<string> | undefined;
  return async (account, actor) => {
    const roleArn = o.roleArns.find((a) => accountOfRoleArn(a) === account);
    const base = { ...(o.maxAttempts !== undefined ? { maxAttempts: o.maxAttempts } : {}) };
    if (roleArn) {
      const session = `trailhound-${actor}`.replace(/[^\w+=,.@-]/g, "-").slice(0, 64);
      const key = `${roleArn}\u0000${session}`;
      const credentials = async () => {
        const hit = cache.get(key);
        if (hit && (!hit.creds.expiration || hit.creds.expiration.getTime() - 5 * 60_000 > now())) return hit.creds;
        let creds: AwsCredentials;
        try {
          creds = await o.sts.assumeRole(roleArn, session, 900);
        } catch (e) {
          throw new RespondError("unavailable", `cannot assume the responder role ${roleArn}: ${(e as Error).message}`, { cause: e });
        }
        cache.set(key, { creds });
        return creds;
      };
      await credentials(); // fail before the first IAM call, with a clear message
      return sdkIamPort({ ...base, credentials });
    }
    caller ??= o.sts.getCallerIdentity().then(
      (c) => c.account,
      (e: unknown) => {
        caller = undefined;
        throw new RespondError("unavailable", `cannot identify the AWS credentials (STS GetCallerIdentity: ${(e as Error).message})`, { cause: e });
      },
    );
    const own = await caller;
    if (own !== account)
      throw new RespondError(
        "unavailable",
        `no responder role for account ${account} (the credentials are of ${own}): add arn:aws:iam::${account}:role/<responder role> to TRAILHOUND_RESPONDER_ROLE_ARNS (docs/RESPOND.md)`,
      );
    return sdkIamPort({ ...base, ...(o.profile ? { profile: o.profile } : {}) });
  };
}
