/**
 * AWS Security Hub export: findings as ASFF (AWS Security Finding Format) through
 * `BatchImportFindings`, into the account's own default product
 * (`arn:aws:securityhub:<region>:<account>:product/<account>/default`).
 *
 * - The same trailhound finding always has the same ASFF `Id` (`trailhound/<account>/<finding id>`),
 *   so a re-import updates it (`UpdatedAt` = the export time, `LastObservedAt` = its last event).
 * - Severity and types go both top level (read at creation) and in `FindingProviderFields` (how a
 *   provider changes them later); the finding's state goes in `RecordState` (suppressed or resolved:
 *   ARCHIVED), the one state field a provider may update.
 * - At most 100 findings per call (Security Hub's limit), grouped by account and region (with the
 *   default product ARN the caller must be the finding's account: its role in
 *   TRAILHOUND_SECURITYHUB_ROLE_ARNS, else the default credential chain when it is of that account).
 * - Every finding that was not imported is counted and named with Security Hub's error
 *   (`FailedFindings`, or the call's own error for a whole batch); nothing is dropped silently.
 */
import { type AwsSecurityFinding, BatchImportFindingsCommand, SecurityHubClient } from "@aws-sdk/client-securityhub";
import { SEVERITY_RANK, type Severity } from "../events/types.js";
import type { Log } from "../log.js";
import { awsConnection } from "../net.js";
import { parsePrincipalArn } from "../respond/actions.js";
import { consoleEventUrl } from "../respond/console.js";
import type { Finding } from "../scan/report-types.js";
import { accountOfRoleArn, type AwsCredentials, type StsPort } from "../sources/aws-accounts.js";
import type { StoreChange } from "../store/store.js";
import type { SecurityHubSettings } from "./securityhub-settings.js";

export { securityHubSettings, type SecurityHubSettings } from "./securityhub-settings.js";

export const ASFF_SCHEMA_VERSION = "2018-10-08";
/** Findings per BatchImportFindings call at most. */
export const SECURITYHUB_BATCH = 100;
/** Bytes per finding at most. */
export const ASFF_MAX_BYTES = 240 * 1024;

export type ExportStatus = "open" | "acknowledged" | "suppressed" | "resolved";

const LABEL: Record<Severity, NonNullable<NonNullable<AwsSecurityFinding["Severity"]>["Label"]>> = {
  info: "INFORMATIONAL",
  low: "LOW",
  medium: "MEDIUM",
  high: "HIGH",
  critical: "CRITICAL",
};

/**
 * ATT&CK technique (base id) -> ASFF type (`namespace/category`), by the technique's tactic in the
 * Enterprise matrix (the first one where it has several). The technique id is kept as classifier.
 */
const TECHNIQUE_TYPE: Record<string, string> = {
  T1021: "TTPs/Lateral Movement",
  T1059: "TTPs/Execution",
  T1069: "TTPs/Discovery",
  T1078: "TTPs/Initial Access",
  T1087: "TTPs/Discovery",
  T1098: "TTPs/Persistence",
  T1110: "TTPs/Credential Access",
  T1136: "TTPs/Persistence",
  T1199: "TTPs/Initial Access",
  T1484: "TTPs/Privilege Escalation",
  T1485: "Effects/Data Destruction",
  T1486: "Effects/Data Destruction",
  T1490: "Effects/Data Destruction",
  T1496: "Effects/Resource Consumption",
  T1525: "TTPs/Persistence",
  T1526: "TTPs/Discovery",
  T1530: "TTPs/Collection",
  T1535: "TTPs/Defense Evasion",
  T1537: "Effects/Data Exfiltration",
  T1546: "TTPs/Persistence",
  T1548: "TTPs/Privilege Escalation",
  T1550: "TTPs/Defense Evasion",
  T1552: "TTPs/Credential Access",
  T1555: "TTPs/Credential Access",
  T1556: "TTPs/Credential Access",
  T1562: "TTPs/Defense Evasion",
  T1578: "TTPs/Defense Evasion",
  T1580: "TTPs/Discovery",
  T1651: "TTPs/Execution",
};

/** The ASFF types of a finding: one per ATT&CK technique it cites, else unusual behaviour of a user. */
export function asffTypes(f: Pick<Finding, "attack">): string[] {
  const types = new Set<string>();
  for (const t of f.attack) {
    const base = /^T\d{4}/.exec(t)?.[0];
    const type = base ? TECHNIQUE_TYPE[base] : undefined;
    if (type) types.add(`${type}/${t}`);
  }
  if (types.size === 0) types.add("Unusual Behaviors/User");
  return [...types].slice(0, 50);
}

/** At most `max` characters; a cut text ends with "…" (never cut silently). */
function cap(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max - 1) + "…";
}

function partitionOf(arn: string | undefined): string {
  return /^arn:(aws(?:-[a-z]+)*):/.exec(arn ?? "")?.[1] ?? "aws";
}

/** The ASFF finding id of a trailhound finding in `account`: the same on every export. */
export function asffId(account: string, findingId: string): string {
  return `trailhound/${account}/${findingId}`;
}

export function defaultProductArn(partition: string, region: string, account: string): string {
  return `arn:${partition}:securityhub:${region}:${account}:product/${account}/default`;
}

/** The region a finding is imported into. */
export function exportRegion(f: Pick<Finding, "region">, s: Pick<SecurityHubSettings, "region">): string {
  return s.region ?? f.region ?? "us-east-1";
}

type Resource = NonNullable<AwsSecurityFinding["Resources"]>[number];

function resources(f: Finding, partition: string, region: string, account: string): Resource[] {
  const id = f.identity;
  const out: Resource[] = [];
  const accountResource: Resource = { Type: "AwsAccount", Id: `AWS::::Account:${account}`, Partition: partition as Resource["Partition"], Region: region };
  const other: Record<string, string> = { IdentityKey: cap(id.key, 1024), IdentityType: cap(id.type, 1024) };
  if (id.sessionName) other.SessionName = cap(id.sessionName, 1024);
  if (id.type === "IAMUser" && (id.arn || id.userName)) {
    out.push({
      Type: "AwsIamUser",
      Id: id.arn ?? `arn:${partition}:iam::${account}:user/${id.userName}`,
      Partition: partition as Resource["Partition"],
      Region: region,
      Details: { Other: other },
    });
  } else if (id.type === "AssumedRole" && id.arn) {
    // A session's ARN (sts::...:assumed-role/Role/session) names the role: the role is the resource.
    const role = parsePrincipalArn(id.arn);
    const roleArn = id.arn.includes(":assumed-role/") && role ? `arn:${partition}:iam::${account}:role/${role.name}` : id.arn;
    out.push({ Type: "AwsIamRole", Id: roleArn, Partition: partition as Resource["Partition"], Region: region, Details: { Other: other } });
  } else if (id.type !== "Root" && (id.arn || id.key)) {
    out.push({ Type: "Other", Id: cap(id.arn ?? id.key, 512), Partition: partition as Resource["Partition"], Region: region, Details: { Other: other } });
  }
  out.push(accountResource);
  return out;
}

export interface AsffOptions {
  /** The export time: UpdatedAt. */
  now: Date;
  status?: ExportStatus;
  region: string;
  version: string;
}

/** One finding as ASFF; undefined when it names no account (AwsAccountId is required). */
export function asffFinding(f: Finding, o: AsffOptions): AwsSecurityFinding | undefined {
  const account = f.identity.accountId;
  if (!account || !/^\d{12}$/.test(account)) return undefined;
  const partition = partitionOf(f.identity.arn);
  const label = LABEL[f.severity] ?? "INFORMATIONAL";
  const types = asffTypes(f);
  const created = Number.isFinite(Date.parse(f.firstSeen)) ? f.firstSeen : o.now.toISOString();
  // UpdatedAt is never before CreatedAt (a clock behind the events).
  const updated = new Date(Math.max(o.now.getTime(), Date.parse(created))).toISOString();
  const productFields: Record<string, string> = {
    ProviderName: "trailhound",
    ProviderVersion: o.version,
    "trailhound/FindingId": f.id,
    "trailhound/Detector": f.detector,
    "trailhound/Score": String(f.score),
    "trailhound/IdentityKey": cap(f.identity.key, 2048),
    "trailhound/EventCount": String(f.count),
    "trailhound/EventIds": cap(f.eventIds.join(",") + (f.count > f.eventIds.length ? ` (${f.eventIds.length} of ${f.count} ids)` : ""), 2048),
    "trailhound/Failed": String(f.failed),
    "trailhound/Status": o.status ?? "open",
  };
  const ip = f.sourceIp;
  const v4 = ip && /^\d{1,3}(\.\d{1,3}){3}$/.test(ip) ? ip : undefined;
  const v6 = ip && !v4 && ip.includes(":") ? ip : undefined;
  const api = typeof f.evidence?.eventName === "string" ? f.evidence.eventName : undefined;
  const out: AwsSecurityFinding = {
    SchemaVersion: ASFF_SCHEMA_VERSION,
    Id: asffId(account, f.id),
    ProductArn: defaultProductArn(partition, o.region, account),
    GeneratorId: `trailhound/${f.detector}`,
    AwsAccountId: account,
    Region: o.region,
    Types: types,
    CreatedAt: created,
    UpdatedAt: updated,
    FirstObservedAt: created,
    ...(Number.isFinite(Date.parse(f.lastSeen)) ? { LastObservedAt: f.lastSeen } : {}),
    Severity: { Label: label, Original: String(f.severity) },
    FindingProviderFields: { Severity: { Label: label, Original: String(f.severity) }, Types: types },
    Title: cap(f.title || f.detector, 256),
    Description: cap(f.why || f.title || f.detector, 1024),
    ...(f.investigate.length ? { Remediation: { Recommendation: { Text: cap(f.investigate.join(" "), 512) } } } : {}),
    ...(f.eventIds[0] ? { SourceUrl: consoleEventUrl(f.eventIds[0], f.region ?? "us-east-1") } : {}),
    ProductFields: productFields,
    Resources: resources(f, partition, o.region, account),
    RecordState: o.status === "suppressed" || o.status === "resolved" ? "ARCHIVED" : "ACTIVE",
    ...(v4 || v6 ? { Network: { Direction: "IN", ...(v4 ? { SourceIpV4: v4 } : { SourceIpV6: v6! }) } } : {}),
    ...(v4 || api
      ? {
          Action: {
            ActionType: "AWS_API_CALL",
            AwsApiCallAction: {
              ...(api ? { Api: cap(api, 128) } : {}),
              ...(v4 ? { CallerType: "remoteip", RemoteIpDetails: { IpAddressV4: v4 } } : {}),
              FirstSeen: created,
              ...(f.lastSeen ? { LastSeen: f.lastSeen } : {}),
            },
          },
        }
      : {}),
  };
  return out;
}

export interface BatchResult {
  successCount: number;
  failedCount: number;
  failed: Array<{ id: string; code: string; message: string }>;
  requestId?: string;
}

/** BatchImportFindings for one account and region. */
export interface SecurityHubPort {
  batchImport(findings: AwsSecurityFinding[]): Promise<BatchResult>;
}

export type SecurityHubFactory = (account: string, region: string) => Promise<SecurityHubPort>;

export interface ExportItem {
  finding: Finding;
  status?: ExportStatus;
}

export interface ExportFailure {
  findingId: string;
  account: string;
  region: string;
  code: string;
  message: string;
}

export interface ExportResult {
  /** Findings given. */
  considered: number;
  /** Not exported: below the minimum severity. */
  belowSeverity: number;
  /** Not exported: no account to import into (AwsAccountId is required). */
  noAccount: number;
  /** Sent to Security Hub. */
  attempted: number;
  imported: number;
  failed: ExportFailure[];
  batches: number;
  requestIds: string[];
}

export interface ExportOptions {
  settings: Pick<SecurityHubSettings, "region" | "minSeverity">;
  factory: SecurityHubFactory;
  now?: () => number;
  version: string;
}

function errorOf(e: unknown): { code: string; message: string } {
  const err = e as { name?: string; message?: string };
  return { code: err.name ?? "Error", message: err.message ?? String(e) };
}

/** Import findings into Security Hub: grouped by account and region, 100 per call; every failure counted. */
export async function exportToSecurityHub(items: readonly ExportItem[], o: ExportOptions): Promise<ExportResult> {
  const now = new Date((o.now ?? Date.now)());
  const r: ExportResult = { considered: items.length, belowSeverity: 0, noAccount: 0, attempted: 0, imported: 0, failed: [], batches: 0, requestIds: [] };
  const groups = new Map<string, { account: string; region: string; list: Array<{ asff: AwsSecurityFinding; findingId: string }> }>();
  const floor = SEVERITY_RANK[o.settings.minSeverity];
  for (const it of items) {
    if ((SEVERITY_RANK[it.finding.severity] ?? 0) < floor) {
      r.belowSeverity++;
      continue;
    }
    const region = exportRegion(it.finding, o.settings);
    const asff = asffFinding(it.finding, { now, region, version: o.version, ...(it.status ? { status: it.status } : {}) });
    if (!asff) {
      r.noAccount++;
      continue;
    }
    r.attempted++;
    const account = asff.AwsAccountId!;
    if (Buffer.byteLength(JSON.stringify(asff)) > ASFF_MAX_BYTES) {
      r.failed.push({ findingId: it.finding.id, account, region, code: "TooLarge", message: `larger than Security Hub's ${ASFF_MAX_BYTES / 1024} KB per finding` });
      continue;
    }
    const key = `${account}\u0000${region}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { account, region, list: [] }));
    g.list.push({ asff, findingId: it.finding.id });
  }
  for (const g of groups.values()) {
    let port: SecurityHubPort;
    try {
      port = await o.factory(g.account, g.region);
    } catch (e) {
      const { code, message } = errorOf(e);
      for (const x of g.list) r.failed.push({ findingId: x.findingId, account: g.account, region: g.region, code, message });
      continue;
    }
    for (let i = 0; i < g.list.length; i += SECURITYHUB_BATCH) {
      const batch = g.list.slice(i, i + SECURITYHUB_BATCH);
      const byAsffId = new Map(batch.map((x) => [x.asff.Id!, x.findingId]));
      r.batches++;
      try {
        const out = await port.batchImport(batch.map((x) => x.asff));
        if (out.requestId) r.requestIds.push(out.requestId);
        const named = new Set<string>();
        for (const f of out.failed) {
          const findingId = byAsffId.get(f.id) ?? f.id;
          named.add(findingId);
          r.failed.push({ findingId, account: g.account, region: g.region, code: f.code, message: f.message });
        }
        // FailedCount above the findings it named: the rest of the failures are counted all the same.
        for (let k = named.size; k < out.failedCount; k++)
          r.failed.push({ findingId: "(not named by Security Hub)", account: g.account, region: g.region, code: "Unknown", message: "counted in FailedCount without an id" });
        r.imported += out.successCount;
      } catch (e) {
        const { code, message } = errorOf(e);
        for (const x of batch) r.failed.push({ findingId: x.findingId, account: g.account, region: g.region, code, message });
      }
    }
  }
  return r;
}

/** One or a few lines for people: what was imported, what failed and why, what was not sent. */
export function formatExportResult(r: ExportResult, minSeverity: Severity): string {
  const lines = [
    `Security Hub: ${r.imported} of ${r.attempted} finding${r.attempted === 1 ? "" : "s"} imported (${r.batches} BatchImportFindings call${r.batches === 1 ? "" : "s"})`,
  ];
  if (r.failed.length) {
    lines.push(`  ${r.failed.length} failed:`);
    const byError = new Map<string, ExportFailure[]>();
    for (const f of r.failed) {
      const k = `${f.account} ${f.region}: ${f.code}: ${f.message}`;
      byError.set(k, [...(byError.get(k) ?? []), f]);
    }
    for (const [k, list] of byError)
      lines.push(
        `    ${list.length} in ${k} (${list
          .slice(0, 5)
          .map((f) => f.findingId)
          .join(", ")}${list.length > 5 ? `, and ${list.length - 5} more` : ""})`,
      );
  }
  if (r.belowSeverity) lines.push(`  ${r.belowSeverity} below ${minSeverity} not exported (TRAILHOUND_SECURITYHUB_SEVERITY)`);
  if (r.noAccount) lines.push(`  ${r.noAccount} not exported: no AWS account named`);
  return lines.join("\n") + "\n";
}

export interface SdkSecurityHubOptions {
  region: string;
  credentials?: () => Promise<AwsCredentials>;
  profile?: string;
  /** SDK attempts (default 3); tests pass 1. */
  maxAttempts?: number;
}

export function sdkSecurityHubPort(o: SdkSecurityHubOptions): SecurityHubPort & { destroy(): void } {
  const client = new SecurityHubClient({
    region: o.region,
    maxAttempts: o.maxAttempts ?? 3,
    ...awsConnection({ credentials: o.credentials, profile: o.profile }),
  });
  return {
    async batchImport(findings) {
      const out = await client.send(new BatchImportFindingsCommand({ Findings: findings }));
      return {
        successCount: out.SuccessCount ?? 0,
        failedCount: out.FailedCount ?? 0,
        failed: (out.FailedFindings ?? []).map((f) => ({ id: f.Id ?? "?", code: f.ErrorCode ?? "Unknown", message: f.ErrorMessage ?? "" })),
        ...(out.$metadata.requestId ? { requestId: out.$metadata.requestId } : {}),
      };
    },
    destroy: () => client.destroy(),
  };
}

export interface SecurityHubCredentialOptions {
  roleArns: readonly string[];
  profile?: string;
  sts: StsPort;
  maxAttempts?: number;
  now?: () => number;
}

/**
 * Ports per account and region: the account's role in TRAILHOUND_SECURITYHUB_ROLE_ARNS (assumed
 * once, again 5 minutes before expiry), else the caller's own credentials when they are of that
 * account (with the default product ARN, Security Hub accepts findings of the caller's account only).
 */
export function securityHubFactory(o: SecurityHubCredentialOptions): SecurityHubFactory {
  const now = o.now ?? Date.now;
  const cache = new Map<string, AwsCredentials>();
  let caller: Promise<string> | undefined;
  return async (account, region) => {
    const base = { region, ...(o.maxAttempts !== undefined ? { maxAttempts: o.maxAttempts } : {}) };
    const roleArn = o.roleArns.find((a) => accountOfRoleArn(a) === account);
    if (roleArn) {
      const credentials = async () => {
        const hit = cache.get(roleArn);
        if (hit && (!hit.expiration || hit.expiration.getTime() - 5 * 60_000 > now())) return hit;
        let creds: AwsCredentials;
        try {
          creds = await o.sts.assumeRole(roleArn, "trailhound-securityhub", 900);
        } catch (e) {
          throw Object.assign(new Error(`cannot assume ${roleArn}: ${(e as Error).message}`), { name: "AssumeRoleFailed" });
        }
        cache.set(roleArn, creds);
        return creds;
      };
      await credentials();
      return sdkSecurityHubPort({ ...base, credentials });
    }
    caller ??= o.sts.getCallerIdentity().then(
      (c) => c.account,
      (e: unknown) => {
        caller = undefined;
        throw Object.assign(new Error(`cannot identify the AWS credentials (STS GetCallerIdentity: ${(e as Error).message})`), { name: "NoCredentials" });
      },
    );
    const own = await caller;
    if (own !== account)
      throw Object.assign(
        new Error(
          `no role for account ${account} in TRAILHOUND_SECURITYHUB_ROLE_ARNS, and the credentials are of ${own} (with the default product ARN only the finding's own account may import it)`,
        ),
        { name: "NoRoleForAccount" },
      );
    return sdkSecurityHubPort({ ...base, ...(o.profile ? { profile: o.profile } : {}) });
  };
}

export interface SecurityHubSyncOptions {
  settings: SecurityHubSettings;
  factory: SecurityHubFactory;
  getFinding(id: string): { finding: Finding; status: ExportStatus } | undefined;
  log: Log;
  version: string;
  now?: () => number;
}

/**
 * The bot's export (TRAILHOUND_SECURITYHUB=on), as a store listener: the findings each scan
 * recorded, and a finding whose state changed (acknowledged, resolved, suppressed: RecordState),
 * imported one export at a time. Failures are logged with Security Hub's errors and counted.
 */
export class SecurityHubSync {
  #queue: Promise<void> = Promise.resolve();
  #imported = 0;
  #failed = 0;
  #exports = 0;
  readonly #o: SecurityHubSyncOptions;

  constructor(o: SecurityHubSyncOptions) {
    this.#o = o;
  }

  /** Findings imported, and findings that failed, since start. */
  stats(): { exports: number; imported: number; failed: number } {
    return { exports: this.#exports, imported: this.#imported, failed: this.#failed };
  }

  idle(): Promise<void> {
    return this.#queue;
  }

  readonly handle = (c: StoreChange): void => {
    let ids: string[];
    switch (c.kind) {
      case "findings":
        ids = c.results.map((r) => r.id);
        break;
      case "acknowledged":
      case "resolved":
        ids = [c.findingId];
        break;
      case "suppressed":
        ids = c.findingIds;
        break;
      default:
        return;
    }
    if (ids.length === 0) return;
    this.#queue = this.#queue.then(() => this.#export(ids)).catch((err: unknown) => this.#o.log.error("Security Hub export crashed", { err }));
  };

  async #export(ids: string[]): Promise<void> {
    const items: ExportItem[] = [];
    for (const id of new Set(ids)) {
      const s = this.#o.getFinding(id);
      if (s) items.push({ finding: s.finding, status: s.status });
    }
    const r = await exportToSecurityHub(items, { settings: this.#o.settings, factory: this.#o.factory, version: this.#o.version, ...(this.#o.now ? { now: this.#o.now } : {}) });
    this.#exports++;
    this.#imported += r.imported;
    this.#failed += r.failed.length;
    if (r.failed.length)
      this.#o.log.warn("Security Hub: some findings were not imported", {
        imported: r.imported,
        failed: r.failed.length,
        errors: [...new Set(r.failed.map((f) => `${f.account} ${f.region}: ${f.code}: ${f.message}`))].slice(0, 5),
      });
    else if (r.attempted) this.#o.log.info("Security Hub: findings imported", { imported: r.imported, batches: r.batches });
  }
}
