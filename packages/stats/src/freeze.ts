import type { Milliseconds, Seconds } from "./snapshot.js";

/** Freezes seen since the previous `take()`. */
export interface FreezeTotals {
  readonly freezes: number;
  readonly frozen: Seconds;
  /** Frames the detector saw: with none, the window had no observation, not "no freeze". */
  readonly frames: number;
}

/** W3C webrtc-stats: the frame-duration average runs over the last 30 rendered frames. */
const AVERAGE_OVER = 30;

/**
 * Video freezes from the times frames were rendered, by the rule of W3C webrtc-stats `freezeCount`:
 * a frame whose duration (the gap since the previous frame) is at least
 * max(3 x average, average + 150 ms) over the last 30 frames is a freeze, and the whole gap counts
 * to `totalFreezesDuration`. libwebrtc applies the same rule on render; rtc-node reports no freeze
 * duration, so a participant that sees every frame measures it here. No clock: the caller passes
 * each frame's time.
 */
export class FreezeDetector {
  private readonly durations: Milliseconds[] = [];
  private durationSum = 0;
  private lastFrameMs: Milliseconds | undefined;
  private freezes = 0;
  private frozenMs = 0;
  private frames = 0;

  onFrame(atMs: Milliseconds): void {
    this.frames++;
    const last = this.lastFrameMs;
    this.lastFrameMs = atMs;
    if (last === undefined) return;
    const duration = Math.max(0, atMs - last);
    if (this.durations.length > 0) {
      const average = this.durationSum / this.durations.length;
      if (duration >= Math.max(3 * average, average + 150)) {
        this.freezes++;
        this.frozenMs += duration;
      }
    }
    this.durations.push(duration);
    this.durationSum += duration;
    if (this.durations.length > AVERAGE_OVER) this.durationSum -= this.durations.shift() ?? 0;
  }

  /**
   * The same video coming back on a new stream (the subscriber or its publisher rejoined, a new
   * track of the same publisher): this detector, with no frame of its own yet, takes `previous`'s
   * frame history, so the gap from the old stream's last frame to this one's first is measured as
   * any other and the outage a viewer sat through counts as a freeze. Without it a rejoin's outage
   * fell between two streams and counted nowhere.
   */
  continueFrom(previous: FreezeDetector): void {
    if (this.lastFrameMs !== undefined) return;
    this.durations.splice(0, this.durations.length, ...previous.durations);
    this.durationSum = previous.durationSum;
    this.lastFrameMs = previous.lastFrameMs;
  }

  /** Totals since the previous call; the frame history carries over, so a freeze spanning two windows is counted in the second. */
  take(): FreezeTotals {
    const totals = { freezes: this.freezes, frozen: this.frozenMs / 1000, frames: this.frames };
    this.freezes = 0;
    this.frozenMs = 0;
    this.frames = 0;
    return totals;
  }
}
