/**
 * AWS commercial regions: the list read when an account's enabled regions cannot be asked
 * (account:ListRegions and ec2:DescribeRegions both refused, org.ts) or were given. Regions that
 * are not enabled in an account are found by their answer (see aws-errors.ts) and reported as skipped.
 */

/** Enabled by default in every account. */
export const DEFAULT_ENABLED_REGIONS: readonly string[] = [
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
  "ap-south-1",
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-northeast-3",
  "ap-southeast-1",
  "ap-southeast-2",
  "ca-central-1",
  "eu-central-1",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "eu-north-1",
  "sa-east-1",
];

/** Opt-in regions: an account must enable them first. */
export const OPT_IN_REGIONS: readonly string[] = [
  "af-south-1",
  "ap-east-1",
  "ap-east-2",
  "ap-south-2",
  "ap-southeast-3",
  "ap-southeast-4",
  "ap-southeast-5",
  "ap-southeast-7",
  "ca-west-1",
  "eu-central-2",
  "eu-south-1",
  "eu-south-2",
  "il-central-1",
  "me-central-1",
  "me-south-1",
  "mx-central-1",
];

/** Every commercial region (aws partition), us-east-1 first: it holds the global services' events. */
export const COMMERCIAL_REGIONS: readonly string[] = [...DEFAULT_ENABLED_REGIONS, ...OPT_IN_REGIONS];

/** `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`. */
export const REGION_PATTERN = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

export function isOptInRegion(region: string): boolean {
  return OPT_IN_REGIONS.includes(region);
}

export function isValidRegionName(region: string): boolean {
  return REGION_PATTERN.test(region);
}

/** The closest known region name, for "did you mean" messages. */
export function suggestRegion(input: string): string | undefined {
  const s = input.trim().toLowerCase();
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const r of COMMERCIAL_REGIONS) {
    const d = editDistance(s, r);
    if (d < bestD) {
      bestD = d;
      best = r;
    }
  }
  return bestD <= 3 ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}
