import { dataDestruction } from "../../../src/detectors/data-destruction.js";
import { rec, type Table } from "./runner.js";

export const table: Table = {
  detector: dataDestruction,
  cases: [
    {
      name: "fires on a KMS key scheduled for deletion",
      anomalous: [rec({ eventName: "ScheduleKeyDeletion", eventSource: "kms.amazonaws.com", requestParameters: { keyId: "k", pendingWindowInDays: 7 } })],
      expect: "high",
    },
    { name: "stays quiet on describing a key", normal: [rec({ eventName: "DescribeKey", eventSource: "kms.amazonaws.com", requestParameters: { keyId: "k" } })], expect: null },
  ],
};
