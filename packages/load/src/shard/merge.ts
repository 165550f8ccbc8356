import { createReadStream, readFileSync, readdirSync, statSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { basename, dirname, join, resolve } from "node:path";
import {
  Measurements,
  assertComparableScenario,
  evaluate,
  type RunRecord,
  type Threshold,
  type Verdict,
} from "@livekit-swarm/gate";
import { ExitCode, KnownError, messageOf } from "@livekit-swarm/schema";
import { makeFolder } from "../run/folder.js";
import { GZIP_SUFFIX, lineFileToRead } from "../run/line-file.js";
import type { WindowSample, WorkerMessage } from "../run/messages.js";
import type { EndReason, RunOutcome } from "../run/orchestrator.js";
import { RunAggregator } from "../run/aggregate.js";
import { planRun, shapeOf } from "../run/plan.js";
import { writeRunOutputs, type RunOutputs, type ShardCoverage } from "../session/outputs.js";
import { runThresholds } from "../session/session.js";
import { checkOutputDir } from "../session/target.js";
import { MANIFEST_FILE, type ShardManifest } from "./manifest.js";
import { checkEventLine, checkManifest, checkSampleLine } from "./read.js";
import { mergeGeneratorLoads } from "../run/generator-load.js";
import { judgedExitCode, runHealth } from "../run/health.js";

/** A merge refused; the message names the fix. */
export class MergeError extends KnownError<
  "no-shards" | "unreadable" | "mixed-runs" | "duplicate" | "none-finished"
> {
  override readonly name = "MergeError";
}

export interface MergeOptions {
  /** Shard folders, a run folder holding shard-*, or files inside shard folders. */
  readonly inputs: readonly string[];
  /** Thresholds beyond the scenario's own and those the shards were given. */
  readonly thresholds?: readonly Threshold[];
  /** Merge what finished when shards are missing or failed: exit by the verdict, not 1. */
  readonly allowPartial?: boolean;
  /** Default: the run folder (the parent of the first shard folder). */
  readonly outputDir?: string;
  /**
   * An earlier run (gate's loadRunRecord) that relative thresholds read and the report compares
   * every figure with, as `swarm --baseline` does; refused when its workload differs, unless forced.
   */
  readonly baseline?: RunRecord;
  readonly forceCompare?: boolean;
}

export type MergeResult = RunOutputs & {
  readonly runId: string;
  readonly shards: ShardCoverage;
  readonly exitCode: ExitCode;
};

interface ShardInput {
  readonly dir: string;
  readonly manifest: ShardManifest;
}

/**
 * One report from a sharded run's shard folders: their raw samples and events folded by the same
 * aggregate and gate as one process would, so percentiles are exact over all shards, never averaged.
 * Judged: the scenario's thresholds, the shards' own --threshold ones, and `thresholds`; relative
 * ones (`<= baseline + 20%`) against `baseline`, which the report also compares every figure with.
 * Rule: a shard that is missing, never finished or ended in an error (an exit other than 0 or 99) is
 * named in the report and left out of the figures; the merge then exits 1 unless `allowPartial`,
 * with which it exits by the verdict over the shards that finished.
 */
export async function mergeShards(options: MergeOptions): Promise<MergeResult> {
  // before anything is read: -o naming a file or /proc/x traced after the whole merge
  if (options.outputDir !== undefined) checkOutputDir(options.outputDir);
  const inputs = findShards(options.inputs);
  const first = inputs[0];
  if (first === undefined)
    throw new MergeError(
      "no-shards",
      `no shard.json in ${options.inputs.join(", ")}: pass a sharded run's output folder (the one holding shard-0/, shard-1/ ...) or its shard folders`,
    );
  checkOneRun(inputs, first);
  const { manifest } = first;
  const coverage = coverageOf(inputs, manifest.shards);
  const finished = inputs.filter((s) => coverage.covered.includes(s.manifest.shard));
  if (finished.length === 0)
    throw new MergeError(
      "none-finished",
      `no shard of run ${manifest.runId} finished, nothing to merge: ${coverage.failed.map((f) => `shard ${f.shard} ${f.status}`).join(", ")}`,
    );

  const scenario = manifest.scenario;
  if (options.baseline !== undefined)
    assertComparableScenario(options.baseline, scenario, options.forceCompare === true);
  // resolved before any shard's observations are read: a relative threshold without a baseline is bad input
  const thresholds = runThresholds(
    scenario,
    [...scenario.thresholds, ...manifest.thresholds],
    options.thresholds,
    options.baseline,
  );
  const rooms = new Set(finished.flatMap((s) => s.manifest.rooms));
  const whole = planRun(shapeOf(scenario));
  const participants = whole.participants.filter((p) => rooms.has(p.room));
  const shards: ShardCoverage = { ...coverage, plannedParticipants: whole.participants.length };
  const startMs = Math.min(...finished.map((s) => Date.parse(s.manifest.startedAt ?? s.manifest.startAt)));
  const endMs = Math.max(...finished.map((s) => Date.parse(s.manifest.endedAt ?? s.manifest.startAt)));
  const fold = async (observations: AsyncIterable<Observation> | Iterable<Observation>) => {
    const measurements = new Measurements({ cutsAfterStartMs: thresholds.map((t) => t.warmupMs ?? 0) });
    const aggregator = new RunAggregator(participants, manifest.statsIntervalMs, measurements);
    measurements.setRunWindow(startMs);
    for await (const o of observations) {
      if (o.kind === "event") {
        aggregator.onEvent(o.event.room, o.event.participant, o.event.event, o.event.t);
        measurements.onEvent(o.event, o.event.event);
      } else {
        aggregator.onSample(o.sample);
        measurements.onSample(o.sample);
      }
    }
    measurements.setRunWindow(startMs, endMs);
    return { measurements, aggregator };
  };
  // streamed in time order; a file whose lines stray further out of order than a run writes them
  // (edited by hand, concatenated) is folded again from every line, sorted in memory
  let folded: Awaited<ReturnType<typeof fold>>;
  try {
    folded = await fold(inTimeOrder(streamsOf(finished)));
  } catch (err) {
    if (!(err instanceof OutOfOrder)) throw err;
    folded = await fold(await observationsOf(finished));
  }
  const { measurements, aggregator } = folded;
  const generator = mergeGeneratorLoads(
    finished.map((s) => ({ shard: s.manifest.shard, load: s.manifest.generator })),
  );
  const summary = { ...aggregator.summary(endMs), ...(generator !== undefined ? { generator } : {}) };

  // the generator's keeping up (every shard's workers) is judged with the merged run's health
  const verdict: Verdict | undefined = thresholds.length > 0 ? evaluate(thresholds, measurements) : undefined;
  const unfinished = [...coverage.missing, ...coverage.failed.map((f) => f.shard)];
  const workersLost = finished.flatMap((s) => s.manifest.workersLost ?? []);
  const health = runHealth(
    summary,
    workersLost.length,
    unfinished.length > 0
      ? {
          participants: whole.participants.length - participants.length,
          shards: unfinished.sort((a, b) => a - b),
        }
      : undefined,
  );
  const outcome: RunOutcome = {
    summary,
    endReason: endReasonOf(finished),
    startedAt: new Date(startMs).toISOString(),
    endedAt: new Date(endMs).toISOString(),
    durationMs: endMs - startMs,
    workersLost,
    workerPids: [],
  };
  const outputDir = resolve(options.outputDir ?? dirname(first.dir));
  makeFolder(outputDir);
  const outputs = await writeRunOutputs(
    {
      runId: manifest.runId,
      scenario,
      url: manifest.url,
      participants: participants.length,
      workers: finished.reduce((n, s) => n + s.manifest.workers, 0),
      outcome,
      verdict,
      health,
      shards,
      ...(options.baseline !== undefined ? { baseline: options.baseline } : {}),
    },
    outputDir,
    undefined,
  );
  const complete = coverage.missing.length === 0 && coverage.failed.length === 0;
  // with --allow-partial a merge missing shards is judged, and its lost shards make it inconclusive
  const exitCode =
    !complete && options.allowPartial !== true ? ExitCode.error : judgedExitCode(health, verdict);
  return { ...outputs, runId: manifest.runId, shards, exitCode };
}

/** Shard folders among the inputs: a folder with shard.json, a run folder of shard-* folders, or a file in a shard folder. */
export function findShards(inputs: readonly string[]): ShardInput[] {
  const dirs: string[] = [];
  for (const input of inputs) {
    const path = resolve(input);
    // a symlink loop (ELOOP), a folder it may not read (EACCES): one line, not a trace
    const looked = <T>(what: () => T, at: string): T => {
      try {
        return what();
      } catch (err) {
        const code = err instanceof Error && "code" in err ? String(err.code) : String(err);
        throw new MergeError(
          "unreadable",
          `${at}: cannot be read (${code}): pass the shard folders a run wrote`,
        );
      }
    };
    const stat = looked(() => statSync(path, { throwIfNoEntry: false }), input);
    if (stat === undefined) throw new MergeError("unreadable", `${input}: no such file or folder`);
    const dir = stat.isDirectory() ? path : dirname(path);
    const manifestAt = (d: string): boolean =>
      looked(() => statSync(join(d, MANIFEST_FILE), { throwIfNoEntry: false }), join(d, MANIFEST_FILE)) !==
      undefined;
    if (manifestAt(dir)) dirs.push(dir);
    else if (stat.isDirectory())
      for (const name of looked(() => readdirSync(dir), dir).sort()) {
        if (/^shard-\d+$/.test(name) && manifestAt(join(dir, name))) dirs.push(join(dir, name));
      }
  }
  const unique = [...new Set(dirs)];
  const shards = unique.map((dir) => ({ dir, manifest: readManifest(dir) }));
  return shards.sort((a, b) => a.manifest.shard - b.manifest.shard);
}

/** A shard.json is its scenario (at most 1 MiB, as any scenario file) and a few fields. */
const MOST_MANIFEST_BYTES = 2 * 2 ** 20;

function readManifest(dir: string): ShardManifest {
  const file = join(dir, MANIFEST_FILE);
  let parsed: unknown;
  try {
    const size = statSync(file).size;
    if (size > MOST_MANIFEST_BYTES)
      throw new MergeError(
        "unreadable",
        `${file}: is ${size} bytes, larger than a shard.json a shard writes (at most ${MOST_MANIFEST_BYTES}); pass the shard folders a run wrote`,
      );
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    if (err instanceof MergeError) throw err;
    throw new MergeError(
      "unreadable",
      `${file}: ${err instanceof SyntaxError ? "not JSON" : messageOf(err)}: a shard writes it; pass the shard folders a run wrote`,
    );
  }
  try {
    return checkManifest(parsed);
  } catch (err) {
    throw new MergeError(
      "unreadable",
      `${file}: not a shard manifest as a shard writes it: ${messageOf(err)}`,
    );
  }
}

function checkOneRun(inputs: readonly ShardInput[], first: ShardInput): void {
  const a = first.manifest;
  for (const { dir, manifest: b } of inputs) {
    const where = `${basename(first.dir)} in ${dirname(first.dir)} and ${basename(dir)} in ${dirname(dir)}`;
    if (b.runId !== a.runId)
      throw new MergeError(
        "mixed-runs",
        `cannot merge run ${a.runId} with run ${b.runId} (${where}): pass the shard folders of one run only`,
      );
    if (b.scenarioHash !== a.scenarioHash || b.shards !== a.shards)
      throw new MergeError(
        "mixed-runs",
        `cannot merge scenario ${a.scenarioHash} (${a.shards} shards) with scenario ${b.scenarioHash} (${b.shards} shards) under one run id ${a.runId} (${where}): give each shard the same scenario, flags and --shards`,
      );
  }
  const seen = new Map<number, string>();
  for (const { dir, manifest } of inputs) {
    const other = seen.get(manifest.shard);
    if (other !== undefined)
      throw new MergeError(
        "duplicate",
        `shard ${manifest.shard} of run ${a.runId} is given twice (${other} and ${dir}): pass each shard folder once`,
      );
    seen.set(manifest.shard, dir);
  }
}

/**
 * An exit of 99 is a shard's own verdict, and 2 its own health judging its generator behind; either
 * way the shard finished and its observations count (the merge judges the generator again over
 * every shard's workers).
 */
function coverageOf(
  inputs: readonly ShardInput[],
  count: number,
): Omit<ShardCoverage, "plannedParticipants"> {
  const present = new Set(inputs.map((s) => s.manifest.shard));
  const failed = inputs
    .map((s) => s.manifest)
    .filter(
      (m) =>
        m.status !== "done" ||
        (m.exitCode !== ExitCode.ok &&
          m.exitCode !== ExitCode.thresholdsFailed &&
          m.exitCode !== ExitCode.inconclusive),
    )
    .map((m) => ({
      shard: m.shard,
      status: m.status,
      ...(m.exitCode !== undefined ? { exitCode: m.exitCode } : {}),
      ...(m.endReason !== undefined ? { endReason: m.endReason } : {}),
    }));
  const failedIndexes = new Set(failed.map((f) => f.shard));
  return {
    count,
    covered: [...present].filter((i) => !failedIndexes.has(i)).sort((a, b) => a - b),
    missing: Array.from({ length: count }, (_, i) => i).filter((i) => !present.has(i)),
    failed,
  };
}

function endReasonOf(finished: readonly ShardInput[]): EndReason {
  return (
    finished.map((s) => s.manifest.endReason).find((r) => r !== undefined && r !== "completed") ?? "completed"
  );
}

/** One line of a shard's events.jsonl or samples.jsonl, with its time. */
export type Observation =
  | { readonly kind: "event"; readonly t: number; readonly event: Extract<WorkerMessage, { type: "event" }> }
  | { readonly kind: "sample"; readonly t: number; readonly sample: WindowSample };

/** Every shard's events and samples, in time order (events first at equal times, as stable as read). */
async function observationsOf(shards: readonly ShardInput[]): Promise<Observation[]> {
  const all: Observation[] = [];
  for (const stream of streamsOf(shards)) for await (const o of stream) all.push(o);
  return all.sort(byTime);
}

/** Time, then events before samples: the order a run folds them in. */
const byTime = (a: Observation, b: Observation): number =>
  a.t - b.t || (a.kind === b.kind ? 0 : a.kind === "event" ? -1 : 1);

/** Each shard's events file, then its samples file, as observations in the order their lines come. */
function streamsOf(shards: readonly ShardInput[]): AsyncIterable<Observation>[] {
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
class OutOfOrder extends Error {}

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
