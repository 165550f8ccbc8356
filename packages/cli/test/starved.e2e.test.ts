import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { RunSummary } from "@livekit-swarm/load";
import { isRoot, startSwarm, testbedEnv } from "@livekit-swarm/test-kit";
import { Testbed } from "@livekit-swarm/testbed";

/** A cpu cgroup of its own (cgroup v1, this machine's), the prefix the leftover checks know. */
const GROUP = `/sys/fs/cgroup/cpu/lkswarm-starved-${process.pid}`;
// 30 s: a worker judged over fewer than two windows of the hold is never called throttled
const ARGS = ["--rooms", "4", "--subscribers", "3", "--duration", "30s"];

/** One run of the swarm against `tb`, in GROUP's CPU quota when `capped`; killed if it hangs. */
async function run(tb: Testbed, capped: boolean) {
  const out = mkdtempSync(join(tmpdir(), "swarm-starved-"));
  const swarm = startSwarm([...ARGS, "-o", out], testbedEnv(tb));
  if (capped) {
    // before it forks its workers (they inherit it): the CLI parses, plans and checks the server first
    writeFileSync(join(GROUP, "cgroup.procs"), String(swarm.child.pid));
  }
  const timer = setTimeout(() => swarm.child.kill("SIGKILL"), 150_000);
  const code = await swarm.exited;
  clearTimeout(timer);
  const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as RunSummary;
  return { code, stdout: swarm.stdout, stderr: swarm.stderr, summary };
}

/**
 * The issue's case made deterministic: a generator starved of CPU (here by a cgroup quota, as a
 * pod's CPU limit does) joined slowly and received almost nothing, and the run blamed LiveKit
 * (exit 99, "tracks never received", generator "kept up"). Starved, the run is inconclusive (exit
 * 2) and says why; the same run with its CPU exits 0. LiveKit runs outside the group, uncapped.
 */
describe.skipIf(!isRoot)("a generator starved of CPU (cgroup quota; root)", () => {
  let tb: Testbed | undefined;
  afterAll(async () => {
    await tb?.stop();
    try {
      rmdirSync(GROUP);
    } catch {
      // not made, or already gone
    }
  });

  it("capped at 0.15 cores: inconclusive (exit 2), its quota named; uncapped: exit 0", async () => {
    tb = await Testbed.start({ name: `e2e-starved-${process.pid}` });
    mkdirSync(GROUP, { recursive: true });
    writeFileSync(join(GROUP, "cpu.cfs_period_us"), "100000");
    writeFileSync(join(GROUP, "cpu.cfs_quota_us"), "15000");

    const starved = await run(tb, true);
    console.log(starved.stdout);
    expect(starved.code, starved.stdout + starved.stderr).toBe(2);
    expect(starved.stdout).toMatch(/^health: INCONCLUSIVE \(exit 2\)/m);
    expect(starved.stdout).toMatch(
      /FAILED +generator: the swarm's own worker did not keep up: worker 0 \(.*its CPU quota ran out in >= 20% of the CFS periods in \d+ of \d+ windows/,
    );
    expect(starved.stdout).toContain("raise or lift the generator's CPU limit");
    const w = starved.summary.generator?.workers[0];
    expect(w?.throttled, JSON.stringify(w)).toBe(true);
    // the group's CPU: what the quota allows, not what the worker wanted
    expect(w?.meanCpuCores ?? NaN).toBeLessThan(0.2);

    const fed = await run(tb, false);
    console.log(fed.stdout);
    expect(fed.code, fed.stdout + fed.stderr).toBe(0);
    expect(fed.stdout).toMatch(/^health: ok/m);
    expect(fed.summary.generator?.workers[0]?.throttled).toBeUndefined();
  }, 360_000);
});
