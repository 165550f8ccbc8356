import { afterEach, describe, expect, it } from "vitest";
import { LoopDelaySampler } from "./loop-delay.js";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Holds the event loop, as a handler that runs long would. */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

let sampler: LoopDelaySampler | undefined;
afterEach(() => sampler?.stop());

describe("LoopDelaySampler: the event loop's delay, as the 10 ms monitor reads it, in bursts", () => {
  it("reads a loop held during a burst as at least that late", async () => {
    sampler = new LoopDelaySampler(300, 1000);
    await sleep(40);
    block(150);
    await sleep(300);
    // the firing after the hold comes at least 150 ms after the one before it
    expect(sampler.take()).toBeGreaterThanOrEqual(150);
  });

  it("reads a firing as 10 ms plus its lateness, as the monitor does", async () => {
    sampler = new LoopDelaySampler(100, 1000);
    await sleep(150);
    const p99 = sampler.take();
    expect(p99).toBeDefined();
    // libuv never runs a timer early by a whole millisecond's rounding or more
    expect(p99).toBeGreaterThanOrEqual(9);
  });

  it("does not count the time between bursts as a firing's delay", async () => {
    sampler = new LoopDelaySampler(50, 1000);
    await sleep(100);
    sampler.take();
    // between bursts: the monitor kept its last firing's time over a pause and read the gap as delay
    block(600);
    await sleep(1100);
    const p99 = sampler.take();
    expect(p99).toBeDefined();
    expect(p99).toBeLessThan(600);
  });

  it("samples nothing once stopped", async () => {
    sampler = new LoopDelaySampler(100, 150);
    await sleep(50);
    sampler.stop();
    sampler.take();
    await sleep(400);
    expect(sampler.take()).toBeUndefined();
  });
});
