import { describe, expect, test } from "vitest";
import { bedrockAbuse as d } from "../../src/detectors/bedrock-abuse.js";
import { assumedRole, ctxFor, ev, iamUser, runEvent } from "../helpers/events.js";

const bedrock = (eventName: string, requestParameters: Record<string, unknown> | null = null, ui = iamUser()) =>
  ev({ eventName, eventSource: "bedrock.amazonaws.com", requestParameters, userIdentity: ui });

describe("bedrock-abuse", () => {
  test("fires medium on model access requests and invocation-logging changes at cold start", () => {
    expect(runEvent(d, bedrock("PutUseCaseForModelAccess"))[0]?.severity).toBe("medium");
    expect(
      runEvent(d, bedrock("PutModelInvocationLoggingConfiguration", { loggingConfig: { s3Config: { bucketName: "logs" }, textDataDeliveryEnabled: true } }))[0]?.severity,
    ).toBe("medium");
  });

  test("fires high when invocation logging stops delivering everything", () => {
    const off = { loggingConfig: { textDataDeliveryEnabled: false, imageDataDeliveryEnabled: false, embeddingDataDeliveryEnabled: false } };
    expect(runEvent(d, bedrock("PutModelInvocationLoggingConfiguration", off))[0]?.severity).toBe("high");
  });

  test("fires medium on a first model invocation by an identity with history, and on a deleted guardrail", () => {
    const e = bedrock("InvokeModel", { modelId: "anthropic.claude-3-sonnet" }, assumedRole("Web"));
    expect(runEvent(d, e, ctxFor(e.principal, { history: { apis: ["s3:GetObject"] } }))[0]?.severity).toBe("medium");
    expect(runEvent(d, bedrock("DeleteGuardrail", { guardrailIdentifier: "g1" }))[0]?.severity).toBe("medium");
  });

  test("stays quiet on an application's model calls at cold start and on identities that use Bedrock", () => {
    expect(runEvent(d, bedrock("InvokeModel", { modelId: "m" }, assumedRole("App")))).toEqual([]);
    const e = bedrock("InvokeModel", { modelId: "m" }, assumedRole("App"));
    expect(runEvent(d, e, ctxFor(e.principal, { history: { apis: ["bedrock:InvokeModel"] } }))).toEqual([]);
    expect(runEvent(d, bedrock("ListGuardrails"))).toEqual([]);
  });
});
