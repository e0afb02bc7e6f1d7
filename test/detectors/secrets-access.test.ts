import { describe, expect, test } from "vitest";
import { secretsAccess as d } from "../../src/detectors/secrets-access.js";
import { assumedRole, ctxFor, ev, runEvent } from "../helpers/events.js";

describe("secrets-access", () => {
  test("fires medium on a first GetSecretValue by an identity with history", () => {
    const e = ev({ eventName: "GetSecretValue", userIdentity: assumedRole("App"), requestParameters: { secretId: "prod/db" } });
    const [f] = runEvent(d, e, ctxFor(e.principal, { history: { apis: ["s3:GetObject"] } }));
    expect(f?.severity).toBe("medium");
    expect(f?.why).toContain("never called secretsmanager:GetSecretValue");
  });

  test("fires on batch retrievals at cold start, high for a catch-all filter", () => {
    expect(runEvent(d, ev({ eventName: "BatchGetSecretValue", requestParameters: { filters: [{ key: "tag-key", values: ["!none"] }] } }))[0]?.severity).toBe("high");
    expect(runEvent(d, ev({ eventName: "BatchGetSecretValue", requestParameters: { secretIdList: ["a", "b"] } }))[0]?.severity).toBe("medium");
  });

  test("fires medium on one GetParameters call decrypting many SecureStrings", () => {
    const names = Array.from({ length: 6 }, (_, i) => `/creds/${i}`);
    expect(runEvent(d, ev({ eventName: "GetParameters", requestParameters: { names, withDecryption: true } }))[0]?.severity).toBe("medium");
  });

  test("fires on GetPasswordData and low-and-failed on a denied secret read", () => {
    expect(runEvent(d, ev({ eventName: "GetPasswordData", requestParameters: { instanceId: "i-1" } }))[0]?.severity).toBe("medium");
    expect(runEvent(d, ev({ eventName: "GetSecretValue", errorCode: "AccessDenied", requestParameters: { secretId: "x" } }))[0]).toMatchObject({ failed: true });
  });

  test("stays quiet on an application's usual reads, single cold-start reads, plain parameters and IaC refreshes", () => {
    const e = ev({ eventName: "GetSecretValue", userIdentity: assumedRole("App"), requestParameters: { secretId: "prod/db" } });
    expect(runEvent(d, e, ctxFor(e.principal, { history: { apis: ["secretsmanager:GetSecretValue"] } }))).toEqual([]);
    expect(runEvent(d, e)).toEqual([]);
    expect(runEvent(d, ev({ eventName: "GetParameters", requestParameters: { names: ["a", "b", "c", "d", "e", "f"] } }))).toEqual([]);
    expect(
      runEvent(
        d,
        ev({ eventName: "GetParameters", userAgent: "APN/1.0 HashiCorp/1.0 Terraform/1.5.7", requestParameters: { names: ["a", "b", "c", "d", "e", "f"], withDecryption: true } }),
      ),
    ).toEqual([]);
  });
});
