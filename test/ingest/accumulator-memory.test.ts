import { describe, expect, it } from "vitest";
import { IdentityAcc, MAX_CANDIDATES, MAX_GEO_POINTS } from "../../src/ingest/accumulator.js";
import { floorBucket } from "../../src/ingest/window.js";
import type { EventFacts, TrailEvent } from "../../src/events/types.js";

const DAY = 86_400_000;

/** One event a minute for `days` days, through a moving one-day window, as the ingest does. */
function feed(days: number): { acc: IdentityAcc; maxCandidates: number; maxGeo: number; last: number } {
  const acc = new IdentityAcc({ key: "user:111122223333:alice", type: "IAMUser" }, -Infinity);
  const start = Date.UTC(2024, 0, 1);
  let maxCandidates = 0,
    maxGeo = 0,
    last = start;
  for (let i = 0; i < days * 1440; i++) {
    const t = start + i * 60_000;
    const name = i % 10 === 0 ? "GetSecretValue" : "DescribeInstances";
    const ev: EventFacts = {
      id: `event-${i}`,
      time: t,
      api: name === "GetSecretValue" ? "secretsmanager:GetSecretValue" : "ec2:DescribeInstances",
      eventName: name,
      region: "eu-west-1",
      sourceIp: `198.51.100.${i % 3}`,
      ipKind: "public",
      uaFamily: "aws-cli/2",
      failed: false,
      denied: false,
      requestParameters: null,
      principal: {},
    };
    acc.add(ev, undefined, true, floorBucket(t - DAY), i % 10 === 0 ? (ev as unknown as TrailEvent) : undefined);
    maxCandidates = Math.max(maxCandidates, acc.candidates.length);
    maxGeo = Math.max(maxGeo, acc.geo.length);
    last = t;
  }
  return { acc, maxCandidates, maxGeo, last };
}

describe("the accumulator's memory follows the moving window, not the events read", () => {
  it("drops candidates and geo points that fell out of the window long before the caps, and keeps every one inside it", () => {
    const { acc, maxCandidates, maxGeo, last } = feed(20);
    const wStart = floorBucket(last - DAY);
    const w = acc.toWindow(wStart, last, () => undefined);
    // Every candidate inside the final window, in order: nothing inside it was dropped.
    const expected: string[] = [];
    for (let i = 0; i < 20 * 1440; i += 10) {
      const t = Date.UTC(2024, 0, 1) + i * 60_000;
      if (t >= wStart) expected.push(`event-${i}`);
    }
    expect(w.candidates.map((c) => c.id)).toEqual(expected);
    expect(w.dropped).toEqual({ candidates: 0, geo: 0 });
    // One geo point per address and minute inside the window.
    expect(w.geo.length).toBe(Math.round((last - wStart) / 60_000) + 1);
    // 20 days read, one in the window: the lists held at most about twice the window's share
    // (without pruning: 2,880 candidates, and geo points up to the cap).
    expect(expected.length).toBeLessThan(150);
    expect(maxCandidates).toBeLessThanOrEqual(2 * expected.length + 64);
    expect(maxCandidates).toBeLessThan(MAX_CANDIDATES);
    expect(maxGeo).toBeLessThanOrEqual(2 * w.geo.length + 64);
    expect(maxGeo).toBeLessThan(MAX_GEO_POINTS / 1.5);
  });
});

describe("kept candidate events", () => {
  it("share an equal principal (same fields, same order) and keep a different one apart, values unchanged", () => {
    const acc = new IdentityAcc({ key: "role:1:Deploy", type: "AssumedRole" }, -Infinity);
    const t0 = Date.UTC(2024, 0, 1);
    const principal = (session: string) => ({ key: "role:1:Deploy", type: "AssumedRole", arn: "arn:aws:iam::1:role/Deploy", sessionName: session });
    const evs: TrailEvent[] = [];
    for (let i = 0; i < 4; i++) {
      const ev = {
        id: `ev-${i}`,
        time: t0 + i * 60_000,
        api: "iam:CreateUser",
        eventName: "CreateUser",
        rawEventName: "CreateUser",
        eventSource: "iam.amazonaws.com",
        eventType: "AwsApiCall",
        region: "us-east-1",
        sourceIp: "10.0.0.1",
        ipKind: "private",
        userAgent: "aws-cli/2",
        uaFamily: "aws-cli/2",
        failed: false,
        denied: false,
        requestParameters: null,
        responseElements: null,
        additionalEventData: null,
        principal: principal(i < 3 ? "s1" : "s2"),
      } as unknown as TrailEvent;
      evs.push(ev);
      acc.add(ev, undefined, true, t0 - DAY, ev);
    }
    const w = acc.toWindow(t0 - DAY, t0 + 3 * 60_000, () => undefined);
    expect(w.candidates.map((c) => c.id)).toEqual(["ev-0", "ev-1", "ev-2", "ev-3"]);
    expect(w.candidates.map((c) => c.principal)).toEqual([principal("s1"), principal("s1"), principal("s1"), principal("s2")]);
    expect(w.candidates[1]!.principal).toBe(w.candidates[0]!.principal);
    expect(w.candidates[2]!.principal).toBe(w.candidates[0]!.principal);
    expect(w.candidates[3]!.principal).not.toBe(w.candidates[0]!.principal);
  });
});
