// Child process of crash.test.ts: opens the store (a transpiled copy of src/store) and loops
// recording findings and acknowledging them, printing "ACK <id>" once each acknowledgement has
// resolved, i.e. is reported durable. The parent kills it with SIGKILL at a random instant.
// Usage: node crash-child.mjs <store module URL> <dir> <run>
const [, , moduleUrl, dir, runArg] = process.argv;
const { TrailStore } = await import(moduleUrl);
const run = Number(runArg);
const HOUR = 3_600_000;
const base = Date.UTC(2024, 5, 1);

function profile(key, n) {
  const dims = { api: {}, service: {}, ip: {}, network: {}, country: {}, region: {}, ua: {}, session: {}, errorCode: {} };
  for (let i = 0; i < n; i++) dims.api[`DescribeThing${i}`] = [i + 0.25, 0, base - i * HOUR, base + i * 1000];
  for (let i = 0; i < 20; i++) dims.ip[`10.0.${run % 250}.${i}`] = [3, 0, base, base + i];
  return {
    v: 1, key, type: "AssumedRole", first: base - 40 * 86_400_000, last: base + run, trainedUntil: base + run,
    events: 1000 + run, errors: 3, denied: 1, days: [19800, 19801], hours: new Array(24).fill(1.5), weekdays: new Array(7).fill(2),
    dims, hourly: [[476000, 12, 0]], breadth: [4, 10],
  };
}

function finding(id) {
  return {
    id, detector: "new-api", title: "First use", severity: "medium", score: 50,
    identity: { key: `role:1:R${run}`, type: "AssumedRole" }, sourceIp: "203.0.113.9", eventIds: ["e1"],
    firstSeen: new Date(base).toISOString(), lastSeen: new Date(base).toISOString(), count: 1,
    why: "crash test", attack: [], investigate: [], falsePositives: [], failed: false,
  };
}

const store = await TrailStore.open(dir);
if (store.getBaselines().size === 0) {
  await store.putBaselines(Array.from({ length: 150 }, (_, i) => profile(`role:1:seed${i}`, 60)));
}
process.stdout.write("READY\n");
for (let i = 0; ; i++) {
  const ids = [0, 1, 2].map((k) => `r${run}-${i}-${k}`);
  await store.recordFindings(ids.map(finding), base + i);
  await Promise.all(
    ids.map((id, k) => store.acknowledge(id, `U${run}-${k}`, base + i).then(() => process.stdout.write(`ACK ${id}\n`))),
  );
  if (i % 3 === 0) await store.putBaselines([profile(`role:1:seed${(run * 7 + i) % 150}`, 40 + (i % 40))]);
}
