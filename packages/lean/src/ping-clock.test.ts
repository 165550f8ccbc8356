import { describe, expect, it } from "vitest";
import { PING_TICK_MS, PingClock } from "./ping-clock.js";

/** A clock whose time and interval the test moves. */
function fakeDeps() {
  const state = { now: 0, intervals: 0, cancels: 0, fire: undefined as (() => void) | undefined };
  return {
    state,
    deps: {
      now: () => state.now,
      every: (fn: () => void, ms: number) => {
        expect(ms).toBe(PING_TICK_MS);
        state.intervals++;
        state.fire = fn;
        return {
          cancel: () => {
            state.cancels++;
            state.fire = undefined;
          },
        };
      },
    },
    /** Moves time to `to`, firing the interval at each multiple of the tick on the way. */
    until: (to: number) => {
      for (let t = (Math.floor(state.now / PING_TICK_MS) + 1) * PING_TICK_MS; t <= to; t += PING_TICK_MS) {
        state.now = t;
        state.fire?.();
      }
    },
  };
}

describe("PingClock: every connection's pings on one interval", () => {
  it("runs each registration every period on its own phase, at most a tick late, on one interval", () => {
    const { state, deps, until } = fakeDeps();
    const clock = new PingClock(deps);
    const a: number[] = [];
    const b: number[] = [];
    clock.every(5000, () => a.push(state.now));
    state.now = 1100; // a second connection, joined between two ticks
    clock.every(5000, () => b.push(state.now));
    until(21_000);
    expect(a).toEqual([5000, 10_000, 15_000, 20_000]);
    // due at 6,100, 11,100 and 16,100: the tick after each
    expect(b).toEqual([6250, 11_250, 16_250]);
    expect(state.intervals).toBe(1);
  });

  it("stops a registration when told, and its interval when none is left", () => {
    const { state, deps, until } = fakeDeps();
    const clock = new PingClock(deps);
    let a = 0;
    let b = 0;
    const stopA = clock.every(1000, () => a++);
    const stopB = clock.every(1000, () => b++);
    until(2000);
    stopA();
    until(4000);
    expect([a, b]).toEqual([2, 4]);
    expect(state.cancels).toBe(0);
    stopB();
    expect(state.cancels).toBe(1);
    expect(clock.size).toBe(0);
    // a new registration starts the interval again
    clock.every(1000, () => a++);
    expect(state.intervals).toBe(2);
  });

  it("lets a registration stop itself while it runs (a ping timeout ends the connection)", () => {
    const { deps, until } = fakeDeps();
    const clock = new PingClock(deps);
    let runs = 0;
    let other = 0;
    const stop = clock.every(1000, () => {
      runs++;
      stop();
    });
    clock.every(1000, () => other++);
    until(3000);
    expect([runs, other]).toEqual([1, 3]);
  });

  it("sends one ping, not a burst, after the clock stood still past whole periods", () => {
    const { state, deps } = fakeDeps();
    const clock = new PingClock(deps);
    const at: number[] = [];
    clock.every(1000, () => at.push(state.now));
    state.now = 4500; // the loop held for 4.5 s
    state.fire?.();
    state.fire?.();
    state.now = 5250;
    state.fire?.();
    state.now = 5500;
    state.fire?.();
    expect(at).toEqual([4500, 5500]);
  });
});
