import { secretsAccess } from "../../../src/detectors/secrets-access.js";
import { assumedRole } from "../../helpers/events.js";
import { rec, routine, type Table } from "./runner.js";

const app = assumedRole("billing-app", "task-7");
const read = (secretId: string) => rec({ eventName: "GetSecretValue", userIdentity: app, requestParameters: { secretId }, sourceIPAddress: "3.80.10.100" });
const history = routine({
  identity: app,
  calls: [
    ["GetSecretValue", "secretsmanager.amazonaws.com"],
    ["GetItem", "dynamodb.amazonaws.com"],
  ],
  ip: "3.80.10.100",
  extra: () => ({ requestParameters: { secretId: "billing/db" } }),
});

export const table: Table = {
  detector: secretsAccess,
  cases: [
    {
      name: "fires on a catch-all BatchGetSecretValue",
      anomalous: [rec({ eventName: "BatchGetSecretValue", requestParameters: { filters: [{ key: "tag-key", values: ["!x"] }] } })],
      expect: "high",
    },
    {
      name: "fires on a first secret read by an identity that never read secrets",
      history: routine({ identity: app, calls: [["GetItem", "dynamodb.amazonaws.com"]] }),
      anomalous: [read("prod/root-db")],
      expect: "medium",
    },
    { name: "stays quiet on the application reading its own secret", history, normal: [read("billing/db")], expect: null },
  ],
};
