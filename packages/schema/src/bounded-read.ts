import { closeSync, constants, openSync, readSync, statSync } from "node:fs";

/** How long a FIFO (a named pipe, `<(...)`) may keep a reader waiting for its first bytes or its end. */
export const FIFO_WAIT_MS = 10_000;

/** A pipe that gave nothing for the wait: `code` ETIMEDOUT, which readFailure words. */
export class PipeSilent extends Error {
  readonly code = "ETIMEDOUT";
  constructor(path: string, waitMs: number) {
    super(`${path} gave nothing for ${waitMs} ms`);
  }
}

const pause = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/**
 * The first `maxBytes + 1` bytes of a file a user named: enough to tell a file of the right kind
 * from a wrong one whatever it is (`/dev/zero`, a 10 GB log), without reading it all. A FIFO (`<(vault
 * read ...)`) opened plainly blocks until a writer comes, and one may never come: it is opened
 * non-blocking and read while it gives, for at most `waitMs` of silence (then PipeSilent). The one
 * reader behind scenario, drill, threshold and baseline files, secrets and the testbed's state.
 * Synchronous, as the CLI's option parsing that reads secrets is: a silent pipe holds the process
 * for `waitMs`, at start, before anything else runs.
 */
export function readHeadSync(path: string, maxBytes: number, waitMs = FIFO_WAIT_MS): Buffer {
  const fifo = statSync(path).isFIFO();
  const fd = openSync(path, fifo ? constants.O_RDONLY | constants.O_NONBLOCK : "r");
  try {
    const buffer = Buffer.alloc(maxBytes + 1);
    let filled = 0;
    let quietSince = Date.now();
    while (filled < buffer.length) {
      let n: number;
      try {
        n = readSync(fd, buffer, filled, buffer.length - filled, null);
      } catch (err) {
        // a writer is there, and has not written yet
        if (!fifo || !(err instanceof Error && "code" in err && err.code === "EAGAIN")) throw err;
        n = -1;
      }
      // nothing yet from a pipe: no writer so far (an end before any byte), or a silent one
      if (fifo && (n < 0 || (n === 0 && filled === 0))) {
        if (Date.now() - quietSince > waitMs) throw new PipeSilent(path, waitMs);
        pause(20);
        continue;
      }
      if (n === 0) break;
      quietSince = Date.now();
      filled += n;
    }
    return buffer.subarray(0, filled);
  } finally {
    closeSync(fd);
  }
}
