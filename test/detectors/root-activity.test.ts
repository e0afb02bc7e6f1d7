import { describe, expect, test } from "vitest";
import { rootActivity as d } from "../../src/detectors/root-activity.js";
import { ev, iamUser, rootUser, runEvent } from "../helpers/events.js";

describe("root-activity", () => {
  test("fires critical on a root console sign-in without MFA", () => {
    const [f] = runEvent(
      d,
      ev({
        eventName: "ConsoleLogin",
        eventType: "AwsConsoleSignIn",
        userIdentity: rootUser(),
        responseElements: { ConsoleLogin: "Success" },
        additionalEventData: { MFAUsed: "No" },
      }),
    );
    expect(f?.severity).toBe("critical");
    expect(f?.fingerprint).toEqual(["sign-in"]);
  });

  test("fires critical on a root access key, high on a root write, medium on a root read", () => {
    expect(runEvent(d, ev({ eventName: "CreateAccessKey", userIdentity: rootUser() }))[0]?.severity).toBe("critical");
    expect(runEvent(d, ev({ eventName: "PutBucketPolicy", userIdentity: rootUser(), requestParameters: { bucketName: "b" } }))[0]?.severity).toBe("high");
    expect(runEvent(d, ev({ eventName: "ListAccessKeys", eventSource: "iam.amazonaws.com", userIdentity: rootUser(), readOnly: true }))[0]?.severity).toBe("medium");
  });

  test("fires a failed medium finding on a failed root sign-in and a failed password change", () => {
    const [a] = runEvent(d, ev({ eventName: "ConsoleLogin", userIdentity: rootUser(), responseElements: { ConsoleLogin: "Failure" }, errorMessage: "Failed authentication" }));
    expect(a).toMatchObject({ severity: "medium", failed: true });
    const [b] = runEvent(d, ev({ eventName: "PasswordUpdated", userIdentity: rootUser(), responseElements: { PasswordUpdated: "Failure" } }));
    expect(b).toMatchObject({ failed: true });
  });

  test("stays quiet on service events for root and on non-root identities", () => {
    expect(runEvent(d, ev({ eventName: "AssumeRole", userIdentity: { ...rootUser(), invokedBy: "cloudformation.amazonaws.com" } }))).toEqual([]);
    expect(runEvent(d, ev({ eventName: "SharedSnapshotCopyInitiated", eventType: "AwsServiceEvent", userIdentity: rootUser() }))).toEqual([]);
    expect(runEvent(d, ev({ eventName: "PutBucketPolicy", userIdentity: iamUser("alice") }))).toEqual([]);
  });
});
