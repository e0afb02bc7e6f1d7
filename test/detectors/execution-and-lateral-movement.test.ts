import { describe, expect, test } from "vitest";
import { executionAndLateralMovement as d } from "../../src/detectors/execution-and-lateral-movement.js";
import { assumedRole, ctxFor, ev, iamUser, runEvent } from "../helpers/events.js";

const run = (instanceType: string, maxCount: number, extra: Record<string, unknown> = {}) =>
  ev({ eventName: "RunInstances", requestParameters: { instanceType, instancesSet: { items: [{ imageId: "ami-1", minCount: 1, maxCount }] } }, ...extra });

describe("execution-and-lateral-movement", () => {
  test("fires on SSM SendCommand: medium for a fan-out at cold start, high for a first use by an identity with history", () => {
    const cmd = (ids: string[], ui = iamUser()) =>
      ev({ eventName: "SendCommand", userIdentity: ui, requestParameters: { documentName: "AWS-RunShellScript", instanceIds: ids, parameters: "HIDDEN_DUE_TO_SECURITY_REASONS" } });
    expect(runEvent(d, cmd(["i-01", "i-02", "i-03"]))[0]?.severity).toBe("medium");
    const e = cmd(["i-01", "i-02", "i-03"], assumedRole("Ops"));
    expect(runEvent(d, e, ctxFor(e.principal, { history: { apis: ["ec2:DescribeInstances"] } }))[0]?.severity).toBe("high");
  });

  test("fires high on a GPU fleet launch and medium (failed) when it was refused", () => {
    expect(runEvent(d, run("p2.xlarge", 10))[0]?.severity).toBe("high");
    const [f] = runEvent(d, run("p3.16xlarge", 10, { errorCode: "Client.VcpuLimitExceeded" }));
    expect(f).toMatchObject({ severity: "medium", failed: true });
    expect(runEvent(d, run("g5.xlarge", 1))[0]?.severity).toBe("medium");
  });

  test("fires on user data rewrites, serial console keys, Instance Connect and foreign Lambda layers", () => {
    expect(runEvent(d, ev({ eventName: "ModifyInstanceAttribute", requestParameters: { instanceId: "i-1", userData: "<sensitiveDataRemoved>" } }))[0]?.severity).toBe("high");
    expect(
      runEvent(d, ev({ eventName: "SendSerialConsoleSSHPublicKey", eventSource: "ec2-instance-connect.amazonaws.com", requestParameters: { instanceId: "i-1" } }))[0]?.severity,
    ).toBe("high");
    expect(
      runEvent(d, ev({ eventName: "SendSSHPublicKey", eventSource: "ec2-instance-connect.amazonaws.com", requestParameters: { instanceId: "i-1", instanceOSUser: "ec2-user" } }))[0]
        ?.severity,
    ).toBe("medium");
    const layer = ev({
      eventName: "UpdateFunctionConfiguration20150331v2",
      userIdentity: assumedRole("Ci"),
      requestParameters: { functionName: "f", layers: ["arn:aws:lambda:us-east-1:999999999999:layer:ext:1"] },
    });
    expect(runEvent(d, layer)[0]?.severity).toBe("high");
    expect(
      runEvent(
        d,
        ev({ eventName: "UpdateNotebookInstanceLifecycleConfig", eventSource: "sagemaker.amazonaws.com", requestParameters: { notebookInstanceLifecycleConfigName: "lc" } }),
      )[0]?.severity,
    ).toBe("medium");
  });

  test("fires medium on a compute quota increase request, reading EC2's wrapped request form too", () => {
    expect(
      runEvent(
        d,
        ev({
          eventName: "RequestServiceQuotaIncrease",
          eventSource: "servicequotas.amazonaws.com",
          requestParameters: { serviceCode: "ec2", quotaCode: "L-417A185B", desiredValue: 512 },
        }),
      )[0]?.severity,
    ).toBe("medium");
    const wrapped = ev({ eventName: "ModifyInstanceAttribute", requestParameters: { ModifyInstanceAttributeRequest: { instanceId: "i-1", userData: "<sensitiveDataRemoved>" } } });
    expect(runEvent(d, wrapped)[0]?.severity).toBe("high");
  });

  test("fires medium when a person overwrites Lambda code at cold start", () => {
    const [f] = runEvent(
      d,
      ev({ eventName: "UpdateFunctionCode20150331v2", userIdentity: iamUser("dev"), requestParameters: { functionName: "arn:aws:lambda:us-east-1:111111111111:function:api" } }),
    );
    expect(f).toMatchObject({ severity: "medium", fingerprint: ["UpdateFunctionCode", "arn:aws:lambda:us-east-1:111111111111:function:api"] });
  });

  test("fires only low for a GPU launch by an identity that launches instances routinely", () => {
    const known = run("p2.xlarge", 1, { userIdentity: assumedRole("ML") });
    expect(runEvent(d, known, ctxFor(known.principal, { history: { apis: ["ec2:RunInstances"] } }))[0]?.severity).toBe("low");
  });

  test("stays quiet on ordinary launches, CI deployments, usual commands and harmless attribute changes", () => {
    expect(runEvent(d, run("t3.micro", 1))).toEqual([]);
    expect(runEvent(d, ev({ eventName: "UpdateFunctionCode20150331v2", userIdentity: assumedRole("Deployer"), requestParameters: { functionName: "f" } }))).toEqual([]);
    const cmd = ev({ eventName: "SendCommand", userIdentity: assumedRole("Patch"), requestParameters: { documentName: "AWS-RunPatchBaseline", instanceIds: ["i-1"] } });
    expect(runEvent(d, cmd, ctxFor(cmd.principal, { history: { apis: ["ssm:SendCommand"] } }))).toEqual([]);
    expect(runEvent(d, ev({ eventName: "ModifyInstanceAttribute", requestParameters: { instanceId: "i-1", instanceType: { value: "t3.large" } } }))).toEqual([]);
    const datadog = ev({
      eventName: "UpdateFunctionConfiguration20150331v2",
      userIdentity: assumedRole("Ci"),
      requestParameters: { functionName: "f", layers: ["arn:aws:lambda:us-east-1:464622532012:layer:Datadog-Extension:50"] },
    });
    expect(runEvent(d, datadog)).toEqual([]);
  });
});
