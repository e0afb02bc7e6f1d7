/**
 * A whole AWS organisation: which member accounts to read (Organizations `ListAccounts`), the role
 * to assume in each (a template such as `arn:aws:iam::{account}:role/TrailhoundRead`, with an
 * optional ExternalId), and which regions each account has enabled (`account:ListRegions`).
 *
 * - Accounts: every page of ListAccounts (a page may be empty while NextToken is set); only
 *   `State` ACTIVE accounts are read (`Status` only when `State` is missing: it is being
 *   retired); suspended, closed and pending accounts are named as skipped. An allow list keeps
 *   only the accounts it names, a deny list drops the ones it names. Outside an organisation
 *   (`AWSOrganizationsNotInUseException`) the caller's own account is read.
 * - Regions: ListRegions with the account's own (assumed-role) credentials, ENABLED and
 *   ENABLED_BY_DEFAULT; a region launched after this release is read as soon as it is enabled.
 *   Where ListRegions is not allowed (or fails), ec2:DescribeRegions (the enabled regions:
 *   opt-in-not-required and opted-in); only where neither answers is the built-in list used
 *   (not-enabled regions are then found by their answer and skipped), and the read says so.
 */
import { AccountClient, ListRegionsCommand } from "@aws-sdk/client-account";
import { DescribeRegionsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { ListAccountsCommand, OrganizationsClient } from "@aws-sdk/client-organizations";
import { awsConnection } from "../net.js";
import { AwsSourceError, classifyAwsError, errorSummary } from "./aws-errors.js";
import { ROLE_ARN_PATTERN, type AwsCredentialsProvider } from "./aws-accounts.js";
import { COMMERCIAL_REGIONS, isValidRegionName } from "./aws-regions.js";

// ---------------------------------------------------------------------------------------------
// Role template

export const ACCOUNT_PLACEHOLDER = "{account}";

/** Why a role template is not usable, or undefined when it is. */
export function roleTemplateProblem(template: string): string | undefined {
  if (!template.includes(ACCOUNT_PLACEHOLDER)) {
    return `"${template}" has no ${ACCOUNT_PLACEHOLDER} placeholder (expected e.g. arn:aws:iam::{account}:role/TrailhoundRead)`;
  }
  const sample = roleArnFromTemplate(template, "123456789012");
  if (!ROLE_ARN_PATTERN.test(sample)) {
    return `"${template}" does not give an IAM role ARN (expected arn:aws:iam::{account}:role/<name>)`;
  }
  return undefined;
}

export function roleArnFromTemplate(template: string, account: string): string {
  return template.split(ACCOUNT_PLACEHOLDER).join(account);
}

/** ExternalId: 2-1224 characters from [\w+=,.@:/-] (STS AssumeRole). */
export function externalIdProblem(id: string): string | undefined {
  if (id.length < 2 || id.length > 1224) return `the ExternalId must be 2 to 1224 characters long (it has ${id.length})`;
  if (!/^[\w+=,.@:/-]+$/.test(id)) return "the ExternalId may hold only letters, digits and + = , . @ : / - _";
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Accounts

export interface OrgAccount {
  id: string;
  name?: string;
  /** ACTIVE, SUSPENDED, CLOSED, PENDING_ACTIVATION, PENDING_CLOSURE. */
  state: string;
}

export interface OrganizationsPort {
  listAccounts(nextToken: string | undefined, signal?: AbortSignal): Promise<{ accounts: OrgAccount[]; nextToken?: string }>;
}

/** Organizations is a global service: its endpoint is in us-east-1. */
export function sdkOrganizationsPort(o: { profile?: string } = {}): OrganizationsPort {
  const client = new OrganizationsClient({ region: "us-east-1", maxAttempts: 4, ...awsConnection({ profile: o.profile }) });
  return {
    async listAccounts(nextToken, signal) {
      const out = await client.send(new ListAccountsCommand(nextToken ? { NextToken: nextToken } : {}), signal ? { abortSignal: signal } : {});
      const accounts: OrgAccount[] = [];
      for (const a of out.Accounts ?? []) {
        if (!a.Id) continue;
        accounts.push({ id: a.Id, ...(a.Name ? { name: a.Name } : {}), state: String(a.State ?? a.Status ?? "UNKNOWN") });
      }
      return { accounts, ...(out.NextToken ? { nextToken: out.NextToken } : {}) };
    },
  };
}

export interface DiscoveredAccounts {
  /** Accounts to read, in ListAccounts order. Empty with `notInOrganization`. */
  accounts: string[];
  skipped: Array<{ account: string; reason: string }>;
  /** The caller is not in an organisation: read its own account. */
  notInOrganization: boolean;
  pages: number;
}

const MAX_PAGES = 10_000;

export async function discoverAccounts(o: { org: OrganizationsPort; allow?: readonly string[]; deny?: readonly string[]; signal?: AbortSignal }): Promise<DiscoveredAccounts> {
  const allow = o.allow?.length ? new Set(o.allow) : undefined;
  const deny = new Set(o.deny ?? []);
  const accounts: string[] = [];
  const skipped: DiscoveredAccounts["skipped"] = [];
  const seenTokens = new Set<string>();
  let token: string | undefined;
  let pages = 0;
  do {
    let page: Awaited<ReturnType<OrganizationsPort["listAccounts"]>>;
    try {
      page = await o.org.listAccounts(token, o.signal);
    } catch (e) {
      const name = (e as { name?: string }).name ?? "";
      if (name === "AWSOrganizationsNotInUseException") return { accounts: [], skipped, notInOrganization: true, pages };
      if (classifyAwsError(e) === "access-denied") {
        throw new AwsSourceError(
          "missing-permission",
          `cannot list the organisation's accounts (${errorSummary(e)}): organizations:ListAccounts works only from the management account or a delegated administrator; or name the accounts with TRAILHOUND_ACCOUNTS / --accounts`,
          { cause: e },
        );
      }
      throw new AwsSourceError("unavailable", `cannot list the organisation's accounts: ${errorSummary(e)}`, { cause: e });
    }
    pages++;
    for (const a of page.accounts) {
      if (deny.has(a.id)) skipped.push({ account: a.id, reason: "in the deny list" });
      else if (allow && !allow.has(a.id)) skipped.push({ account: a.id, reason: "not in the allow list" });
      else if (a.state !== "ACTIVE") skipped.push({ account: a.id, reason: `account is ${a.state.toLowerCase().replace(/_/g, " ")}` });
      else accounts.push(a.id);
    }
    token = page.nextToken;
    if (token !== undefined) {
      if (seenTokens.has(token) || pages >= MAX_PAGES) {
        throw new AwsSourceError("unavailable", `Organizations ListAccounts returned a NextToken it had already returned (after ${pages} pages): the account list is incomplete`);
      }
      seenTokens.add(token);
    }
  } while (token !== undefined);
  if (allow) {
    const found = new Set([...accounts, ...skipped.map((s) => s.account)]);
    for (const a of allow) if (!found.has(a)) skipped.push({ account: a, reason: "not a member of the organisation" });
  }
  return { accounts, skipped, notInOrganization: false, pages };
}

// ---------------------------------------------------------------------------------------------
// Regions

export interface RegionsPort {
  /** Enabled regions of the account whose credentials are given (ListRegions pages). */
  listRegions(
    credentials: AwsCredentialsProvider | undefined,
    nextToken: string | undefined,
    signal?: AbortSignal,
  ): Promise<{ regions: Array<{ name: string; status: string }>; nextToken?: string }>;
  /** ec2:DescribeRegions (enabled regions only), the fallback when ListRegions is not allowed. */
  describeRegions?(credentials: AwsCredentialsProvider | undefined, signal?: AbortSignal): Promise<Array<{ name: string; optInStatus: string }>>;
}

export function sdkRegionsPort(o: { profile?: string } = {}): RegionsPort {
  return {
    async listRegions(credentials, nextToken, signal) {
      const client = new AccountClient({
        region: "us-east-1",
        maxAttempts: 4,
        ...awsConnection({ credentials, profile: o.profile }),
      });
      try {
        const out = await client.send(
          new ListRegionsCommand({
            RegionOptStatusContains: ["ENABLED", "ENABLED_BY_DEFAULT"],
            MaxResults: 50,
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
          signal ? { abortSignal: signal } : {},
        );
        return {
          regions: (out.Regions ?? []).flatMap((r) => (r.RegionName ? [{ name: r.RegionName, status: String(r.RegionOptStatus ?? "") }] : [])),
          ...(out.NextToken ? { nextToken: out.NextToken } : {}),
        };
      } finally {
        client.destroy();
      }
    },
    async describeRegions(credentials, signal) {
      // Without AllRegions, only the regions enabled for the account come back.
      const client = new EC2Client({ region: "us-east-1", maxAttempts: 4, ...awsConnection({ credentials, profile: o.profile }) });
      try {
        const out = await client.send(new DescribeRegionsCommand({}), signal ? { abortSignal: signal } : {});
        return (out.Regions ?? []).flatMap((r) => (r.RegionName ? [{ name: r.RegionName, optInStatus: String(r.OptInStatus ?? "") }] : []));
      } finally {
        client.destroy();
      }
    },
  };
}

export interface DiscoveredRegions {
  regions: string[];
  /** "list-regions" / "describe-regions": from the account; "built-in": neither was allowed or answered. */
  from: "list-regions" | "describe-regions" | "built-in";
  note?: string;
}

const ENABLED = new Set(["ENABLED", "ENABLED_BY_DEFAULT"]);
const EC2_ENABLED = new Set(["opt-in-not-required", "opted-in"]);

function usEast1First(regions: string[]): string[] {
  return regions.sort((a, b) => (a === "us-east-1" ? -1 : b === "us-east-1" ? 1 : a.localeCompare(b)));
}

/** The account's enabled regions, us-east-1 first (global services log there). */
export async function discoverRegions(o: { port: RegionsPort; account: string; credentials?: AwsCredentialsProvider; signal?: AbortSignal }): Promise<DiscoveredRegions> {
  const found: string[] = [];
  const seen = new Set<string>();
  let token: string | undefined;
  let pages = 0;
  try {
    do {
      const page = await o.port.listRegions(o.credentials, token, o.signal);
      pages++;
      for (const r of page.regions) {
        if (ENABLED.has(r.status) && isValidRegionName(r.name) && !found.includes(r.name)) found.push(r.name);
      }
      token = page.nextToken;
      if (token !== undefined) {
        if (seen.has(token) || pages > 100) throw new Error("ListRegions returned a NextToken it had already returned");
        seen.add(token);
      }
    } while (token !== undefined);
  } catch (e) {
    if (o.signal?.aborted) throw e;
    const why = classifyAwsError(e) === "access-denied" ? "account:ListRegions is not allowed" : `account:ListRegions failed (${errorSummary(e)})`;
    let ec2Why = "ec2:DescribeRegions was not tried";
    if (o.port.describeRegions) {
      try {
        const enabled = (await o.port.describeRegions(o.credentials, o.signal)).filter((r) => EC2_ENABLED.has(r.optInStatus) && isValidRegionName(r.name)).map((r) => r.name);
        if (enabled.length)
          return {
            regions: usEast1First([...new Set(enabled)]),
            from: "describe-regions",
            note: `account ${o.account}: ${why}; its enabled regions come from ec2:DescribeRegions`,
          };
        ec2Why = "ec2:DescribeRegions listed no enabled region";
      } catch (e2) {
        if (o.signal?.aborted) throw e2;
        ec2Why = classifyAwsError(e2) === "access-denied" ? "ec2:DescribeRegions is not allowed either" : `ec2:DescribeRegions failed (${errorSummary(e2)})`;
      }
    }
    return {
      regions: [...COMMERCIAL_REGIONS],
      from: "built-in",
      note: `account ${o.account}: ${why}, ${ec2Why}; reading the built-in region list (regions that are not enabled are skipped by their answer)`,
    };
  }
  if (found.length === 0) {
    return { regions: [...COMMERCIAL_REGIONS], from: "built-in", note: `account ${o.account}: ListRegions listed no enabled region; reading the built-in region list` };
  }
  return { regions: usEast1First(found), from: "list-regions" };
}
