import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20000,
    hookTimeout: 20000,
    pool: "forks",
    // Four workers on two cores: many tests wait on child processes, sockets and locks, so two left the
    // cores half idle (npm test 185 s wall for 223 CPU-s on a quiet 2-core machine; 4 workers: vitest 112 s).
    maxWorkers: 4,
    // Every report a test builds is checked against schema/report.schema.json.
    setupFiles: ["test/setup/report-schema.ts"],
    // The binary ASN tables for the sources (test/setup/asn-tables.ts): resolvers do not parse the CSV.
    globalSetup: ["test/setup/asn-tables.ts"],
    // `npm test` runs everything but the slow tests; `npm run test:all` (CI) runs them too, through
    // `npm run test:slow` (scripts/test-slow.mjs: only the files that declare the tag).
    // Mark a test `it("...", { tags: ["slow"] }, ...)`, a whole file with a `// @module-tag slow` line.
    // Slow tests get more time: a busy 2-core machine (load average 18) ran the crash test past 60 s.
    tags: [{ name: "slow", description: "crash, SQL-equivalence, fuzz and long-history tests (npm run test:slow)", timeout: 180_000 }],
  },
});
