// Child process of lock.test.ts: opens the store (a transpiled copy of src/store) and acknowledges
// the findings named on the command line one after another, printing "ACK <id>" once each is
// durable and "FAIL <id> <code>/<reason>" when it was refused. TRAILHOUND_FAULT applies.
// Usage: node lock-child.mjs <store module URL> <dir> <lockTimeoutMs> <id>...
const [, , moduleUrl, dir, timeoutArg, ...ids] = process.argv;
const { TrailStore } = await import(moduleUrl);
const store = await TrailStore.open(dir, { lockTimeoutMs: Number(timeoutArg) });
process.stdout.write("READY\n");
for (const id of ids) {
  try {
    await store.acknowledge(id, `U-${process.pid}`, Date.UTC(2024, 5, 2));
    process.stdout.write(`ACK ${id}\n`);
  } catch (e) {
    process.stdout.write(`FAIL ${id} ${e.code ?? "?"}/${e.reason ?? "-"}\n`);
  }
}
await store.close().catch(() => undefined);
