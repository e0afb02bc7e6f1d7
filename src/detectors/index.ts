/**
 * The detector registry. Every file in this folder (other than index.ts, types.ts and lib/) is
 * one detector whose id equals its file name, and must be listed here; the catalogue test
 * (test/detectors/catalogue.test.ts) fails otherwise.
 */
import type { Detector } from "./types.js";
// Catalogue detectors (issue 3).
import { bedrockAbuse } from "./bedrock-abuse.js";
import { bulkSensitiveActions } from "./bulk-sensitive-actions.js";
import { commandThenCredentialTheft } from "./command-then-credential-theft.js";
import { consoleLoginFailures } from "./console-login-failures.js";
import { consoleLoginWithoutMfa } from "./console-login-without-mfa.js";
import { credentialForOtherUser } from "./credential-for-other-user.js";
import { dataDestruction } from "./data-destruction.js";
import { discoveryUserData } from "./discovery-user-data.js";
import { emailAbuseRecon } from "./email-abuse-recon.js";
import { executionAndLateralMovement } from "./execution-and-lateral-movement.js";
import { instanceCredentialAbuse } from "./instance-credential-abuse.js";
import { loggingTampering } from "./logging-tampering.js";
import { newRegion } from "./new-region.js";
import { newRegionActivity } from "./new-region-activity.js";
import { newRoleAssumption } from "./new-role-assumption.js";
import { persistenceBackdoor } from "./persistence-backdoor.js";
import { privilegeEscalationChain } from "./privilege-escalation-chain.js";
import { privilegeEscalation } from "./privilege-escalation.js";
import { resourceExposure } from "./resource-exposure.js";
import { rootActivity } from "./root-activity.js";
import { s3Ransomware } from "./s3-ransomware.js";
import { secretsAccess } from "./secrets-access.js";
import { suspiciousUserAgent } from "./suspicious-user-agent.js";
// Behavioural (window) detectors.
import { callRateSpike } from "./call-rate-spike.js";
import { enumerationBurst } from "./enumeration-burst.js";
import { errorRateSpike } from "./error-rate-spike.js";
import { firstTimeApi } from "./first-time-api.js";
import { firstTimeService } from "./first-time-service.js";
import { impossibleTravel } from "./impossible-travel.js";
import { newSourceNetwork } from "./new-source-network.js";
import { unusualHour } from "./unusual-hour.js";

export const DETECTORS: readonly Detector[] = [
  // Catalogue detectors (issue 3).
  loggingTampering,
  rootActivity,
  consoleLoginWithoutMfa,
  consoleLoginFailures,
  credentialForOtherUser,
  privilegeEscalation,
  privilegeEscalationChain,
  persistenceBackdoor,
  newRoleAssumption,
  newRegion,
  secretsAccess,
  discoveryUserData,
  resourceExposure,
  executionAndLateralMovement,
  instanceCredentialAbuse,
  s3Ransomware,
  dataDestruction,
  bedrockAbuse,
  emailAbuseRecon,
  suspiciousUserAgent,
  bulkSensitiveActions,
  commandThenCredentialTheft,
  // Behavioural (window) detectors.
  firstTimeService,
  firstTimeApi,
  newSourceNetwork,
  newRegionActivity,
  impossibleTravel,
  callRateSpike,
  errorRateSpike,
  enumerationBurst,
  unusualHour,
];

export function detectorById(id: string): Detector | undefined {
  return DETECTORS.find((d) => d.id === id);
}
