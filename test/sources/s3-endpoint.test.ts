/**
 * The S3 client honours AWS_ENDPOINT_URL_S3 like every SDK client (issue 21): the default client
 * of an S3 source, built with no endpoint of its own, lists and reads a trail bucket served by a
 * local S3 (127.0.0.1) named only by that variable.
 */
import { gzipSync } from "node:zlib";
import nock from "nock";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { S3Source } from "../../src/sources/s3.js";
import { FakeS3Server } from "../../src/testing/aws-fake-servers.js";
import { iamUser, rawRecord } from "../helpers/events.js";

const BUCKET = "org-trail-bucket";
const KEY = "AWSLogs/o-ab12cd34ef/111111111111/CloudTrail/eu-west-1/2026/12/06/111111111111_CloudTrail_eu-west-1_20261206T1020Z_nTGkKkyO0OcwEIvv.json.gz";

let server: FakeS3Server;
beforeAll(async () => {
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
  server = await new FakeS3Server(BUCKET).start();
});
afterAll(async () => {
  nock.enableNetConnect();
  await server.stop();
});
afterEach(() => vi.unstubAllEnvs());

describe("AWS_ENDPOINT_URL_S3", () => {
  it("sends the S3 source's listings and downloads to the endpoint it names", async () => {
    vi.stubEnv("AWS_ENDPOINT_URL_S3", server.url);
    vi.stubEnv("AWS_ACCESS_KEY_ID", "AKIDTEST");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "secret");
    vi.stubEnv("AWS_PROFILE", "");
    vi.stubEnv("AWS_MAX_ATTEMPTS", "1");
    server.put(KEY, gzipSync(JSON.stringify({ Records: [rawRecord({ eventName: "ListBuckets", userIdentity: iamUser("bob"), time: Date.parse("2026-12-06T10:15:00Z") })] })));
    const records: string[] = [];
    const res = await new S3Source({ url: `s3://${BUCKET}`, startTime: Date.parse("2026-12-06T10:00:00Z"), endTime: Date.parse("2026-12-06T11:00:00Z"), region: "eu-west-1" }).read(
      {
        record: (_r, origin) => void records.push(origin),
        skip: () => undefined,
      },
    );
    expect(res.partialReasons).toEqual([]);
    expect(records).toEqual([`s3://${BUCKET}/${KEY}`]);
    expect(server.stats.gets).toBe(1);
    expect(server.stats.lists).toBeGreaterThan(0);
    // When it landed, for the alert latency (Last-Modified).
    expect(res.coverage?.arrivals).toHaveLength(1);
  });
});
