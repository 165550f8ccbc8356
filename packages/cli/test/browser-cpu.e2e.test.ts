import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { RunSummary } from "@livekit-swarm/load";
import { startSwarm, testbedEnv } from "@livekit-swarm/test-kit";
import { Testbed } from "@livekit-swarm/testbed";

// the binary the browser engine launches (packages/browser DEFAULT_CHROMIUM), installed by scripts/setup
const CHROMIUM = "/usr/lib/chromium/chromium";
const hasChromium = existsSync(CHROMIUM);

/** CPU seconds (utime + stime) of each descendant of `root` alive now: its workers and their Chromiums. */
function treeCpuS(root: number): Map<number, number> {
  const children = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      children.set(Number(fields[1]), [...(children.get(Number(fields[1])) ?? []), Number(entry)]);
      ticks.set(Number(entry), Number(fields[11]) + Number(fields[12]));
    } catch {
      // it ended while we looked
    }
  }
  const out = new Map<number, number>();
  const queue = [...(children.get(root) ?? [])];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    queue.push(...(children.get(pid) ?? []));
    out.set(pid, (ticks.get(pid) ?? 0) / 100);
  }
  return out;
}

/**
 * The CPU the tree used between two readings, process by process: one born since counts whole, one
 * that exited counts up to its last reading (a Chromium helper that came and went made the sum of
 * the tree's totals go down).
 */
function usedBetween(readings: readonly Map<number, number>[]): number {
  const first = readings[0] ?? new Map<number, number>();
  const last = new Map<number, number>();
  for (const r of readings) for (const [pid, s] of r) last.set(pid, s);
  let used = 0;
  for (const [pid, s] of last) used += s - (first.get(pid) ?? 0);
  return used;
}

/**
 * The browser engine's cost is the generator's: its Chromiums' CPU counts in the generator's cores
 * (before 2026-11-28 a browser run read 0.01 cores, its worker's own). Held against /proc: the run's
 * process tree below the CLI (its workers, their Chromiums and their renderers), read by the test
 * every second over the hold, within 20% of what summary.json says the workers used.
 */
describe.skipIf(!hasChromium)(
  `the browser engine's generator cores${hasChromium ? "" : ` [SKIPPED: needs ${CHROMIUM} (scripts/setup)]`}`,
  () => {
    let tb: Testbed | undefined;
    afterAll(async () => {
      await tb?.stop();
    });

    it("count Chromium's processes: within 20% of the process tree's CPU read from /proc", async () => {
      tb = await Testbed.start({ name: `e2e-browser-cpu-${process.pid}` });
      const out = mkdtempSync(join(tmpdir(), "swarm-browser-cpu-"));
      const run = startSwarm(
        ["--engine", "browser", "--rooms", "1", "--subscribers", "1", "--duration", "30s", "-o", out],
        testbedEnv(tb),
      );
      const readings: { t: number; cpuS: Map<number, number>; phase: string }[] = [];
      const state = { ended: false };
      void run.exited.then(() => {
        state.ended = true;
      });
      while (!state.ended) {
        const phase = /\] (ramp|hold|drain)/g;
        const phases = [...run.stderr.matchAll(phase)].map((m) => m[1] ?? "");
        readings.push({
          t: Date.now(),
          cpuS: treeCpuS(run.child.pid ?? -1),
          phase: phases.at(-1) ?? "start",
        });
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      expect(await run.exited, run.stdout + run.stderr).toBe(0);
      const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as RunSummary & {
        run: { startedAt: string; participants: number };
        scenario: { duration: number; numPerSecond: number };
      };
      // the hold as the run had it (its start, the ramp, the hold's length), not as its progress
      // lines told it: they come every 5 s, and a window starting up to 5 s late left out Chromium's
      // busiest seconds, which the generator's mean over the hold has (0.52 against 0.43 cores)
      const holdFromMs =
        Date.parse(summary.run.startedAt) + (summary.run.participants / summary.scenario.numPerSecond) * 1000;
      const hold = readings.filter((r) => r.t >= holdFromMs && r.t <= holdFromMs + summary.scenario.duration);
      const [first, last] = [hold[0], hold.at(-1)];
      if (first === undefined || last === undefined || last.t - first.t < 10_000)
        throw new Error(`fewer than 10 s of hold seen: ${readings.map((r) => r.phase).join(" ")}`);
      const procCores = usedBetween(hold.map((r) => r.cpuS)) / ((last.t - first.t) / 1000);
      const workers = summary.generator?.workers ?? [];
      const generatorCores = workers.reduce((a, w) => a + w.meanCpuCores, 0);
      console.log(
        `browser run, 1 room of 1+1: generator ${generatorCores.toFixed(2)} cores (${workers.length} worker(s), mean over the hold); /proc's tree ${procCores.toFixed(2)} cores over ${((last.t - first.t) / 1000).toFixed(0)} s of it`,
      );
      expect(workers.length).toBeGreaterThan(0);
      // a worker alone reads ~0.01 cores: Chromium's must be in
      expect(procCores).toBeGreaterThan(0.1);
      expect(
        Math.abs(generatorCores - procCores),
        `generator ${generatorCores} vs /proc ${procCores}`,
      ).toBeLessThanOrEqual(0.2 * procCores);
    }, 150_000);
  },
);
