/**
 * Every signalling connection's pings on one process-wide clock (issue 51: timers coalesced per
 * process, not per connection). LiveKit asks each client for a ping every pingInterval (5 s): a
 * setInterval per connection woke the worker's event loop 30 times a second at 150 participants,
 * each wake for one ping. Here one unref'd interval of PING_TICK_MS sends every ping that is due,
 * each on its own connection's schedule (its registration plus whole periods, so the pings of a
 * process stay spread over the period as separate clients' are); a ping goes up to one tick after
 * its time. The server's pingTimeout (15 s) is three periods: a quarter of a second does not
 * bring it closer.
 */
import { realClock, type ClockDeps } from "./report-clock.js";

export const PING_TICK_MS = 250;

interface Entry {
  due: number;
  readonly periodMs: number;
  readonly run: () => void;
}

export class PingClock {
  private readonly entries = new Set<Entry>();
  private ticking: { cancel(): void } | undefined;

  constructor(private readonly deps: Pick<ClockDeps, "now" | "every"> = realClock) {}

  get size(): number {
    return this.entries.size;
  }

  /** Runs `run` every `periodMs` from now, on the clock's ticks, until the returned stop is called. */
  every(periodMs: number, run: () => void): () => void {
    const entry: Entry = { due: this.deps.now() + periodMs, periodMs, run };
    this.entries.add(entry);
    this.ticking ??= this.deps.every(() => {
      this.tick();
    }, PING_TICK_MS);
    return () => {
      this.entries.delete(entry);
      if (this.entries.size === 0) {
        this.ticking?.cancel();
        this.ticking = undefined;
      }
    };
  }

  tick(): void {
    const now = this.deps.now();
    for (const entry of this.entries) {
      if (now < entry.due) continue;
      // its own phase kept; after a clock that stood still past a whole period, one ping, not many,
      // and the schedule starts again from now (as a setInterval's did)
      entry.due += entry.periodMs;
      if (entry.due <= now) entry.due = now + entry.periodMs;
      entry.run();
    }
  }
}

export const sharedPingClock = new PingClock();
