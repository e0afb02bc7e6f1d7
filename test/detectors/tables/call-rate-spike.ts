import { callRateSpike } from "../../../src/detectors/call-rate-spike.js";
import { assumedRole } from "../../helpers/events.js";
import { burst, HOUR, MIN, routine, W, type Table } from "./runner.js";

const svc = assumedRole("orders-api", "task-1");
const JAVA = "aws-sdk-java/2.20.0 Linux/5.10 OpenJDK_64-Bit_Server_VM/17";
/** 14 days of ~30 calls an hour, day and night. */
const history = routine({
  identity: svc,
  calls: [
    ["GetItem", "dynamodb.amazonaws.com"],
    ["SendMessage", "sqs.amazonaws.com"],
  ],
  perDay: 720,
  hour: 0,
  ip: "3.80.10.100",
  ua: JAVA,
});
// routine spreads perDay over 8 hours from `hour`: 720 calls in 0-8h = 90/hour; fine as "busy hours".
const normalDay = burst(200, W, 20 * HOUR, () => ({
  eventName: "GetItem",
  eventSource: "dynamodb.amazonaws.com",
  userIdentity: svc,
  sourceIPAddress: "3.80.10.100",
  userAgent: JAVA,
}));

export const table: Table = {
  detector: callRateSpike,
  cases: [
    {
      name: "fires on 2,000 scans in 40 minutes in the afternoon, citing the burst and not the morning's calls",
      history,
      normal: normalDay,
      anomalous: burst(2000, W + 15 * HOUR + 5 * MIN, 40 * MIN, () => ({
        eventName: "Scan",
        eventSource: "dynamodb.amazonaws.com",
        userIdentity: svc,
        sourceIPAddress: "3.80.10.100",
        userAgent: JAVA,
      })),
      expect: "high",
    },
    {
      name: "stays quiet on an ordinary day",
      history,
      normal: normalDay,
      expect: null,
    },
    {
      name: "stays quiet at cold start, however many calls",
      anomalous: burst(3000, W + HOUR, 30 * MIN, () => ({ eventName: "Scan", eventSource: "dynamodb.amazonaws.com", userIdentity: svc })),
      expect: null,
    },
  ],
};
