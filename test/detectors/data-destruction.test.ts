import { describe, expect, test } from "vitest";
import { dataDestruction as d } from "../../src/detectors/data-destruction.js";
import { assumedRole, ctxFor, ev, iamUser, runEvent } from "../helpers/events.js";

describe("data-destruction", () => {
  test("fires on KMS key deletion (high within a week) and disabling", () => {
    expect(runEvent(d, ev({ eventName: "ScheduleKeyDeletion", eventSource: "kms.amazonaws.com", requestParameters: { keyId: "k", pendingWindowInDays: 7 } }))[0]?.severity).toBe(
      "high",
    );
    expect(runEvent(d, ev({ eventName: "DisableKey", eventSource: "kms.amazonaws.com", requestParameters: { keyId: "k" } }))[0]?.severity).toBe("medium");
  });

  test("fires on RDS backups deleted or turned off, and on a person deregistering an AMI", () => {
    expect(runEvent(d, ev({ eventName: "DeleteDBInstanceAutomatedBackup", eventSource: "rds.amazonaws.com", requestParameters: { dbiResourceId: "db-1" } }))[0]?.severity).toBe(
      "medium",
    );
    expect(
      runEvent(
        d,
        ev({
          eventName: "ModifyDBCluster",
          eventSource: "rds.amazonaws.com",
          requestParameters: { dBClusterIdentifier: "c", deletionProtection: false, backupRetentionPeriod: 0 },
        }),
      )[0]?.severity,
    ).toBe("medium");
    expect(runEvent(d, ev({ eventName: "DeregisterImage", userIdentity: iamUser("ops"), requestParameters: { imageId: "ami-1" } }))[0]?.severity).toBe("medium");
  });

  test("stays quiet on routine AMI rotation, failed key errors' absence of change, and unrelated DB changes", () => {
    const e = ev({ eventName: "DeregisterImage", userIdentity: assumedRole("AmiJanitor"), requestParameters: { imageId: "ami-1" } });
    expect(runEvent(d, e, ctxFor(e.principal, { history: { apis: ["ec2:DeregisterImage"] } }))).toEqual([]);
    expect(runEvent(d, ev({ eventName: "ModifyDBInstance", eventSource: "rds.amazonaws.com", requestParameters: { dBInstanceIdentifier: "db", allocatedStorage: 200 } }))).toEqual(
      [],
    );
    expect(
      runEvent(d, ev({ eventName: "ModifyDBInstance", eventSource: "rds.amazonaws.com", requestParameters: { dBInstanceIdentifier: "db", deletionProtection: true } })),
    ).toEqual([]);
  });
});
