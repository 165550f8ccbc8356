import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { RunSummary } from "@livekit-swarm/load";
import { WORKER_LATE_TICK_MS } from "@livekit-swarm/schema";
import { percentile } from "@livekit-swarm/stats";
import { embeddedEnv, freePort, isRoot, startSwarm, testbedEnv } from "@livekit-swarm/test-kit";
import { Testbed } from "@livekit-swarm/testbed";

/** A cpu cgroup of its own (cgroup v1, this machine's), the prefix the leftover checks know. */
const GROUP = `/sys/fs/cgroup/cpu/lkswarm-starved-${process.pid}`;
// 30 s: a worker judged over fewer than two windows of the hold is never called throttled
const ARGS = ["--rooms", "4", "--subscribers", "3", "--duration", "30s"];

/**
 * The watchdog: a CLI capped at 0.15 cores takes 50-95 s to start before its run of 33 s (its
 * modules load at a seventh of a core; measured 2026-11-30 at this commit and the one before, so not
 * a regression), and a clean-clone CI run went past the 150 s this once was with nothing written.
 */
const HANG_MS = 300_000;

/** One run of the swarm against `tb`, in GROUP's CPU quota when `capped`; killed if it hangs. */
async function run(tb: Testbed, capped: boolean) {
  const out = mkdtempSync(join(tmpdir(), "swarm-starved-"));
  const swarm = startSwarm([...ARGS, "-o", out], testbedEnv(tb));
  if (capped) {
    // before it forks its workers (they inherit it): the CLI parses, plans and checks the server first
    writeFileSync(join(GROUP, "cgroup.procs"), String(swarm.child.pid));
  }
  const timer = setTimeout(() => {
    // the CLI and every worker it forked: a worker still loading would outlive its CLI for minutes
    const pids = capped ? readFileSync(join(GROUP, "cgroup.procs"), "utf8").split("\n").filter(Boolean) : [];
    for (const pid of pids) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // gone already
      }
    }
    swarm.child.kill("SIGKILL");
  }, HANG_MS);
  const code = await swarm.exited;
  clearTimeout(timer);
  if (!existsSync(join(out, "summary.json")))
    throw new Error(
      `the swarm ${capped ? "capped" : "uncapped"} ended (${String(code)}) with no summary.json, killed after ${HANG_MS / 1000} s or failing:\n${swarm.stdout}${swarm.stderr}`,
    );
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

  it(
    "capped at 0.15 cores: inconclusive (exit 2), its quota named; uncapped: exit 0",
    async () => {
      tb = await Testbed.start({ name: `e2e-starved-${process.pid}` });
      mkdirSync(GROUP, { recursive: true });
      writeFileSync(join(GROUP, "cpu.cfs_period_us"), "100000");
      writeFileSync(join(GROUP, "cpu.cfs_quota_us"), "15000");

      const starved = await run(tb, true);
      console.log(starved.stdout);
      expect(starved.code, starved.stdout + starved.stderr).toBe(2);
      expect(starved.stdout).toMatch(/^health: INCONCLUSIVE \(exit 2\)/m);
      const generator = starved.summary.generator;
      const w = generator?.workers[0];
      if (w?.unstarted === true && w.throttled !== true) {
        // so starved its engines never loaded in the run (CI, 2026-11-30: nobody joined, and the
        // run had blamed LiveKit): its participants never began, and the group's quota over the run
        // says why where the worker had too few windows of its own to
        expect(starved.stdout).toMatch(
          /FAILED +generator: the swarm's own worker did not keep up: worker 0 \(its engines had not finished loading when the run ended.*the CPU quota of the swarm's cgroup ran out in \d+% of the CFS periods over the run/,
        );
        expect(generator?.quotaRanOut ?? 0, JSON.stringify(generator)).toBeGreaterThanOrEqual(0.2);
        expect(starved.summary.participants.joinFailures).toEqual({ not_started: 16 });
      } else {
        expect(starved.stdout).toMatch(
          /FAILED +generator: the swarm's own worker did not keep up: worker 0 \(.*its CPU quota ran out in >= 20% of the CFS periods in \d+ of \d+ windows/,
        );
        expect(w?.throttled, JSON.stringify(w)).toBe(true);
        // the group's CPU: what the quota allows, not what the worker wanted
        expect(w?.meanCpuCores ?? NaN).toBeLessThan(0.2);
      }
      expect(starved.stdout).toContain("raise or lift the generator's CPU limit");

      const fed = await run(tb, false);
      console.log(fed.stdout);
      expect(fed.code, fed.stdout + fed.stderr).toBe(0);
      expect(fed.stdout).toMatch(/^health: ok/m);
      expect(fed.summary.generator?.workers[0]?.throttled).toBeUndefined();
    },
    2 * HANG_MS,
  );
});

/**
 * Starved by other processes, no quota: the issue's voice-ai case beside four busy loops (two per
 * core of this 2-core machine, each ended by `timeout` after 90 s whatever happens). Two loops, one
 * a core, no longer starved it past doubt: a clean-clone suite run (2026-12-01) read every track
 * received, the loop's p99 at most 42 ms, no stall, and exited 0 (with round trips of 479 ms p95 on
 * loopback, a figure of the crowding; noted on issue 51); with four, twice: loop p99 167-187 ms,
 * 19-25 tracks never received, stalls, exit 2. Measured
 * 2026-11-28: the machine 100% busy, the event loop's p99 delay up to 137-171 ms, 36-52 of 100 audio
 * tracks never received, and the run had exited 99 blaming LiveKit. Now: inconclusive (exit 2),
 * the crowded machine named with the late event loop or rtc-node's stalls (2026-11-29, in CI and a
 * clean-clone run: the loop's p99 at most 43 ms, 7 stalls over 10 s, 29 tracks never received, 99). Alone it exits 0 (the first case's uncapped
 * run holds that for a lighter load; voice-ai alone read 92% busy, p99 delay up to 49 ms).
 */
describe("a generator starved by other processes: voice-ai beside four busy loops", () => {
  it("exits 2, naming the crowded machine and the late event loop or rtc-node's stalls", async () => {
    // each in a process group of its own, killed whole: SIGKILL to `timeout` alone leaves its `sh`
    // spinning (one did, for over an hour, under a whole suite run)
    const loops = [0, 1, 2, 3].map(() =>
      spawn("timeout", ["90", "sh", "-c", "while :; do :; done"], { stdio: "ignore", detached: true }),
    );
    const out = mkdtempSync(join(tmpdir(), "swarm-crowded-"));
    try {
      const swarm = startSwarm(
        ["--scenario", "voice-ai", "--duration", "20s", "-o", out],
        embeddedEnv(join(out, "testbeds")),
      );
      const timer = setTimeout(() => swarm.child.kill("SIGKILL"), 150_000);
      const code = await swarm.exited;
      clearTimeout(timer);
      console.log(swarm.stdout);
      expect(code, swarm.stdout + swarm.stderr).toBe(2);
      expect(swarm.stdout).toMatch(/^health: INCONCLUSIVE \(exit 2\)/m);
      // any sign of the crowding: the event loop late in most windows, or late on the hold's mean
      // (CI, 2026-12-01: 40 ms mean, one window of three at 50 ms, every track received, exit 0 with
      // round trips of 660 ms p95 on loopback; 33 ms mean, 38 max, here), rtc-node's own handlers stalled (2026-11-29, 7
      // stalls), or tracks that never came with no link broken (CI, 2026-11-29: 0 of 100 joined for
      // 15 s, then all, and the run blamed LiveKit with exit 99)
      expect(swarm.stdout).toMatch(
        /FAILED +generator: (the swarm's own worker did not keep up: (worker 0 \(the machine's cores were >= 95% busy (and its event loop 50 ms late or more \(p99\) in \d+ of \d+ windows|in \d+ of \d+ windows, machine \d+% busy \(mean\), and its event loop ran \d+ ms late \(p99, mean over those windows; >= 25 ms\))|rtc-node took over 10 s to handle \d+ of its own events \("taking too much time" in workers\.log\) while the machine's cores were >= 95% busy in \d+ of \d+ windows)|the machine's cores were >= 95% busy in \d+ of \d+ windows \(worker 0, machine \d+% busy, mean\) while joins went unanswered or tracks never came, with no link broken)/,
      );
      expect(swarm.stdout).toMatch(
        /keep other work off the generator's machine, or put LiveKit on another one/i,
      );
    } finally {
      for (const l of loops) if (l.pid !== undefined) process.kill(-l.pid, "SIGKILL");
    }
  }, 200_000);
});

/** Spins `on` ms, sleeps `off` ms, until `total` ms have passed: a neighbour that holds a core in bursts. */
const BURSTS = `const [on, off, total] = process.argv.slice(1).map(Number);
const sleep = new Int32Array(new SharedArrayBuffer(4));
const end = performance.now() + total;
while (performance.now() < end) {
  const stop = performance.now() + on;
  while (performance.now() < stop) {}
  Atomics.wait(sleep, 0, 0, off);
}`;

/**
 * Each named series' value in one scrape of the exporter's /metrics on `port`; undefined for one
 * not set yet, and for all while the port is closed.
 */
async function scrapeGauges(port: number, names: readonly string[]): Promise<(number | undefined)[]> {
  let lines: string[];
  try {
    lines = (await (await fetch(`http://127.0.0.1:${String(port)}/metrics`)).text()).split("\n");
  } catch {
    return names.map(() => undefined);
  }
  return names.map((name) => {
    const line = lines.find((l) => l.startsWith(`${name}{`));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
  });
}

/** The scrapes' p50 of nearest rank (the lower of the two middle ones); NaN for none. */
const median = (values: readonly number[]): number => percentile(values, 50, "windows").value ?? Number.NaN;

/** The subscribers' audio jitter of a run, p50 over their windows, ms; NaN without it. */
function audioJitterP50Ms(summary: RunSummary): number {
  const f = summary.figures.find((x) => x.metric === "lkswarm_inbound_jitter_seconds" && x.kind === "audio");
  return (f?.p50 ?? Number.NaN) * 1000;
}

/** Two audio rooms of 1+2, lean; 30 s, so the verdict has the three late windows it asks for and more (LATE_TICK_WINDOWS). */
const AUDIO_ROOMS =
  "--engine lean --rooms 2 --video-publishers 0 --audio-publishers 1 --subscribers 2 --duration 30s".split(
    " ",
  );

/** Why this machine cannot pin a real-time neighbour to core 1 (no CAP_SYS_NICE, no core 1, no util-linux); undefined when it can. */
function cannotPin(): string | undefined {
  if (!isRoot) return "needs root for a SCHED_FIFO neighbour";
  if (availableParallelism() < 2) return "needs 2 cores";
  try {
    execFileSync("chrt", ["-f", "10", "taskset", "-c", "1", "true"], { stdio: "ignore" });
    return undefined;
  } catch (err) {
    return `chrt -f 10 taskset -c 1 true failed here (${(err as Error).message.split("\n")[0] ?? ""})`;
  }
}
const pinning = cannotPin();

/**
 * The native media thread held off its core, the machine half idle: lean's audio on the native path
 * (LKSWARM_LEAN_NATIVE=1), the swarm pinned to core 1 (taskset; LiveKit, started apart, is not) and a
 * real-time neighbour (SCHED_FIFO, pinned there too) spinning 40 ms of every 80 ms. The thread's
 * timer fires on time and the thread waits for the neighbour (probed alone with 30 ms bursts: its
 * ticks 27-31 ms late at p99, bench/results.md "the native media thread's late ticks"). The machine
 * is not crowded and nothing else is judged late, so before the thread's ticks were measured
 * (lean-media.c lateness()) such a run exited 0, its subscribers reading the generator's lateness as
 * the network's jitter.
 */
describe.skipIf(pinning !== undefined)(
  `the native media thread held off its core by a real-time neighbour${pinning === undefined ? "" : ` [SKIPPED: ${pinning}]`}`,
  () => {
    let tb: Testbed | undefined;
    afterAll(async () => {
      await tb?.stop();
    });

    /**
     * A 30 s native-path audio run pinned to core 1, beside the neighbour when `held`; its exporter's
     * media thread gauges (lkswarm_worker_media_tick_late_seconds, and
     * lkswarm_worker_media_send_jitter_seconds as `sendJitter`) read every second while it runs.
     */
    async function pinned(testbed: Testbed, held: boolean) {
      const out = mkdtempSync(join(tmpdir(), "swarm-ticks-"));
      const port = await freePort();
      const gauge: number[] = [];
      const sendJitter: number[] = [];
      // bounded: it stops by itself after 150 s (the run's own watchdog) whatever happens, and is
      // killed whole below
      const neighbour = held
        ? spawn(
            "chrt",
            ["-f", "10", "taskset", "-c", "1", process.execPath, "-e", BURSTS, "40", "40", "150000"],
            { stdio: "ignore", detached: true },
          )
        : undefined;
      neighbour?.on("error", () => undefined);
      try {
        const swarm = startSwarm([...AUDIO_ROOMS, "--metrics-port", String(port), "-o", out], {
          ...testbedEnv(testbed),
          LKSWARM_LEAN_NATIVE: "1",
        });
        const timer = setTimeout(() => swarm.child.kill("SIGKILL"), 150_000);
        try {
          // every thread of the CLI, before it forks its worker (which inherits it): it checks the
          // server and plans first
          execFileSync("taskset", ["-a", "-p", "-c", "1", String(swarm.child.pid)], { stdio: "ignore" });
        } catch (err) {
          swarm.child.kill("SIGKILL");
          throw err;
        }
        const state = { ended: false };
        void swarm.exited.then(() => (state.ended = true));
        while (!state.ended) {
          const [v, j] = await scrapeGauges(port, [
            "lkswarm_worker_media_tick_late_seconds",
            "lkswarm_worker_media_send_jitter_seconds",
          ]);
          if (v !== undefined) gauge.push(v);
          if (j !== undefined) sendJitter.push(j);
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
        const code = await swarm.exited;
        clearTimeout(timer);
        console.log(
          `${swarm.stdout}lkswarm_worker_media_tick_late_seconds, scraped each second: ${gauge.join(" ")}; lkswarm_worker_media_send_jitter_seconds: ${sendJitter.join(" ")}`,
        );
        const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as RunSummary;
        const w = summary.generator?.workers[0];
        console.log(
          `send jitter mean ${String(w?.meanSendJitterMs)} ms, max ${String(w?.maxSendJitterMs)} ms; subscribers' audio jitter p50 ${String(audioJitterP50Ms(summary))} ms`,
        );
        return { code, stdout: swarm.stdout, stderr: swarm.stderr, summary, gauge, sendJitter };
      } finally {
        try {
          if (neighbour?.pid !== undefined) process.kill(-neighbour.pid, "SIGKILL");
        } catch {
          // gone already
        }
      }
    }

    it("exits 2 naming the thread's late ticks; pinned without the neighbour, exits 0", async () => {
      tb = await Testbed.start({ name: `e2e-ticks-${process.pid}` });
      const held = await pinned(tb, true);
      const w = held.summary.generator?.workers[0];
      // on the native path, its thread measured (a fallback to the TypeScript path has no ticks)
      expect(w?.mediaTickWindows ?? 0, held.stdout + held.stderr).toBeGreaterThanOrEqual(3);
      expect(held.code, held.stdout + held.stderr).toBe(2);
      expect(held.stdout).toMatch(/^health: INCONCLUSIVE \(exit 2\)/m);
      expect(held.stdout).toMatch(
        /FAILED +generator: the swarm's own worker did not keep up: worker 0 \((?:[^)]*; )?its native media thread ran its 20 ms ticks 10 ms late or more \(p99\) in \d+ of \d+ windows, mean \d+ ms, up to \d+ ms: its audio left that late/,
      );
      expect(w?.ticksLate, JSON.stringify(w)).toBe(true);
      // the neighbour's 40 ms bursts: a tick falling at a burst's start waits most of it
      expect(w?.maxTickLateMs ?? 0, JSON.stringify(w)).toBeGreaterThanOrEqual(20);
      // the exporter said so while it ran: at the verdict's line in more than half the scrapes (the
      // alert's share), and in seconds (the thread's last bucket is 100 ms: a gauge in ms would read 30)
      expect(median(held.gauge), `gauge ${held.gauge.join(" ")}`).toBeGreaterThanOrEqual(
        WORKER_LATE_TICK_MS / 1000,
      );
      expect(Math.max(...held.gauge), `gauge ${held.gauge.join(" ")}`).toBeLessThanOrEqual(0.1);
      // its own send jitter (RFC 3550's estimator over its ticks' lateness): of every 80 ms, a tick
      // φ ms into a burst waits 40 - φ, the next 20 - φ, and two go on time, so the lateness of two
      // ticks in a row differs by 20 - φ/2 ms on average, 10 to 20 as the two clocks drift apart
      const sendJitterMs = w?.meanSendJitterMs ?? 0;
      expect(sendJitterMs, JSON.stringify(w)).toBeGreaterThanOrEqual(8);
      expect(sendJitterMs, JSON.stringify(w)).toBeLessThanOrEqual(w?.maxSendJitterMs ?? 0);
      // and the subscribers read what it sent: the same estimator over the same packets, through a
      // server with a core to spare and loopback (measured: 14.0 and 15.4 ms at p50 against means of 14.7 and 15.7)
      const heard = audioJitterP50Ms(held.summary);
      expect(heard, `subscribers' audio jitter p50 against send jitter ${sendJitterMs}`).toBeGreaterThan(
        0.5 * sendJitterMs,
      );
      expect(heard, `subscribers' audio jitter p50 against send jitter ${sendJitterMs}`).toBeLessThan(
        1.5 * sendJitterMs,
      );
      // the exporter's send jitter gauge said the same while it ran, in seconds: RFC 3550's
      // estimate never exceeds the largest |D| it saw, at most the neighbour's 40 ms burst (a gauge
      // in ms would read 15). Not held to the summary's max: the gauge is set from every window,
      // the ramp's included, which summary.json leaves out (a clean-clone run's first window read
      // 18.2 ms against the summary's max of 16.6)
      expect(
        median(held.sendJitter),
        `send jitter gauge ${held.sendJitter.join(" ")}`,
      ).toBeGreaterThanOrEqual(0.008);
      expect(
        Math.max(...held.sendJitter),
        `send jitter gauge ${held.sendJitter.join(" ")}`,
      ).toBeLessThanOrEqual(0.04);

      const alone = await pinned(tb, false);
      expect(alone.code, alone.stdout + alone.stderr).toBe(0);
      const a = alone.summary.generator?.workers[0];
      // the thread ran and was measured, on time
      expect(a?.mediaTickWindows ?? 0, JSON.stringify(a)).toBeGreaterThanOrEqual(2);
      expect(a?.ticksLate, JSON.stringify(a)).toBe(false);
      // its gauge was there, under the line in half the scrapes or more
      expect(alone.gauge.length, "scrapes of the media thread gauge").toBeGreaterThan(0);
      expect(median(alone.gauge), `gauge ${alone.gauge.join(" ")}`).toBeLessThan(WORKER_LATE_TICK_MS / 1000);
      // on time, it sends on time: its send jitter a small part of the neighbour's (0.4 ms at most, measured)
      expect(a?.meanSendJitterMs ?? Infinity, JSON.stringify(a)).toBeLessThan(2);
      expect(alone.sendJitter.length, "scrapes of the send jitter gauge").toBeGreaterThan(0);
      expect(median(alone.sendJitter), `send jitter gauge ${alone.sendJitter.join(" ")}`).toBeLessThan(0.002);
    }, 400_000);
  },
);
