import { describe, it, expect } from "vitest";
import { FastLane } from "../../src/ingest/fast-lane.js";
import type { Ingest } from "../../src/ingest/ingest.js";
import { nativeWalk } from "../../src/ingest/native-walk.js";
import { F_RES, fieldAt, indexRecordsJs } from "../../src/ingest/record-bytes.js";
import { ingest, parsedIngest, summary as dimSummary, T0 } from "./helpers.js";

const KEY = (id: string) => `arn:aws:kms:us-east-1:111122223333:key/${id}`;

/**
 * KMS key reads of one user (all before the window: they only train), as JSON text so that keys
 * may repeat and strings carry escapes. `extra` is spliced into each record after its eventID.
 */
const CASES: Array<[string, string]> = [
  ["Decrypt", `"resources":[{"accountId":"111122223333","type":"AWS::KMS::Key","ARN":"${KEY("k1")}"}]`],
  ["GenerateDataKey", `"resources":[{"ARN":"${KEY("k2")}"},{"arn":"${KEY("k3")}"},{"ARN":"${KEY("k2")}"}]`],
  // Not an array: no key from resources, the keyId names it.
  ["Decrypt", `"resources":{"ARN":"${KEY("k4")}"},"requestParameters":{"keyId":"${KEY("k5")}","encryptionContext":{"a":"b"}}`],
  // Nested arrays, nulls, numbers: only objects directly in the array count.
  ["Decrypt", `"resources":[[{"ARN":"${KEY("k6")}"}],null,7,{"ARN":{"x":"${KEY("k7")}"}},{"ARN":"${KEY("k8")}"}]`],
  // A duplicated key: the last one wins, as JSON.parse says.
  ["Decrypt", `"resources":[{"ARN":"${KEY("k9")}"}],"eventType":"AwsApiCall","resources":[{"ARN":"${KEY("k10")}"}]`],
  // Escaped strings in the ARN (the walk only gives the span; JSON.parse decodes it).
  ["Decrypt", `"resources":[{"ARN":"arn:aws:kms:us-east-1:111122223333:key\\/k\\u0031\\u0031"},{"A\\u0052N":"${KEY("k12")}"}]`],
  // No KMS key ARN in resources: the request parameters name the keys.
  ["ReEncrypt", `"resources":[{"ARN":"arn:aws:s3:::bucket"}],"requestParameters":{"sourceKeyId":"${KEY("k13")}","destinationKeyId":"${KEY("k14")}"}`],
  ["GenerateDataKeyPair", `"requestParameters":{"keyId":["alias/k15","${KEY("k16")}"]}`],
  ["Decrypt", `"resources":null,"requestParameters":null`],
  ["Decrypt", `"resources":"${KEY("k17")}","requestParameters":{"keyId":"alias/k18"}`],
  // The usual form in another partition: the key as targetsOf names it.
  ["Decrypt", `"resources":[{"accountId":"111122223333","type":"AWS::KMS::Key","ARN":"arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/k19"}]`],
  // The usual form naming no key (an alias, an empty partition): the request parameters name it.
  ["Decrypt", `"resources":[{"ARN":"arn:aws:kms:us-east-1:111122223333:alias/k20"}],"requestParameters":{"keyId":"${KEY("k21")}"}`],
  ["GenerateDataKey", `"resources":[{"type":"AWS::KMS::Key","ARN":"arn::kms:us-east-1:111122223333:key/k22"}],"requestParameters":{"keyId":"alias/k23"}`],
];

function doc(hour: number): Buffer {
  const records = CASES.map(([name, extra], k) => {
    const time = new Date(T0 + hour * 3_600_000 + k * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
    return (
      `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/kim","accountId":"111122223333"},` +
      `"eventTime":"${time}","eventSource":"kms.amazonaws.com","eventName":"${name}","awsRegion":"us-east-1",` +
      `"sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2.15.0","eventID":"id-${hour}-${k}",${extra},"recipientAccountId":"111122223333"}`
    );
  });
  return Buffer.from(`{"Records":[${records.join(",")}]}`);
}

/** Per identity: events, and the values (with counts) of its API and target dimensions. */
const summary = (ing: Ingest) => dimSummary(ing, ["api", "target"]);

describe("KMS key reads on the fast lane", () => {
  const files = [doc(1), doc(2), doc(3)];

  it("name the same keys as the full path, and take the lane", () => {
    const lane = ingest();
    const fl = new FastLane(lane);
    for (const b of files) expect(fl.deliver(b, "f")).toBe(CASES.length);
    fl.release();
    const full = parsedIngest(files);
    const want = summary(full);
    expect(summary(lane)).toEqual(want);
    // The full path's targets, spelled out: the cases above are read as intended.
    const targets = Object.keys((Object.values(want)[0] as { target: Record<string, number> }).target).sort();
    const k = (id: string) => `key:us-east-1:111122223333:key/${id}`;
    expect(targets).toEqual(
      ["k1", "k10", "k11", "k12", "k13", "k16", "k2", "k21", "k3", "k5", "k8", "alias/k15", "alias/k18", "alias/k23"]
        .map((x) => (x.startsWith("alias/") ? `key:${x}` : k(x)))
        .concat(["key:us-gov-west-1:111122223333:key/k19"])
        .sort(),
    );
    // Every record took the lane (the first of the identity too: its userIdentity is parsed alone).
    expect(lane.fastLane).toBe(files.length * CASES.length);
    expect(full.fastLane).toBe(0);
  });

  it("the walks give the span of the last top-level resources, native and JavaScript alike", () => {
    const b = files[0]!;
    const js = indexRecordsJs(b)!;
    const spans = Array.from({ length: js.count }, (_, r) => {
      const at = fieldAt(r, F_RES);
      return js.meta[at]! < 0 ? undefined : b.toString("utf8", js.meta[at]!, js.meta[at + 1]!);
    });
    expect(spans[4]).toBe(`[{"ARN":"${KEY("k10")}"}]`);
    expect(spans[7]).toBeUndefined();
    expect(spans[8]).toBe("null");
    const parsed = (JSON.parse(b.toString("utf8")) as { Records: Array<{ resources?: unknown }> }).Records;
    for (const [r, s] of spans.entries()) expect(s === undefined ? undefined : JSON.parse(s)).toEqual(parsed[r]!.resources);
    if (!nativeWalk) return;
    const js2 = js.meta.slice();
    const m = new Int32Array(js.meta.length);
    const n = nativeWalk.walk(b, m, false);
    expect(n).toBe(js.count);
    for (let r = 0; r < n; r++) {
      const at = fieldAt(r, F_RES);
      expect([m[at], m[at] === -1 ? -1 : m[at + 1]]).toEqual([js2[at], js2[at] === -1 ? -1 : js2[at + 1]]);
    }
  });
});
