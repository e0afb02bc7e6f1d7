import { newRegionActivity } from "../../../src/detectors/new-region-activity.js";
import { iamUser } from "../../helpers/events.js";
import { MIN, rec, routine, W, HOUR, type Table } from "./runner.js";

const alice = iamUser("alice");
const ops = iamUser("ops");
/** alice works in eu-west-1; ops (same account) also in us-west-2. */
const history = [
  ...routine({ identity: alice, calls: ["DescribeInstances", "RunInstances"], region: "eu-west-1" }),
  ...routine({ identity: ops, calls: ["DescribeInstances"], region: "us-west-2" }),
];
const usual = [0, 1].map((i) => rec({ eventName: "DescribeInstances", userIdentity: alice, region: "eu-west-1", time: W + 9 * HOUR + i * MIN }));
const call = (eventName: string, region: string, i = 0, eventSource = "ec2.amazonaws.com") =>
  rec({ eventName, eventSource, userIdentity: alice, region, time: W + 14 * HOUR + i * MIN });

export const table: Table = {
  detector: newRegionActivity,
  cases: [
    {
      name: "a low note on reads in a region the whole account never used",
      history,
      normal: usual,
      anomalous: [call("DescribeInstances", "ap-southeast-3"), call("DescribeImages", "ap-southeast-3", 1)],
      expect: "low",
    },
    {
      name: "medium on a sweep: reads in three regions the account never used",
      history,
      normal: usual,
      anomalous: ["ap-southeast-3", "sa-east-1", "me-central-1"].map((r, i) => call("DescribeSpotPriceHistory", r, i)),
      expect: "medium",
    },
    {
      name: "medium on a write other than a launch (a role for a function there)",
      history,
      normal: usual,
      anomalous: [call("ModifyInstanceMetadataOptions", "af-south-1")],
      expect: "medium",
    },
    { name: "silent on reads in a region only others in the account use", history, normal: [...usual, call("DescribeInstances", "us-west-2")], expect: null },
    { name: "silent on global services recorded in us-east-1", history, normal: [...usual, call("ListUsers", "us-east-1", 0, "iam.amazonaws.com")], expect: null },
    { name: "silent on a launch there: new-region reports it", history, normal: [...usual, call("RunInstances", "ap-southeast-3")], expect: null },
    { name: "silent without account history", normal: [call("DescribeInstances", "ap-southeast-3")], expect: null },
  ],
};
