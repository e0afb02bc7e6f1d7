/**
 * Panther rules whose intent includes failed attempts (denied calls, failed logins). For these, a
 * trailhound finding marked `failed` counts as the rule firing; for every other rule only findings
 * on actions that succeeded do (Panther's rules skip `errorCode` records unless they are about
 * attempts). Chosen from each rule's name and purpose, not from test outcomes.
 */
export const ATTEMPT_RULES: ReadonlySet<string> = new Set([
  "AWS.CloudTrail.AttemptToLeaveOrg",
  "AWS.CloudTrail.PasswordSpraying",
  "AWS.Unsuccessful.MFA.attempt",
  "AWS.Console.RootLoginFailed",
  "AWS.EC2.DownloadInstanceUserData",
  "AWS.EC2.ManyPasswordReadAttempts",
  "AWS.SecretsManager.RetrieveSecrets",
  "AWS.CloudTrail.UnauthorizedAPICall",
  "AWS.IAMUser.ReconAccessDenied",
  "AWS.CloudTrail.VPCE.AccessDenied",
  "AWS.EC2.LaunchUnusualEC2Instances",
  "Standard.BruteForceByIP",
  "Standard.BruteForceByUser",
]);
