/**
 * The read worker's side of address locating (src/ingest/walk-off-thread.ts): with the default
 * resolver set up, a worker's first file goes without places (the main thread locates its
 * addresses, so its first records are not held back by the worker's first, slow lookups), and the
 * files after it carry the locations of the public addresses they bring, each address once.
 */
import { describe, expect, it } from "vitest";
import { nativeWalk } from "../../src/ingest/native-walk.js";
import { prepareOffThread, setupOffThread, type WalkedFile } from "../../src/ingest/walk-off-thread.js";
import { rawRecord } from "../helpers/events.js";

function file(ips: string[]): Uint8Array {
  return Buffer.from(JSON.stringify({ Records: ips.map((ip, i) => ({ ...rawRecord({ eventName: "ListBuckets", eventId: `${ip}-${i}` }), sourceIPAddress: ip })) }));
}

describe("read worker: locating source addresses", () => {
  it("sends no places with its first file, then each new public address of later files once", async (ctx) => {
    if (!nativeWalk) return ctx.skip();
    await setupOffThread({ geoEnv: {} });
    const first = prepareOffThread(file(["8.8.8.8", "1.1.1.1"])).result as WalkedFile;
    expect(first.count).toBe(2);
    expect(first.places).toBeUndefined();
    // A private address is never located; 8.8.8.8 twice is sent once.
    const second = prepareOffThread(file(["8.8.8.8", "10.0.0.1", "8.8.8.8", "9.9.9.9"])).result as WalkedFile;
    expect(second.count).toBe(4);
    expect(second.places?.ips).toEqual(["8.8.8.8", "9.9.9.9"]);
    expect(second.places?.base).toBe(0);
    expect(second.places?.fresh.length).toBeGreaterThan(0);
    // Met before (same intern generation): nothing more to send.
    const third = prepareOffThread(file(["9.9.9.9", "8.8.8.8"])).result as WalkedFile;
    expect(third.places).toBeUndefined();
  });
});
