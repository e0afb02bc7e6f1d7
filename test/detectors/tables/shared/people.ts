/**
 * Shared roles used by people (issue 16): an IAM Identity Center permission set whose sessions are
 * people, each with MFA. nina works from Paris (FR), sam from London (GB); the role as a whole
 * knows both. Used by the new-source-network and first-time-api tables.
 */
import { assumedRole } from "../../../helpers/events.js";
import { GEN_IPS } from "../../../helpers/window.js";
import { DAY, HOUR, MIN, rec, routine, W, type Rec } from "../runner.js";

export const SSO_ROLE = "AWSReservedSSO_AdministratorAccess_0123abcd";
export const person = (name: string): Rec => assumedRole(SSO_ROLE, name, undefined, { attributes: { creationDate: "2024-05-01T08:00:00Z", mfaAuthenticated: "true" } });
export const nina = person("nina@example.com");
export const sam = person("sam@example.com");

const calls: Array<[string, string]> = [
  ["DescribeInstances", "ec2.amazonaws.com"],
  ["ListBuckets", "s3.amazonaws.com"],
  ["ListRoles", "iam.amazonaws.com"],
];
export const peopleHistory: Rec[] = [
  ...routine({ identity: nina, calls, ip: GEN_IPS.parisOrange[0] }),
  // sam also manages access keys, which nina never does.
  ...routine({ identity: sam, calls: [...calls, ["CreateAccessKey", "iam.amazonaws.com"]], ip: GEN_IPS.londonHome, hour: 9 }),
];
export const peopleUsual: Rec[] = [
  ...[0, 1].map((i) => rec({ eventName: "DescribeInstances", userIdentity: nina, sourceIPAddress: GEN_IPS.parisOrange[0], time: W + 8 * HOUR + i * MIN })),
  ...[0, 1].map((i) => rec({ eventName: "ListBuckets", eventSource: "s3.amazonaws.com", userIdentity: sam, sourceIPAddress: GEN_IPS.londonHome, time: W + 9 * HOUR + i * MIN })),
];

/** `n` calls by `who` from `ip` on day `day` of the window. */
export function callsFrom(who: Rec, ip: string, day: number, n = 3, eventName = "DescribeInstances"): Rec[] {
  return Array.from({ length: n }, (_, i) => rec({ eventName, userIdentity: who, sourceIPAddress: ip, time: W + day * DAY + 14 * HOUR + i * MIN }));
}
