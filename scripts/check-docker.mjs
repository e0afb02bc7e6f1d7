#!/usr/bin/env node
// Checks the Dockerfile without a Docker daemon (`npm run check:docker`, part of `npm run test:all`):
//  1. its instructions: both stages on the Node LTS that CI tests (.ci/run), every COPY source in
//     the repository and not excluded by .dockerignore, ENTRYPOINT through tini, PORT and the
//     data directory set, a HEALTHCHECK;
//  2. the build stage's own RUN commands (but apt-get), run in a temporary directory holding only
//     what the COPY lines copy: npm ci, the TypeScript build, npm prune, the geo data pruning;
//  3. the runtime stage's files (its COPY --from=build lines) in another directory, where the
//     entrypoint runs: --version, a scan of the bundled sample (production dependencies and
//     pruned geo data only), `serve` with an unchanged .env.example (a clear error, exit 2);
//  4. the HEALTHCHECK command against a local /healthz answering 200, then 503.
// What it cannot check here: the base images' contents, apt-get, tini itself, and signals to PID 1.
import { spawnSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const keep = process.argv.includes("--keep");
let failures = 0;
const ok = (m) => console.log(`check-docker: ok   ${m}`);
const fail = (m) => {
  failures++;
  console.log(`check-docker: FAIL ${m}`);
};
const check = (cond, m) => (cond ? ok(m) : fail(m));

// ---- 1. the instructions
const text = readFileSync(join(root, "Dockerfile"), "utf8").replace(/\\\n/g, " ");
const lines = text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
const stages = [];
for (const l of lines) {
  const [op, ...rest] = l.split(/\s+/);
  const arg = rest.join(" ");
  if (op === "FROM") stages.push({ from: arg, steps: [] });
  else stages.at(-1)?.steps.push({ op, arg });
}
check(stages.length === 2, `two stages (build, runtime): ${stages.map((s) => s.from).join(" | ")}`);
const ciNode = /NODE_LTS="\$\{TRAILHOUND_CI_NODE_VERSION:-(\d+)\./.exec(readFileSync(join(root, ".ci/run"), "utf8"))?.[1];
for (const s of stages) check(new RegExp(`^node:${ciNode}-`).test(s.from), `${s.from} is the Node major CI tests (${ciNode})`);
const engines = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).engines?.node ?? "";
check(Number(/(\d+)/.exec(engines)?.[1]) <= Number(ciNode), `package.json engines ${engines} admits Node ${ciNode}`);

const ignore = readFileSync(join(root, ".dockerignore"), "utf8")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#") && !l.startsWith("!"));
const ignored = (p) => ignore.some((g) => p === g || p.startsWith(g + "/") || (g.includes("*") && new RegExp("^" + g.replace(/[.]/g, "\\.").replace(/\*/g, "[^/]*") + "$").test(p)));
const [build, runtime] = stages;
const copies = build.steps.filter((s) => s.op === "COPY").map((s) => s.arg.split(/\s+/));
for (const parts of copies) {
  for (const src of parts.slice(0, -1)) {
    check(existsSync(join(root, src)) && !ignored(src), `COPY ${src}: in the repository, not in .dockerignore`);
  }
}
const entry = runtime.steps.find((s) => s.op === "ENTRYPOINT");
const entryArgv = entry ? JSON.parse(entry.arg) : [];
check(entryArgv[0] === "/usr/bin/tini" && entryArgv[1] === "--", `ENTRYPOINT runs under tini: ${entry?.arg}`);
const cmd = JSON.parse(runtime.steps.find((s) => s.op === "CMD")?.arg ?? "[]");
check(cmd[0] === "serve", `CMD ${JSON.stringify(cmd)}`);
const envLine = runtime.steps.filter((s) => s.op === "ENV").map((s) => s.arg).join(" ");
const imageEnv = Object.fromEntries([...envLine.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
check(imageEnv.PORT === "3000" && imageEnv.TRAILHOUND_DATA_DIR === "/data", `ENV PORT=${imageEnv.PORT} TRAILHOUND_DATA_DIR=${imageEnv.TRAILHOUND_DATA_DIR}`);
const health = runtime.steps.find((s) => s.op === "HEALTHCHECK");
check(health !== undefined, "HEALTHCHECK present");

// ---- 2. the build stage's commands, in a directory holding only what COPY copies
const tmp = mkdtempSync(join(tmpdir(), "th-docker-"));
const app = join(tmp, "build");
mkdirSync(app);
for (const parts of copies) {
  const dest = parts.at(-1);
  for (const src of parts.slice(0, -1)) {
    const to = dest.endsWith("/") || dest === "./" ? join(app, dest, src.split("/").pop()) : join(app, dest);
    cpSync(join(root, src), dest === "./" ? join(app, src) : to, { recursive: true });
  }
}
const sh = (command, cwd, env = {}) => {
  const t = Date.now();
  const r = spawnSync("sh", ["-c", command], { cwd, env: { ...process.env, ...env }, encoding: "utf8", maxBuffer: 64 << 20 });
  const out = (r.stdout + r.stderr).trim().split("\n").slice(-4).join("\n    ");
  check(r.status === 0, `RUN ${command} (${((Date.now() - t) / 1000).toFixed(0)} s)${r.status === 0 ? "" : "\n    " + out}`);
  return r;
};
for (const s of build.steps.filter((x) => x.op === "RUN")) {
  if (s.arg.startsWith("apt-get")) {
    ok(`skipped here (needs the base image): RUN ${s.arg.slice(0, 60)}...`);
    continue;
  }
  // Without the image's /usr/local headers, build against this machine's (as CI does).
  sh(s.arg, app, { npm_config_nodedir: process.env.npm_config_nodedir ?? "" });
}
const asnFiles = readdirSync(join(app, "node_modules/@ip-location-db/asn")).filter((f) => f.endsWith(".csv")).sort();
check(JSON.stringify(asnFiles) === JSON.stringify(["asn-ipv4-num.csv", "asn-ipv6.csv"]), `geo data pruned to the files read: ${asnFiles.join(", ")}`);
check(existsSync(join(app, "build/Release/record_walk.node")), "the native byte walk built (build/Release/record_walk.node)");
check(!existsSync(join(app, "node_modules/typescript")) && !existsSync(join(app, "node_modules/vitest")), "dev dependencies pruned");

// ---- 3. the runtime stage's files, and its entrypoint
const rt = join(tmp, "runtime");
mkdirSync(rt);
for (const s of runtime.steps.filter((x) => x.op === "COPY")) {
  const m = /--from=build(?:\s+--chown=\S+)?\s+(\S+)\s+(\S+)/.exec(s.arg);
  if (!m) {
    // From the build context (the repository), e.g. assets.
    const [src, dest] = s.arg.replace(/--chown=\S+\s+/, "").split(/\s+/);
    check(existsSync(join(root, src)) && !ignored(src), `COPY ${src}: in the repository, not in .dockerignore`);
    cpSync(join(root, src), join(rt, dest.replace(/^\.\//, "")), { recursive: true });
    continue;
  }
  const src = join(app, m[1].replace(/^\/app\/?/, ""));
  check(existsSync(src), `COPY --from=build ${m[1]}: produced by the build stage`);
  cpSync(src, m[2] === "./" ? join(rt, m[1].split("/").pop()) : join(rt, m[2].replace(/^\.\//, "")), { recursive: true });
}
const mb = (d) => {
  let n = 0;
  const walk = (p) => {
    const st = statSync(p);
    if (st.isDirectory()) for (const c of readdirSync(p)) walk(join(p, c));
    else n += st.size;
  };
  walk(d);
  return (n / 1e6).toFixed(0);
};
ok(`runtime files: ${mb(rt)} MB (node_modules ${mb(join(rt, "node_modules"))} MB)`);
const data = join(tmp, "data");
mkdirSync(data);
const node = (args, extraEnv = {}) =>
  spawnSync(process.execPath, ["dist/cli.js", ...args], {
    cwd: rt,
    env: { PATH: process.env.PATH, ...imageEnv, TRAILHOUND_DATA_DIR: data, ...extraEnv },
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
const v = node(["--version"]);
check(v.status === 0 && /^\d+\.\d+\.\d+/.test(v.stdout), `entrypoint --version: ${v.stdout.trim()}`);
const scan = node(["scan", "--input", join(root, "test/fixtures/invictus-aws"), "--no-progress"]);
let report;
try {
  report = JSON.parse(scan.stdout);
} catch {
  report = undefined;
}
check(scan.status === 0 && report?.findings?.length > 0, `entrypoint scan of the bundled sample: exit ${scan.status}, ${report?.findings?.length ?? 0} findings, JSON on a pipe${scan.status ? "\n    " + scan.stderr.slice(-400) : ""}`);
check(existsSync(join(data, "trailhound.json")), "the scan wrote its store to TRAILHOUND_DATA_DIR");
const geo = spawnSync(
  process.execPath,
  ["--input-type=module", "-e", 'const { OfflineGeoResolver } = await import("./dist/geo/offline.js"); const g = new OfflineGeoResolver({}); console.log(JSON.stringify([g.lookup("8.8.8.8"), g.lookup("2001:4860:4860::8888")]))'],
  { cwd: rt, encoding: "utf8" },
);
const [g4, g6] = geo.status === 0 ? JSON.parse(geo.stdout) : [];
check(g4?.country && g4?.asn && g6?.asn, `geography from the pruned data: 8.8.8.8 -> ${g4?.country} AS${g4?.asn}, 2001:4860:4860::8888 -> AS${g6?.asn}${geo.status ? "\n    " + geo.stderr.slice(-300) : ""}`);
// `cp .env.example .env && docker run --env-file .env trailhound`: unchanged, a clear error.
cpSync(join(root, ".env.example"), join(rt, ".env"));
const serve = node(["serve"]);
check(serve.status === 2 && /SLACK_BOT_TOKEN: missing/.test(serve.stderr) && !/\n\s+at /.test(serve.stderr), `serve with an unchanged .env.example: exit ${serve.status}, names SLACK_BOT_TOKEN, no stack trace`);

// ---- 4. the HEALTHCHECK command against a local /healthz
const hcArgv = JSON.parse(health.arg.replace(/^.*?CMD\s+/, ""));
let status = 200;
const server = createServer((_req, res) => {
  res.writeHead(status);
  res.end("{}");
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const port = String(server.address().port);
const runHc = () =>
  new Promise((r) => {
    const c = spawn(hcArgv[0] === "node" ? process.execPath : hcArgv[0], hcArgv.slice(1), { env: { ...process.env, PORT: port } });
    c.on("exit", (code) => r(code));
  });
check((await runHc()) === 0, "HEALTHCHECK: exit 0 when /healthz answers 200");
status = 503;
check((await runHc()) === 1, "HEALTHCHECK: exit 1 when /healthz answers 503");
server.close();

if (!keep) rmSync(tmp, { recursive: true, force: true });
else console.log(`check-docker: kept ${tmp}`);
console.log(failures ? `check-docker: ${failures} check(s) failed` : "check-docker: all checks passed");
process.exit(failures ? 1 : 0);
