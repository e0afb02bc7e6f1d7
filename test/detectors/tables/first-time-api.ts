import { firstTimeApi } from "../../../src/detectors/first-time-api.js";
import { assumedRole } from "../../helpers/events.js";
import { MIN, rec, routine, W, HOUR, type Table } from "./runner.js";
import { callsFrom, nina, peopleHistory, peopleUsual } from "./shared/people.js";
import { GEN_IPS } from "../../helpers/window.js";

const app = assumedRole("reports-app", "task-3");
const history = routine({
  identity: app,
  calls: [
    ["GetUser", "iam.amazonaws.com"],
    ["GetObject", "s3.amazonaws.com"],
    ["PutObject", "s3.amazonaws.com"],
  ],
  ip: "3.80.10.100",
});
const usual = [0, 1, 2, 3].map((i) =>
  rec({ eventName: "GetObject", eventSource: "s3.amazonaws.com", userIdentity: app, sourceIPAddress: "3.80.10.100", time: W + 9 * HOUR + i * MIN }),
);

export const table: Table = {
  detector: firstTimeApi,
  cases: [
    {
      name: "fires on a first iam:CreateAccessKey by a role that never changes, citing that call only",
      history,
      normal: usual,
      anomalous: [
        rec({
          eventName: "CreateAccessKey",
          eventSource: "iam.amazonaws.com",
          userIdentity: app,
          requestParameters: { userName: "svc" },
          sourceIPAddress: "3.80.10.100",
          time: W + 13 * HOUR,
        }),
      ],
      expect: "high",
    },
    {
      name: "fires on a role shared by two sessions and shows the session that made the new call, not the first one met",
      history,
      normal: usual,
      anomalous: [
        rec({
          eventName: "CreateAccessKey",
          eventSource: "iam.amazonaws.com",
          userIdentity: assumedRole("reports-app", "task-9"),
          requestParameters: { userName: "svc" },
          sourceIPAddress: "3.80.10.100",
          time: W + 13 * HOUR,
        }),
      ],
      expect: "high",
    },
    { name: "stays quiet on the role's usual calls", history, normal: usual, expect: null },
    {
      name: "a person's first iam:CreateAccessKey on a shared role where another person creates keys routinely is a low note",
      history: peopleHistory,
      normal: peopleUsual,
      anomalous: callsFrom(nina, GEN_IPS.parisOrange[0], 0, 1, "CreateAccessKey").map((r) => ({ ...r, eventSource: "iam.amazonaws.com" })),
      expect: "low",
    },
    {
      name: "a person's first call of an API nobody on the shared role made is judged as before (high)",
      history: peopleHistory,
      normal: peopleUsual,
      anomalous: callsFrom(nina, GEN_IPS.parisOrange[0], 0, 1, "AttachRolePolicy").map((r) => ({ ...r, eventSource: "iam.amazonaws.com" })),
      expect: "high",
    },
  ],
};
