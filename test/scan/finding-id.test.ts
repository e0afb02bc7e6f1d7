import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { findingId } from "../../src/scan/findings.js";

describe("findingId", () => {
  it("is F and the first 15 hex digits of the sha256 of detector, identity and fingerprint joined by NUL", () => {
    const parts = ["new-source-network", "role:111122223333:Deploy", "country", "BR", "person", "nina"];
    const want = "F" + createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 15);
    expect(findingId(parts[0]!, parts[1]!, parts.slice(2))).toBe(want);
    // Stored findings keep their ids across versions: a known value.
    expect(findingId("root-activity", "root:123456789012", [])).toBe("F32fa8dd9783cc7d");
  });
});
