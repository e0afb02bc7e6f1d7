import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20000,
    hookTimeout: 20000,
    pool: "forks",
    // `npm test` runs everything but the slow tests; `npm run test:all` (CI) runs them too.
    // Mark a test `it("...", { tags: ["slow"] }, ...)`, a whole file with a `// @module-tag slow` line.
    // Slow tests get more time: a busy 2-core machine runs them several times slower than a quiet one.
    tags: [{ name: "slow", description: "crash, SQL-equivalence, fuzz and long-history tests (npm run test:slow)", timeout: 120_000 }],
  },
});
