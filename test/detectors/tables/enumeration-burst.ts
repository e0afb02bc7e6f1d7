import { enumerationBurst } from "../../../src/detectors/enumeration-burst.js";
import { iamUser } from "../../helpers/events.js";
import { HOUR, MIN, rec, routine, W, type Table } from "./runner.js";

const alice = iamUser("alice");
const READS: Array<[string, string]> = [
  ["ListUsers", "iam.amazonaws.com"],
  ["ListRoles", "iam.amazonaws.com"],
  ["ListPolicies", "iam.amazonaws.com"],
  ["ListGroups", "iam.amazonaws.com"],
  ["GetAccountAuthorizationDetails", "iam.amazonaws.com"],
  ["ListBuckets", "s3.amazonaws.com"],
  ["DescribeInstances", "ec2.amazonaws.com"],
  ["DescribeSnapshots", "ec2.amazonaws.com"],
  ["DescribeVpcs", "ec2.amazonaws.com"],
  ["DescribeSecurityGroups", "ec2.amazonaws.com"],
  ["ListFunctions20150331", "lambda.amazonaws.com"],
  ["ListSecrets", "secretsmanager.amazonaws.com"],
  ["DescribeParameters", "ssm.amazonaws.com"],
  ["ListKeys", "kms.amazonaws.com"],
  ["DescribeTrails", "cloudtrail.amazonaws.com"],
  ["ListDetectors", "guardduty.amazonaws.com"],
  ["DescribeDBInstances", "rds.amazonaws.com"],
  ["ListTables", "dynamodb.amazonaws.com"],
  ["ListClusters", "ecs.amazonaws.com"],
  ["DescribeLogGroups", "logs.amazonaws.com"],
  ["ListTopics", "sns.amazonaws.com"],
  ["ListQueues", "sqs.amazonaws.com"],
  ["DescribeRepositories", "ecr.amazonaws.com"],
  ["ListStacks", "cloudformation.amazonaws.com"],
  ["DescribeOrganization", "organizations.amazonaws.com"],
  ["ListHostedZones", "route53.amazonaws.com"],
  ["DescribeLoadBalancers", "elasticloadbalancing.amazonaws.com"],
  ["ListDistributions", "cloudfront.amazonaws.com"],
];
const history = routine({
  identity: alice,
  calls: [
    ["DescribeInstances", "ec2.amazonaws.com"],
    ["ListBuckets", "s3.amazonaws.com"],
    ["GetObject", "s3.amazonaws.com"],
  ],
  perDay: 40,
});
const morning = [0, 1, 2, 3, 4, 5].map((i) => rec({ eventName: "DescribeInstances", eventSource: "ec2.amazonaws.com", userIdentity: alice, time: W + 8 * HOUR + i * MIN }));

export const table: Table = {
  detector: enumerationBurst,
  cases: [
    {
      name: "fires on 28 distinct reads in 9 services within minutes, citing the sweep and not the morning's work",
      history,
      normal: morning,
      anomalous: READS.map(([eventName, eventSource], i) => rec({ eventName, eventSource, userIdentity: alice, time: W + 14 * HOUR + 2 * MIN + i * 10_000 })),
      expect: "medium",
    },
    {
      name: "stays quiet on the identity's usual few reads",
      history,
      normal: morning,
      expect: null,
    },
  ],
};
