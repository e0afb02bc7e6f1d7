import { describe, expect, test } from "vitest";
import { resourceExposure as d } from "../../src/detectors/resource-exposure.js";
import { ev, runEvent } from "../helpers/events.js";

const sev = (e: ReturnType<typeof ev>) => runEvent(d, e)[0]?.severity;

describe("resource-exposure", () => {
  test("fires when snapshots and AMIs are shared publicly or with a foreign account", () => {
    expect(
      sev(
        ev({
          eventName: "ModifySnapshotAttribute",
          requestParameters: { snapshotId: "snap-1", attributeType: "CREATE_VOLUME_PERMISSION", createVolumePermission: { add: { items: [{ group: "all" }] } } },
        }),
      ),
    ).toBe("critical");
    expect(sev(ev({ eventName: "ModifyImageAttribute", requestParameters: { imageId: "ami-1", launchPermission: { add: { items: [{ userId: "012345678901" }] } } } }))).toBe(
      "high",
    );
    expect(
      sev(
        ev({
          eventName: "ModifyDBSnapshotAttribute",
          eventSource: "rds.amazonaws.com",
          requestParameters: { dBSnapshotIdentifier: "s", attributeName: "restore", valuesToAdd: ["193672423079"] },
        }),
      ),
    ).toBe("high");
  });

  test("fires on public or foreign bucket policies, public ACLs and removed public access blocks", () => {
    const pub = { Statement: [{ Effect: "Allow", Principal: { AWS: "*" }, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" }] };
    expect(sev(ev({ eventName: "PutBucketPolicy", requestParameters: { bucketName: "b", bucketPolicy: pub } }))).toBe("high");
    const ext = { Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::193672423079:root" }, Action: ["s3:GetObject"], Resource: "*" }] };
    expect(sev(ev({ eventName: "PutBucketPolicy", requestParameters: { bucketName: "b", bucketPolicy: ext } }))).toBe("high");
    expect(sev(ev({ eventName: "PutBucketAcl", requestParameters: { bucketName: "b", "x-amz-acl": ["public-read"] } }))).toBe("high");
    expect(sev(ev({ eventName: "DeleteBucketPublicAccessBlock", requestParameters: { bucketName: "b" } }))).toBe("medium");
    expect(
      sev(
        ev({
          eventName: "PutBucketPublicAccessBlock",
          requestParameters: {
            bucketName: "b",
            PublicAccessBlockConfiguration: { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false },
          },
        }),
      ),
    ).toBe("medium");
  });

  test("fires high on SSH open to the world (flat and item forms), low on an odd port", () => {
    expect(sev(ev({ eventName: "AuthorizeSecurityGroupIngress", requestParameters: { groupId: "sg-1", ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIp: "0.0.0.0/0" } }))).toBe(
      "high",
    );
    const items = (from: number, to: number, cidr = "0.0.0.0/0") => ({
      groupId: "sg-1",
      ipPermissions: { items: [{ ipProtocol: "tcp", fromPort: from, toPort: to, ipRanges: { items: [{ cidrIp: cidr }] } }] },
    });
    expect(sev(ev({ eventName: "AuthorizeSecurityGroupIngress", requestParameters: items(3389, 3389) }))).toBe("high");
    expect(sev(ev({ eventName: "AuthorizeSecurityGroupIngress", requestParameters: items(8443, 8443) }))).toBe("low");
  });

  test("fires on Lambda permissions for everyone, SQS/KMS policies for everyone, and copies to foreign buckets", () => {
    expect(sev(ev({ eventName: "AddPermission20150331v2", requestParameters: { functionName: "f", principal: "*", action: "lambda:InvokeFunction" } }))).toBe("high");
    const star = { Statement: [{ Effect: "Allow", Principal: "*", Action: "sqs:*", Resource: "*" }] };
    expect(sev(ev({ eventName: "SetQueueAttributes", eventSource: "sqs.amazonaws.com", requestParameters: { queueUrl: "q", attributes: { Policy: JSON.stringify(star) } } }))).toBe(
      "critical",
    );
    const copy = ev({
      eventName: "CopyObject",
      requestParameters: { bucketName: "exfil", key: "k" },
      resources: [{ type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::exfil", accountId: "999999999999" }],
    });
    expect(sev(copy)).toBe("high");
  });

  test("fires medium on a network ACL opening SSH to the world, only low on the default-like allow-all", () => {
    const nacl = (from: number, to: number, protocol = "6") =>
      ev({
        eventName: "CreateNetworkAclEntry",
        requestParameters: { networkAclId: "acl-1", cidrBlock: "0.0.0.0/0", egress: false, ruleAction: "allow", aclProtocol: protocol, portRange: { from, to }, ruleNumber: 100 },
      });
    expect(sev(nacl(22, 22))).toBe("medium");
    expect(sev(nacl(0, 65535, "-1"))).toBe("low");
  });

  test("stays quiet on own-account sharing, restricted policies, web ports and private CIDRs", () => {
    expect(
      runEvent(d, ev({ eventName: "ModifySnapshotAttribute", requestParameters: { snapshotId: "s", createVolumePermission: { add: { items: [{ userId: "111111111111" }] } } } })),
    ).toEqual([]);
    const org = { Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "*", Condition: { StringEquals: { "aws:PrincipalOrgID": "o-abc" } } }] };
    expect(runEvent(d, ev({ eventName: "PutBucketPolicy", requestParameters: { bucketName: "b", bucketPolicy: org } }))).toEqual([]);
    expect(runEvent(d, ev({ eventName: "PutBucketPolicy", requestParameters: { bucketPolicy: "not json" } }))).toEqual([]);
    expect(
      runEvent(d, ev({ eventName: "AuthorizeSecurityGroupIngress", requestParameters: { groupId: "sg", ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIp: "0.0.0.0/0" } })),
    ).toEqual([]);
    expect(
      runEvent(d, ev({ eventName: "AuthorizeSecurityGroupIngress", requestParameters: { groupId: "sg", ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIp: "10.0.0.0/8" } })),
    ).toEqual([]);
    expect(runEvent(d, ev({ eventName: "AddPermission", requestParameters: { functionName: "f", principal: "s3.amazonaws.com", sourceAccount: "111111111111" } }))).toEqual([]);
  });
});
