import { describe, expect, it } from "vitest";
import { AthenaConfigError, athenaDdl, columnsFor, parseS3Url } from "../../src/athena/schema.js";
import { COMMERCIAL_REGIONS } from "../../src/sources/aws-regions.js";

describe("trailhound athena ddl", () => {
  const ddl = athenaDdl({ location: "s3://my-trail-bucket/team", accounts: ["111111111111", "222222222222"], database: "security", table: "cloudtrail_logs" });

  it("creates the CloudTrail table with partition projection on account, region and day", () => {
    expect(ddl).toMatch(/^CREATE EXTERNAL TABLE IF NOT EXISTS security\.cloudtrail_logs \(/);
    expect(ddl).toContain("PARTITIONED BY (account string, region string, `timestamp` string)");
    expect(ddl).toContain("ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'");
    expect(ddl).toContain("STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'");
    expect(ddl).toContain("LOCATION 's3://my-trail-bucket/team/AWSLogs/'");
    expect(ddl).toContain("'projection.enabled'='true'");
    expect(ddl).toContain("'projection.account.type'='enum'");
    expect(ddl).toContain("'projection.account.values'='111111111111,222222222222'");
    expect(ddl).toContain(`'projection.region.values'='${COMMERCIAL_REGIONS.join(",")}'`);
    expect(ddl).toContain("'projection.timestamp.type'='date'");
    expect(ddl).toContain("'projection.timestamp.format'='yyyy/MM/dd'");
    expect(ddl).toContain("'projection.timestamp.range'='2020/01/01,NOW'");
    expect(ddl).toContain("'storage.location.template'='s3://my-trail-bucket/team/AWSLogs/${account}/CloudTrail/${region}/${timestamp}'");
    expect(ddl.trimEnd().endsWith(");")).toBe(true);
  });

  it("has the columns of docs/CLOUDTRAIL.md section 6 (JSON names lowercased, JSON documents as STRING)", () => {
    for (const c of [
      "eventversion STRING",
      "eventtime STRING",
      "eventsource STRING",
      "eventname STRING",
      "awsregion STRING",
      "sourceipaddress STRING",
      "useragent STRING",
      "errorcode STRING",
      "errormessage STRING",
      "requestparameters STRING",
      "responseelements STRING",
      "additionaleventdata STRING",
      "serviceeventdetails STRING",
      "eventid STRING",
      "readonly STRING",
      "recipientaccountid STRING",
      "eventtype STRING",
    ])
      expect(ddl).toContain(`  ${c},`);
    const ui = /useridentity STRUCT<([\s\S]*?)>,\n {2}eventtime/.exec(ddl)![1]!;
    for (const f of [
      "type: STRING",
      "principalid: STRING",
      "arn: STRING",
      "accountid: STRING",
      "invokedby: STRING",
      "accesskeyid: STRING",
      "username: STRING",
      "onbehalfof: STRUCT<",
      "sessioncontext: STRUCT<",
      "attributes: STRUCT<",
      "mfaauthenticated: STRING",
      "creationdate: STRING",
      "sessionissuer: STRUCT<",
      "ec2roledelivery: STRING",
      "webidfederationdata: STRUCT<",
    ])
      expect(ui).toContain(f);
    expect(ddl).toMatch(/resources ARRAY<STRUCT<\s+arn: STRING,\s+accountid: STRING,\s+type: STRING>>/);
    expect(ddl).toMatch(/tlsdetails STRUCT<\s+tlsversion: STRING,\s+ciphersuite: STRING,\s+clientprovidedhostheader: STRING>/);
  });

  it("organisation trails: AWSLogs/<org id>/<account>/", () => {
    const org = athenaDdl({ location: "s3://org-trail/", orgId: "o-abcdef1234", accounts: ["111111111111"] });
    expect(org).toContain("'storage.location.template'='s3://org-trail/AWSLogs/o-abcdef1234/${account}/CloudTrail/${region}/${timestamp}'");
    expect(org).toMatch(/^CREATE EXTERNAL TABLE IF NOT EXISTS cloudtrail_logs \(/);
    // A location that already names AWSLogs/<org>/ is understood.
    const same = athenaDdl({ location: "s3://org-trail/AWSLogs/o-abcdef1234/", accounts: ["111111111111"] });
    expect(same).toBe(org);
  });

  it("regions and the first day can be narrowed", () => {
    const d = athenaDdl({ location: "s3://b1b", accounts: ["111111111111"], regions: ["us-east-1", "eu-west-1"], since: "2024/01/01" });
    expect(d).toContain("'projection.region.values'='us-east-1,eu-west-1'");
    expect(d).toContain("'projection.timestamp.range'='2024/01/01,NOW'");
  });

  it("the 'aws' flavor leaves out trailhound's additions", () => {
    const d = athenaDdl({ location: "s3://b1b", accounts: ["111111111111"], flavor: "aws" });
    expect(d).not.toMatch(/identityprovider|managementevent|sourceidentity/);
    expect(columnsFor("aws").length).toBe(columnsFor("trailhound").length - 1);
  });

  it("rejects what Athena would reject later, saying what is expected", () => {
    const bad = (o: Partial<Parameters<typeof athenaDdl>[0]>) => () => athenaDdl({ location: "s3://bucket", accounts: ["111111111111"], ...o });
    expect(bad({ accounts: [] })).toThrow(/at least one account id/);
    expect(bad({ accounts: ["1234"] })).toThrow(/account id "1234": expected 12 digits/);
    expect(bad({ location: "https://bucket" })).toThrow(AthenaConfigError);
    expect(bad({ table: "Cloud-Trail" })).toThrow(/table "Cloud-Trail"/);
    expect(bad({ orgId: "org-1" })).toThrow(/organisation id/);
    expect(bad({ regions: ["mars-1"] })).toThrow(/region "mars-1"/);
    expect(bad({ since: "2024-01-01" })).toThrow(/yyyy\/MM\/dd/);
  });

  it("parses s3:// URLs", () => {
    expect(parseS3Url("s3://bucket")).toEqual({ bucket: "bucket", prefix: "" });
    expect(parseS3Url("s3://bucket/a/b")).toEqual({ bucket: "bucket", prefix: "a/b/" });
    expect(parseS3Url("s3://bucket//a/")).toEqual({ bucket: "bucket", prefix: "a/" });
    expect(() => parseS3Url("s3://Bucket")).toThrow(/bucket names/);
  });
});
