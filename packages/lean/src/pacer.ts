/** A 20 ms packet clock for a whole process: one timer, however many publishers. */
export const PACKET_MS = 20;
/** After a stall longer than this many periods, the missed periods are skipped, not burst. */
const MAX_BURST = 5;

/**
 * Which ticks to run after waking up `elapsedMs` after the clock started, `done` ticks having run:
 * `run` ticks to send now and `skip` ticks to jump over (a stall longer than `maxBurst` periods
 * would otherwise send a burst the server would see as jitter). Pure, for tests.
 */
export function ticksDue(
  elapsedMs: number,
  done: number,
  periodMs = PACKET_MS,
  maxBurst = MAX_BURST,
): { run: number; skip: number } {
  const due = Math.floor(elapsedMs / periodMs) + 1 - done;
  if (due <= 0) return { run: 0, skip: 0 };
  if (due <= maxBurst) return { run: due, skip: 0 };
  return { run: maxBurst, skip: due - maxBurst };
}

/** Called with the tick number; ticks count 20 ms periods since the pacer started. */
export type TickHandler = (tick: number) => void;

/**
 * One process-wide clock that calls every publisher on the same 20 ms tick, so a thousand
 * publishers cost one timer wake-up per period, not a thousand. It catches up on timer drift and
 * skips what a long stall made late (`ticksDue`); a skipped tick still advances the tick number, so
 * RTP timestamps keep following wall time.
 */
export class Pacer {
  private readonly handlers = new Set<TickHandler>();
  private timer: NodeJS.Timeout | undefined;
  private startMs = 0;
  private done = 0;
  /** Ticks skipped after stalls since the pacer started: a sign the process is overloaded. */
  skipped = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Adds a handler; returns its removal. The clock runs while any handler is registered. */
  add(handler: TickHandler): () => void {
    this.handlers.add(handler);
    if (this.timer === undefined) {
      this.startMs = this.now();
      this.done = 0;
      this.schedule();
    }
    return () => {
      this.handlers.delete(handler);
      if (this.handlers.size === 0 && this.timer !== undefined) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
    };
  }

  private schedule(): void {
    const next = this.startMs + this.done * PACKET_MS;
    this.timer = setTimeout(
      () => {
        this.wake();
      },
      Math.max(0, next - this.now()),
    );
  }

  private wake(): void {
    const { run, skip } = ticksDue(this.now() - this.startMs, this.done);
    this.done += skip;
    this.skipped += skip;
    for (let i = 0; i < run; i++) {
      const tick = this.done++;
      for (const handler of this.handlers) handler(tick);
    }
    if (this.handlers.size > 0) this.schedule();
    else this.timer = undefined;
  }
}

/** The process's one pacer, shared by every lean publisher unless a test passes its own. */
export const processPacer = new Pacer();
