/** Where a bench run is recorded: bench/results.md (appended section) and bench/results.json. */
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, release } from "node:os";
import { join } from "node:path";
import { findBinary } from "@livekit-swarm/testbed";
import { markdownSection, type BenchRecord, type Machine } from "./report.js";

function sh(cwd: string, cmd: string, args: readonly string[]): string | undefined {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

export function describeMachine(root: string): Machine {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const memKiB = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0);
  const commit = sh(root, "git", ["rev-parse", "--short", "HEAD"]);
  const dirty = (sh(root, "git", ["status", "--porcelain", "--untracked-files=no"]) ?? "") !== "";
  let server: string | undefined;
  try {
    server = sh(root, findBinary("livekit-server"), ["--version"]);
  } catch {
    server = undefined;
  }
  return {
    cores: availableParallelism(),
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    memoryGiB: Math.round((memKiB / 1024 / 1024) * 10) / 10,
    kernel: release(),
    node: process.version,
    livekitServer: server?.replace(/^livekit-server version /, "") ?? "unknown",
    commit: commit === undefined ? "unknown" : `${commit}${dirty ? " (with uncommitted changes)" : ""}`,
  };
}

/** Appends the run to results.md and results.json in `outDir`; returns their paths. */
export function writeResults(outDir: string, record: BenchRecord): { md: string; json: string } {
  mkdirSync(outDir, { recursive: true });
  const md = join(outDir, "results.md");
  if (!existsSync(md)) {
    writeFileSync(
      md,
      "# Benchmark results\n\nWritten by `npm run bench` (packages/bench); each run appends a section. Compare with docs/engine-costs.md.\n",
    );
  }
  appendFileSync(md, markdownSection(record));
  const json = join(outDir, "results.json");
  let all: { runs: unknown[] } = { runs: [] };
  if (existsSync(json)) {
    try {
      all = JSON.parse(readFileSync(json, "utf8")) as { runs: unknown[] };
    } catch {
      process.stderr.write(`bench: ${json} is not JSON; starting it afresh\n`);
    }
  }
  all.runs.push(record);
  writeFileSync(json, `${JSON.stringify(all, null, 2)}\n`);
  return { md, json };
}
