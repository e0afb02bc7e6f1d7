import { privilegeEscalationChain } from "../../../src/detectors/privilege-escalation-chain.js";
import { MIN, rec, W, HOUR, type Table } from "./runner.js";

const admin = "arn:aws:iam::aws:policy/AdministratorAccess";

export const table: Table = {
  detector: privilegeEscalationChain,
  cases: [
    {
      name: "fires on an admin policy attached to a role then passed to a new Lambda function",
      normal: [rec({ eventName: "DescribeInstances", time: W + 8 * HOUR })],
      anomalous: [
        rec({ eventName: "AttachRolePolicy", requestParameters: { roleName: "fn-role", policyArn: admin }, time: W + 12 * HOUR }),
        rec({ eventName: "CreateFunction20150331", requestParameters: { functionName: "x", role: "arn:aws:iam::111111111111:role/fn-role" }, time: W + 12 * HOUR + MIN }),
      ],
      expect: "high",
    },
    {
      name: "stays quiet on a function created with an ordinary role",
      normal: [rec({ eventName: "CreateFunction20150331", requestParameters: { functionName: "x", role: "arn:aws:iam::111111111111:role/plain" } })],
      expect: null,
    },
  ],
};
