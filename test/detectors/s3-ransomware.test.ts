import { describe, expect, test } from "vitest";
import { s3Ransomware as d } from "../../src/detectors/s3-ransomware.js";
import { ev, runEvent } from "../helpers/events.js";

describe("s3-ransomware", () => {
  test("fires on versioning suspended, MFA delete disabled, encryption and replication removed", () => {
    expect(runEvent(d, ev({ eventName: "PutBucketVersioning", requestParameters: { bucketName: "b", VersioningConfiguration: { Status: "Suspended" } } }))[0]?.severity).toBe(
      "medium",
    );
    expect(
      runEvent(d, ev({ eventName: "PutBucketVersioning", requestParameters: { bucketName: "b", VersioningConfiguration: { Status: "Suspended", MfaDelete: "Disabled" } } }))[0]
        ?.severity,
    ).toBe("high");
    expect(runEvent(d, ev({ eventName: "DeleteBucketEncryption", requestParameters: { bucketName: "b" } }))[0]?.severity).toBe("medium");
    expect(runEvent(d, ev({ eventName: "DeleteBucketReplication", requestParameters: { bucketName: "b" } }))[0]?.severity).toBe("medium");
  });

  test("fires high on ransom notes and on re-encryption with a foreign KMS key, low on a single SSE-C write", () => {
    expect(runEvent(d, ev({ eventName: "PutObject", requestParameters: { bucketName: "b", key: "docs/HOW_TO_DECRYPT_FILES.txt" } }))[0]?.severity).toBe("high");
    expect(
      runEvent(
        d,
        ev({
          eventName: "CopyObject",
          requestParameters: { bucketName: "b", key: "k", "x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:us-east-1:999999999999:key/x" },
        }),
      )[0]?.severity,
    ).toBe("high");
    expect(
      runEvent(d, ev({ eventName: "CopyObject", requestParameters: { bucketName: "b", key: "k", "x-amz-server-side-encryption-customer-algorithm": "AES256" } }))[0]?.severity,
    ).toBe("low");
  });

  test("stays quiet on versioning enabled, ordinary uploads and own KMS keys", () => {
    expect(runEvent(d, ev({ eventName: "PutBucketVersioning", requestParameters: { bucketName: "b", VersioningConfiguration: { Status: "Enabled" } } }))).toEqual([]);
    expect(runEvent(d, ev({ eventName: "PutObject", requestParameters: { bucketName: "b", key: "reports/q3.pdf" } }))).toEqual([]);
    expect(runEvent(d, ev({ eventName: "PutObject", requestParameters: { bucketName: "b", key: "README.txt" } }))).toEqual([]);
    expect(
      runEvent(
        d,
        ev({
          eventName: "CopyObject",
          requestParameters: { bucketName: "b", key: "k", "x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:us-east-1:111111111111:key/x" },
        }),
      ),
    ).toEqual([]);
  });
});
