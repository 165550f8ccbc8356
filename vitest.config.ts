import { configDefaults, defineConfig } from "vitest/config";

// Unit tests sit next to the code; end-to-end tests start real livekit-server, redis and haproxy
// processes. A suite run takes its e2e files at most two at a time, on any machine, in three sets:
// - SOLO: the files that hold a figure to ground truth (loss against the drop nftables made,
//   bitrate under a cap, freeze length, NACK repairs, an alert's threshold), run after everything
//   else, one at a time with nothing beside them;
// - BESIDE: files that start no network namespace or nftables rule and mostly wait on
//   LiveKit (drills of freezes and kills, storms), run one at a time in a pool of their own
//   beside the rest;
// - the rest, one at a time in the main pool with the unit tests: everything that creates
//   network namespaces and nftables rules is here or in SOLO, so no two files touch them at once
//   (hostile-input checks that the host's namespaces and tables are as it found them).
// The closing summary lists the slowest e2e files with how busy the machine was while each ran.

/** Files checking a figure against ground truth: alone, after the others. */
const SOLO = [
  "packages/cli/test/fidelity.e2e.test.ts",
  "packages/cli/test/delay-fidelity.e2e.test.ts",
  "packages/cli/test/engine-lean.e2e.test.ts",
  "packages/cli/test/wire-bitrate.e2e.test.ts",
  "packages/cli/test/freeze.e2e.test.ts",
  // its unstarved half must exit 0: nothing beside it
  "packages/cli/test/starved.e2e.test.ts",
  // Chromium's CPU against /proc: a neighbour slows Chromium's start, which the two spans count apart
  "packages/cli/test/browser-cpu.e2e.test.ts",
  // browser E2EE: its Chromiums' start and the ratchets they see need the machine (beside the main
  // pool, 4 Chromiums took 35 s to start in a clean-clone run, 2026-11-28: one never joined)
  "packages/cli/test/e2ee.e2e.test.ts",
  // builds the whole toolkit from a clone (npm ci, tsc -b, npm pack): its CPU would crowd a run beside it
  "packages/cli/test/action-install.e2e.test.ts",
  "packages/alerts/test/loss-alert.e2e.test.ts",
  // LiveKit's failure to deliver, told from a crowded machine's: a neighbour filling the cores
  // makes tracks that never came inconclusive (exit 2), which is not what this file holds
  "packages/cli/test/unserved.e2e.test.ts",
  // image builds (buildah, docker) fill both cores for minutes: in the main pool, the other pool's
  // runs beside them were rightly judged inconclusive (swarm.e2e: 1 of 9 joined after 5 s, exit 2,
  // a clean-clone run 2026-11-29); alone they cost no wall time (the main pool is the longer one)
  "packages/cli/test/cluster.e2e.test.ts",
  "packages/cli/test/compose.e2e.test.ts",
  "packages/lean/test/*.e2e.test.ts",
  // three rtc-node shards against a 3-node testbed, each judging its own part (exit 99 on a
  // threshold): beside the main pool's unit tests, a clean-clone run on a slower machine
  // (2026-12-01: 1.5-1.7x the CPU of the day before for the same work, bench/results.md 13:56)
  // had one shard in each of two tests rightly judge itself crowded (machine 100% busy, its loop
  // 27 ms late at p99) and exit 2, which is not what this file holds
  "packages/cli/test/shards.e2e.test.ts",
  // a native-engine run with video whose own health must pass (exit 0) before every panel's query
  // is run: at the start of the e2e files, beside the unit tests or hostile-input (1.8 cores), it
  // rightly judged itself crowded (exit 2) in two clean-clone runs on the same slower machine
  "packages/dashboards/test/panels.e2e.test.ts",
];

/** Files with no network namespace or nftables rule, that mostly wait: a pool of their own. */
const BESIDE = [
  "packages/cli/test/chaos-split-brain.e2e.test.ts",
  "packages/cli/test/chaos-populations.e2e.test.ts",
  // kills, freezes, Redis lost, on a testbed of loopback nodes: the network drills are chaos.e2e's
  "packages/cli/test/chaos-nodes.e2e.test.ts",
  // its cpu cgroups are its own (lkswarm-<run>), checked by name
  "packages/cli/test/capacity.e2e.test.ts",
  "packages/cli/test/media-storm.e2e.test.ts",
  "packages/cli/test/late-publisher.e2e.test.ts",
  "packages/cli/test/storm.e2e.test.ts",
  "packages/cli/test/server-killed.e2e.test.ts",
  "packages/cli/test/prometheus.e2e.test.ts",
  "packages/cli/test/package.e2e.test.ts",
  "packages/cli/test/baseline.e2e.test.ts",
  "packages/cli/test/swarm.e2e.test.ts",
  "packages/cli/test/run-cli.e2e.test.ts",
  "packages/cli/test/browser-sigint.e2e.test.ts",
  "packages/cli/test/secrets.e2e.test.ts",
  "packages/cli/test/transport.e2e.test.ts",
  "packages/cli/test/k8s.e2e.test.ts",
  "packages/cli/test/canary.e2e.test.ts",
];

const UNIT = ["packages/*/src/**/*.test.ts", "scripts/**/*.test.ts"];

/**
 * Unit files whose code patches its process for the rest of its life, as a worker needs it: lean's
 * restrictHostCandidates narrows os.networkInterfaces and noFallbackStun werift's ICE prototype,
 * which in a shared process would reach every file after them (and their checks read a first call).
 */
const OWN_PROCESS = ["packages/lean/src/network.test.ts"];

const E2E = "packages/*/test/**/*.e2e.test.ts";
const e2e = { testTimeout: 120_000, hookTimeout: 120_000 };

export default defineConfig({
  test: {
    reporters: ["default", "./scripts/vitest-summary-reporter.ts"],
    globalSetup: ["./scripts/vitest-tmpdir.ts"],
    // one worker per pool, whatever the machine: the main pool (unit, then e2e) and the threads
    // pool (BESIDE) run side by side, and SOLO after both
    maxWorkers: 1,
    minWorkers: 1,
    projects: [
      // unit files share one process (no fresh module graph per file): 218 files ran in 52 s
      // instead of 165 s, most of it importing the same modules again (collect 11 s against 60 s);
      // they pass in any order (--sequence.shuffle.files). A file that changes its process for
      // good (OWN_PROCESS) keeps a process of its own
      {
        test: {
          name: "unit",
          include: UNIT,
          exclude: [...configDefaults.exclude, ...OWN_PROCESS],
          isolate: false,
        },
      },
      { test: { name: "unit-own-process", include: OWN_PROCESS } },
      { test: { name: "e2e", include: [E2E], exclude: [...SOLO, ...BESIDE], ...e2e } },
      // a pool of threads is a second queue; these files spawn the CLI and hold no native module
      { test: { name: "e2e-beside", include: BESIDE, pool: "threads", ...e2e } },
      { test: { name: "e2e-solo", include: SOLO, sequence: { groupOrder: 1 }, ...e2e } },
    ],
  },
});
