import { privilegeEscalation } from "../../../src/detectors/privilege-escalation.js";
import { rec, type Table } from "./runner.js";

export const table: Table = {
  detector: privilegeEscalation,
  cases: [
    {
      name: "fires on AdministratorAccess attached to a user",
      anomalous: [rec({ eventName: "AttachUserPolicy", requestParameters: { userName: "x", policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" } })],
      expect: "high",
    },
    {
      name: "stays quiet on a read-only policy attached",
      normal: [rec({ eventName: "AttachUserPolicy", requestParameters: { userName: "x", policyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess" } })],
      expect: null,
    },
  ],
};
