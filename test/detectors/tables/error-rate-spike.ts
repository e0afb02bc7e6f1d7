import { errorRateSpike } from "../../../src/detectors/error-rate-spike.js";
import { assumedRole } from "../../helpers/events.js";
import { burst, HOUR, MIN, routine, W, type Table } from "./runner.js";

const app = assumedRole("orders-api", "task-1");
const JAVA = "aws-sdk-java/2.20.0 Linux/5.10";
const history = routine({
  identity: app,
  calls: [
    ["GetItem", "dynamodb.amazonaws.com"],
    ["SendMessage", "sqs.amazonaws.com"],
  ],
  perDay: 240,
  hour: 0,
  ip: "3.80.10.100",
  ua: JAVA,
});
const day = burst(120, W, 20 * HOUR, () => ({ eventName: "GetItem", eventSource: "dynamodb.amazonaws.com", userIdentity: app, sourceIPAddress: "3.80.10.100", userAgent: JAVA }));
const PROBES: Array<[string, string]> = [
  ["ListUsers", "iam.amazonaws.com"],
  ["ListRoles", "iam.amazonaws.com"],
  ["ListSecrets", "secretsmanager.amazonaws.com"],
  ["DescribeInstances", "ec2.amazonaws.com"],
  ["ListBuckets", "s3.amazonaws.com"],
  ["ListKeys", "kms.amazonaws.com"],
];

export const table: Table = {
  detector: errorRateSpike,
  cases: [
    {
      name: "fires on denied calls on six APIs the role never uses, citing the denied calls and not the day's work",
      history,
      normal: day,
      anomalous: burst(30, W + 16 * HOUR + 5 * MIN, 15 * MIN, (i) => ({
        eventName: PROBES[i % PROBES.length]![0],
        eventSource: PROBES[i % PROBES.length]![1],
        userIdentity: app,
        sourceIPAddress: "3.80.10.100",
        userAgent: JAVA,
        errorCode: "AccessDenied",
        errorMessage: "not authorized",
      })),
      expect: "high",
    },
    { name: "stays quiet on an ordinary day", history, normal: day, expect: null },
  ],
};
