import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { CapacityResult } from "@livekit-swarm/capacity";
import { CLI, leftovers, swarm, testbedEnv } from "@livekit-swarm/test-kit";
import { Testbed, cpuGroups } from "@livekit-swarm/testbed";

const isRoot = process.getuid?.() === 0;
const out = (tag: string): string =>
  join(tmpdir(), `e2e-capacity-${tag}-${String(process.pid)}-${Date.now().toString(36)}`);
const SCENARIO = "scenarios/capacity/audio-2party.yaml";
/** Short steps: 5 s warm-up, 10 s measured; the search itself is the subject here, not the figures. */
const TIMING = ["--hold", "10s", "--warmup", "5s"];

function readResult(dir: string): CapacityResult {
  return JSON.parse(readFileSync(join(dir, "steps.json"), "utf8")) as CapacityResult;
}

/**
 * When a search ended at its first step, judged bad while the server used under half its cap and
 * was throttled in under a tenth of its CPU periods: that step's figures (its thresholds, the
 * server's and the generator's CPU, the machine's other load, its run's generator line) for the log.
 */
function firstStepBrokenWithHeadroom(code: number | null, dir: string): string | undefined {
  if (code !== 99) return undefined;
  let result: CapacityResult;
  try {
    result = readResult(dir);
  } catch {
    return undefined;
  }
  const first = result.steps[0];
  if (result.steps.length !== 1 || first?.outcome !== "bad") return undefined;
  const { server } = first;
  const cores = server.cores;
  if (
    cores === undefined ||
    server.available === undefined ||
    cores >= server.available / 2 ||
    (server.throttled ?? 0) >= 0.1
  )
    return undefined;
  let load = "";
  try {
    load = JSON.stringify(
      (JSON.parse(readFileSync(join(first.outputDir, "summary.json"), "utf8")) as { generator?: unknown })
        .generator,
    );
  } catch {
    load = "(no summary.json)";
  }
  return [
    `${String(first.rooms)} rooms: ${first.reason}`,
    `server ${cores.toFixed(3)} of ${String(server.available)} cores, throttled in ${String(server.throttled)} of its periods; ` +
      `generator ${first.generator.cores.toFixed(3)} cores; other processes ${first.otherCores.toFixed(2)} cores`,
    `its run's generator load: ${load}`,
  ].join("\n");
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean();
});

describe.skipIf(!isRoot)("swarm capacity (cgroup CPU caps need root)", () => {
  it("against a one-node testbed capped at 0.25 core, finds a knee: the step after it broke a named threshold", async () => {
    let dir = out("knee");
    // Steady-state quality only: join times against a CPU-capped server are dominated by how
    // the quota's 100 ms periods fall on a busy shared machine (measured: 4 rooms joined in
    // 3.4-4.0 s once, 10 rooms in under 1.8 s another time), not by the rooms it holds.
    // 4 rooms of 2-party audio use about 0.05 core. 60 rooms were the top step until two
    // clean-clone suite runs of 2026-12-01 read them at 0.25 of 0.25 cores with jitter p95 9.4 ms,
    // then at 0.21 of 0.25 with 1.4 ms: near the cap, not past it (earlier, 30 rooms used 0.19).
    // 100 rooms need about 0.35-0.42 cores, well past it; one bisection at 52 then ends the search.
    // The jitter limit sits between the two ends with a margin each way: 4 rooms read 0.5-2 ms
    // (alone, beside turn.e2e, beside two busy loops), and 60 rooms on the saturated server read 27
    // ms in one run, which a 30 ms limit let through, and 9.4 ms in a clean-clone suite run
    // (2026-12-01: the server at 0.25 of 0.25 cores, loss 0), which a 10 ms limit let through: no
    // knee up to --max. Jitter at saturation moves with what else the machine runs (28-42 ms at 32
    // rooms elsewhere), so the limit is 5 ms, about twice the light end and half the lowest
    // saturated reading.
    const search = (into: string) =>
      swarm(
        [
          "capacity",
          "--scenario",
          SCENARIO,
          "--server-cpu",
          "0.25",
          "--quality",
          "loss p95 < 1%; jitter p95 < 5ms",
          "--start",
          "4",
          "--step",
          "96",
          "--max",
          "100",
          "--resolution",
          "48",
          ...TIMING,
          "-o",
          into,
        ],
        {},
        // three steps of 30-60 s each (ramp, warm-up, hold, drain, pause) on a busy 2-core machine
        260_000,
      );
    let run = await search(dir);
    // the capacity tool's own guard: quality broke while the server had headroom and the machine
    // was full, other work holding most of it (a CI run, 4 rooms: the machine 1.93 of 2 cores, the
    // generator 0.31, beside other e2e files). That is no knee of the server's; search once more
    const machineFull =
      /generator-bound: quality broke while the server had headroom and the generator's machine was full \(([\d.]+) of 2 cores, the generator ([\d.]+)\)/.exec(
        `${run.stdout}\n${run.stderr}`,
      );
    // 4 rooms broke quality while the server used well under half its cap and was never held
    // back by it: whatever broke, it was not this server's capacity, which is this test's subject
    // (a CI run, 2026-11-30: jitter p95 12.3 ms at 4 rooms, the server at 0.08 of its 0.25 cores;
    // 0.5-2 ms here alone, beside turn.e2e and beside two busy loops). Its figures are printed and
    // the search runs once more; a second such step fails the test
    const unsaturatedFirst = firstStepBrokenWithHeadroom(run.code, dir);
    if (run.code === 2 && machineFull !== null && Number(machineFull[1]) - Number(machineFull[2]) > 1) {
      console.log(`capacity e2e: the machine was full of other work, searching again:\n${run.stderr}`);
      dir = out("knee-again");
      run = await search(dir);
    } else if (unsaturatedFirst !== undefined) {
      console.log(
        `capacity e2e: the first step broke quality with the server far from its cap, searching again:\n${unsaturatedFirst}`,
      );
      dir = out("knee-again");
      run = await search(dir);
    }
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const result = readResult(dir);
    expect(result.knee.kind, run.stdout).toBe("found");
    if (result.knee.kind !== "found") return;
    const { good, bad } = result.knee;
    expect(bad - good).toBeLessThanOrEqual(48);
    const goodStep = result.steps.find((s) => s.rooms === good);
    const badStep = result.steps.find((s) => s.rooms === bad);
    expect(goodStep?.outcome).toBe("good");
    expect(badStep?.outcome, badStep?.reason).toBe("bad");
    // the bad step names what broke, with its observed value beyond its limit
    const broken = badStep?.broken[0];
    expect(broken, badStep?.reason).toBeDefined();
    if (broken === undefined || broken.observed === undefined) return;
    // one of the two thresholds asked for, by its catalog name (the short names expand)
    expect(["lkswarm_inbound_loss_ratio", "lkswarm_inbound_jitter_seconds"]).toContain(
      broken.threshold.split(" ")[0],
    );
    expect(
      broken.op === "<" || broken.op === "<=" ? broken.observed >= broken.limit : true,
      broken.message,
    ).toBe(true);
    expect(run.stdout).toContain(
      `knee: ${String(good)} rooms met every threshold; ${String(bad)} rooms broke ${broken.threshold}`,
    );
    // the server's resources were read from its /metrics, within its cap
    expect(goodStep?.server.cores).toBeGreaterThan(0);
    expect(goodStep?.server.cores).toBeLessThan(0.25 * 1.2);
    expect(goodStep?.server.bitsPerS.outgoing).toBeGreaterThan(0);
    expect(goodStep?.server.available).toBe(0.25);
    const html = readFileSync(join(dir, "report.html"), "utf8");
    expect(html).toContain("<svg");
    expect(html).toContain(`knee ${String(good)}`);
    expect(readFileSync(join(dir, "report.md"), "utf8")).toContain("| audio-2party |");
    // the testbed and its cgroup are gone
    const runDir = result.server.kind === "testbed" ? result.server.runDir : undefined;
    expect(runDir).toBeDefined();
    expect(leftovers(runDir ?? "")).toEqual([]);
  }, 560_000);

  it("with the generator in a cgroup of 0.08 core and an uncapped server, reports generator-bound, not server capacity", async () => {
    const tb = await Testbed.start({ name: `e2e-capacity-gen-${String(process.pid)}` });
    cleanups.push(async () => {
      await tb.stop();
      expect(leftovers(tb.runDir)).toEqual([]);
    });
    const node = tb.nodes[0];
    if (node === undefined) throw new Error("no node");
    // a starved generator: the swarm CLI and everything it starts share 8% of one core
    const group = `lkswarm-e2e-generator-${String(process.pid)}`;
    const groupDir = join("/sys/fs/cgroup/cpu", group);
    mkdirSync(groupDir);
    cleanups.push(() => {
      rmdirSync(groupDir);
      expect(cpuGroups()).not.toContain(group);
      return Promise.resolve();
    });
    writeFileSync(join(groupDir, "cpu.cfs_period_us"), "100000");
    writeFileSync(join(groupDir, "cpu.cfs_quota_us"), "8000");
    const dir = out("generator");
    const args = [
      "capacity",
      "--scenario",
      SCENARIO,
      "--start",
      "10",
      "--max",
      "10",
      ...TIMING,
      "-o",
      dir,
      "--server-metrics",
      node.metricsUrl,
      "--server-cores",
      "2",
    ];
    const child = spawn(
      "sh",
      ["-c", `echo $$ > ${groupDir}/cgroup.procs && exec "$0" "$@"`, process.execPath, CLI, ...args],
      { env: { ...process.env, ...testbedEnv(tb) }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    // one step, slowed by the cap: starting node and the engine alone take several seconds at 8% of a core
    const code = await new Promise<number | null>((done) => child.once("exit", done));
    expect(code, stderr).toBe(2);
    const result = readResult(dir);
    expect(result.knee).toMatchObject({ kind: "generator-bound", rooms: 10 });
    const step = result.steps[0];
    expect(step?.outcome).toBe("generator-bound");
    expect(step?.generator.available).toBeCloseTo(0.08);
    expect(step?.reason).toContain("add cores or shards");
    expect(stdout).toContain("GENERATOR-BOUND at 10 rooms");
    expect(stdout).not.toContain("| audio-2party |");
    // 130 s alone on this machine (2026-11-29), over 150 s beside the suite's other tests: the cap
    // is 8% of a core, and a busy machine may not even give it that
  }, 300_000);
});
