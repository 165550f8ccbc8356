import type { DrillStatus } from "../journal.js";

export interface Stop {
  readonly status: DrillStatus;
  readonly reason: string;
  readonly condition: string;
  readonly at: number;
}

/**
 * Why the drill stopped early (Ctrl-C, an abort condition, an error), and the sleeps it cuts short:
 * every phase waits through `sleep` and checks `current()` after it.
 */
export class DrillStop {
  private stop: Stop | undefined;
  private wake: () => void = () => undefined;

  constructor(private readonly log: (line: string) => void) {}

  current(): Stop | undefined {
    return this.stop;
  }

  /** The first stop wins; later ones are ignored. */
  request(s: Omit<Stop, "at">): void {
    if (this.stop !== undefined) return;
    this.stop = { ...s, at: Date.now() };
    this.log(`${s.condition}: ${s.reason}`);
    this.wake();
  }

  /** Records an error as the stop without logging it (the caller says what failed). */
  fail(reason: string): void {
    this.stop ??= { status: "failed", condition: "error", reason, at: Date.now() };
  }

  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.stop !== undefined || ms <= 0) {
        resolve();
        return;
      }
      const previous = this.wake;
      const done = (): void => {
        clearTimeout(timer);
        this.wake = previous;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = () => {
        done();
        previous();
      };
    });
  }
}
