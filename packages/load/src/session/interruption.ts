import { exitCodeForSignal, type ExitCode } from "@livekit-swarm/schema";

export type StopSignal = "SIGINT" | "SIGTERM";

/** What to tell the user on the first and the second signal. */
export interface InterruptionMessages {
  readonly first: (signal: StopSignal) => string;
  readonly second: string;
}

const RUN_MESSAGES: InterruptionMessages = {
  first: (signal) =>
    `${signal}: stopping joins, disconnecting everyone and writing the report (again to force)`,
  second: "second signal: stopping now",
};

/**
 * SIGINT and SIGTERM while a run (or a drill) lasts: the first aborts `interrupt` (stop joining,
 * drain, report), a second aborts `force` (stop at once). `listen()` installs the handlers and
 * `close()` removes them, so nothing outlives the run.
 */
export class Interruption {
  private readonly interruptController = new AbortController();
  private readonly forceController = new AbortController();
  private received: StopSignal | undefined;
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (this.received !== undefined) {
      this.log(this.messages.second);
      this.forceController.abort();
      return;
    }
    this.received = signal === "SIGTERM" ? "SIGTERM" : "SIGINT";
    this.log(this.messages.first(this.received));
    this.interruptController.abort();
  };

  constructor(
    private readonly log: (line: string) => void,
    private readonly messages: InterruptionMessages = RUN_MESSAGES,
  ) {}

  /** Aborted by the first signal, or by `stop()`. */
  get interrupt(): AbortSignal {
    return this.interruptController.signal;
  }

  /** Aborted by the second signal. */
  get force(): AbortSignal {
    return this.forceController.signal;
  }

  /** The first signal received, if any. */
  get signal(): StopSignal | undefined {
    return this.received;
  }

  /** 130 after SIGINT, 143 after SIGTERM. */
  get exitCode(): ExitCode {
    return exitCodeForSignal(this.received ?? "SIGINT");
  }

  /** Ends the run early as a signal would, without being one (a threshold's abort window). */
  stop(reason: string): void {
    this.interruptController.abort(reason);
  }

  listen(): this {
    process.on("SIGINT", this.onSignal);
    process.on("SIGTERM", this.onSignal);
    return this;
  }

  close(): void {
    process.removeListener("SIGINT", this.onSignal);
    process.removeListener("SIGTERM", this.onSignal);
  }
}
