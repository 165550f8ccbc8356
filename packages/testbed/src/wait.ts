import { messageOf } from "@livekit-swarm/schema";
import { TestbedError } from "./errors.js";
import { sleep, tailLines } from "./processes.js";

export interface WaitOptions {
  readonly timeoutMs: number;
  /** What is awaited, for the timeout's message; a function is read when the wait fails, so it can tell what was last seen. */
  readonly debugName: string | (() => string);
  /** Between attempts; 100 ms unless each attempt is costly (a Prometheus query, a scrape). */
  readonly intervalMs?: number;
  /** When this resolves, the process we wait on has exited: fail at once with its log's tail. */
  readonly exited?: Promise<number | string | null>;
  readonly logFile?: string;
}

/** Polls `condition` until it returns true; a thrown error counts as "not yet". */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  options: WaitOptions,
): Promise<void> {
  const debugName = (): string =>
    typeof options.debugName === "string" ? options.debugName : options.debugName();
  let exitCode: number | string | null | undefined;
  void options.exited?.then((code) => {
    exitCode = code;
  });
  const deadline = Date.now() + options.timeoutMs;
  let lastError = "";
  for (;;) {
    if (exitCode !== undefined) {
      const tail = options.logFile !== undefined ? tailLines(options.logFile, 15) : [];
      throw new TestbedError(
        "server-exited",
        `${debugName()}: the process exited (${String(exitCode)}) while starting; its last log lines follow${options.logFile !== undefined ? ` (${options.logFile})` : ""}`,
        tail,
      );
    }
    try {
      if (await condition()) return;
    } catch (err) {
      lastError = messageOf(err);
    }
    if (Date.now() > deadline) {
      const tail = options.logFile !== undefined ? tailLines(options.logFile, 15) : [];
      throw new TestbedError(
        "not-ready",
        `${debugName()} not ready after ${options.timeoutMs} ms${lastError !== "" ? ` (last error: ${lastError})` : ""}`,
        tail,
      );
    }
    await sleep(options.intervalMs ?? 100);
  }
}
