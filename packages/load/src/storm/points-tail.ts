import { open } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import type { StormObservation } from "@livekit-swarm/schema";
import { stormObservations } from "./k6-output.js";

/** Complete lines out of the chunks of a growing file; an unfinished last line waits. No I/O. */
export class LineSplitter {
  private carry = "";

  push(chunk: string): string[] {
    const text = this.carry + chunk;
    const end = text.lastIndexOf("\n");
    if (end < 0) {
      this.carry = text;
      return [];
    }
    this.carry = text.slice(end + 1);
    return text.slice(0, end).split("\n");
  }

  /** The last line without its newline, once the writer is gone (a killed k6 stops mid-line). */
  rest(): string {
    const rest = this.carry;
    this.carry = "";
    return rest;
  }
}

/** At most this much is held at once: a long storm's points file does not fit in memory. */
const CHUNK_BYTES = 1 << 20;

/**
 * Follows a file another process appends to (k6's `--out json`), handing over each complete line
 * once. The file may not exist yet: k6 creates it when its output starts.
 */
export class FileTail {
  private offset = 0;
  private readonly decoder = new TextDecoder();
  private readonly lines = new LineSplitter();

  constructor(private readonly file: string) {}

  /** Reads what was appended since the last call; `final`: the writer has exited, flush the rest. */
  async drain(onLines: (lines: readonly string[]) => void, final = false): Promise<void> {
    let handle;
    try {
      handle = await open(this.file, "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    try {
      const buffer = Buffer.alloc(CHUNK_BYTES);
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        const lines = this.lines.push(this.decoder.decode(buffer.subarray(0, bytesRead), { stream: true }));
        if (lines.length > 0) onLines(lines);
      }
    } finally {
      await handle.close();
    }
    if (final) {
      const rest = this.lines.rest() + this.decoder.decode();
      if (rest !== "") onLines([rest]);
    }
  }
}

/** How often k6's points file is read while k6 runs; k6 itself writes it every 200 ms or so. */
const POINTS_POLL_MS = 1000;

/** k6's storm points, read as k6 appends them and turned into observations for `feed`. */
export class PointsReader {
  private readonly tail: FileTail;
  /** Lines of k6's JSON output that were not JSON (a k6 killed mid-line). */
  unreadable = 0;

  constructor(
    file: string,
    private readonly feed: (o: StormObservation) => void,
  ) {
    this.tail = new FileTail(file);
  }

  /** Reads what k6 appended; `final` once k6 has exited. */
  read(final = false): Promise<void> {
    return this.tail.drain((lines) => {
      // most lines are k6's own metrics (http_req_*, ws_*, vus...): parse only the storm's
      const read = stormObservations(
        lines.filter((line) => line.includes('"Point"') && line.includes('"storm_')).join("\n"),
      );
      this.unreadable += read.unreadable;
      for (const o of read.observations) this.feed(o);
    }, final);
  }

  /** Reads every POINTS_POLL_MS until `done` settles, then the rest. */
  async follow(done: Promise<unknown>): Promise<void> {
    const ended = done.then(
      () => true,
      () => true,
    );
    for (;;) {
      await this.read();
      if (await Promise.race([ended, delay(POINTS_POLL_MS).then(() => false)])) break;
    }
    await this.read(true);
  }
}
