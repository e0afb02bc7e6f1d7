/**
 * The responder as the CLI and the bot build it from the environment: responder roles per account
 * (TRAILHOUND_RESPONDER_ROLE_ARNS), the bot's own identities that are never contained, the
 * two-person rule, and where the finding's events are read (files, or CloudTrail LookupEvents with
 * the scans' credentials: TRAILHOUND_ROLE_ARNS per account, else the default chain).
 */
import { accountOfRoleArn, sdkStsFactory, type StsFactory } from "../sources/aws-accounts.js";
import type { GuardConfig } from "./actions.js";
import { cloudTrailEventLookup, fileEventLookup, type EventLookup } from "./events.js";
import { responderIamFactory, type IamFactory } from "./iam.js";
import { Responder, type ResponderStore } from "./responder.js";

function list(s: string | undefined): string[] {
  return (s ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
}

export interface RespondSettings {
  responderRoleArns: string[];
  scanRoleArns: string[];
  /** Extra identities never contained (the instance role the bot runs as, ...). */
  protectedArns: string[];
  profile?: string;
  /** Two-person rule window; undefined: off. */
  approvalWindowMs?: number;
}

export function respondSettings(env: Record<string, string | undefined>): RespondSettings {
  const minutes = Number(env.TRAILHOUND_TWO_PERSON_MINUTES ?? "0");
  const profile = env.AWS_PROFILE?.trim();
  return {
    responderRoleArns: list(env.TRAILHOUND_RESPONDER_ROLE_ARNS),
    scanRoleArns: list(env.TRAILHOUND_ROLE_ARNS),
    protectedArns: list(env.TRAILHOUND_PROTECTED_ARNS),
    ...(profile ? { profile } : {}),
    ...(Number.isFinite(minutes) && minutes > 0 ? { approvalWindowMs: minutes * 60_000 } : {}),
  };
}

/** The bot's own roles (scan and responder roles) and the configured extra ones. */
export function guardOf(s: RespondSettings): GuardConfig {
  return { protectedArns: [...s.scanRoleArns, ...s.responderRoleArns, ...s.protectedArns] };
}

export interface ResponderWiring {
  store: ResponderStore;
  settings: RespondSettings;
  /** Read the finding's events from these files instead of CloudTrail. */
  inputs?: string[];
  stsFactory?: StsFactory;
  iam?: IamFactory;
  events?: EventLookup;
  now?: () => number;
  maxAttempts?: number;
}

/** CloudTrail LookupEvents with the scans' credentials for the account. */
export function liveEventLookup(s: RespondSettings, stsFactory: StsFactory = sdkStsFactory, maxAttempts?: number): EventLookup {
  const sts = stsFactory({ region: "us-east-1", ...(s.profile ? { profile: s.profile } : {}) });
  return cloudTrailEventLookup({
    ...(maxAttempts !== undefined ? { maxAttempts } : {}),
    async credentialsFor(account) {
      const role = s.scanRoleArns.find((a) => accountOfRoleArn(a) === account);
      if (!role) return s.profile ? { profile: s.profile } : {};
      const creds = await sts.assumeRole(role, "trailhound-show", 900);
      return { credentials: async () => creds };
    },
  });
}

export function buildResponder(w: ResponderWiring): Responder {
  const s = w.settings;
  const stsFactory = w.stsFactory ?? sdkStsFactory;
  const iam =
    w.iam ??
    responderIamFactory({
      roleArns: s.responderRoleArns,
      sts: stsFactory({ region: "us-east-1", ...(s.profile ? { profile: s.profile } : {}) }),
      ...(s.profile ? { profile: s.profile } : {}),
      ...(w.maxAttempts !== undefined ? { maxAttempts: w.maxAttempts } : {}),
    });
  const events = w.events ?? (w.inputs?.length ? fileEventLookup(w.inputs) : liveEventLookup(s, stsFactory, w.maxAttempts));
  return new Responder({
    store: w.store,
    iam,
    events,
    guard: guardOf(s),
    ...(w.now ? { now: w.now } : {}),
    ...(s.approvalWindowMs !== undefined ? { approvalWindowMs: s.approvalWindowMs } : {}),
  });
}
