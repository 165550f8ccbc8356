import { describe, expect, it } from "vitest";
import { AbortWatch } from "./abort-watch.js";
import { Measurements } from "./measurements.js";
import { parseThreshold } from "./threshold.js";

const ctx = (participant: string, t: number) => ({
  t,
  room: "r",
  participant,
  role: "subscriber" as const,
  worker: 0,
});

function joins(...seconds: number[]): Measurements {
  const m = new Measurements();
  seconds.forEach((joinS, i) => {
    m.onEvent(ctx(`p${i}`, i * 100), { type: "joined", joinS });
  });
  return m;
}

describe("AbortWatch", () => {
  it("fires once a fail threshold has been breached for its whole abort window, then never again", () => {
    const t = parseThreshold("lkswarm_join_duration_seconds p95 < 1s abort=3s");
    const watch = new AbortWatch([t], joins(2.5));
    expect(watch.check(10_000)).toBeUndefined(); // breached since 10 s
    expect(watch.check(12_999)).toBeUndefined();
    expect(watch.check(13_000)).toBe(t);
    expect(watch.check(20_000)).toBeUndefined();
  });

  it("restarts the window when the threshold passes in between", () => {
    const t = parseThreshold("lkswarm_join_duration_seconds max < 1s abort=2s");
    const m = new Measurements();
    const watch = new AbortWatch([t], m);
    m.onEvent(ctx("a", 0), { type: "joined", joinS: 0.5 });
    expect(watch.check(0)).toBeUndefined(); // passing
    m.onEvent(ctx("b", 0), { type: "joined", joinS: 4 });
    expect(watch.check(1000)).toBeUndefined(); // breached since 1 s
    expect(watch.check(3000)).toBe(t);
  });

  it("ignores thresholds without abort= and those that pass", () => {
    const watch = new AbortWatch(
      [
        parseThreshold("lkswarm_join_duration_seconds p95 < 1s"),
        parseThreshold("lkswarm_join_duration_seconds p95 < 10s abort=1s"),
      ],
      joins(2.5),
    );
    expect(watch.check(0)).toBeUndefined();
    expect(watch.check(60_000)).toBeUndefined();
  });
});
