/**
 * The Athena engine's public surface, for the CLI and the bot (see docs/SCALE.md).
 */
import { discoverTrailAccounts, type S3Port } from "../sources/s3.js";
import { AthenaConfigError, athenaDdl, type AthenaDdlOptions, type TableFlavor } from "./schema.js";

export { athenaDdl, AthenaConfigError, parseS3Url, type AthenaDdlOptions, type TableFlavor } from "./schema.js";
export {
  AthenaQueryRunner,
  formatQueryCost,
  queryCostUsd,
  ATHENA_PERMISSIONS,
  type AthenaSettings,
  type QueryRunner,
  type QueryStats,
} from "./client.js";
export {
  AthenaSource,
  athenaSettingsProblems,
  detectionWindow,
  runAthenaScan,
  type AthenaScanOptions,
  type AthenaScanResult,
  type AthenaScanSettings,
} from "./engine.js";

export interface AthenaDdlCliOptions {
  /** `s3://bucket[/prefix]` the trail delivers to. */
  location: string;
  orgId?: string;
  /** Accounts to project; absent: discovered by listing the bucket (s3:ListBucket). */
  accounts?: string[];
  regions?: string[];
  database?: string;
  table?: string;
  /** `yyyy/MM/dd`. */
  since?: string;
  flavor?: TableFlavor;
  /** For the discovery listing. */
  profile?: string;
  region?: string;
  client?: S3Port;
}

/** `trailhound athena ddl`: the CREATE EXTERNAL TABLE statement, discovering accounts when not given. */
export async function athenaDdlFromOptions(o: AthenaDdlCliOptions): Promise<string> {
  let accounts = o.accounts ?? [];
  let orgId = o.orgId;
  let regions = o.regions?.length ? o.regions : undefined;
  if (!accounts.length) {
    // The accounts and, without --regions, the region folders they hold: the projection lists what the S3 source reads.
    const found = await discoverTrailAccounts(o.location, {
      ...(o.client ? { client: o.client } : {}),
      ...(o.profile ? { profile: o.profile } : {}),
      ...(o.region ? { region: o.region } : {}),
      withRegions: !regions,
    });
    accounts = found.accounts;
    orgId ??= found.orgId;
    if (!regions && found.regions?.length) regions = found.regions;
    if (!accounts.length) throw new AthenaConfigError(`no account folders under ${o.location}: pass --accounts`);
  }
  const ddl: AthenaDdlOptions = { location: o.location, accounts };
  if (orgId) ddl.orgId = orgId;
  if (regions) ddl.regions = regions;
  if (o.database) ddl.database = o.database;
  if (o.table) ddl.table = o.table;
  if (o.since) ddl.since = o.since;
  if (o.flavor) ddl.flavor = o.flavor;
  return athenaDdl(ddl);
}
