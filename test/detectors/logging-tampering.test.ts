import { describe, expect, test } from "vitest";
import { loggingTampering as d } from "../../src/detectors/logging-tampering.js";
import { assumedRole, ctxFor, ev, iamUser, runEvent } from "../helpers/events.js";

describe("logging-tampering", () => {
  test("fires high on StopLogging, naming the trail and the cold start", () => {
    const [f] = runEvent(d, ev({ eventName: "StopLogging", requestParameters: { name: "arn:aws:cloudtrail:us-east-1:111111111111:trail/org-trail" } }));
    expect(f?.severity).toBe("high");
    expect(f?.fingerprint).toEqual(["StopLogging", "org-trail"]);
    expect(f?.why).toContain("`org-trail`");
    expect(f?.why).toContain("cold start");
  });

  test("fires one step lower and marked failed on a failed StopLogging", () => {
    const [f] = runEvent(d, ev({ eventName: "StopLogging", errorCode: "TrailNotFoundException", requestParameters: { name: "t" } }));
    expect(f?.severity).toBe("medium");
    expect(f?.failed).toBe(true);
    expect(f?.why).toContain("TrailNotFoundException");
  });

  test("fires with the baseline numbers when the identity has history without the API", () => {
    const e = ev({ eventName: "DeleteTrail", userIdentity: assumedRole("Deploy"), requestParameters: { name: "main" } });
    const [f] = runEvent(d, e, ctxFor(e.principal, { history: { days: 41, apis: ["s3:ListBuckets", "ec2:DescribeInstances"] } }));
    expect(f?.why).toMatch(/never called cloudtrail:DeleteTrail in 41 days of history/);
  });

  test("fires high when event selectors drop management events, medium when narrowed to reads", () => {
    const off = runEvent(
      d,
      ev({ eventName: "PutEventSelectors", requestParameters: { trailName: "t", eventSelectors: [{ readWriteType: "All", includeManagementEvents: false, dataResources: [] }] } }),
    );
    expect(off[0]?.severity).toBe("high");
    const ro = runEvent(
      d,
      ev({ eventName: "PutEventSelectors", requestParameters: { trailName: "t", eventSelectors: [{ readWriteType: "ReadOnly", includeManagementEvents: true }] } }),
    );
    expect(ro[0]?.severity).toBe("medium");
    const adv = runEvent(
      d,
      ev({ eventName: "PutEventSelectors", requestParameters: { trailName: "t", advancedEventSelectors: [{ fieldSelectors: [{ field: "eventCategory", equals: ["Data"] }] }] } }),
    );
    expect(adv[0]?.severity).toBe("high");
  });

  test("stays quiet on event selectors that keep all management events", () => {
    expect(
      runEvent(
        d,
        ev({ eventName: "PutEventSelectors", requestParameters: { trailName: "t", eventSelectors: [{ readWriteType: "All", includeManagementEvents: true, dataResources: [] }] } }),
      ),
    ).toEqual([]);
  });

  test("fires on UpdateTrail that stops multi-region logging, stays quiet on a harmless update", () => {
    expect(runEvent(d, ev({ eventName: "UpdateTrail", requestParameters: { name: "t", isMultiRegionTrail: false } }))[0]?.severity).toBe("medium");
    expect(runEvent(d, ev({ eventName: "UpdateTrail", requestParameters: { name: "t", s3BucketName: "new-bucket" } }))).toEqual([]);
  });

  test("fires high on a 1-day lifecycle rule on a trail bucket (rule id or bucket name)", () => {
    const rp = (bucket: string, id: string, days: number) => ({
      bucketName: bucket,
      LifecycleConfiguration: { Rule: { ID: id, Status: "Enabled", Filter: { Prefix: "*" }, Expiration: { Days: days } } },
    });
    expect(runEvent(d, ev({ eventName: "PutBucketLifecycle", requestParameters: rp("acme-cloudtrail-logs", "expire", 1) }))[0]?.severity).toBe("high");
    expect(runEvent(d, ev({ eventName: "PutBucketLifecycle", requestParameters: rp("bkt-123", "nuke-cloudtrail-logs", 1) }))[0]?.severity).toBe("high");
    expect(runEvent(d, ev({ eventName: "PutBucketLifecycleConfiguration", requestParameters: rp("tmp-uploads", "x", 1) }))[0]?.severity).toBe("medium");
  });

  test("stays quiet on long or disabled lifecycle rules and short ones on ordinary buckets", () => {
    const rp = (bucket: string, days: number, status = "Enabled") => ({
      bucketName: bucket,
      LifecycleConfiguration: { Rule: { ID: "r", Status: status, Expiration: { Days: days } } },
    });
    expect(runEvent(d, ev({ eventName: "PutBucketLifecycle", requestParameters: rp("acme-cloudtrail", 730) }))).toEqual([]);
    expect(runEvent(d, ev({ eventName: "PutBucketLifecycle", requestParameters: rp("acme-cloudtrail", 1, "Disabled") }))).toEqual([]);
    expect(runEvent(d, ev({ eventName: "PutBucketLifecycle", requestParameters: rp("build-cache", 7) }))).toEqual([]);
  });

  test("fires on GuardDuty, Config, flow log, DNS log and organisation evasions", () => {
    const cases: Array<[string, string, Record<string, unknown> | null, string]> = [
      ["DeleteDetector", "guardduty.amazonaws.com", { detectorId: "abc" }, "high"],
      ["UpdateDetector", "guardduty.amazonaws.com", { detectorId: "abc", enable: false }, "high"],
      ["StopConfigurationRecorder", "config.amazonaws.com", { configurationRecorderName: "default" }, "high"],
      ["DeleteDeliveryChannel", "config.amazonaws.com", { deliveryChannelName: "default" }, "high"],
      ["DeleteFlowLogs", "ec2.amazonaws.com", { DeleteFlowLogsRequest: { FlowLogId: { content: "fl-1", tag: 1 } } }, "high"],
      ["DeleteResolverQueryLogConfig", "route53resolver.amazonaws.com", { resolverQueryLogConfigId: "rqlc-1" }, "high"],
      ["LeaveOrganization", "organizations.amazonaws.com", null, "high"],
      ["DisableSecurityHub", "securityhub.amazonaws.com", {}, "high"],
      ["DisassociateWebACL", "wafv2.amazonaws.com", { ResourceArn: "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/web/1" }, "medium"],
      ["PutBucketLogging", "s3.amazonaws.com", { bucketName: "data", BucketLoggingStatus: { xmlns: "x" } }, "low"],
    ];
    for (const [name, src, rp, sev] of cases) {
      const [f] = runEvent(d, ev({ eventName: name, eventSource: src, requestParameters: rp }));
      expect(f?.severity, name).toBe(sev);
    }
  });

  test("stays quiet on GuardDuty enabled, logging turned on, and ordinary log groups", () => {
    expect(runEvent(d, ev({ eventName: "UpdateDetector", eventSource: "guardduty.amazonaws.com", requestParameters: { detectorId: "a", enable: true } }))).toEqual([]);
    expect(
      runEvent(
        d,
        ev({
          eventName: "PutBucketLogging",
          eventSource: "s3.amazonaws.com",
          requestParameters: { bucketName: "b", BucketLoggingStatus: { LoggingEnabled: { TargetBucket: "logs" } } },
        }),
      ),
    ).toEqual([]);
    expect(runEvent(d, ev({ eventName: "DeleteLogGroup", eventSource: "logs.amazonaws.com", requestParameters: { logGroupName: "/aws/lambda/my-fn" } }))).toEqual([]);
    expect(runEvent(d, ev({ eventName: "StartLogging", requestParameters: { name: "t" } }))).toEqual([]);
  });

  test("fires even when infrastructure as code stops logging (IaC never lowers tampering)", () => {
    const e = ev({ eventName: "StopLogging", requestParameters: { name: "t" }, userAgent: "APN/1.0 HashiCorp/1.0 Terraform/1.5.7", userIdentity: iamUser("ci") });
    expect(runEvent(d, e)[0]?.severity).toBe("high");
  });
});
