import { s3Ransomware } from "../../../src/detectors/s3-ransomware.js";
import { rec, type Table } from "./runner.js";

export const table: Table = {
  detector: s3Ransomware,
  cases: [
    {
      name: "fires on a ransom note uploaded",
      anomalous: [rec({ eventName: "PutObject", requestParameters: { bucketName: "b", key: "docs/HOW_TO_DECRYPT_FILES.txt" } })],
      expect: "high",
    },
    { name: "stays quiet on an ordinary upload", normal: [rec({ eventName: "PutObject", requestParameters: { bucketName: "b", key: "reports/2024-06.csv" } })], expect: null },
  ],
};
