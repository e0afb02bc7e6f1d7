import { describe, expect, it } from "vitest";
import { profilesFromRows, recordFromRow, type Row } from "../../src/athena/results.js";
import { DEFAULT_BASELINE_CONFIG } from "../../src/baseline/profile.js";
import { StaticGeoResolver } from "../../src/geo/types.js";

describe("recordFromRow", () => {
  it("rebuilds camelCase records from Athena text: JSON documents parsed, booleans restored, NULLs left out", () => {
    const rec = recordFromRow({
      eventid: "e1",
      eventtime: "2024-01-01T00:00:00Z",
      readonly: "false",
      managementevent: "true",
      requestparameters: '{"userName":"bob","n":3}',
      responseelements: null,
      errorcode: "",
      useridentity: '{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/R/s","sessioncontext":{"sessionissuer":{"username":"R","accountid":"1"},"attributes":null}}',
      resources: '[{"arn":"arn:aws:s3:::b","accountid":"1","type":"AWS::S3::Bucket"}]',
      sessioncredentialfromconsole: "true",
    });
    expect(rec).toEqual({
      eventID: "e1",
      eventTime: "2024-01-01T00:00:00Z",
      readOnly: false,
      managementEvent: true,
      requestParameters: { userName: "bob", n: 3 },
      errorCode: "",
      userIdentity: { type: "AssumedRole", arn: "arn:aws:sts::1:assumed-role/R/s", sessionContext: { sessionIssuer: { userName: "R", accountId: "1" } } },
      resources: [{ ARN: "arn:aws:s3:::b", accountId: "1", type: "AWS::S3::Bucket" }],
      sessionCredentialFromConsole: "true",
    });
  });

  it("understands engines that cast a ROW to a positional JSON array", () => {
    const rec = recordFromRow({
      useridentity: '["IAMUser","AIDA1","arn:aws:iam::1:user/a","1",null,"AKIA1","a"]',
      resources: '[["arn:aws:s3:::b","1","AWS::S3::Bucket"]]',
    });
    expect(rec.userIdentity).toEqual({ type: "IAMUser", principalId: "AIDA1", arn: "arn:aws:iam::1:user/a", accountId: "1", accessKeyId: "AKIA1", userName: "a" });
    expect(rec.resources).toEqual([{ ARN: "arn:aws:s3:::b", accountId: "1", type: "AWS::S3::Bucket" }]);
  });

  it("a JSON column that is not JSON is left out rather than failing the scan", () => {
    expect(recordFromRow({ eventid: "x", requestparameters: "{oops" })).toEqual({ eventID: "x" });
  });
});

describe("profilesFromRows", () => {
  const row = (o: Partial<Row>): Row => ({
    ident: "user:1:a",
    dim: "total",
    value: null,
    n: "0",
    err: "0",
    den: "0",
    first_ms: "0",
    last_ms: "0",
    p_type: "IAMUser",
    breadth_max: null,
    breadth_buckets: null,
    ...o,
  });

  it("builds profiles; network and country come from public IPs through the geo resolver; caps apply", () => {
    const rows: Row[] = [
      row({ n: "10", err: "2", den: "1", first_ms: "1000", last_ms: "9000", breadth_max: "4", breadth_buckets: "7" }),
      row({ dim: "ip", value: "8.8.8.8", n: "6", err: "1", first_ms: "1000", last_ms: "5000" }),
      row({ dim: "ip", value: "1.1.1.1", n: "3", err: "0", first_ms: "2000", last_ms: "9000" }),
      row({ dim: "ip", value: "10.0.0.1", n: "1", err: "1", first_ms: "3000", last_ms: "3000" }),
      row({ dim: "hod", value: "13", n: "10" }),
      row({ dim: "dow", value: "2", n: "10" }),
      row({ dim: "day", value: "19000", n: "4" }),
      row({ dim: "day", value: "18999", n: "6" }),
      row({ dim: "hour", value: "456001", n: "4", err: "1" }),
      row({ dim: "hour", value: "456000", n: "6", err: "1" }),
    ];
    const geo = new StaticGeoResolver({
      "8.8.8.8": { asn: 64500, country: "NL" },
      "1.1.1.1": { asn: 64500, country: "DE" },
      "10.0.0.1": { asn: 1, country: "XX" },
    });
    const cfg = { ...DEFAULT_BASELINE_CONFIG, caps: { ...DEFAULT_BASELINE_CONFIG.caps, ip: 2 } };
    const p = profilesFromRows(rows, { trainedUntil: 9999, geo, baseline: cfg }).get("user:1:a")!;
    expect(p).toMatchObject({
      key: "user:1:a",
      type: "IAMUser",
      events: 10,
      errors: 2,
      denied: 1,
      first: 1000,
      last: 9000,
      trainedUntil: 9999,
      breadth: [4, 7],
      days: [18999, 19000],
    });
    expect(p.hours[13]).toBe(10);
    expect(p.weekdays[2]).toBe(10);
    expect(p.hourly).toEqual([
      [456000, 6, 1],
      [456001, 4, 1],
    ]);
    expect(p.dims.network).toEqual({ AS64500: [9, 1, 1000, 9000] });
    expect(p.dims.country).toEqual({ NL: [6, 1, 1000, 5000], DE: [3, 0, 2000, 9000] });
    // Capped to 2 IPs after the geo dimensions were derived from all of them.
    expect(Object.keys(p.dims.ip).sort()).toEqual(["1.1.1.1", "8.8.8.8"]);
  });
});
