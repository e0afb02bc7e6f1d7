import { discoveryUserData } from "../../../src/detectors/discovery-user-data.js";
import { rec, type Table } from "./runner.js";

export const table: Table = {
  detector: discoveryUserData,
  cases: [
    {
      name: "fires on reading an instance's user data",
      anomalous: [rec({ eventName: "DescribeInstanceAttribute", requestParameters: { instanceId: "i-1234567890abcdef0", attribute: "userData" } })],
      expect: "low",
    },
    {
      name: "stays quiet on reading another attribute",
      normal: [rec({ eventName: "DescribeInstanceAttribute", requestParameters: { instanceId: "i-1", attribute: "disableApiTermination" } })],
      expect: null,
    },
  ],
};
