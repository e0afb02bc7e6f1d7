import { newRegion } from "../../../src/detectors/new-region.js";
import { assumedRole, iamUser } from "../../helpers/events.js";
import { rec, routine, W, HOUR, type Table } from "./runner.js";

const alice = iamUser("alice");
const ops = iamUser("ops");
const run = (region: string, who = alice) =>
  rec({
    eventName: "RunInstances",
    userIdentity: who,
    region,
    requestParameters: { instanceType: "t3.micro", instancesSet: { items: [{ imageId: "ami-1", minCount: 1, maxCount: 1 }] } },
    time: W + 13 * HOUR,
  });
/** alice works in eu-west-1; ops (same account) also in us-west-2. */
const history = [
  ...routine({ identity: alice, calls: ["DescribeInstances", "RunInstances"], region: "eu-west-1" }),
  ...routine({ identity: ops, calls: ["DescribeInstances"], region: "us-west-2" }),
];

export const table: Table = {
  detector: newRegion,
  cases: [
    { name: "fires high on instances launched in a region the whole account never used", history, anomalous: [run("ap-southeast-3")], expect: "high" },
    { name: "fires medium on instances launched in a region only others in the account use", history, anomalous: [run("us-west-2")], expect: "medium" },
    {
      name: "fires medium on a bucket created in a region the account never used",
      history,
      anomalous: [rec({ eventName: "CreateBucket", eventSource: "s3.amazonaws.com", userIdentity: alice, region: "sa-east-1", requestParameters: { bucketName: "x" } })],
      expect: "medium",
    },
    { name: "stays quiet on launches in the identity's own region", history, normal: [run("eu-west-1")], expect: null },
    {
      name: "stays quiet on IAM calls, which every identity makes in us-east-1",
      history,
      normal: [rec({ eventName: "CreateRole", eventSource: "iam.amazonaws.com", userIdentity: assumedRole("deploy"), region: "us-east-1", requestParameters: { roleName: "r" } })],
      expect: null,
    },
    { name: "stays quiet with no account history (nothing can be called new)", normal: [run("ap-southeast-3")], expect: null },
  ],
};
