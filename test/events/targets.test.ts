/**
 * What a read call's targets are (src/events/targets.ts): KMS keys beside secrets and parameters.
 */
import { describe, expect, test } from "vitest";
import { keyName, readsTargets, targetsOf } from "../../src/events/targets.js";

const arn = "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";

describe("targets of KMS key reads", () => {
  test("a Decrypt names its key from the record's resources (raw ARN or normalised arn), without request parameters", () => {
    expect(targetsOf("Decrypt", null, { resources: [{ ARN: arn, accountId: "111111111111", type: "AWS::KMS::Key" }] })).toEqual([
      "key:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ]);
    expect(targetsOf("Decrypt", { encryptionContext: {} }, { resources: [{ arn }] })).toEqual(["key:" + keyName(arn)]);
  });

  test("GenerateDataKey and ReEncrypt fall back to keyId / sourceKeyId; duplicates count once", () => {
    expect(targetsOf("GenerateDataKey", { keyId: arn, keySpec: "AES_256" })).toEqual(["key:" + keyName(arn)]);
    expect(targetsOf("GenerateDataKey", { keyId: "alias/app" })).toEqual(["key:alias/app"]);
    expect(targetsOf("ReEncrypt", { sourceKeyId: arn }, { resources: [{ ARN: arn }, { ARN: arn }] })).toEqual(["key:" + keyName(arn)]);
  });

  test("stays quiet for a service acting on the caller's behalf, for resources that are not KMS keys, and for Encrypt", () => {
    expect(targetsOf("Decrypt", null, { resources: [{ ARN: arn }], viaService: true })).toEqual([]);
    expect(targetsOf("Decrypt", null, { resources: [{ ARN: "arn:aws:s3:::bucket/key/x" }, "junk", null] })).toEqual([]);
    expect(targetsOf("Encrypt", { keyId: arn })).toEqual([]);
    expect(readsTargets("Decrypt", "s3.amazonaws.com")).toBe(false);
    expect(readsTargets("Decrypt")).toBe(true);
    expect(readsTargets("GetSecretValue", "lambda.amazonaws.com")).toBe(true);
  });

  test("secrets and parameters are read as before", () => {
    expect(targetsOf("GetSecretValue", { secretId: "arn:aws:secretsmanager:us-east-1:1:secret:prod/db-AbCdEf" })).toEqual(["secret:prod/db"]);
    expect(targetsOf("GetSecretValue", null)).toEqual([]);
  });
});
