/** The Security Hub export's settings (apart from securityhub.ts, so that reading the configuration loads no AWS SDK). */
import type { Severity } from "../events/types.js";

export interface SecurityHubSettings {
  /** Region imported into; undefined: each finding's own region (us-east-1 when it has none). */
  region?: string;
  /** One role per account, assumed to import (securityhub:BatchImportFindings). */
  roleArns: string[];
  /** Lowest severity exported (default low). */
  minSeverity: Severity;
  /** The bot exports after its scans and when a finding's state changes (TRAILHOUND_SECURITYHUB=on). */
  auto: boolean;
  profile?: string;
}

const SEV = /^(critical|high|medium|low|info)$/;

/** From the environment (validated by config.ts). */
export function securityHubSettings(env: Record<string, string | undefined>): SecurityHubSettings {
  const list = (s: string | undefined) =>
    (s ?? "")
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean);
  const region = env.TRAILHOUND_SECURITYHUB_REGION?.trim();
  const sev = env.TRAILHOUND_SECURITYHUB_SEVERITY?.trim();
  const profile = env.AWS_PROFILE?.trim();
  return {
    ...(region ? { region } : {}),
    roleArns: list(env.TRAILHOUND_SECURITYHUB_ROLE_ARNS),
    minSeverity: (sev && SEV.test(sev) ? sev : "low") as Severity,
    auto: /^(on|true|1|yes)$/i.test(env.TRAILHOUND_SECURITYHUB?.trim() ?? ""),
    ...(profile ? { profile } : {}),
  };
}
