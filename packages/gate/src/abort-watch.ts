import type { Measurements } from "./measurements.js";
import type { Threshold } from "./threshold.js";
import { evaluate } from "./verdict.js";

/**
 * Ends a run early on a threshold with `abort=`: `check(nowMs)`, called about once a second, returns
 * the first such threshold that has failed without a break for its abort window, and then never
 * again. The caller passes the clock, so the watch itself is pure over the measurements it reads.
 */
export class AbortWatch {
  private readonly watched: readonly Threshold[];
  private readonly breachedSince = new Map<Threshold, number>();
  private fired = false;

  constructor(
    thresholds: readonly Threshold[],
    private readonly measurements: Measurements,
  ) {
    this.watched = thresholds.filter((t) => t.abortAfterMs !== undefined);
  }

  check(nowMs: number): Threshold | undefined {
    if (this.fired || this.watched.length === 0) return undefined;
    const results = evaluate(this.watched, this.measurements).results;
    for (const [i, t] of this.watched.entries()) {
      if (results[i]?.status !== "fail") {
        this.breachedSince.delete(t);
        continue;
      }
      const since = this.breachedSince.get(t) ?? nowMs;
      this.breachedSince.set(t, since);
      if (nowMs - since >= (t.abortAfterMs ?? Infinity)) {
        this.fired = true;
        return t;
      }
    }
    return undefined;
  }
}
