/**
 * A merge's inputs: the shard folders found among the paths given, their manifests read and checked
 * to be of one run, and which shards finished; and MergeError, which every step of the merge throws.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { ExitCode, KnownError, messageOf } from "@livekit-swarm/schema";
import type { EndReason } from "../run/orchestrator.js";
import type { ShardCoverage } from "./coverage.js";
import { MANIFEST_FILE, type ShardManifest } from "./manifest.js";
import { checkManifest } from "./read.js";

/** A merge refused; the message names the fix. */
export class MergeError extends KnownError<
  "no-shards" | "unreadable" | "mixed-runs" | "duplicate" | "none-finished"
> {
  override readonly name = "MergeError";
}

export interface ShardInput {
  readonly dir: string;
  readonly manifest: ShardManifest;
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

export function checkOneRun(inputs: readonly ShardInput[], first: ShardInput): void {
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
export function coverageOf(
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

export function endReasonOf(finished: readonly ShardInput[]): EndReason {
  return (
    finished.map((s) => s.manifest.endReason).find((r) => r !== undefined && r !== "completed") ?? "completed"
  );
}
