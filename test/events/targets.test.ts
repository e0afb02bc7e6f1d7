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

  test("a key ARN is read as /^arn:[^:]+:kms:[^:]*:[^:]*:key\\// and /^arn:[^:]+:kms:(.*)$/ read it", () => {
    const t = (a: string) => targetsOf("Decrypt", null, { resources: [{ ARN: a }] });
    expect(t("arn::kms:r:1:key/x")).toEqual([]); // an empty partition
    expect(t("arn:aws:kms:r:1:alias/x")).toEqual([]);
    expect(t("arn:aws:kms:r:key/x")).toEqual([]); // one colon short
    expect(t("arn:aws:kms::\n:key/x")).toEqual(["key:" + "arn:aws:kms::\n:key/x"]); // `.` stops at line terminators: the whole ARN
    expect(t("arn:aws:kms:r:1:key/x\u2028")).toEqual(["key:arn:aws:kms:r:1:key/x\u2028"]);
    expect(t("arn:a\nb:kms:r:1:key/x")).toEqual(["key:r:1:key/x"]);
    expect(keyName("arn:aws:kms:r:1:key/x\r")).toBe("arn:aws:kms:r:1:key/x\r");
    expect(keyName("arn:aws:kms:")).toBe("");
    expect(keyName("arn:aws:s3:::b")).toBe("arn:aws:s3:::b");
    expect(targetsOf("Decrypt", null, { resources: [{ ARN: arn }, { arn }, { ARN: arn + "2" }] })).toEqual(["key:" + keyName(arn), "key:" + keyName(arn) + "2"]);
  });

  test("secrets and parameters are read as before", () => {
    expect(targetsOf("GetSecretValue", { secretId: "arn:aws:secretsmanager:us-east-1:1:secret:prod/db-AbCdEf" })).toEqual(["secret:prod/db"]);
    expect(targetsOf("GetSecretValue", null)).toEqual([]);
  });
});
