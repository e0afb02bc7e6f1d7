/**
 * `docker stop` sends SIGTERM and kills after 10 s: the bot stops cleanly on SIGTERM, and gives up
 * (exit 1) after its grace if the stop hangs, always before Docker's SIGKILL. Fake timers, no waiting.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { installSignalHandlers, SHUTDOWN_GRACE_MS, type RunningBot } from "../src/main.js";
import { silentLogger } from "../src/log.js";

let before: { term: number; int: number };
beforeEach(() => {
  before = { term: process.listeners("SIGTERM").length, int: process.listeners("SIGINT").length };
  vi.useFakeTimers();
});
afterEach(() => {
  for (const l of process.listeners("SIGTERM").slice(before.term)) process.removeListener("SIGTERM", l);
  for (const l of process.listeners("SIGINT").slice(before.int)) process.removeListener("SIGINT", l);
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function fakeBot(stop: () => Promise<void>): RunningBot {
  return { stop } as unknown as RunningBot;
}

describe("SIGTERM (docker stop)", () => {
  it("the grace is under Docker's default 10 s", () => {
    expect(SHUTDOWN_GRACE_MS).toBeLessThan(10_000);
    expect(SHUTDOWN_GRACE_MS).toBeGreaterThanOrEqual(2_000);
  });

  it("a clean stop exits 0", async () => {
    const exit = vi.spyOn(process, "exit").mockImplementation((() => undefined) as never);
    const stop = vi.fn(() => Promise.resolve());
    installSignalHandlers(fakeBot(stop), silentLogger);
    process.emit("SIGTERM", "SIGTERM");
    await vi.advanceTimersByTimeAsync(0);
    expect(stop).toHaveBeenCalledTimes(1);
    expect(exit).toHaveBeenCalledWith(0);
  });

  it("a stop that hangs is given up after the grace (exit 1), not before", async () => {
    const exit = vi.spyOn(process, "exit").mockImplementation((() => undefined) as never);
    installSignalHandlers(
      fakeBot(() => new Promise<void>(() => {})),
      silentLogger,
    );
    process.emit("SIGTERM", "SIGTERM");
    await vi.advanceTimersByTimeAsync(SHUTDOWN_GRACE_MS - 1);
    expect(exit).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(exit).toHaveBeenCalledWith(1);
  });
});
