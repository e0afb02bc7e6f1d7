/** Who is a person on a shared role (issue 16): Principal.person and the person's baseline key. */
import { describe, expect, test } from "vitest";
import { personKey, personOf, principalOf } from "../../src/events/normalize.js";
import { DAY, HOUR } from "../../src/baseline/profile.js";
import { Scanner } from "../../src/scan/scanner.js";
import { assumedRole, rawRecord } from "../helpers/events.js";

describe("personOf", () => {
  test("a session on an IAM Identity Center permission set is its user", () => {
    expect(personOf("AWSReservedSSO_Admin_0123", "Nina.Schmidt", undefined)).toBe("nina.schmidt");
    expect(personOf("AWSReservedSSO_Admin_0123", "nina", undefined)).toBe("nina");
  });
  test("an e-mail or first.last session name on any role (SAML, OIDC) is a person", () => {
    expect(personOf("Engineers", "nina@example.com", undefined)).toBe("nina@example.com");
    expect(personOf("Engineers", "nina.schmidt", undefined)).toBe("nina.schmidt");
  });
  test("machine-like session names never are, on any role", () => {
    for (const s of ["i-0a1b2c3d4e5f60718", "botocore-session-1717171717", "GitHubActions-12", "aws-go-sdk-1688990082523310002", "1717171717123", "terraform-run"])
      expect(personOf("AWSReservedSSO_Admin_0123", s, undefined), s).toBeUndefined();
    expect(personOf("deploy", "deployer", undefined)).toBeUndefined();
  });
  test("sourceIdentity names the person whatever the session name", () => {
    expect(personOf("deploy", "botocore-session-1717171717", "Nina@Example.com")).toBe("nina@example.com");
  });
  test("the principal carries it, read from sessionContext.sourceIdentity, and keys the person's baseline beside the role's", () => {
    const p = principalOf(assumedRole("deploy", "botocore-session-1", "111122223333", { sourceIdentity: "nina@example.com" }), undefined);
    expect(p.key).toBe("role:111122223333:deploy");
    expect(p.person).toBe("nina@example.com");
    expect(personKey(p)).toBe("person:111122223333:deploy:nina@example.com");
    expect(principalOf(assumedRole("deploy", "botocore-session-1"), undefined).person).toBeUndefined();
  });
});

describe("a person's baseline in the scan", () => {
  const W = Date.parse("2024-06-03T00:00:00Z");
  const rec = (session: string, t: number, i: number) =>
    rawRecord({ eventName: "DescribeInstances", userIdentity: assumedRole("AWSReservedSSO_Admin_0123", session), time: t, eventId: `p-${session}-${i}` });
  test("is persisted beside the role's (one more profile per person), and an older store without it still scans", () => {
    const records = [0, 1, 2, 3].flatMap((d) =>
      [0, 1, 2].flatMap((i) => [rec("nina@example.com", W - (d + 1) * DAY + i * HOUR, d * 10 + i), rec("i-0abc12345678def0", W - (d + 1) * DAY + i * HOUR, 100 + d * 10 + i)]),
    );
    const scan = (stored?: Map<string, unknown>) => {
      const s = new Scanner({ now: W + DAY, since: { kind: "absolute", at: W }, until: W + DAY - 1, ...(stored ? { storedProfile: (k: string) => stored.get(k) as never } : {}) });
      for (const r of records) s.record(r, "t");
      return s.finish();
    };
    const first = scan();
    const keys = first.profiles.map((p) => p.key).sort();
    expect(keys).toEqual(["person:111111111111:AWSReservedSSO_Admin_0123:nina@example.com", "role:111111111111:AWSReservedSSO_Admin_0123"]);
    const role = first.profiles.find((p) => p.key.startsWith("role:"))!;
    const nina = first.profiles.find((p) => p.key.startsWith("person:"))!;
    expect(role.events).toBe(24);
    expect(nina.events).toBe(12);
    // An older store: the role's profile only. The scan still runs, and the person starts learning.
    const older = new Map<string, unknown>([[role.key, role]]);
    const again = scan(older);
    expect(again.profiles.map((p) => p.key).sort()).toEqual(keys);
  });
});
