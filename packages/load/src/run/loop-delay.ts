/**
 * How late the worker's event loop runs what is due, read as perf_hooks' `monitorEventLoopDelay({
 * resolution: 10 })` reads it, in bursts. That monitor woke the loop 100 times a second for the whole
 * run: at 30 audio rooms of 1+4 on the native path, about 90 of the worker's 167 wakes a second
 * were its own (the bursts leave about 20), and the worker's JavaScript and V8 threads used about
 * 0.012 cores less without it, a sixth of the generator (bench/results.md, "the event loop's delay
 * in bursts").
 *
 * A burst is a 10 ms interval timer for `burstMs` of every `everyMs`; each firing records the time
 * since the last, as the monitor records it: 10 ms plus how late the timer ran (libuv schedules a
 * repeating timer from when it last ran). So a figure means what it meant with the monitor, and the
 * lines judged against it (generator-load.ts LATE_LOOP_MS, CROWDED_SLOW_LOOP_MS) keep their sense.
 * What changes is the count: a 5 s window holds about 95 samples where it held about 500, so its p99
 * is about the highest sample where it was the fifth highest. A loop starved by a crowded machine is
 * late at every firing and reads the same; one stall of the loop moves the window's p99 if it falls
 * in a burst, where five were needed.
 */
import { createHistogram, performance, type RecordableHistogram } from "node:perf_hooks";

/** The monitor's resolution, whose firings the thresholds were measured with. */
export const LOOP_DELAY_RESOLUTION_MS = 10;
/** A burst of firings this long... */
export const LOOP_DELAY_BURST_MS = 200;
/** ...once in this long: the loop woken 20 times a second instead of 100. */
export const LOOP_DELAY_EVERY_MS = 1000;

export class LoopDelaySampler {
  private readonly histogram: RecordableHistogram = createHistogram();
  private burst: NodeJS.Timeout | undefined;
  private next: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly burstMs = LOOP_DELAY_BURST_MS,
    private readonly everyMs = LOOP_DELAY_EVERY_MS,
    private readonly resolutionMs = LOOP_DELAY_RESOLUTION_MS,
  ) {
    this.begin();
  }

  /** The p99 of what was sampled since the last take, ms, or undefined for nothing; starts afresh. */
  take(): number | undefined {
    const p99 = this.histogram.count > 0 ? this.histogram.percentile(99) / 1e6 : undefined;
    this.histogram.reset();
    return p99;
  }

  /** No more bursts; the one under way ends now. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.burst);
    clearTimeout(this.next);
  }

  private begin(): void {
    if (this.stopped) return;
    const began = performance.now();
    let last = began;
    this.burst = setInterval(() => {
      const now = performance.now();
      // nanoseconds, as the monitor records them; a histogram takes integers of 1 and up
      this.histogram.record(Math.max(1, Math.round((now - last) * 1e6)));
      last = now;
      if (now - began < this.burstMs) return;
      clearInterval(this.burst);
      this.next = setTimeout(
        () => {
          this.begin();
        },
        Math.max(0, this.everyMs - (now - began)),
      );
      this.next.unref();
    }, this.resolutionMs);
    this.burst.unref();
  }
}
