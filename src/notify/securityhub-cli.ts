/**
 * Security Hub from the CLI: `trailhound scan ... --export securityhub` (the scan's findings) and
 * `trailhound export securityhub` (the stored findings, with their current state: re-importing
 * archives the suppressed and resolved ones in Security Hub).
 */
import type { Finding } from "../scan/report-types.js";
import { sdkStsFactory, type StsFactory } from "../sources/aws-accounts.js";
import { VERSION } from "../version.js";
import { type ExportItem, type ExportResult, type ExportStatus, exportToSecurityHub, formatExportResult, type SecurityHubFactory, securityHubFactory } from "./securityhub.js";
import { securityHubSettings } from "./securityhub-settings.js";

export const EXPORT_TARGETS = ["securityhub"] as const;

export interface ExportWiring {
  env: Record<string, string | undefined>;
  err(s: string): void;
  factory?: SecurityHubFactory;
  stsFactory?: StsFactory;
  /** SDK attempts (tests: 1). */
  maxAttempts?: number;
  now?: () => number;
}

const STATUSES = new Set<ExportStatus>(["open", "acknowledged", "suppressed", "resolved"]);

function asStatus(s: string | undefined): ExportStatus | undefined {
  return s && STATUSES.has(s as ExportStatus) ? (s as ExportStatus) : undefined;
}

/** Export `findings` (state from `status`), print the summary on stderr; the result says what failed. */
export async function exportFindings(findings: readonly Finding[], status: (id: string) => string | undefined, w: ExportWiring): Promise<ExportResult> {
  const settings = securityHubSettings(w.env);
  const factory =
    w.factory ??
    securityHubFactory({
      roleArns: settings.roleArns,
      sts: (w.stsFactory ?? sdkStsFactory)({ region: "us-east-1", ...(settings.profile ? { profile: settings.profile } : {}) }),
      ...(settings.profile ? { profile: settings.profile } : {}),
      ...(w.maxAttempts !== undefined ? { maxAttempts: w.maxAttempts } : {}),
    });
  const items: ExportItem[] = findings.map((finding) => {
    const st = asStatus(status(finding.id));
    return { finding, ...(st ? { status: st } : {}) };
  });
  const r = await exportToSecurityHub(items, { settings, factory, version: VERSION, ...(w.now ? { now: w.now } : {}) });
  w.err(formatExportResult(r, settings.minSeverity));
  return r;
}

export interface ExportCliOptions {
  store: string;
  /** Comma-separated finding states (default: all). */
  status?: string;
}

/** `trailhound export securityhub`: 0 all imported, 2 some failed (named on stderr) or bad input. */
export async function exportCommand(target: string, o: ExportCliOptions, w: ExportWiring): Promise<number> {
  if (!(EXPORT_TARGETS as readonly string[]).includes(target)) throw new ExportUsageError(`export ${target}: expected one of ${EXPORT_TARGETS.join(", ")}`);
  const wanted = (o.status ?? "open,acknowledged,suppressed,resolved")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = wanted.filter((s) => !asStatus(s));
  if (bad.length) throw new ExportUsageError(`--status ${bad.join(",")}: expected open, acknowledged, suppressed or resolved`);
  const { existsSync } = await import("node:fs");
  const { storeFile } = await import("../store/maintenance.js");
  const { TrailStore } = await import("../store/store.js");
  if (!existsSync(storeFile(o.store))) throw new ExportUsageError(`no store in ${o.store} (scan with --store ${o.store} first, or pass --store)`);
  const store = await TrailStore.open(o.store);
  try {
    const stored = store.listFindings({ status: wanted as ExportStatus[] });
    const byId = new Map(stored.map((s) => [s.id, s.status]));
    const r = await exportFindings(
      stored.map((s) => s.finding),
      (id) => byId.get(id),
      w,
    );
    return r.failed.length ? 2 : 0;
  } finally {
    await store.close();
  }
}

/** Printed without a stack trace, exit code 2. */
export class ExportUsageError extends Error {
  readonly code = "usage";
}
