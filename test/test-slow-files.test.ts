/**
 * `npm run test:slow` (scripts/test-slow.mjs) runs only the files that declare the slow tag, found
 * by a pattern: a slow tag written some other way would run in neither suite. Every test file that
 * mentions a "slow" string next to a tag must match the script's pattern.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";

const SCRIPT = readFileSync("scripts/test-slow.mjs", "utf8");
const SLOW = new RegExp(/const SLOW = \/(.*)\/;/.exec(SCRIPT)![1]!);

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? testFiles(p) : p.endsWith(".test.ts") ? [p] : [];
  });
}

it("every file that tags a test slow is one the slow run picks", () => {
  const files = testFiles("test");
  const tagging = files.filter((f) => /tag[^\n]{0,80}["'`]slow["'`]|@module-tag\s+slow/.test(readFileSync(f, "utf8")));
  expect(tagging.length).toBeGreaterThan(10);
  expect(tagging.filter((f) => !SLOW.test(readFileSync(f, "utf8")))).toEqual([]);
  expect(SLOW.test('it("x", { tags: ["slow"] }, () => {})')).toBe(true);
  expect(SLOW.test("// @module-tag slow")).toBe(true);
  expect(SLOW.test('it("x", { tags: ["fast"] }, () => {})')).toBe(false);
});
