import type { MediaTicksWindow } from "@livekit-swarm/schema";
import { loadedLeanMedia } from "./native-media.js";

/**
 * How late the native media thread ran its ticks over one stats window (lean-media.c lateness()):
 * each tick sends every native audio publisher's packet, so a tick run L ms late sends them L ms
 * late, and every subscriber reads that as the network's jitter. The event loop's delay does not
 * show it: the thread is woken by its own timer, and the scheduler can leave it waiting while the
 * JavaScript thread runs on time. Whole milliseconds, each figure its bucket's floor (the last
 * bucket, 100, means that or more).
 */
export type TickLateness = MediaTicksWindow;

/**
 * Pure: the ticks between two of lateness()'s cumulative counts (bucket i: ticks that ran i to i + 1
 * ms late, the last one that or more), as one window's figures; undefined when no tick was due (or
 * the counts went back: the addon is per process, so they cannot, but a window must not read
 * a negative count).
 */
export function latenessBetween(
  before: readonly number[],
  after: readonly number[],
): TickLateness | undefined {
  const counts = after.map((n, i) => n - (before[i] ?? 0));
  if (counts.some((n) => n < 0)) return undefined;
  const ticks = counts.reduce((a, b) => a + b, 0);
  if (ticks === 0) return undefined;
  // nearest rank: the smallest bucket at or below which 99% of the ticks ran
  const rank = Math.ceil(0.99 * ticks);
  let seen = 0;
  let lateP99Ms = counts.length - 1;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i] ?? 0;
    if (seen >= rank) {
      lateP99Ms = i;
      break;
    }
  }
  let lateMaxMs = 0;
  for (let i = counts.length - 1; i >= 0; i--)
    if ((counts[i] ?? 0) > 0) {
      lateMaxMs = i;
      break;
    }
  return { ticks, lateP99Ms, lateMaxMs };
}

/**
 * Ticks a window's figures need: under 100, the nearest-rank p99 is the window's latest tick, and
 * one late tick would make a late window. Windows shorter than 2 s (a --stats-interval under the 5 s
 * default's 250 ticks) carry the figures of the ticks since the last window that had them.
 */
export const MIN_WINDOW_TICKS = 100;

/**
 * The process's native media thread, window by window: `window()` gives the ticks since the last
 * call that gave figures; undefined while the addon is not loaded (the TypeScript path: the event
 * loop's delay is the pacer's), or fewer than MIN_WINDOW_TICKS were due since.
 */
export class NativeTickLateness {
  private previous: readonly number[] | undefined;

  /**
   * `read`: the cumulative counts, undefined while there is no thread; `jitter`: the thread's send
   * jitter now, ms (the loaded addon's, by default, both).
   */
  constructor(
    private readonly read: () => readonly number[] | undefined = () => loadedLeanMedia()?.lateness(),
    private readonly jitter: () => number | undefined = () => loadedLeanMedia()?.sendJitter(),
  ) {}

  window(): TickLateness | undefined {
    const now = this.read();
    if (now === undefined) return undefined;
    const since = latenessBetween(this.previous ?? now.map(() => 0), now);
    if (since === undefined || since.ticks < MIN_WINDOW_TICKS) return undefined;
    this.previous = now;
    const sendJitterMs = this.jitter();
    return sendJitterMs !== undefined && Number.isFinite(sendJitterMs) && sendJitterMs >= 0
      ? { ...since, sendJitterMs }
      : since;
  }
}
