import { loggingTampering } from "../../../src/detectors/logging-tampering.js";
import { assumedRole, iamUser } from "../../helpers/events.js";
import { rec, routine, type Table } from "./runner.js";

const alice = iamUser("alice");
const history = routine({
  identity: alice,
  calls: [
    ["DescribeTrails", "cloudtrail.amazonaws.com"],
    ["DescribeInstances", "ec2.amazonaws.com"],
  ],
});

export const table: Table = {
  detector: loggingTampering,
  cases: [
    {
      name: "fires on StopLogging of the organisation trail",
      history,
      anomalous: [rec({ eventName: "StopLogging", userIdentity: alice, requestParameters: { name: "arn:aws:cloudtrail:us-east-1:111111111111:trail/org-trail" } })],
      expect: "high",
    },
    {
      name: "fires on a GuardDuty detector deleted by a role",
      anomalous: [rec({ eventName: "DeleteDetector", eventSource: "guardduty.amazonaws.com", userIdentity: assumedRole("ops", "jane"), requestParameters: { detectorId: "d1" } })],
      expect: "high",
    },
    {
      name: "stays quiet on reading trail status",
      history,
      normal: [rec({ eventName: "GetTrailStatus", userIdentity: alice, requestParameters: { name: "org-trail" } })],
      expect: null,
    },
  ],
};
