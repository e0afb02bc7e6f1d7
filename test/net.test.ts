/**
 * HTTPS_PROXY / NO_PROXY for AWS and Slack clients, and the messages of expected network
 * failures. A local proxy records what it is asked and refuses; nothing leaves the machine.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { Agent, setGlobalDispatcher, WebSocket } from "undici";
import { webApi } from "@slack/bolt";
import { sdkStsFactory } from "../src/sources/aws-accounts.js";
import { awsRequestHandler, installProxyFromEnv, proxySettings, proxyUnsupported, slackDispatcher } from "../src/net.js";
import { networkProblem } from "../src/net-errors.js";

let proxy: Server;
let proxyUrl = "";
const asked: string[] = [];
let direct: Server;
let directUrl = "";
const directHits: string[] = [];
const saved = { ...process.env };

beforeAll(async () => {
  proxy = createServer((req, res) => {
    asked.push(`${req.method} ${req.url}`);
    res.writeHead(502).end();
  });
  proxy.on("connect", (req, socket) => {
    asked.push(`CONNECT ${req.url}`);
    socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  direct = createServer((req, res) => {
    directHits.push(`${req.method} ${req.url}`);
    res.writeHead(200, { "content-type": "text/xml" });
    res.end(
      '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::111122223333:user/t</Arn><UserId>AIDA</UserId><Account>111122223333</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>',
    );
  });
  await new Promise<void>((r) => direct.listen(0, "127.0.0.1", r));
  directUrl = `http://127.0.0.1:${(direct.address() as AddressInfo).port}`;
});
afterAll(async () => {
  proxy.close();
  direct.close();
});
afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
  asked.length = 0;
  directHits.length = 0;
  setGlobalDispatcher(new Agent());
});

function awsEnv(extra: Record<string, string>) {
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: "AKIDTEST", AWS_SECRET_ACCESS_KEY: "secret", AWS_MAX_ATTEMPTS: "1", ...extra });
  for (const k of ["AWS_PROFILE", "https_proxy", "http_proxy", "no_proxy"]) delete process.env[k];
}

describe("proxy settings", () => {
  it("nothing set: AWS clients and Slack keep their defaults", () => {
    expect(proxySettings({})).toBeUndefined();
    expect(awsRequestHandler({ requestTimeout: 1 }, {})).toEqual({ requestTimeout: 1 });
    expect(slackDispatcher({})).toBeUndefined();
    expect(proxySettings({ https_proxy: "http://p:3128", no_proxy: ".internal" })).toEqual({ HTTPS_PROXY: "http://p:3128", NO_PROXY: ".internal" });
  });

  it("a Node without the proxyEnv agent option (before 22.21, 23, 24 before 24.5) refuses a proxy setting instead of ignoring it", () => {
    for (const v of ["22.21.0", "22.23.5", "24.5.0", "25.0.0", "26.10.0"]) expect(proxyUnsupported(v), v).toBeUndefined();
    for (const v of ["22.20.0", "23.11.1", "24.4.1", "20.19.0"]) expect(proxyUnsupported(v), v).toMatch(/cannot send AWS requests through a proxy.*22\.21.*24\.5/);
    expect(proxyUnsupported()).toBeUndefined(); // this Node
    const engines = (JSON.parse(readFileSync("package.json", "utf8")) as { engines: { node: string } }).engines.node;
    expect(engines).toBe("^22.21.0 || >=24.5.0");
  });

  it("AWS: STS goes through HTTPS_PROXY; a refusal is told with the setting to check", async () => {
    awsEnv({ HTTPS_PROXY: proxyUrl });
    const sts = sdkStsFactory({ region: "eu-west-1" } as Parameters<typeof sdkStsFactory>[0]);
    const err = await sts.getCallerIdentity(new AbortController().signal).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(asked).toEqual(["CONNECT sts.eu-west-1.amazonaws.com:443"]);
    expect(networkProblem(err)).toMatch(/proxy .*HTTPS_PROXY=http:\/\/127\.0\.0\.1/);
  });

  it("AWS: a host in NO_PROXY is reached directly", async () => {
    awsEnv({ HTTPS_PROXY: proxyUrl, HTTP_PROXY: proxyUrl, NO_PROXY: "127.0.0.1", AWS_ENDPOINT_URL: directUrl });
    const sts = sdkStsFactory({ region: "eu-west-1" } as Parameters<typeof sdkStsFactory>[0]);
    expect(await sts.getCallerIdentity(new AbortController().signal)).toMatchObject({ account: "111122223333" });
    expect(asked).toEqual([]);
    expect(directHits).toHaveLength(1);
  });

  /** An AWS config with a role_arn profile and an SSO profile whose cached token is valid. */
  async function awsProfiles(): Promise<string> {
    const home = await mkdtemp(join(tmpdir(), "th-proxy-home-"));
    const startUrl = "https://example.awsapps.com/start";
    await mkdir(join(home, ".aws", "sso", "cache"), { recursive: true });
    await writeFile(
      join(home, ".aws", "config"),
      [
        "[profile base]",
        "aws_access_key_id = AKIDBASE",
        "aws_secret_access_key = secret",
        "[profile viarole]",
        "role_arn = arn:aws:iam::111122223333:role/TrailhoundRead",
        "source_profile = base",
        "region = eu-west-1",
        "[profile viasso]",
        `sso_start_url = ${startUrl}`,
        "sso_region = eu-west-1",
        "sso_account_id = 111122223333",
        "sso_role_name = TrailhoundRead",
        "region = eu-west-1",
        "",
      ].join("\n"),
    );
    const key = createHash("sha1").update(startUrl).digest("hex");
    await writeFile(
      join(home, ".aws", "sso", "cache", `${key}.json`),
      JSON.stringify({ accessToken: "t", expiresAt: new Date(Date.now() + 3_600_000).toISOString(), region: "eu-west-1", startUrl }),
    );
    for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "https_proxy", "http_proxy", "no_proxy"])
      delete process.env[k];
    Object.assign(process.env, { HOME: home, AWS_CONFIG_FILE: join(home, ".aws", "config"), AWS_EC2_METADATA_DISABLED: "true", AWS_MAX_ATTEMPTS: "1" });
    return home;
  }

  it("AWS: the credential chain's own calls go through the proxy too (a profile's role_arn: STS AssumeRole; SSO: GetRoleCredentials)", async () => {
    const home = await awsProfiles();
    try {
      process.env.HTTPS_PROXY = proxyUrl;
      for (const [profile, host] of [
        ["viarole", "sts.eu-west-1.amazonaws.com:443"],
        ["viasso", "portal.sso.eu-west-1.amazonaws.com:443"],
      ] as const) {
        asked.length = 0;
        const sts = sdkStsFactory({ region: "eu-west-1", profile });
        const err = await sts.getCallerIdentity(new AbortController().signal).then(
          () => undefined,
          (e: unknown) => e,
        );
        // The credentials are fetched first, through the proxy; the refusal stops there.
        expect(asked, profile).toEqual([`CONNECT ${host}`]);
        expect(networkProblem(err) ?? String(err), profile).toMatch(/proxy/);
      }
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it("Slack: the Web API client's fetch and the Socket Mode WebSocket go through the proxy", async () => {
    process.env.HTTPS_PROXY = proxyUrl;
    expect(installProxyFromEnv()).toBe(true);
    const client = new webApi.WebClient("xoxb-test", { retryConfig: { retries: 0 } });
    const err = await client.auth.test().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(asked).toEqual(["CONNECT slack.com:443"]);
    expect(networkProblem(err)).toMatch(/proxy/);
    asked.length = 0;
    const ws = new WebSocket("wss://wss-primary.slack.com/link/?ticket=t", { dispatcher: slackDispatcher()! });
    await new Promise((r) => ws.addEventListener("error", r));
    expect(asked).toEqual(["CONNECT wss-primary.slack.com:443"]);
  });
});

describe("networkProblem", () => {
  const wrap = (inner: object) => Object.assign(new Error("could not identify the AWS account (STS GetCallerIdentity: ...)"), { code: "unavailable", cause: inner });
  it("names what failed and what to check, through wrapped causes", () => {
    expect(
      networkProblem(wrap(Object.assign(new Error("getaddrinfo ENOTFOUND sts.us-east-1.amazonaws.com"), { code: "ENOTFOUND", hostname: "sts.us-east-1.amazonaws.com" })), {}),
    ).toMatch(/^cannot resolve sts\.us-east-1\.amazonaws\.com \(DNS ENOTFOUND\): .*AWS_REGION.*HTTPS_PROXY if this network needs a proxy/);
    expect(
      networkProblem(wrap(Object.assign(new Error("connect ECONNREFUSED 10.0.0.1:3128"), { code: "ECONNREFUSED", address: "10.0.0.1", port: 3128 })), {
        HTTPS_PROXY: "http://10.0.0.1:3128",
      }),
    ).toBe("the proxy at 10.0.0.1:3128 refused the connection (ECONNREFUSED): check HTTPS_PROXY=http://10.0.0.1:3128");
    expect(networkProblem({ name: "ServiceUnavailableException", $metadata: { httpStatusCode: 503 } }, {})).toMatch(/endpoint is down or failing \(HTTP 503/);
    // The Slack SDK keeps the cause in `original`.
    expect(networkProblem({ code: "slack_webapi_request_error", original: { code: "ETIMEDOUT", hostname: "slack.com" } }, {})).toMatch(/^no answer from slack\.com \(ETIMEDOUT\)/);
    expect(networkProblem(new Error("something else"), {})).toBeUndefined();
  });

  it("says the proxy's answer once, and points at the settings of the service that failed", () => {
    const tunnel = Object.assign(new Error("Failed to establish tunnel to sts.us-east-1.amazonaws.com:443 via http://p:3128: HTTP/1.1 403 Forbidden"), {
      code: "ERR_PROXY_TUNNEL",
    });
    const outer = Object.assign(new Error(`could not identify the AWS account (STS GetCallerIdentity: Error (ERR_PROXY_TUNNEL): ${tunnel.message})`), {
      code: "unavailable",
      cause: tunnel,
    });
    expect(networkProblem(outer, { HTTPS_PROXY: "http://p:3128" })).toBe(
      "the proxy refused the connection (HTTP/1.1 403 Forbidden): check the proxy HTTPS_PROXY=http://p:3128 (and NO_PROXY)",
    );
    const dns = (hostname: string) => Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND", hostname });
    const slack = networkProblem({ code: "slack_webapi_request_error", original: { cause: dns("slack.com") } }, {})!;
    expect(slack).toMatch(/^cannot resolve slack\.com .*SLACK_API_URL/);
    expect(slack).not.toMatch(/AWS_REGION/);
    const aws = networkProblem(dns("bucket.s3.eu-west-1.amazonaws.com"), {})!;
    expect(aws).toMatch(/AWS_REGION/);
    expect(aws).not.toMatch(/SLACK_API_URL/);
    // A refusal by a host that is not the proxy (NO_PROXY sent it direct) is the endpoint's.
    const refused = (address: string, port: number) => Object.assign(new Error(`connect ECONNREFUSED ${address}:${port}`), { code: "ECONNREFUSED", address, port });
    expect(networkProblem(refused("10.1.2.3", 443), { HTTPS_PROXY: "http://proxy.corp:3128" })).toMatch(/^10\.1\.2\.3:443 refused the connection .*endpoint is down/);
    expect(networkProblem(refused("127.0.0.1", 3128), { HTTPS_PROXY: "http://localhost:3128" })).toMatch(/^the proxy at 127\.0\.0\.1:3128 refused/);
  });
});

describe("the CLI on an expected network failure", () => {
  it("STS unreachable: one clear message with the setting to check, no stack trace, exit 2", async () => {
    const { main } = await import("../src/cli.js");
    const { vi } = await import("vitest");
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    awsEnv({ AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` });
    let stderr = "";
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((c: string | Uint8Array) => {
      stderr += String(c);
      return true;
    });
    let code: number;
    try {
      code = await main(["node", "trailhound", "scan", "--regions", "us-east-1", "--no-store", "--no-geo", "--since", "1h"]);
    } finally {
      spy.mockRestore();
      process.exitCode = undefined;
    }
    expect(code).toBe(2);
    expect(stderr).toMatch(/^trailhound: could not identify the AWS account \(STS GetCallerIdentity/);
    expect(stderr).toMatch(/refused the connection \(ECONNREFUSED\): .*check AWS_ENDPOINT_URL/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});

describe("the bot on an expected network failure", () => {
  it("Slack unreachable at start: what failed underneath and the setting to check, a config error (exit 2)", async () => {
    const { startBot } = await import("../src/main.js");
    const { loadConfig } = await import("../src/config.js");
    const { TrailStore } = await import("../src/store/store.js");
    const { silentLogger } = await import("../src/log.js");
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const config = loadConfig({ SLACK_BOT_TOKEN: "xoxb-t", SLACK_APP_TOKEN: "xapp-1-A0TEST-1-abc", SLACK_API_URL: `http://127.0.0.1:${port}/api/` });
    const store = TrailStore.memory();
    const err = (await startBot(config, { store, scans: {} as never, log: silentLogger, clientOptions: { retryConfig: { retries: 0 } } }).then(
      () => undefined,
      (e: unknown) => e,
    )) as Error & { code?: string };
    expect(err.code).toBe("config");
    expect(err.message).toMatch(
      /^Could not reach Slack at http:\/\/127\.0\.0\.1:\d+\/api\/ to check the token \(.*\): 127\.0\.0\.1:\d+ refused the connection \(ECONNREFUSED\): .*check AWS_ENDPOINT_URL \/ SLACK_API_URL if set/,
    );
  });
});
