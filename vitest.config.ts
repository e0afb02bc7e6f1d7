import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20000,
    hookTimeout: 20000,
    pool: "forks",
    // `npm test` runs everything but the slow tests; `npm run test:all` (CI) runs them too.
    // Mark a test `it("...", { tags: ["slow"] }, ...)`, a whole file with a `// @module-tag slow` line.
    tags: [{ name: "slow", description: "crash, SQL-equivalence, fuzz and long-history tests (npm run test:slow)" }],
  },
});
