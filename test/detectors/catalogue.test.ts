/**
 * The detector catalogue's own rules (see src/detectors/index.ts):
 *
 * - every detector id is unique;
 * - every file in src/detectors (other than index.ts, types.ts and lib/) exports a registered
 *   detector whose id is the file name;
 * - every registered detector has complete metadata (title, description, severity, ATT&CK ids,
 *   investigation steps, known false positives);
 * - every registered detector has a test file test/detectors/<id>.test.ts with at least one test
 *   whose name starts with "fires" and one whose name starts with "stays quiet" (the convention:
 *   `test("fires ...")` asserts a finding, `test("stays quiet ...")` asserts none);
 * - every registered detector says which events it cites and why (`cites`), and keeps a table of
 *   cases (test/detectors/tables/<id>.ts) with a firing and a quiet case; the shared runner checks
 *   that every event a firing case's findings cite is one of its anomalous records;
 * - event detectors select something (eventNames or select), and the selection that other
 *   detectors rely on is in place (ConsoleLogin candidates for console-login-failures).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, test } from "vitest";
import { SEVERITIES } from "../../src/events/types.js";
import { DETECTORS } from "../../src/detectors/index.js";
import type { Detector } from "../../src/detectors/types.js";
import { ev, selects } from "../helpers/events.js";
import type { Table } from "./tables/runner.js";

const SRC = join(import.meta.dirname, "..", "..", "src", "detectors");
const TESTS = import.meta.dirname;
const detectorFiles = readdirSync(SRC).filter((f) => f.endsWith(".ts") && f !== "index.ts" && f !== "types.ts");

function isDetector(v: unknown): v is Detector {
  return typeof v === "object" && v !== null && "id" in v && "kind" in v && "detect" in v;
}

describe("detector catalogue", () => {
  test("fires on a duplicated id (the check itself), stays quiet on the real registry", () => {
    const dup = (list: readonly Detector[]) => list.map((d) => d.id).filter((id, i, all) => all.indexOf(id) !== i);
    expect(dup([...DETECTORS, DETECTORS[0]!])).toEqual([DETECTORS[0]!.id]);
    expect(dup(DETECTORS)).toEqual([]);
  });

  test.each(detectorFiles)("%s exports a registered detector whose id is the file name", async (file) => {
    const id = basename(file, ".ts");
    const mod = (await import(join(SRC, file))) as Record<string, unknown>;
    const exported = Object.values(mod).filter(isDetector);
    expect(exported.length, `${file} exports no detector`).toBeGreaterThan(0);
    for (const d of exported) expect(d.id, `${file} exports detector ${d.id}`).toBe(id);
    const registered = DETECTORS.find((d) => d.id === id);
    expect(registered, `${id} is not registered in src/detectors/index.ts`).toBeDefined();
    expect(exported).toContain(registered);
  });

  test("every registered detector lives in a file named after its id", () => {
    for (const d of DETECTORS) expect(existsSync(join(SRC, `${d.id}.ts`)), d.id).toBe(true);
  });

  test.each(DETECTORS.map((d) => [d.id, d] as const))("%s has complete metadata", (_id, d) => {
    expect(d.title.trim().length).toBeGreaterThan(3);
    expect(d.description.trim().length).toBeGreaterThan(20);
    expect(SEVERITIES).toContain(d.severity);
    expect(d.attack.length).toBeGreaterThan(0);
    for (const a of d.attack) expect(a).toMatch(/^T\d{4}(\.\d{3})?$/);
    expect(d.investigate.length).toBeGreaterThan(0);
    expect(d.falsePositives.length).toBeGreaterThan(0);
    for (const s of [...d.investigate, ...d.falsePositives]) expect(s.trim().length).toBeGreaterThan(5);
    if (d.kind === "event") expect(d.eventNames !== undefined || d.select !== undefined).toBe(true);
  });

  test.each(DETECTORS.map((d) => d.id))("%s has a test file with a firing and a quiet test", (id) => {
    const file = join(TESTS, `${id}.test.ts`);
    expect(existsSync(file), `missing ${file}`).toBe(true);
    const src = readFileSync(file, "utf8");
    expect(src, `${id}: no test("fires ...")`).toMatch(/\b(test|it)(\.each\([^)]*\))?\(\s*["'`]fires\b/);
    expect(src, `${id}: no test("stays quiet ...")`).toMatch(/\b(test|it)(\.each\([^)]*\))?\(\s*["'`]stays quiet\b/);
  });

  test.each(DETECTORS.map((d) => [d.id, d] as const))("%s says which events it cites and why", (_id, d) => {
    expect(d.cites.trim().length).toBeGreaterThan(20);
  });

  // Each detector keeps a table of cases (test/detectors/tables/<id>.ts) run by the shared runner
  // (tables.test.ts), which checks for every firing case that each cited event is one of the case's
  // anomalous records. Here: every detector has a table with a firing case and a quiet case.
  test.each(DETECTORS.map((d) => [d.id, d] as const))("%s has a table with a firing case (with its anomaly) and a quiet case", async (id, d) => {
    const file = join(TESTS, "tables", `${id}.ts`);
    expect(existsSync(file), `missing ${file}`).toBe(true);
    const { table } = (await import(file)) as { table: Table };
    expect(table.detector).toBe(d);
    const firing = table.cases.filter((c) => c.expect !== null);
    expect(firing.length, `${id}: no firing case`).toBeGreaterThan(0);
    for (const c of firing) expect((c.anomalous ?? []).length, `${id} / ${c.name}: a firing case names its anomalous records`).toBeGreaterThan(0);
    expect(
      table.cases.some((c) => c.expect === null),
      `${id}: no quiet case`,
    ).toBe(true);
  });

  test("events that window and global detectors count are selected as candidates", () => {
    // console-login-failures reads ConsoleLogin candidates; bulk-sensitive-actions counts these targets.
    const needed = [
      ev({ eventName: "ConsoleLogin", responseElements: { ConsoleLogin: "Failure" } }),
      ev({ eventName: "GetSecretValue", requestParameters: { secretId: "s" } }),
      ev({ eventName: "GetParameters", requestParameters: { names: ["a"], withDecryption: true } }),
      ev({ eventName: "GetPasswordData", requestParameters: { instanceId: "i-1" } }),
      ev({ eventName: "DescribeInstanceAttribute", requestParameters: { instanceId: "i-1", attribute: "userData" } }),
      ev({ eventName: "SendCommand", requestParameters: { instanceIds: ["i-1"] } }),
      ev({ eventName: "StartSession", requestParameters: { target: "i-1" } }),
      ev({ eventName: "SendSSHPublicKey", eventSource: "ec2-instance-connect.amazonaws.com", requestParameters: { instanceId: "i-1" } }),
      ev({ eventName: "InvokeModel", eventSource: "bedrock.amazonaws.com", requestParameters: { modelId: "m" } }),
      ev({ eventName: "PutObject", requestParameters: { bucketName: "b", key: "k", "x-amz-server-side-encryption-customer-algorithm": "AES256" } }),
      ev({ eventName: "AttachRolePolicy", requestParameters: { roleName: "r", policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" } }),
      ev({ eventName: "AddRoleToInstanceProfile", eventSource: "iam.amazonaws.com", requestParameters: { roleName: "r", instanceProfileName: "p" } }),
      ev({ eventName: "CreateFunction20150331", requestParameters: { functionName: "f", role: "arn:aws:iam::1:role/r" } }),
    ];
    for (const e of needed)
      expect(
        DETECTORS.some((d) => d.kind === "event" && selects(d, e)),
        e.eventName,
      ).toBe(true);
  });
});
