import { describe, expect, test } from "vitest";
import { bulkSensitiveActions as d } from "../../src/detectors/bulk-sensitive-actions.js";
import { DETECTORS } from "../../src/detectors/index.js";
import { assumedRole, ctxFor, ev, iamUser, T0, windowOf } from "../helpers/events.js";
import type { TrailEvent } from "../../src/events/types.js";

const run = (evs: TrailEvent[], history?: Parameters<typeof ctxFor>[1]) => d.detect(windowOf(evs, DETECTORS), ctxFor(evs[0]!.principal, history));
const secrets = (n: number, ui = iamUser()) =>
  Array.from({ length: n }, (_, i) =>
    ev({ eventName: "GetSecretValue", userIdentity: ui, time: T0 + i * 500, requestParameters: { secretId: `arn:aws:secretsmanager:us-east-1:111111111111:secret:s-${i}` } }),
  );

describe("bulk-sensitive-actions", () => {
  test("fires medium when one identity reads many distinct secrets at cold start", () => {
    const [f] = run(secrets(12));
    expect(f).toMatchObject({ severity: "medium", fingerprint: ["secrets"], count: 12 });
    expect(f?.why).toContain("read 12 distinct secrets");
  });

  test("fires medium (failed) on many denied user-data reads across instances", () => {
    const evs = Array.from({ length: 6 }, (_, i) =>
      ev({ eventName: "DescribeInstanceAttribute", errorCode: "Client.UnauthorizedOperation", time: T0 + i, requestParameters: { instanceId: `i-${i}`, attribute: "userData" } }),
    );
    expect(run(evs)[0]).toMatchObject({ severity: "medium", failed: true, fingerprint: ["user-data"] });
  });

  test("fires critical on mass deletion followed by a ransom note", () => {
    const dels = Array.from({ length: 120 }, (_, i) => ev({ eventName: "DeleteObject", time: T0 + i, requestParameters: { bucketName: "b", key: `k${i}` } }));
    const note = ev({ eventName: "PutObject", time: T0 + 200, requestParameters: { bucketName: "b", key: "FILES-DELETED.txt" } });
    expect(run([...dels, note]).find((f) => f.fingerprint[0] === "s3-delete")?.severity).toBe("critical");
  });

  test("fires high when SSH keys are pushed to several instances", () => {
    const evs = ["i-1", "i-2", "i-3"].map((id, i) =>
      ev({ eventName: "SendSSHPublicKey", eventSource: "ec2-instance-connect.amazonaws.com", time: T0 + i, requestParameters: { instanceId: id, instanceOSUser: "ec2-user" } }),
    );
    expect(run(evs)[0]).toMatchObject({ severity: "high", fingerprint: ["instance-connect"] });
  });

  test("fires high on instance launches in several regions, counting only regions new to an identity with history", () => {
    const launches = (regions: string[]) =>
      regions.map((region, i) =>
        ev({
          eventName: "RunInstances",
          region,
          time: T0 + i,
          requestParameters: { instanceType: "c5.large", instancesSet: { items: [{ imageId: "ami-1", minCount: 1, maxCount: 1 }] } },
        }),
      );
    expect(run(launches(["us-east-1", "eu-west-1", "ap-southeast-1"]))[0]).toMatchObject({ severity: "high", fingerprint: ["multi-region-launch"] });
    expect(
      run(launches(["us-east-1", "eu-west-1", "ap-southeast-1"]), { history: { apis: ["ec2:RunInstances"], dims: { region: ["us-east-1", "eu-west-1", "ap-southeast-1"] } } }),
    ).toEqual([]);
  });

  test("stays quiet below the thresholds, on an identity's routine volume, and on infrastructure as code", () => {
    expect(run(secrets(5))).toEqual([]);
    const app = assumedRole("App");
    expect(run(secrets(12, app), { history: { apis: ["secretsmanager:GetSecretValue"], perApi: 400, days: 30 } })).toEqual([]);
    const tf = Array.from({ length: 12 }, (_, i) =>
      ev({ eventName: "GetSecretValue", userAgent: "APN/1.0 HashiCorp/1.0 Terraform/1.5.7", time: T0 + i, requestParameters: { secretId: `s-${i}` } }),
    );
    expect(run(tf)).toEqual([]);
  });
});
