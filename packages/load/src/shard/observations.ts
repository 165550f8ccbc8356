/**
 * A shard's raw observations: its events.jsonl and samples.jsonl read line by line and checked, and
 * every shard's streamed in time order.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { join } from "node:path";
import { messageOf } from "@livekit-swarm/schema";
import { GZIP_SUFFIX, lineFileToRead } from "../run/line-file.js";
import type { WindowSample, WorkerMessage } from "../run/messages.js";
import { checkEventLine, checkSampleLine } from "./read.js";
import { MergeError, type ShardInput } from "./shard-folders.js";

/** One line of a shard's events.jsonl or samples.jsonl, with its time. */
export type Observation =
  | { readonly kind: "event"; readonly t: number; readonly event: Extract<WorkerMessage, { type: "event" }> }
  | { readonly kind: "sample"; readonly t: number; readonly sample: WindowSample };

/** Every shard's events and samples, in time order (events first at equal times, as stable as read). */
export async function observationsOf(shards: readonly ShardInput[]): Promise<Observation[]> {
  const all: Observation[] = [];
  for (const stream of streamsOf(shards)) for await (const o of stream) all.push(o);
  return all.sort(byTime);
}

/** Time, then events before samples: the order a run folds them in. */
const byTime = (a: Observation, b: Observation): number =>
  a.t - b.t || (a.kind === b.kind ? 0 : a.kind === "event" ? -1 : 1);

/** Each shard's events file, then its samples file, as observations in the order their lines come. */
export function streamsOf(shards: readonly ShardInput[]): AsyncIterable<Observation>[] {
  return shards.flatMap(({ dir }) => [
    mapLines(jsonLines(shardFile(dir, "events.jsonl"), checkEventLine), (event) => ({
      kind: "event" as const,
      t: event.t,
      event,
    })),
    mapLines(jsonLines(shardFile(dir, "samples.jsonl"), checkSampleLine), (sample) => ({
      kind: "sample" as const,
      t: sample.t,
      sample,
    })),
  ]);
}

/** A shard's line file as it wrote it: plain, or gzip-compressed (`swarm run --gzip-lines`). */
function shardFile(dir: string, name: string): string {
  try {
    return lineFileToRead(join(dir, name));
  } catch (err) {
    throw new MergeError("unreadable", messageOf(err));
  }
}

async function* mapLines<T>(
  lines: AsyncIterable<T>,
  f: (value: T) => Observation,
): AsyncGenerator<Observation> {
  for await (const value of lines) yield f(value);
}

/**
 * How far out of time order a shard writes its lines: each as it arrives from a worker, whose
 * windows and events reach the orchestrator milliseconds to a few seconds after their time (a
 * starved worker's, later). A line is held until every file has been read this far past it.
 */
export const REORDER_MS = 60_000;

/** A line further out of order than REORDER_MS: the files are folded again, sorted in memory. */
export class OutOfOrder extends Error {}

/**
 * Every shard's events and samples (`files`: each shard's events, then its samples, from
 * `streamsOf`) in the order `observationsOf` sorts them into, streamed: the files are read side by side and each line held at most until every file is read REORDER_MS past
 * it, so memory holds that stretch of the run, not the run. Ties keep `observationsOf`'s order (the
 * shard, then events before samples, then the line). Throws OutOfOrder on a line older than one
 * already given out.
 */
export async function* inTimeOrder(
  files: readonly AsyncIterable<Observation>[],
  reorderMs = REORDER_MS,
): AsyncGenerator<Observation> {
  const streams = files.map((s, i) => ({
    i,
    lines: s[Symbol.asyncIterator](),
    /** The latest time read from it. */
    frontier: -Infinity,
    done: false,
    seq: 0,
  }));
  type Held = { readonly o: Observation; readonly stream: number; readonly seq: number };
  const order = (a: Held, b: Held): number => byTime(a.o, b.o) || a.stream - b.stream || a.seq - b.seq;
  const held = new Heap<Held>(order);
  let last: Held | undefined;
  try {
    for (;;) {
      const top = held.peek();
      // the file read least far, while it has not passed the held line by reorderMs
      let behind: (typeof streams)[number] | undefined;
      for (const s of streams) {
        if (s.done || (top !== undefined && s.frontier >= top.o.t + reorderMs)) continue;
        if (behind === undefined || s.frontier < behind.frontier) behind = s;
      }
      if (behind === undefined) {
        if (top === undefined) return;
        held.pop();
        last = top;
        yield top.o;
        continue;
      }
      const next = await behind.lines.next();
      if (next.done === true) {
        behind.done = true;
        continue;
      }
      const line: Held = { o: next.value, stream: behind.i, seq: behind.seq++ };
      // it belongs before a line already given out: the sort would have placed it otherwise
      if (last !== undefined && order(line, last) < 0) throw new OutOfOrder();
      behind.frontier = Math.max(behind.frontier, line.o.t);
      held.push(line);
    }
  } finally {
    await Promise.all(streams.map((s) => s.lines.return?.() ?? Promise.resolve()));
  }
}

/** A binary min-heap under `compare` (negative: a comes first). */
class Heap<T> {
  private readonly items: T[] = [];

  constructor(private readonly compare: (a: T, b: T) => number) {}

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.compare(a[i] as T, a[parent] as T) >= 0) break;
      [a[i], a[parent]] = [a[parent] as T, a[i] as T];
      i = parent;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.compare(a[l] as T, a[m] as T) < 0) m = l;
        if (r < a.length && this.compare(a[r] as T, a[m] as T) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m] as T, a[i] as T];
        i = m;
      }
    }
    return top;
  }
}

/** A line far longer than any a shard writes (a sample is a few KB) is not one of its lines. */
const MOST_LINE_CHARS = 1 << 20;

/**
 * A shard's JSON-lines file, read line by line: never whole into one string (V8 caps a string at
 * 512 MB, and an hour of 2,500 participants writes ~800 MB of samples), each line checked as it
 * comes, refused with its line number.
 */
async function* jsonLines<T>(file: string, check: (value: unknown) => T): AsyncGenerator<T> {
  const raw = createReadStream(file);
  let input: Readable = raw;
  if (file.endsWith(GZIP_SUFFIX)) {
    // a read error (ENOENT) reaches the lines through the gunzip, as a corrupt stream's does
    const gunzip = createGunzip();
    raw.on("error", (err) => gunzip.destroy(err));
    input = raw.pipe(gunzip);
  }
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const line of lines) {
      n++;
      if (line.trim() === "") continue;
      if (line.length > MOST_LINE_CHARS)
        throw new MergeError(
          "unreadable",
          `${file}:${n}: a line of ${line.length} characters is not one a shard writes`,
        );
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        throw new MergeError("unreadable", `${file}:${n}: not a JSON line`);
      }
      // ours when a shard wrote them; anything when a user hands merge a file
      let value: T;
      try {
        value = check(parsed);
      } catch (err) {
        throw new MergeError(
          "unreadable",
          `${file}:${n}: ${messageOf(err)}; pass the shard folders a run wrote`,
        );
      }
      yield value;
    }
  } catch (err) {
    if (err instanceof MergeError) throw err;
    const code = err instanceof Error && "code" in err ? String(err.code) : "";
    throw new MergeError(
      "unreadable",
      code === "ENOENT"
        ? `${file}: missing: a shard folder holds the raw observations merge reads (samples.jsonl, events.jsonl); copy the whole shard-<i> folder`
        : code.startsWith("Z_")
          ? `${file}: not a whole gzip file (${messageOf(err)}): a shard writes it whole when it finishes; pass the shard folders a run wrote`
          : `${file}: ${messageOf(err)}`,
    );
  } finally {
    lines.close();
    input.destroy();
    raw.destroy();
  }
}
