/** Services whose calls CloudTrail records in one home region whatever the caller does: not region activity. */
export const GLOBAL_SERVICES: ReadonlySet<string> = new Set([
  "iam",
  "sts",
  "organizations",
  "cloudfront",
  "route53",
  "route53domains",
  "support",
  "health",
  "account",
  "billing",
  "ce",
  "budgets",
  "sso",
  "signin",
  "waf",
  "globalaccelerator",
  "shield",
  "trustedadvisor",
  "s3-control",
]);

/** `service:EventName` of a regional service (not a global one recorded in its home region). */
export function isRegionalApi(api: string): boolean {
  const colon = api.indexOf(":");
  return !GLOBAL_SERVICES.has(colon > 0 ? api.slice(0, colon) : api);
}
