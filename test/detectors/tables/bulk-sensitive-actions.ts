import { bulkSensitiveActions } from "../../../src/detectors/bulk-sensitive-actions.js";
import { assumedRole } from "../../helpers/events.js";
import { MIN, rec, routine, W, HOUR, type Table } from "./runner.js";

const app = assumedRole("billing-app", "task-7");
const history = routine({ identity: app, calls: [["GetItem", "dynamodb.amazonaws.com"], ["PutItem", "dynamodb.amazonaws.com"]], ip: "3.80.10.100" });
const usual = [0, 1, 2].map((i) => rec({ eventName: "GetItem", eventSource: "dynamodb.amazonaws.com", userIdentity: app, sourceIPAddress: "3.80.10.100", time: W + 9 * HOUR + i * MIN }));
const read = (secretId: string, t: number) => rec({ eventName: "GetSecretValue", userIdentity: app, requestParameters: { secretId }, sourceIPAddress: "3.80.10.100", time: t });

export const table: Table = {
  detector: bulkSensitiveActions,
  cases: [
    {
      name: "fires on 15 distinct secrets read within minutes by a role that never read secrets",
      history,
      normal: usual,
      anomalous: Array.from({ length: 15 }, (_, i) => read(`prod/secret-${i}`, W + 14 * HOUR + i * 20_000)),
      expect: "medium",
    },
    { name: "stays quiet on three secrets", history, normal: [...usual, ...[0, 1, 2].map((i) => read(`prod/secret-${i}`, W + 14 * HOUR + i * MIN))], expect: null },
  ],
};
