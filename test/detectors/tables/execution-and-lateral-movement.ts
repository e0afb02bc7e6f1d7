import { executionAndLateralMovement } from "../../../src/detectors/execution-and-lateral-movement.js";
import { iamUser } from "../../helpers/events.js";
import { rec, routine, type Table } from "./runner.js";

const alice = iamUser("alice");
const history = routine({ identity: alice, calls: ["DescribeInstances"] });

export const table: Table = {
  detector: executionAndLateralMovement,
  cases: [
    {
      name: "fires on a shell command sent to five instances by a user who never ran commands",
      history,
      anomalous: [
        rec({
          eventName: "SendCommand",
          userIdentity: alice,
          requestParameters: {
            documentName: "AWS-RunShellScript",
            instanceIds: ["i-0000000000000001a", "i-0000000000000002a", "i-0000000000000003a", "i-0000000000000004a", "i-0000000000000005a"],
          },
        }),
      ],
      expect: "high",
    },
    {
      name: "fires on a Lambda layer from another account",
      anomalous: [
        rec({
          eventName: "UpdateFunctionConfiguration20150331v2",
          eventSource: "lambda.amazonaws.com",
          requestParameters: { functionName: "f", layers: ["arn:aws:lambda:us-east-1:999999999999:layer:x:1"] },
        }),
      ],
      expect: "high",
    },
    { name: "stays quiet on describing instances", history, normal: [rec({ eventName: "DescribeInstances", userIdentity: alice })], expect: null },
  ],
};
