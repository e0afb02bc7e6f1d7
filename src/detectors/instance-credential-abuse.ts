import type { Severity } from "../events/types.js";
import { INSTANCE_SESSION, multiDraft, q, who } from "./lib/util.js";
import { outsideAws } from "./lib/network.js";
import type { DetectorContext, FindingDraft, IdentityWindow, WindowDetector } from "./types.js";

/**
 * EC2 instance-profile credentials (session name = instance id) used where the instance is not:
 *
 * - exfiltration: one instance's session seen from two or more source addresses, or from a
 *   public address whose network is not Amazon's (needs the geo/ASN resolver);
 * - reconnaissance from the instance: account-level discovery calls (whoami, IAM listing,
 *   trail/detector inventory) that applications do not make.
 *
 * Works on the window's aggregates (sessions, source addresses, geo points, API counts), so it
 * needs no event selection. Only roles used purely as instance profiles are judged.
 */

/** Discovery calls that reveal an attacker exploring with instance credentials. */
const DISCOVERY = new Set([
  "sts:GetCallerIdentity",
  "iam:ListUsers",
  "iam:ListRoles",
  "iam:ListGroups",
  "iam:ListPolicies",
  "iam:GetAccountAuthorizationDetails",
  "iam:GetAccountSummary",
  "iam:ListAttachedRolePolicies",
  "iam:ListRolePolicies",
  "iam:GetRole",
  "iam:ListAccessKeys",
  "s3:ListBuckets",
  "cloudtrail:DescribeTrails",
  "guardduty:ListDetectors",
  "organizations:DescribeOrganization",
  "organizations:ListAccounts",
  "secretsmanager:ListSecrets",
  "ssm:DescribeParameters",
  "lambda:ListFunctions",
  "kms:ListKeys",
  "ec2:DescribeSnapshots",
  "rds:DescribeDBInstances",
  "dynamodb:ListTables",
]);
export const DISCOVERY_MIN = 4;

const PRIVATE_V4 = /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.)/;

export const instanceCredentialAbuse: WindowDetector = {
  kind: "window",
  id: "instance-credential-abuse",
  title: "EC2 instance credentials used elsewhere or for reconnaissance",
  description:
    "Credentials of an EC2 instance profile used from a second source address or from a network outside AWS (stolen from the metadata service), or used for account-level discovery that applications do not perform.",
  severity: "high",
  cites:
    "Two addresses: the events from the addresses other than the instance's own (the one its history knows, else the only private one, else the first used). " +
    "Outside AWS: the events from the foreign addresses. Reconnaissance: the discovery calls. First/last seen span the cited events.",
  attack: ["T1552.005", "T1078.004", "T1580"],
  investigate: [
    "Compare the source addresses with the instance's own public/NAT address; an address outside your VPCs and NATs means the credentials left the instance.",
    "Look for SSRF or a compromised process on the instance (web logs, IMDSv1 use: enforce IMDSv2).",
    "Revoke the role's sessions (AWSRevokeOlderSessions) and review everything the stolen session did.",
  ],
  falsePositives: [
    "Instances whose public address changed within the window (stop/start, new elastic IP).",
    "Dual-stack instances calling over IPv4 and IPv6.",
    "Administration scripts run on an instance that enumerate the account on purpose.",
  ],
  detect(win: IdentityWindow, ctx: DetectorContext): FindingDraft[] {
    const p = win.principal;
    if (p.type !== "AssumedRole" || win.sessions.length === 0) return [];
    if (!win.sessions.every((s) => INSTANCE_SESSION.test(s))) return [];
    const out: FindingDraft[] = [];
    const addrs = [...win.ips.keys()];

    // 1. One instance, several addresses. The instance's own address is the one its history
    // knows, else the private one, else the first used; the evidence is the others' events.
    if (win.sessions.length === 1 && addrs.length >= 2) {
      const home = homeAddress(addrs, ctx, (a) => win.ips.get(a)!.first);
      const outside = addrs.filter((a) => a !== home);
      const ids = outside.flatMap((a) => win.ips.get(a)!.ids);
      const uas = [...win.uas.keys()];
      const why =
        `Credentials of instance ${q(win.sessions[0]!)} (${who(p)}) were used from ${addrs.length} source addresses in this window: ` +
        addrs.map((a) => `${q(a)} (${win.ips.get(a)!.n} calls)`).join(", ") +
        `, with user agents ${uas.map((u) => q(u)).join(", ")}. The instance's own address is taken to be ${q(home)} (${homeReason(home, addrs, ctx)}); ` +
        `${outside.map((a) => q(a)).join(", ")} ${outside.length === 1 ? "is" : "are"} the second. An instance calls AWS from one address; a second one suggests the credentials were taken from the metadata service and used elsewhere.`;
      // Two public addresses cannot both be the instance; a private one may be a VPC endpoint path.
      const publicCount = addrs.filter((a) => !PRIVATE_V4.test(a) && !a.includes(":")).length;
      const sev: Severity = publicCount >= 2 ? "high" : "medium";
      const note = publicCount >= 2 ? "" : " One address is private, which a VPC endpoint can explain: check whether the instance's VPC has endpoints.";
      const span = outside.map((a) => win.ips.get(a)!);
      const d = stub(ids, span, sev, why + note, ["exfiltration", win.sessions[0]!], { addresses: addrs, instanceAddress: home, otherAddresses: outside, userAgents: uas });
      if (outside.length === 1) d.sourceIp = outside[0]!;
      out.push(d);
    }

    // 1b. Roles shared by several instances: one instance session seen from two public addresses.
    if (win.sessions.length > 1) {
      const bySession = new Map<string, Set<string>>();
      for (const g of win.geo) {
        if (!g.session || !INSTANCE_SESSION.test(g.session)) continue;
        let set = bySession.get(g.session);
        if (!set) bySession.set(g.session, (set = new Set()));
        set.add(g.ip);
      }
      for (const [session, ips] of bySession) {
        if (ips.size < 2) continue;
        const points = win.geo.filter((g) => g.session === session);
        const firstAt = new Map<string, number>();
        for (const g of points) if (!firstAt.has(g.ip)) firstAt.set(g.ip, g.time);
        const home = homeAddress([...ips], ctx, (a) => firstAt.get(a) ?? Infinity);
        const away = points.filter((g) => g.ip !== home);
        const why =
          `Credentials of instance ${q(session)} (${who(p)}) were used from ${ips.size} public addresses in this window (${[...ips].map((i) => q(i)).join(", ")}); ` +
          `the instance's own is taken to be ${q(home)} (${homeReason(home, [...ips], ctx)}). An instance calls AWS from one address; another one suggests the credentials were taken from the metadata service.`;
        const d = stub(
          away.map((g) => g.eventId),
          away.map((g) => ({ first: g.time, last: g.time })),
          "high",
          why,
          ["exfiltration", session],
          { addresses: [...ips], instanceAddress: home },
        );
        d.principal = { ...p, sessionName: session };
        out.push(d);
      }
    }

    // 2. A public address outside Amazon's networks (known ASN of someone else: high; an address
    // the geo data places in a country but in no announced AS, so not AWS either: medium).
    const foreign = win.geo.filter((g) => outsideAws(g.geo));
    if (foreign.length > 0) {
      const ips = [...new Set(foreign.map((g) => g.ip))];
      const knownAs = foreign.some((g) => g.geo?.asn !== undefined || g.geo?.asOrg !== undefined);
      const nets = [
        ...new Set(foreign.map((g) => `${g.geo?.asOrg ?? (g.geo?.asn !== undefined ? "AS" + g.geo.asn : "no announced network")}${g.geo?.country ? ` (${g.geo.country})` : ""}`)),
      ];
      const why =
        `Instance-profile credentials of ${who(p)} were used from ${ips.map((i) => q(i)).join(", ")} on ${nets.map((n) => q(n)).join(", ")}, ${knownAs ? "a network outside AWS" : "an address that belongs to no AWS network"}. ` +
        "Instance credentials used outside AWS were almost certainly taken from the instance.";
      const d = stub(
        foreign.map((g) => g.eventId),
        foreign.map((g) => ({ first: g.time, last: g.time })),
        knownAs ? "high" : "medium",
        why,
        ["outside-aws"],
        { addresses: ips, networks: nets },
      );
      if (ips.length === 1) d.sourceIp = ips[0]!;
      out.push(d);
    }

    // 3. Reconnaissance from the instance.
    const disc = [...win.apis.entries()].filter(([k]) => DISCOVERY.has(k));
    const services = new Set(disc.map(([k]) => k.split(":")[0]));
    if (disc.length >= DISCOVERY_MIN && services.size >= 2) {
      const newOnes = disc.filter(([k]) => !ctx.baseline.known("api", k));
      if (newOnes.length >= DISCOVERY_MIN || ctx.baseline.historyDays <= 0) {
        const sev: Severity = !ctx.learning ? "high" : "medium";
        const why =
          `Instance credentials of ${who(p)} made ${disc.length} account-discovery calls in ${services.size} services (${disc.map(([k, s]) => `${q(k)} x${s.n}`).join(", ")}). ` +
          (ctx.baseline.historyDays > 0
            ? `${newOnes.length} of them are new for this role (${ctx.baseline.summary()}).`
            : "No history of this role before this window (cold start).") +
          " Applications rarely enumerate the account; an attacker with a shell on the instance does.";
        out.push(
          stub(
            disc.flatMap(([, s]) => s.ids),
            disc.map(([, s]) => s),
            sev,
            why,
            ["discovery"],
            { apis: disc.map(([k]) => k) },
          ),
        );
      }
    }
    return out;
  },
};

/**
 * The address the instance itself calls from: one its history knows (most used), else the only
 * private one, else the first seen in the window.
 */
function homeAddress(addrs: readonly string[], ctx: DetectorContext, firstSeen: (a: string) => number): string {
  const known = addrs.filter((a) => ctx.baseline.known("ip", a));
  if (known.length > 0) return known.sort((a, b) => (ctx.baseline.stat("ip", b)?.[0] ?? 0) - (ctx.baseline.stat("ip", a)?.[0] ?? 0))[0]!;
  const priv = addrs.filter((a) => PRIVATE_V4.test(a));
  if (priv.length === 1) return priv[0]!;
  return [...addrs].sort((a, b) => firstSeen(a) - firstSeen(b) || (a < b ? -1 : 1))[0]!;
}

function homeReason(home: string, addrs: readonly string[], ctx: DetectorContext): string {
  if (ctx.baseline.known("ip", home)) return "the role's history knows it";
  if (PRIVATE_V4.test(home) && addrs.filter((a) => PRIVATE_V4.test(a)).length === 1) return "the only private address";
  return "the first one used in this window";
}

/** A draft citing `ids`; first/last seen span the cited observations. */
function stub(
  ids: string[],
  spans: ReadonlyArray<{ first: number; last: number }>,
  sev: Severity,
  why: string,
  fingerprint: string[],
  evidence: Record<string, unknown>,
): FindingDraft {
  const d = multiDraft([], sev, why, fingerprint, { evidence, count: ids.length });
  d.eventIds = [...new Set(ids)].slice(0, 20);
  d.firstSeen = Math.min(...spans.map((s) => s.first));
  d.lastSeen = Math.max(...spans.map((s) => s.last));
  d.count = Math.max(1, d.eventIds.length);
  return d;
}

export default instanceCredentialAbuse;
