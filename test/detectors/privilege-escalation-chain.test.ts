import { describe, expect, test } from "vitest";
import { DETECTORS } from "../../src/detectors/index.js";
import { privilegeEscalationChain as d } from "../../src/detectors/privilege-escalation-chain.js";
import { assumedRole, ctxFor, ev, iamUser, T0, windowOf } from "../helpers/events.js";
import type { TrailEvent } from "../../src/events/types.js";

const run = (events: TrailEvent[]) => d.detect(windowOf(events, DETECTORS), ctxFor(events[0]!.principal));
const admin = "arn:aws:iam::aws:policy/AdministratorAccess";

describe("privilege-escalation-chain", () => {
  test("fires high when an admin grant to a role is followed by a Lambda using that role", () => {
    const out = run([
      ev({ eventName: "AttachRolePolicy", time: T0, requestParameters: { roleName: "fn-role", policyArn: admin } }),
      ev({ eventName: "CreateFunction20150331", time: T0 + 60_000, requestParameters: { functionName: "x", role: "arn:aws:iam::111111111111:role/fn-role" } }),
    ]);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ severity: "high", fingerprint: ["passrole", "fn-role"] });
    expect(out[0]?.eventIds).toHaveLength(2);
  });

  test("fires through an instance profile for RunInstances", () => {
    const out = run([
      ev({ eventName: "AttachRolePolicy", time: T0, requestParameters: { roleName: "ec2-role", policyArn: admin } }),
      ev({ eventName: "AddRoleToInstanceProfile", eventSource: "iam.amazonaws.com", time: T0 + 1000, requestParameters: { instanceProfileName: "prof", roleName: "ec2-role" } }),
      ev({
        eventName: "RunInstances",
        time: T0 + 2000,
        requestParameters: { instanceType: "t3.micro", instancesSet: { items: [{ imageId: "ami-1", minCount: 1, maxCount: 1 }] }, iamInstanceProfile: { name: "prof" } },
      }),
    ]);
    expect(out.map((f) => f.fingerprint)).toEqual([["passrole", "ec2-role"]]);
  });

  test("fires critical when an identity grants itself administrator rights", () => {
    const e = ev({ eventName: "AttachRolePolicy", userIdentity: assumedRole("app-role"), requestParameters: { roleName: "app-role", policyArn: admin } });
    const [f] = run([e]);
    expect(f).toMatchObject({ severity: "critical", fingerprint: ["self", "app-role"] });
  });

  test("stays quiet on a non-admin role passed to a function, and on a pass before the grant", () => {
    expect(
      run([
        ev({ eventName: "AttachRolePolicy", time: T0, requestParameters: { roleName: "fn-role", policyArn: "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" } }),
        ev({ eventName: "CreateFunction20150331", time: T0 + 60_000, requestParameters: { functionName: "x", role: "arn:aws:iam::111111111111:role/fn-role" } }),
      ]),
    ).toEqual([]);
    expect(
      run([
        ev({ eventName: "CreateFunction20150331", time: T0, userIdentity: iamUser(), requestParameters: { functionName: "x", role: "arn:aws:iam::111111111111:role/fn-role" } }),
        ev({ eventName: "AttachRolePolicy", time: T0 + 60_000, userIdentity: iamUser(), requestParameters: { roleName: "fn-role", policyArn: admin } }),
      ]),
    ).toEqual([]);
  });
});
