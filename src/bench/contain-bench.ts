/**
 * Containment latency: `npm run bench:contain` (builds, then `node dist/bench/contain-bench.js`).
 *
 * The real bot (startBot: Bolt HTTP receiver, signatures, access checks) with containment on, a
 * fake Slack, and IAM and STS answered by a local HTTP server (src/testing/iam-fake.ts) reached by
 * the real SDK clients through AWS_ENDPOINT_URL_IAM / _STS. Each round: a signed click on
 * Contain… until the plan modal is shown (views.update), then a signed confirmation until the fake
 * IAM has set the key Inactive. The person's reading time between the two is not counted.
 *
 * Options: --rounds N (default 20).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { loadConfig } from "../config.js";
import { silentLogger } from "../log.js";
import { startBot } from "../main.js";
import type { Finding } from "../scan/report-types.js";
import { findingBlocks } from "../slack/views/finding.js";
import type { ScanService } from "../slack/ports.js";
import { TrailStore } from "../store/store.js";
import { numArg } from "./cli-args.js";
import { FakeSlack } from "../testing/fake-slack.js";
import { FakeIam, FakeSts } from "../testing/iam-fake.js";
import { formEncode, postSigned } from "../testing/slack-wire.js";

const SECRET = "benchsecretbenchsecret0123456789";
const TEAM = "T0BENCH";
const ACCOUNT = "111111111111";
const R = "U0RESP";

function serve(handle: (body: string) => { status: number; body: string; headers: Record<string, string> }): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r = handle(Buffer.concat(chunks).toString("utf8"));
      res.writeHead(r.status, r.headers);
      res.end(r.body);
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

function finding(i: number, key: string): Finding {
  return {
    id: `Fbench${String(i).padStart(10, "0")}`,
    detector: "new-source-network",
    title: "Access key used from a new network",
    severity: "critical",
    score: 90,
    identity: { key: `user:${ACCOUNT}:user${i}`, type: "IAMUser", arn: `arn:aws:iam::${ACCOUNT}:user/user${i}`, userName: `user${i}`, accountId: ACCOUNT },
    sourceIp: "203.0.113.9",
    region: "eu-west-1",
    eventIds: [`ev-${i}`],
    firstSeen: "2026-12-06T03:00:00.000Z",
    lastSeen: "2026-12-06T03:00:00.000Z",
    count: 1,
    why: "bench",
    attack: [],
    investigate: [],
    falsePositives: [],
    failed: false,
    evidence: { key },
  };
}

async function main(): Promise<void> {
  const rounds = numArg("rounds", 20);
  const iam = new FakeIam();
  const sts = new FakeSts(ACCOUNT);
  const iamServer = await serve((b) => iam.handle(b));
  const stsServer = await serve((b) => sts.handle(b));
  process.env.AWS_ENDPOINT_URL_IAM = `http://127.0.0.1:${(iamServer.address() as AddressInfo).port}`;
  process.env.AWS_ENDPOINT_URL_STS = `http://127.0.0.1:${(stsServer.address() as AddressInfo).port}`;
  process.env.AWS_ACCESS_KEY_ID = "AKIDBENCH";
  process.env.AWS_SECRET_ACCESS_KEY = "bench-secret";
  process.env.AWS_REGION = "us-east-1";
  const fake = await new FakeSlack().start();
  fake.team = TEAM;
  const store = TrailStore.memory();
  const config = loadConfig({
    SLACK_BOT_TOKEN: "xoxb-bench",
    SLACK_SIGNING_SECRET: SECRET,
    PORT: "0",
    SLACK_API_URL: fake.apiUrl,
    TRAILHOUND_TEAM_ID: TEAM,
    TRAILHOUND_VIEWERS: "*",
    TRAILHOUND_RESPONDERS: R,
    TRAILHOUND_RESPONDER_ROLE_ARNS: `arn:aws:iam::${ACCOUNT}:role/TrailhoundResponder`,
  });
  const scans: ScanService = { scan: () => Promise.reject(new Error("no scans in this bench")) };
  // The key of each finding's events: what CloudTrail LookupEvents would return (read-only, not timed apart).
  const events = {
    async find(f: Finding, ids: readonly string[]) {
      const key = String(f.evidence?.key);
      return { records: ids.map((id) => ({ eventID: id, userIdentity: { type: "IAMUser", userName: f.identity.userName, accessKeyId: key } })), missing: [], problems: [] };
    },
  };
  const bot = await startBot(config, { store, scans, log: silentLogger, clientOptions: { retryConfig: { retries: 0 } }, respond: { events } });
  const url = `http://127.0.0.1:${bot.port}/slack/events`;
  const post = (payload: unknown) => postSigned(url, formEncode({ payload: JSON.stringify(payload) }), SECRET);

  const toPlan: number[] = [];
  const toInactive: number[] = [];
  let inactiveAt = 0;
  iam.onCall = (c) => {
    if (c.action === "UpdateAccessKey" && c.params.Status === "Inactive" && c.status === 200) inactiveAt = performance.now();
  };
  for (let i = 0; i < rounds; i++) {
    const key = `AKIABENCH${String(i).padStart(11, "0")}`;
    const f = finding(i, key);
    iam.addKey(f.identity.userName!, key);
    await store.recordFindings([f], Date.now());
    const ts = `1700000000.${String(i).padStart(6, "0")}`;
    const click = {
      type: "block_actions",
      user: { id: R, username: "r", name: "r", team_id: TEAM },
      api_app_id: "A0",
      token: "t",
      container: { type: "message", message_ts: ts, channel_id: "C0SEC", is_ephemeral: false },
      trigger_id: `1.2.${i}`,
      team: { id: TEAM, domain: "bench" },
      channel: { id: "C0SEC", name: "sec" },
      message: { type: "message", text: "finding", ts, blocks: findingBlocks(f, 0, { status: "open", containable: true }) },
      state: { values: {} },
      response_url: fake.responseUrl(`c${i}`),
      actions: [{ action_id: "finding_contain", block_id: "fnd:0:a", value: f.id, type: "button", action_ts: "1" }],
    };
    const updatesBefore = fake.of("views.update").length;
    const t0 = performance.now();
    await post(click);
    const upd = await fake.waitFor((c) => c.filter((x) => x.method === "views.update")[updatesBefore], 10_000, "the plan");
    const t1 = performance.now();
    toPlan.push(t1 - t0);
    const view = upd.args.view as { private_metadata: string };
    const submit = {
      type: "view_submission",
      team: { id: TEAM, domain: "bench" },
      user: { id: R, username: "r", name: "r", team_id: TEAM },
      api_app_id: "A0",
      token: "t",
      trigger_id: `1.3.${i}`,
      view: {
        id: String(upd.args.view_id),
        team_id: TEAM,
        type: "modal",
        callback_id: "contain_modal",
        private_metadata: view.private_metadata,
        blocks: [],
        state: {
          values: {
            cnt_action: { cnt_action_sel: { type: "radio_buttons", selected_option: { value: "deactivate-key" } } },
            cnt_mode: { cnt_mode_sel: { type: "checkboxes", selected_options: [] } },
          },
        },
      },
    };
    inactiveAt = 0;
    const t2 = performance.now();
    await post(submit);
    const deadline = Date.now() + 10_000;
    while (inactiveAt === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    if (inactiveAt === 0 || iam.keyStatus(f.identity.userName!, key) !== "Inactive") throw new Error(`round ${i}: the key did not go inactive`);
    toInactive.push(inactiveAt - t2);
  }
  await bot.stop();
  await fake.stop();
  iamServer.close();
  stsServer.close();
  const f1 = (x: number) => x.toFixed(1);
  const total = toPlan.map((x, i) => x + toInactive[i]!);
  process.stdout.write(
    [
      `containment latency, ${rounds} rounds (real bot over HTTP, real IAM/STS SDK clients, local IAM/STS fake)`,
      `  click Contain… -> plan modal shown:     p50 ${f1(pct(toPlan, 50))} ms, p90 ${f1(pct(toPlan, 90))} ms, max ${f1(Math.max(...toPlan))} ms`,
      `  confirm -> key Inactive at IAM:         p50 ${f1(pct(toInactive, 50))} ms, p90 ${f1(pct(toInactive, 90))} ms, max ${f1(Math.max(...toInactive))} ms`,
      `  both (without the reading time):        p50 ${f1(pct(total, 50))} ms, p90 ${f1(pct(total, 90))} ms`,
      `  IAM calls: ${iam.calls.length} (ListAccessKeys + UpdateAccessKey per round); STS AssumeRole: ${sts.calls.filter((c) => c.action === "AssumeRole").length} (cached credentials)`,
    ].join("\n") + "\n",
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:contain failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
