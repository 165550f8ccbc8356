import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { relative } from "node:path";
import type { Reporter, TestModule } from "vitest/node";

/** The machine's busy and total CPU time so far, in clock ticks (Linux's /proc/stat), or undefined elsewhere. */
function cpuTicks(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
    // user nice system idle iowait irq softirq steal; idle and iowait are not busy
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    if (ticks.length < 8 || ticks.some((n) => !Number.isFinite(n))) return undefined;
    const total = ticks.reduce((a, n) => a + n, 0);
    return { busy: total - (ticks[3] ?? 0) - (ticks[4] ?? 0), total };
  } catch {
    return undefined;
  }
}

// CI reads a plain "N passed, N failed" closing line; vitest's own summary has another shape. Above
// it, the slowest end-to-end files with how busy the machine was while each ran (a SOLO file's own
// load; for the others, theirs plus the file running beside them in the other pool, see
// vitest.config.ts): what to look at to keep the suite short.
export default class SummaryLineReporter implements Reporter {
  private readonly started = new Map<string, { at: number; ticks: ReturnType<typeof cpuTicks> }>();
  private readonly files: { name: string; seconds: number; cores: number | undefined }[] = [];
  private readonly cores = availableParallelism();

  onTestModuleStart(mod: TestModule): void {
    if (!mod.project.name.startsWith("e2e")) return;
    this.started.set(mod.moduleId, { at: performance.now(), ticks: cpuTicks() });
  }

  onTestModuleEnd(mod: TestModule): void {
    const start = this.started.get(mod.moduleId);
    if (start === undefined) return;
    const end = cpuTicks();
    const seconds = (performance.now() - start.at) / 1000;
    const cores =
      start.ticks && end && end.total > start.ticks.total
        ? ((end.busy - start.ticks.busy) / (end.total - start.ticks.total)) * this.cores
        : undefined;
    this.files.push({ name: relative(process.cwd(), mod.moduleId), seconds, cores });
  }

  onTestRunEnd(testModules: readonly TestModule[]): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else skipped++;
      }
    }
    const slowest = [...this.files].sort((a, b) => b.seconds - a.seconds).slice(0, 15);
    if (slowest.length > 0) {
      const total = this.files.reduce((a, f) => a + f.seconds, 0);
      process.stdout.write(
        `\nslowest e2e files (all ${String(this.files.length)}: ${total.toFixed(0)} s), with the machine's busy cores meanwhile:\n`,
      );
      for (const f of slowest)
        process.stdout.write(
          `${f.seconds.toFixed(0).padStart(6)} s  ${f.cores === undefined ? "   -" : f.cores.toFixed(2)} cores  ${f.name}\n`,
        );
    }
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
