/**
 * One listed file received into a path, streamed: never more bytes than its listing said, and
 * kept only when its size and sha256 match. The collector (HTTP from a shard pod) and the fetch
 * (kubectl's standard output) both receive through this.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { quoted, messageOf } from "@livekit-swarm/schema";
import { ResultsError } from "../errors.js";
import type { ResultFile } from "./listing.js";

/** A transfer that broke off or ended short: another try may do, unlike a mismatch. */
export class TransferError extends Error {
  override readonly name = "TransferError";
}

/** How long a transfer may go without a byte before it counts as broken off. */
export const STALL_MS = 60_000;

class Checked extends Transform {
  private readonly hash = createHash("sha256");
  received = 0;

  constructor(
    private readonly file: ResultFile,
    private readonly from: string,
    private readonly onData: () => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.onData();
    this.received += chunk.byteLength;
    if (this.received > this.file.size) {
      done(
        new ResultsError(
          "bad-file",
          `${this.from}: ${this.file.name} sends more than the ${this.file.size} bytes its listing gives; refused`,
        ),
      );
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.received < this.file.size) {
      done(
        new TransferError(
          `${this.from}: ${this.file.name} ended after ${this.received} of its ${this.file.size} bytes`,
        ),
      );
      return;
    }
    const sha256 = this.hash.digest("hex");
    if (sha256 !== this.file.sha256) {
      done(
        new ResultsError(
          "bad-file",
          `${this.from}: ${this.file.name}: sha256 ${sha256.slice(0, 12)}... is not the listing's ${this.file.sha256.slice(0, 12)}...: the file changed after it was listed, or was corrupted on the way; refused`,
        ),
      );
      return;
    }
    done();
  }
}

/**
 * Streams `source` into `path` (which must not exist), checking it against `file`; on any
 * failure the partial file is removed. A mismatch throws ResultsError (`bad-file`); a transfer
 * that broke off, stalled STALL_MS or ended short throws TransferError.
 */
export async function receiveFile(
  source: AsyncIterable<Uint8Array>,
  path: string,
  file: ResultFile,
  from: string,
  options: { readonly signal?: AbortSignal; readonly stallMs?: number } = {},
): Promise<void> {
  const stallMs = options.stallMs ?? STALL_MS;
  const stop = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const stalled = new TransferError(`${from}: ${file.name}: no data for ${stallMs / 1000} s`);
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stop.abort(stalled);
    }, stallMs);
  };
  const onAbort = () => {
    stop.abort(options.signal?.reason);
  };
  options.signal?.addEventListener("abort", onAbort);
  arm();
  try {
    await pipeline(source, new Checked(file, from, arm), createWriteStream(path, { flags: "wx" }), {
      signal: stop.signal,
    });
  } catch (err) {
    await rm(path, { force: true });
    if (err instanceof ResultsError || err instanceof TransferError) throw err;
    if (stop.signal.aborted && stop.signal.reason === stalled) throw stalled;
    const { syscall } = err as NodeJS.ErrnoException;
    // the file could not be made or written (it exists, the disk is full): no other try helps
    if (syscall === "open" || syscall === "write")
      throw new ResultsError(
        "output",
        `cannot write ${quoted(path)}: ${messageOf(err)}: free some space, or receive into a new folder`,
      );
    throw new TransferError(`${from}: ${file.name}: ${messageOf(err)}`);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}
