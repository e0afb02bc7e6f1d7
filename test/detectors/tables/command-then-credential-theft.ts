import { commandThenCredentialTheft } from "../../../src/detectors/command-then-credential-theft.js";
import { assumedRole, iamUser } from "../../helpers/events.js";
import { GEN_IPS } from "../../helpers/window.js";
import { MIN, rec, W, HOUR, type Table } from "./runner.js";

const inst = assumedRole("web-instance-role", "i-0abc1234def567890");
const BOTO = "Boto3/1.28.0 Python/3.11 Linux/5.10 Botocore/1.31.0";
const own = (t: number) => rec({ eventName: "GetObject", eventSource: "s3.amazonaws.com", userIdentity: inst, sourceIPAddress: "3.80.10.100", userAgent: BOTO, time: t });
const command = (t: number) =>
  rec({ eventName: "SendCommand", userIdentity: iamUser("mallory"), requestParameters: { documentName: "AWS-RunShellScript", instanceIds: ["i-0abc1234def567890"] }, time: t });
const fromVps = (t: number) =>
  rec({ eventName: "ListBuckets", eventSource: "s3.amazonaws.com", userIdentity: inst, sourceIPAddress: GEN_IPS.attackerVps, userAgent: "aws-cli/2.15.0", time: t });

export const table: Table = {
  detector: commandThenCredentialTheft,
  cases: [
    {
      name: "fires on a shell command on an instance followed by its credentials used from a rented server",
      normal: [own(W + 9 * HOUR), own(W + 12 * HOUR)],
      anomalous: [command(W + 13 * HOUR), fromVps(W + 13 * HOUR + 4 * MIN), fromVps(W + 13 * HOUR + 6 * MIN)],
      expect: "critical",
    },
    { name: "stays quiet when the outside use came before the command", normal: [fromVps(W + 10 * HOUR), command(W + 13 * HOUR), own(W + 13 * HOUR + 5 * MIN)], expect: null },
    { name: "stays quiet on a command with the instance calling from its own address", normal: [command(W + 13 * HOUR), own(W + 13 * HOUR + 5 * MIN)], expect: null },
  ],
};
