import { instanceCredentialAbuse } from "../../../src/detectors/instance-credential-abuse.js";
import { assumedRole } from "../../helpers/events.js";
import { GEN_IPS } from "../../helpers/window.js";
import { burst, HOUR, MIN, rec, routine, W, type Table } from "./runner.js";

const inst = assumedRole("web-instance-role", "i-0abc1234def567890");
const BOTO = "Boto3/1.28.0 Python/3.11 Linux/5.10 Botocore/1.31.0";
const own = "3.80.10.100"; // the instance's NAT address (an AWS network in the test geo table)
const history = routine({
  identity: inst,
  calls: [
    ["GetObject", "s3.amazonaws.com"],
    ["PutObject", "s3.amazonaws.com"],
  ],
  ip: own,
  ua: BOTO,
});
const usual = burst(40, W + 2 * HOUR, 10 * HOUR, () => ({ eventName: "GetObject", eventSource: "s3.amazonaws.com", userIdentity: inst, sourceIPAddress: own, userAgent: BOTO }));

export const table: Table = {
  detector: instanceCredentialAbuse,
  cases: [
    {
      name: "fires when the instance's credentials are used from a rented server: cites the server's calls, not the instance's own",
      history,
      normal: usual,
      anomalous: burst(6, W + 13 * HOUR, 20 * MIN, (i) => ({
        eventName: i === 0 ? "ListBuckets" : "GetObject",
        eventSource: "s3.amazonaws.com",
        userIdentity: inst,
        sourceIPAddress: GEN_IPS.attackerVps,
        userAgent: "aws-cli/2.15.0 Python/3.11.6 Linux/6.5",
      })),
      expect: "high",
    },
    {
      name: "fires on reconnaissance from the instance, citing the discovery calls only",
      history,
      normal: usual,
      anomalous: [
        ["GetCallerIdentity", "sts.amazonaws.com"],
        ["ListUsers", "iam.amazonaws.com"],
        ["ListRoles", "iam.amazonaws.com"],
        ["DescribeTrails", "cloudtrail.amazonaws.com"],
        ["ListDetectors", "guardduty.amazonaws.com"],
      ].map(([eventName, eventSource], i) =>
        rec({ eventName: eventName!, eventSource: eventSource!, userIdentity: inst, sourceIPAddress: own, userAgent: BOTO, time: W + 15 * HOUR + i * MIN }),
      ),
      expect: "high",
    },
    {
      name: "stays quiet on the instance's own work from its own address",
      history,
      normal: usual,
      expect: null,
    },
  ],
};
