import { newRoleAssumption } from "../../../src/detectors/new-role-assumption.js";
import { iamUser } from "../../helpers/events.js";
import { rec, routine, type Table } from "./runner.js";

const alice = iamUser("alice");
const assume = (roleArn: string) => rec({ eventName: "AssumeRole", userIdentity: alice, requestParameters: { roleArn, roleSessionName: "s" } });
const history = routine({ identity: alice, calls: ["DescribeInstances"], extra: () => ({}) }).concat(
  routine({
    identity: alice,
    calls: [["AssumeRole", "sts.amazonaws.com"]],
    perDay: 2,
    extra: () => ({ requestParameters: { roleArn: "arn:aws:iam::111111111111:role/ReadOnly", roleSessionName: "s" } }),
  }),
);

export const table: Table = {
  detector: newRoleAssumption,
  cases: [
    { name: "fires on a role in an unknown account", history, anomalous: [assume("arn:aws:iam::999999999999:role/OrganizationAccountAccessRole")], expect: "medium" },
    { name: "stays quiet on the role it assumes every day", history, normal: [assume("arn:aws:iam::111111111111:role/ReadOnly")], expect: null },
  ],
};
