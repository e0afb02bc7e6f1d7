/**
 * A generated CloudTrail record (the shared data spans one hour, so multi-day windows and baselines
 * need generated history: see ../shared/data/cloudtrail/README.md, "What this data cannot test"):
 * an IAM user's call by default, a role session's with `role`.
 */
let seq = 0;
export function rec(o: {
  t: number;
  user?: string;
  role?: string;
  session?: string;
  name?: string;
  source?: string;
  ip?: string;
  region?: string;
  error?: string;
  account?: string;
}) {
  const account = o.account ?? "1111";
  const userIdentity = o.role
    ? {
        type: "AssumedRole",
        arn: `arn:aws:sts::${account}:assumed-role/${o.role}/${o.session ?? "s"}`,
        accountId: account,
        sessionContext: { sessionIssuer: { type: "Role", arn: `arn:aws:iam::${account}:role/${o.role}`, accountId: account, userName: o.role } },
      }
    : { type: "IAMUser", arn: `arn:aws:iam::${account}:user/${o.user ?? "alice"}`, accountId: account, userName: o.user ?? "alice" };
  const r: Record<string, unknown> & { userIdentity: Record<string, unknown> } = {
    eventVersion: "1.09",
    eventID: `ev-${++seq}`,
    eventTime: new Date(o.t).toISOString(),
    eventName: o.name ?? "DescribeInstances",
    eventSource: o.source ?? "ec2.amazonaws.com",
    awsRegion: o.region ?? "us-east-1",
    sourceIPAddress: o.ip ?? "10.0.0.1",
    userAgent: "aws-cli/2.13.5 Python/3.11.4",
    userIdentity,
    recipientAccountId: account,
    requestParameters: null,
    responseElements: null,
  };
  if (o.error) r.errorCode = o.error;
  return r;
}
