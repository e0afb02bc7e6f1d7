import { firstTimeService } from "../../../src/detectors/first-time-service.js";
import { assumedRole } from "../../helpers/events.js";
import { MIN, rec, routine, W, HOUR, type Table } from "./runner.js";

const app = assumedRole("reports-app", "task-3");
const history = routine({
  identity: app,
  calls: [
    ["GetObject", "s3.amazonaws.com"],
    ["PutObject", "s3.amazonaws.com"],
  ],
  ip: "3.80.10.100",
});
const usual = [0, 1, 2].map((i) =>
  rec({ eventName: "GetObject", eventSource: "s3.amazonaws.com", userIdentity: app, sourceIPAddress: "3.80.10.100", time: W + 9 * HOUR + i * MIN }),
);

export const table: Table = {
  detector: firstTimeService,
  cases: [
    {
      name: "fires on a first use of IAM writes by a storage-only role, citing the IAM calls",
      history,
      normal: usual,
      anomalous: [
        rec({
          eventName: "CreateUser",
          eventSource: "iam.amazonaws.com",
          userIdentity: app,
          requestParameters: { userName: "backup" },
          sourceIPAddress: "3.80.10.100",
          time: W + 13 * HOUR,
        }),
        rec({
          eventName: "AttachUserPolicy",
          eventSource: "iam.amazonaws.com",
          userIdentity: app,
          requestParameters: { userName: "backup", policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" },
          sourceIPAddress: "3.80.10.100",
          time: W + 13 * HOUR + MIN,
        }),
      ],
      expect: "high",
    },
    { name: "stays quiet on the services it uses", history, normal: usual, expect: null },
  ],
};
