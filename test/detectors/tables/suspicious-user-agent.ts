import { suspiciousUserAgent } from "../../../src/detectors/suspicious-user-agent.js";
import { iamUser } from "../../helpers/events.js";
import { MIN, rec, W, HOUR, type Table } from "./runner.js";

const bob = iamUser("bob");

export const table: Table = {
  detector: suspiciousUserAgent,
  cases: [
    {
      name: "fires on calls made with an offensive tool's user agent, citing those calls only",
      normal: [rec({ eventName: "DescribeInstances", userIdentity: bob, time: W + 8 * HOUR })],
      anomalous: [0, 1, 2].map((i) =>
        rec({ eventName: "ListUsers", eventSource: "iam.amazonaws.com", userIdentity: bob, userAgent: "aws-cli/1.16 Python/3.8 kali", time: W + 12 * HOUR + i * MIN }),
      ),
      expect: "high",
    },
    { name: "stays quiet on the AWS CLI", normal: [rec({ eventName: "ListUsers", eventSource: "iam.amazonaws.com", userIdentity: bob })], expect: null },
  ],
};
