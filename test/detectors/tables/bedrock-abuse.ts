import { bedrockAbuse } from "../../../src/detectors/bedrock-abuse.js";
import { iamUser } from "../../helpers/events.js";
import { rec, routine, type Table } from "./runner.js";

const alice = iamUser("alice");
const history = routine({ identity: alice, calls: ["DescribeInstances"] });
const bedrock = (eventName: string, requestParameters: Record<string, unknown> | null = null) =>
  rec({ eventName, eventSource: "bedrock.amazonaws.com", requestParameters, userIdentity: alice });

export const table: Table = {
  detector: bedrockAbuse,
  cases: [
    {
      name: "fires on invocation logs sent to a role outside the organisation",
      history,
      anomalous: [bedrock("PutModelInvocationLoggingConfiguration", { loggingConfig: { cloudWatchConfig: { roleArn: "arn:aws:iam::999999999999:role/x", logGroupName: "g" } } })],
      expect: "high",
    },
    {
      name: "fires on a first model invocation by an identity that only ever listed models (novelty per API, not per service)",
      history: routine({
        identity: alice,
        calls: [
          ["ListFoundationModels", "bedrock.amazonaws.com"],
          ["DescribeInstances", "ec2.amazonaws.com"],
        ],
      }),
      anomalous: [bedrock("InvokeModel", { modelId: "anthropic.claude-3-opus" })],
      expect: "medium",
    },
    {
      name: "stays quiet on a read of a known Bedrock user",
      history: routine({
        identity: alice,
        calls: [
          ["ListFoundationModels", "bedrock.amazonaws.com"],
          ["InvokeModel", "bedrock.amazonaws.com"],
        ],
        extra: () => ({ requestParameters: { modelId: "anthropic.claude-3-haiku" } }),
      }),
      normal: [bedrock("InvokeModel", { modelId: "anthropic.claude-3-haiku" })],
      expect: null,
    },
  ],
};
