#!/usr/bin/env node
/**
 * `npm run bench`: what a participant costs the generator on this machine, and where the time goes.
 *
 * Starts one local livekit-server (a 1-node testbed) for the whole benchmark, then runs the swarm CLI
 * against it once per configuration, rooms growing until the swarm stops keeping up. For each run it
 * measures the CPU-seconds (user + sys, all threads) of the swarm's whole process tree - orchestrator
 * and workers - over the hold window only, so joins are not counted, plus the server's CPU over the
 * same window, RSS at mid-hold and per-thread CPU. Appends a dated section to bench/results.md and a
 * record to bench/results.json. The yardstick is docs/engine-costs.md: CPU-seconds per
 * participant-minute, lk load-test 0.45 at 10 rooms of 1+4 audio.
 */
import { spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import {
  appendFileSync,
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { availableParallelism, tmpdir, release } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "packages/cli/dist/cli.js");
const LIVEKIT_SERVER = join(ROOT, ".tools/bin/livekit-server");

const JOINS_PER_SECOND = 10;
/** The window opens this long after the last scheduled join: late ICE and first stats settle. */
const SETTLE_MS = 3_000;
/**
 * Joins may lag their schedule by this much before the point counts as not keeping up: progress lines
 * come every ~5 s, so "everyone joined" is seen up to ~6 s late, and under load joining runs slower
 * than scheduled (a join costs 0.1-0.2 CPU-s); the steady state is measured once everyone is in.
 */
function joinGraceMs(participants) {
  return Math.max(8_000, rampMs(participants));
}
/** The window closes this long before the scheduled end, ahead of the drain. */
const TAIL_MS = 1_500;
/** A run told to stop (drain, then report) that has not exited after this long is killed. */
const DRAIN_GRACE_MS = 60_000;
/** The run CLI's default getStats interval, which is also its timeline's bucket. */
const DEFAULT_STATS_INTERVAL_MS = 5_000;
/** Inbound media per expected track below this share of the 1-room figure: the swarm is not keeping up. */
const MEDIA_FLOOR = 0.8;
/** Between runs: the server closes the previous run's empty rooms and goes idle. */
const PAUSE_MS = 5_000;
const LOSS_LIMIT = 0.02;
const CORES_LIMIT = 1.8;
/** CPU used by processes other than ours and the server above this: the point is re-run. */
const DISTURBED_CORES = 0.25;

const WORKLOADS = [
  {
    name: "audio",
    title: "audio-only rooms of 1 publisher (continuous Opus) + 4 subscribers",
    perRoom: 5,
    rooms: { full: [1, 10, 20, 40, 80], quick: [1, 10, 20] },
    maxRooms: 1280,
    args: "--video-publishers 0 --audio-publishers 1 --subscribers 4 --latency-probes 0".split(" "),
  },
  {
    name: "video",
    title:
      "360p VP8 video rooms without simulcast, 1 publisher (video only) + 4 subscribers, no latency probe",
    perRoom: 5,
    rooms: { full: [1, 2, 4, 8], quick: [1, 2] },
    maxRooms: 64,
    args: "--video-publishers 1 --audio-publishers 0 --subscribers 4 --video-resolution 360p --no-simulcast --latency-probes 0".split(
      " ",
    ),
  },
];

const OPTIONS = [
  {
    name: "quick",
    type: "boolean",
    description: "20 s hold and fewer room counts: a smoke run of about 5 minutes",
  },
  {
    name: "hold",
    type: "string",
    placeholder: "seconds",
    description: "measured window per configuration (default 60, 20 with --quick)",
  },
  {
    name: "workload",
    type: "string",
    placeholder: "audio,video",
    description: "workloads to run, comma-separated (default all)",
  },
  {
    name: "rooms",
    type: "string",
    placeholder: "1,10",
    description: "room counts instead of the workload's own series (no growth past them)",
  },
  {
    name: "retries",
    type: "string",
    placeholder: "n",
    description: `re-runs of a point when other processes used over ${DISTURBED_CORES} cores (default 1)`,
  },
  {
    name: "out",
    type: "string",
    placeholder: "dir",
    description: "where results.md and results.json go (default bench/)",
  },
  {
    name: "swarm-args",
    type: "string",
    placeholder: "flags",
    description:
      'extra flags for every swarm run, for an A/B against the defaults: --swarm-args="--stats-interval 30s"',
  },
  { name: "dry-run", type: "boolean", description: "print the plan and the commands, run nothing" },
  { name: "help", type: "boolean", short: "h", description: "show this help" },
];

const EXAMPLES = [
  "npm run bench                                   # full: 60 s per point, rooms grow until saturation (20-40 min)",
  "npm run bench -- --quick                        # 20 s per point, 1/10/20 audio and 1/2 video rooms",
  "node scripts/bench.mjs --workload audio --rooms 10 --hold 60   # one point, e.g. to re-run a disturbed one",
  'node scripts/bench.mjs --workload audio --rooms 10 --swarm-args="--stats-interval 30s"   # what stats polling costs',
  "node scripts/bench.mjs --dry-run",
];

function helpText() {
  const rows = OPTIONS.map((o) => [
    `${o.short ? `-${o.short}, ` : "    "}--${o.name}${o.type === "boolean" ? "" : ` <${o.placeholder}>`}`,
    o.description,
  ]);
  const width = Math.max(...rows.map(([f]) => f.length)) + 2;
  return [
    "Usage: node scripts/bench.mjs [options]   (npm run bench builds first)",
    "",
    "Measures the generator's CPU-seconds per participant-minute over the hold window, against one local",
    "livekit-server, for growing room counts, and appends the results to bench/results.md and bench/results.json.",
    "",
    "Options:",
    ...rows.map(([f, d]) => `  ${f.padEnd(width)}${d}`),
    "",
    "Examples:",
    ...EXAMPLES.map((e) => `  ${e}`),
    "",
  ].join("\n");
}

class BenchError extends Error {
  constructor(reason, message) {
    super(message);
    this.name = "BenchError";
    this.reason = reason;
  }
  toJSON() {
    return { name: this.name, reason: this.reason, message: this.message };
  }
}

function parseOptions(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(
        OPTIONS.map((o) => [o.name, { type: o.type, ...(o.short ? { short: o.short } : {}) }]),
      ),
      strict: true,
    });
  } catch (err) {
    throw new BenchError("usage", `${err.message.split("\n")[0]}; see --help`);
  }
  const v = parsed.values;
  const quick = v.quick === true;
  const positiveInt = (name, text, fallback) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0)
      throw new BenchError("usage", `--${name}: expected a whole number, got ${JSON.stringify(text)}`);
    return n;
  };
  const hold = positiveInt("hold", v.hold, quick ? 20 : 60);
  if (hold < 10)
    throw new BenchError(
      "usage",
      `--hold: ${hold} s is too short to average over 5 s stats windows; 10 is the least`,
    );
  const names =
    v.workload === undefined ? WORKLOADS.map((w) => w.name) : v.workload.split(",").map((s) => s.trim());
  for (const n of names) {
    if (!WORKLOADS.some((w) => w.name === n))
      throw new BenchError(
        "usage",
        `--workload: unknown workload ${JSON.stringify(n)}; known: ${WORKLOADS.map((w) => w.name).join(", ")}`,
      );
  }
  const rooms = v.rooms?.split(",").map((s) => positiveInt("rooms", s.trim(), 0));
  if (rooms !== undefined && rooms.some((r) => r < 1))
    throw new BenchError("usage", "--rooms: room counts start at 1");
  return {
    help: v.help === true,
    quick,
    holdS: hold,
    workloads: WORKLOADS.filter((w) => names.includes(w.name)),
    rooms,
    retries: positiveInt("retries", v.retries, 1),
    swarmArgs: parseSwarmArgs(v["swarm-args"]),
    outDir: resolve(v.out ?? join(ROOT, "bench")),
    dryRun: v["dry-run"] === true,
  };
}

/** Flags the bench sets itself; the rest pass through to every run. */
const OWN_FLAGS = [
  "--rooms",
  "--duration",
  "--num-per-second",
  "-o",
  "--output",
  "--json",
  "--url",
  "--workers",
];

function parseSwarmArgs(text) {
  const args =
    text === undefined
      ? []
      : text
          .trim()
          .split(/\s+/)
          .filter((a) => a !== "");
  const own = args.find((a) => OWN_FLAGS.includes(a.split("=")[0]));
  if (own !== undefined) throw new BenchError("usage", `--swarm-args: ${own} is set by the bench itself`);
  return args;
}

/** The stats interval a run uses: its timeline's bucket. */
function statsIntervalMs(swarmArgs) {
  const i = swarmArgs.indexOf("--stats-interval");
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(i >= 0 ? (swarmArgs[i + 1] ?? "") : "");
  return m === null ? DEFAULT_STATS_INTERVAL_MS : Number(m[1]) * (m[2] === "ms" ? 1 : 1000);
}

/** Room counts of a workload, in order; `grow` continues by doubling until saturation or maxRooms. */
function roomSeries(workload, options) {
  if (options.rooms !== undefined) return { counts: options.rooms, grow: false };
  return { counts: options.quick ? workload.rooms.quick : workload.rooms.full, grow: !options.quick };
}

// ---------------------------------------------------------------------------------------------
// /proc accounting

const CLK_TCK = (() => {
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const n = Number(r.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
})();

/** utime+stime (all threads) and identity of a process or thread from its stat line; undefined once gone. */
function readStat(path) {
  let text;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const f = text.slice(close + 2).split(" ");
  // fields from 3 (state): ppid is 4, utime 14, stime 15, starttime 22
  return { comm, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), start: f[19] };
}

function readCmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

function rssKiB(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** A process and all its descendants now, found through every process's ppid. */
function processTree(rootPid) {
  const children = new Map();
  const stats = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(`/proc/${name}/stat`);
    if (s === undefined) continue;
    const pid = Number(name);
    stats.set(pid, s);
    if (!children.has(s.ppid)) children.set(s.ppid, []);
    children.get(s.ppid).push(pid);
  }
  const tree = [];
  const queue = stats.has(rootPid) ? [rootPid] : [];
  while (queue.length > 0) {
    const pid = queue.shift();
    tree.push({ pid, ...stats.get(pid) });
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** Machine-wide busy and steal ticks from /proc/stat (busy excludes idle, iowait and steal). */
function readMachine() {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
  return { busy: user + nice + system + irq + softirq, steal: steal ?? 0 };
}

/**
 * CPU of the swarm's process tree (and, apart, the server) over a window. Polled every second so that
 * a process or thread that exits mid-window still counts up to its last sighting, and one born
 * mid-window counts from zero. Entries are keyed by pid and start time: pids get reused.
 */
class Sampler {
  constructor(rootPid, serverPid) {
    this.rootPid = rootPid;
    this.serverPid = serverPid;
    this.polls = 0;
    this.processes = new Map();
    this.threads = new Map();
    this.server = undefined;
    this.machine = undefined;
    this.self = undefined;
  }

  poll() {
    const first = this.polls === 0;
    const now = Date.now();
    for (const p of processTree(this.rootPid)) {
      const key = `${p.pid}:${p.start}`;
      let entry = this.processes.get(key);
      if (entry === undefined) {
        const cmd = readCmdline(p.pid);
        const role = p.pid === this.rootPid ? "orchestrator" : /worker\.js/.test(cmd) ? "worker" : p.comm;
        entry = { pid: p.pid, role, from: first ? p.ticks : 0, to: p.ticks };
        this.processes.set(key, entry);
      }
      entry.to = p.ticks;
      let tids = [];
      try {
        tids = readdirSync(`/proc/${p.pid}/task`);
      } catch {
        continue;
      }
      for (const tid of tids) {
        const t = readStat(`/proc/${p.pid}/task/${tid}/stat`);
        if (t === undefined) continue;
        const tkey = `${key}/${tid}:${t.start}`;
        let th = this.threads.get(tkey);
        if (th === undefined) {
          th = {
            role: entry.role,
            name: threadLabel(p.pid, Number(tid), t.comm),
            from: first ? t.ticks : 0,
            to: t.ticks,
          };
          this.threads.set(tkey, th);
        }
        th.to = t.ticks;
      }
    }
    const server = readStat(`/proc/${this.serverPid}/stat`);
    if (server !== undefined) {
      this.server ??= { from: server.ticks, to: server.ticks };
      this.server.to = server.ticks;
    }
    const machine = readMachine();
    this.machine ??= { from: machine, to: machine };
    this.machine.to = machine;
    const self = process.cpuUsage();
    this.self ??= { from: self, to: self };
    this.self.to = self;
    this.startMs ??= now;
    this.endMs = now;
    this.polls++;
  }

  /** Sum of VmRSS over the tree now, MiB. */
  rssMiB() {
    return processTree(this.rootPid).reduce((sum, p) => sum + rssKiB(p.pid), 0) / 1024;
  }

  result() {
    const windowS = (this.endMs - this.startMs) / 1000;
    const s = (ticks) => ticks / CLK_TCK;
    const byRole = {};
    let tree = 0;
    for (const p of this.processes.values()) {
      const cpu = s(p.to - p.from);
      tree += cpu;
      byRole[p.role] = (byRole[p.role] ?? 0) + cpu;
    }
    const groups = new Map();
    for (const t of this.threads.values()) {
      const k = `${t.role}\0${t.name}`;
      const g = groups.get(k) ?? { role: t.role, thread: t.name, threads: 0, cpuS: 0 };
      g.threads++;
      g.cpuS += s(t.to - t.from);
      groups.set(k, g);
    }
    const server = this.server === undefined ? 0 : s(this.server.to - this.server.from);
    const self =
      (this.self.to.user + this.self.to.system - this.self.from.user - this.self.from.system) / 1e6;
    const machineBusy = s(this.machine.to.busy - this.machine.from.busy);
    const steal = s(this.machine.to.steal - this.machine.from.steal);
    return {
      windowS,
      startMs: this.startMs,
      endMs: this.endMs,
      treeCpuS: tree,
      byRole,
      threads: [...groups.values()].sort((a, b) => b.cpuS - a.cpuS),
      serverCpuS: server,
      // what the rest of the machine did meanwhile: the other engineer's tests, mostly
      otherCores: windowS > 0 ? Math.max(0, machineBusy - tree - server - self) / windowS : 0,
      stealCores: windowS > 0 ? steal / windowS : 0,
    };
  }
}

/** Thread names as the kernel keeps them (15 chars), numbered pool threads folded into one group. */
function threadLabel(pid, tid, comm) {
  if (tid === pid) return "main (JS)";
  return comm.replace(/[-_ #]?\d+$/, "").trim() || comm;
}

// ---------------------------------------------------------------------------------------------
// testbed and runs

function cli(args, { json = false } = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) {
    throw new BenchError(
      "cli-failed",
      `swarm ${args.join(" ")} exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout || "").trim().split("\n").slice(-3).join(" | ")}`,
    );
  }
  return json ? JSON.parse(r.stdout) : r.stdout;
}

function startTestbed(name) {
  const tb = cli(["testbed", "up", "--name", name, "--json"], { json: true });
  const node = tb.nodes?.[0];
  if (node === undefined) throw new BenchError("testbed", `testbed ${name} started without a node`);
  return {
    name,
    url: tb.url,
    apiKey: tb.apiKey,
    apiSecret: tb.apiSecret,
    serverPid: node.pid,
    runDir: tb.runDir,
  };
}

/** Stops the testbed; its state directory goes too (so `swarm testbed status` does not list it), its server log is kept. */
function stopTestbed(testbed, keepLogIn) {
  const { name } = testbed;
  const r = spawnSync(process.execPath, [CLI, "testbed", "down", "--name", name], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 60_000,
  });
  if (r.status !== 0) {
    process.stderr.write(`bench: testbed down --name ${name} failed: ${r.stderr}\n`);
    return;
  }
  try {
    if (keepLogIn !== undefined)
      copyFileSync(join(testbed.runDir, "node1.log"), join(keepLogIn, "livekit-server.log"));
    rmSync(testbed.runDir, { recursive: true, force: true });
  } catch {
    // the state directory is only tidiness
  }
}

const PROGRESS = /\] (ramp|hold|drain)[^:]*: (\d+)\/(\d+) joined, (\d+) connected, (\d+) failed/;
const RUN_LINE = /^run \S+: \d+ room\(s\), \d+ participants .*ramp ([\d.]+) s then hold/;

/** The run CLI's ramp: joins are spaced 1000/nps ms apart, the last one at (n-1) gaps. */
function rampMs(participants) {
  return Math.round((participants - 1) * (1000 / JOINS_PER_SECOND));
}

/** Long enough for the slowest acceptable ramp plus the window; each run is ended right after its window. */
function runDurationS(holdS, participants) {
  return holdS + Math.ceil((SETTLE_MS + joinGraceMs(participants) + TAIL_MS) / 1000) + 5;
}

function swarmArgs(workload, rooms, durationS, outDir, extra) {
  return [
    "--rooms",
    String(rooms),
    ...workload.args,
    ...extra,
    "--duration",
    `${durationS}s`,
    "--num-per-second",
    String(JOINS_PER_SECOND),
    "-o",
    outDir,
    "--json",
  ];
}

/**
 * One configuration: runs the swarm CLI against the testbed and measures its tree over the hold
 * window. Returns the point, including why it did not keep up when it did not.
 */
async function runPoint(ctx, workload, rooms, attempt) {
  const participants = rooms * workload.perRoom;
  const label = `${workload.name}-${rooms}r${attempt > 0 ? `-retry${attempt}` : ""}`;
  const outDir = join(ctx.runsDir, label);
  mkdirSync(outDir, { recursive: true });
  const durationS = runDurationS(ctx.holdS, participants);
  const args = swarmArgs(workload, rooms, durationS, outDir, ctx.swarmArgs);
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    // through the environment, not argv: `ps` would show a secret passed as a flag
    env: {
      ...process.env,
      LIVEKIT_URL: ctx.testbed.url,
      LIVEKIT_API_KEY: ctx.testbed.apiKey,
      LIVEKIT_API_SECRET: ctx.testbed.apiSecret,
    },
  });
  ctx.child = child;
  const stderrLog = createWriteStream(join(outDir, "stderr.log"));
  let stdout = "";
  child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
  const seen = { runLineAt: undefined, allInAt: undefined, last: undefined };
  createInterface({ input: child.stderr }).on("line", (line) => {
    stderrLog.write(`${line}\n`);
    if (RUN_LINE.test(line)) seen.runLineAt = Date.now();
    const p = PROGRESS.exec(line);
    if (p) {
      const [joined, planned, failed] = [Number(p[2]), Number(p[3]), Number(p[5])];
      seen.last = { phase: p[1], joined, planned, connected: Number(p[4]), failed };
      if (seen.allInAt === undefined && joined + failed >= planned) seen.allInAt = Date.now();
    }
  });
  const exited = new Promise((res) => child.once("exit", (code, signal) => res({ code, signal })));
  let exit;
  void exited.then((e) => (exit = e));

  const until = async (cond, deadlineMs) => {
    while (!cond() && exit === undefined && !ctx.abort.aborted && Date.now() < deadlineMs) await sleep(200);
  };
  const sampler = new Sampler(child.pid, ctx.testbed.serverPid);
  let rssMiB;
  let endedByUs = false;
  const problems = [];
  try {
    // the orchestrator's clock starts 1 s after it prints its run line (workers load rtc-node)
    await until(() => seen.runLineAt !== undefined, Date.now() + 60_000);
    if (seen.runLineAt === undefined)
      throw new BenchError("no-start", `${label}: the run did not start (see ${outDir}/stderr.log)`);
    const holdAt = seen.runLineAt + 1000 + rampMs(participants);
    const endAt = holdAt + durationS * 1000;
    await until(() => Date.now() >= holdAt + SETTLE_MS, endAt);
    await until(() => seen.allInAt !== undefined, holdAt + SETTLE_MS + joinGraceMs(participants));
    if (seen.allInAt === undefined) {
      const late = (SETTLE_MS + joinGraceMs(participants)) / 1000;
      problems.push(
        `joins still pending ${late.toFixed(0)} s after the last was due (${seen.last?.joined ?? "?"}/${participants} joined)`,
      );
    }
    const windowEnd = Math.min(Date.now() + ctx.holdS * 1000, endAt - TAIL_MS);
    const mid = Date.now() + (windowEnd - Date.now()) / 2;
    sampler.poll();
    while (Date.now() < windowEnd && exit === undefined && !ctx.abort.aborted) {
      await sleep(Math.min(1000, Math.max(0, windowEnd - Date.now())));
      if (rssMiB === undefined && Date.now() >= mid) rssMiB = sampler.rssMiB();
      sampler.poll();
    }
    if (exit !== undefined) problems.push(`the swarm exited during the window (${exit.code ?? exit.signal})`);
    else if (!ctx.abort.aborted) {
      // the window is over: a SIGINT makes the CLI drain and report now instead of idling to --duration
      endedByUs = true;
      child.kill("SIGINT");
    }
    const killer = setTimeout(() => child.kill("SIGKILL"), DRAIN_GRACE_MS);
    exit = await exited;
    clearTimeout(killer);
  } finally {
    if (exit === undefined) {
      child.kill("SIGINT");
      const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      exit = await exited;
      clearTimeout(killer);
    }
    stderrLog.end();
    ctx.child = undefined;
  }
  if (ctx.abort.aborted) throw new BenchError("interrupted", "interrupted");

  let summary;
  try {
    summary = JSON.parse(stdout);
  } catch {
    problems.push(`no summary.json on stdout (exit ${exit.code ?? exit.signal}; see ${outDir}/stderr.log)`);
  }
  const m = sampler.polls >= 2 ? sampler.result() : undefined;
  return describePoint({
    workload,
    rooms,
    participants,
    attempt,
    outDir,
    exit,
    endedByUs,
    summary,
    m,
    rssMiB,
    problems,
    baseline: ctx.baselines.get(workload.name),
    bucketMs: statsIntervalMs(ctx.swarmArgs),
  });
}

/** Mean inbound media rate over the window's stats buckets, per expected track, kb/s (0 for a track not flowing). */
function inboundKbpsPerTrack(summary, m, expectedTracks, bucketMs) {
  if (summary === undefined || m === undefined || expectedTracks === 0) return undefined;
  const inside = summary.timeline.filter((b) => b.t >= m.startMs && b.t + bucketMs <= m.endMs);
  if (inside.length === 0) return undefined;
  const bps = inside.reduce((a, b) => a + b.bitrateInBps, 0) / inside.length;
  return bps / expectedTracks / 1000;
}

function lossP95(summary) {
  const values = (summary?.figures ?? [])
    .filter((f) => f.metric === "lkswarm_inbound_loss_ratio" && f.n > 0 && f.p95 !== undefined)
    .map((f) => f.p95);
  return values.length > 0 ? Math.max(...values) : undefined;
}

function describePoint({
  workload,
  rooms,
  participants,
  attempt,
  outDir,
  exit,
  endedByUs,
  summary,
  m,
  rssMiB,
  problems,
  baseline,
  bucketMs,
}) {
  const joined = summary?.participants?.joined ?? 0;
  const expected = summary ? summary.tracks.expected.audio + summary.tracks.expected.video : 0;
  const receiving = summary ? summary.tracks.receiving.audio + summary.tracks.receiving.video : 0;
  const loss = lossP95(summary);
  const inKbps = inboundKbpsPerTrack(summary, m, expected, bucketMs);
  const pMin = m !== undefined && joined > 0 ? (joined * m.windowS) / 60 : undefined;
  const per = (cpuS) => (pMin !== undefined ? cpuS / pMin : undefined);
  const reasons = [...problems];
  if (summary !== undefined) {
    if (joined < participants) reasons.push(`${joined}/${participants} joined`);
    if (receiving < expected) reasons.push(`${receiving}/${expected} tracks receiving`);
    const reconnects = summary.participants.reconnects ?? 0;
    if (reconnects > 0) reasons.push(`${reconnects} reconnect(s)`);
    if (loss !== undefined && loss > LOSS_LIMIT) reasons.push(`loss p95 ${(loss * 100).toFixed(1)}%`);
    if (inKbps !== undefined && baseline?.inKbps !== undefined && inKbps < MEDIA_FLOOR * baseline.inKbps) {
      reasons.push(
        `media in ${inKbps.toFixed(0)} kb/s per track, ${((inKbps / baseline.inKbps) * 100).toFixed(0)}% of ${baseline.rooms} room's`,
      );
    }
    // 130 is the CLI's answer to the SIGINT that ends a run after its window
    if (exit.code !== 0 && !(endedByUs && exit.code === 130))
      reasons.push(`exit ${exit.code ?? exit.signal}`);
  }
  const cores = m !== undefined && m.windowS > 0 ? m.treeCpuS / m.windowS : undefined;
  const saturated = reasons.length > 0 || (cores !== undefined && cores > CORES_LIMIT);
  return {
    workload: workload.name,
    rooms,
    participants,
    attempt,
    workers: summary?.run?.workers,
    windowS: m?.windowS,
    joined,
    tracks: { expected, receiving },
    inboundKbpsPerTrack: inKbps,
    lossP95: loss,
    lossRatio: summary
      ? Object.fromEntries(Object.entries(summary.loss).map(([k, v]) => [k, v.ratio ?? null]))
      : undefined,
    generator: m && {
      cpuS: m.treeCpuS,
      cores,
      cpuPerPMin: per(m.treeCpuS),
      byRole: Object.fromEntries(
        Object.entries(m.byRole).map(([r, c]) => [r, { cpuS: c, cpuPerPMin: per(c) }]),
      ),
    },
    server: m && { cpuS: m.serverCpuS, cores: m.serverCpuS / m.windowS, cpuPerPMin: per(m.serverCpuS) },
    rss:
      rssMiB !== undefined
        ? { totalMiB: rssMiB, perParticipantMiB: joined > 0 ? rssMiB / joined : undefined }
        : undefined,
    otherCores: m?.otherCores,
    stealCores: m?.stealCores,
    keptUp: reasons.length === 0,
    saturated,
    reasons:
      cores !== undefined && cores > CORES_LIMIT
        ? [...reasons, `generator at ${cores.toFixed(2)} cores`]
        : reasons,
    threads: m?.threads,
    outDir,
  };
}

// ---------------------------------------------------------------------------------------------
// the machine and the report

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function describeMachine() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const memKiB = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0);
  const commit = sh("git", ["rev-parse", "--short", "HEAD"]);
  const dirty = (sh("git", ["status", "--porcelain", "--untracked-files=no"]) ?? "") !== "";
  return {
    cores: availableParallelism(),
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    memoryGiB: Math.round((memKiB / 1024 / 1024) * 10) / 10,
    kernel: release(),
    node: process.version,
    livekitServer: sh(LIVEKIT_SERVER, ["--version"])?.replace(/^livekit-server version /, "") ?? "unknown",
    commit: commit === undefined ? "unknown" : `${commit}${dirty ? " (with uncommitted changes)" : ""}`,
  };
}

const fmt = (v, digits = 2) => (v === undefined || v === null || Number.isNaN(v) ? "-" : v.toFixed(digits));
const pct = (v) => (v === undefined || v === null ? "-" : `${(v * 100).toFixed(2)}%`);

function pointsTable(points) {
  const rows = [
    "| rooms | participants | workers | generator CPU-s/p-min | of which orchestrator | generator cores | server CPU-s/p-min | RSS MiB/participant | joined | tracks receiving/expected | media in, kb/s per track | loss p95 | other load (cores) | kept up |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const p of points) {
    rows.push(
      `| ${p.rooms} | ${p.participants} | ${p.workers ?? "-"} | **${fmt(p.generator?.cpuPerPMin, 3)}** | ${fmt(p.generator?.byRole.orchestrator?.cpuPerPMin, 3)} | ${fmt(p.generator?.cores)} | ${fmt(p.server?.cpuPerPMin, 3)} | ${fmt(p.rss?.perParticipantMiB, 1)} | ${p.joined}/${p.participants} | ${p.tracks.receiving}/${p.tracks.expected} | ${fmt(p.inboundKbpsPerTrack, 0)} | ${pct(p.lossP95)} | ${fmt(p.otherCores)}${p.attempt > 0 ? ` (retry ${p.attempt})` : ""} | ${p.keptUp ? "yes" : `no: ${p.reasons.join("; ")}`} |`,
    );
  }
  return rows.join("\n");
}

/** Per-thread CPU of the workers over the window, grouped by thread name; the orchestrator as one row. */
function threadTable(p) {
  const pMin = (p.joined * p.windowS) / 60;
  const worker = p.threads.filter((t) => t.role === "worker");
  const workerTotal = worker.reduce((a, t) => a + t.cpuS, 0);
  const shown = worker.filter((t) => t.cpuS >= 0.01 * p.generator.cpuS);
  const rest = worker.filter((t) => !shown.includes(t));
  const rows = [
    "| thread (worker process) | threads seen | CPU-s in window | share of generator | CPU-s/p-min |",
    "|---|---|---|---|---|",
    ...shown.map(
      (t) =>
        `| ${t.thread} | ${t.threads} | ${fmt(t.cpuS)} | ${pct(t.cpuS / p.generator.cpuS)} | ${fmt(t.cpuS / pMin, 3)} |`,
    ),
  ];
  if (rest.length > 0) {
    const cpu = rest.reduce((a, t) => a + t.cpuS, 0);
    const n = rest.reduce((a, t) => a + t.threads, 0);
    rows.push(
      `| other (${rest.map((t) => t.thread).join(", ")}) | ${n} | ${fmt(cpu)} | ${pct(cpu / p.generator.cpuS)} | ${fmt(cpu / pMin, 3)} |`,
    );
  }
  // a thread that lived and died between two polls is in its process's total but in no row above
  const unseen = (p.generator.byRole.worker?.cpuS ?? 0) - workerTotal;
  if (unseen > 0.005) {
    rows.push(
      `| threads that began and ended between 1 s polls | - | ${fmt(unseen)} | ${pct(unseen / p.generator.cpuS)} | ${fmt(unseen / pMin, 3)} |`,
    );
  }
  const orch = p.generator.byRole.orchestrator?.cpuS ?? 0;
  rows.push(
    `| *worker processes, total* | ${worker.reduce((a, t) => a + t.threads, 0)} seen | ${fmt(workerTotal + Math.max(0, unseen))} | ${pct((workerTotal + Math.max(0, unseen)) / p.generator.cpuS)} | ${fmt((workerTotal + Math.max(0, unseen)) / pMin, 3)} |`,
    `| *orchestrator process (all threads)* | ${p.threads.filter((t) => t.role === "orchestrator").reduce((a, t) => a + t.threads, 0)} | ${fmt(orch)} | ${pct(orch / p.generator.cpuS)} | ${fmt(orch / pMin, 3)} |`,
  );
  return rows.join("\n");
}

const TARGET = { workload: "audio", rooms: 10, cpuPerPMin: 0.45 };

function markdownSection(record) {
  const m = record.machine;
  const lines = [
    "",
    `## ${record.startedAt.slice(0, 16).replace("T", " ")} UTC - ${record.kind} run, ${record.holdS} s measured per point`,
    "",
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Linux ${m.kernel}; Node ${m.node}; livekit-server ${m.livekitServer} (1 node, loopback, beside the generator); commit ${m.commit}. Took ${Math.round(record.tookS / 60)} min.`,
    "",
    "How to read it:",
    "- CPU is user+sys of all threads of the swarm's process tree (orchestrator + workers), read from /proc, over the hold",
    `  window only: it opens ${SETTLE_MS / 1000} s after the last scheduled join, once everyone is seen joined (joins may run up to`,
    "  the ramp's own length late), so join cost is not in it; per participant-minute. The server's CPU over the same window is apart.",
    "- These are CPU-seconds of our own processes, which other load on the machine disturbs much less than wall time.",
    '  "other load" is what the rest of the machine used meanwhile (another engineer\'s tests on the same 2 cores);',
    `  a point with more than ${DISTURBED_CORES} cores of it was re-run and the quieter attempt kept.`,
    `- Joins at ${JOINS_PER_SECOND}/s, stats every ${statsIntervalMs(record.swarmArgs) / 1000} s, no AudioStream/VideoStream consumers, default worker count` +
      (record.swarmArgs.length > 0 ? `; extra swarm flags: \`${record.swarmArgs.join(" ")}\`.` : "."),
    "- A point keeps up when everyone joined, nobody reconnected, every expected track saw packets, loss p95 (RTP gaps) <= " +
      `${LOSS_LIMIT * 100}%, and media in per expected track over the window is at least ${MEDIA_FLOOR * 100}% of the`,
    "  workload's first point (a track that never flows has no RTP gaps, and a CPU-starved encoder lowers its rate instead of",
    `  losing packets). Rooms stop growing at the first point that does not keep up or whose generator passes ${CORES_LIMIT} cores.`,
  ];
  for (const w of record.workloads) {
    lines.push("", `### ${w.title}`, "", pointsTable(w.points));
    const sat = w.points.find((p) => p.saturated);
    lines.push(
      "",
      sat
        ? `Saturation at ${sat.rooms} rooms (${sat.reasons.join("; ")}).`
        : "No saturation within the room counts run.",
    );
  }
  const target = record.workloads
    .find((w) => w.name === TARGET.workload)
    ?.points.find((p) => p.rooms === TARGET.rooms && p.generator !== undefined);
  if (target !== undefined) {
    const v = target.generator.cpuPerPMin;
    lines.push(
      "",
      `### Where the time goes: ${TARGET.workload}, ${TARGET.rooms} rooms (${target.participants} participants, ${target.workers} worker process(es), ${fmt(target.windowS, 1)} s window)`,
      "",
      threadTable(target),
      "",
      record.swarmArgs.length > 0
        ? `An A/B run with extra swarm flags (\`${record.swarmArgs.join(" ")}\`): ${fmt(v, 3)} CPU-s/p-min, no verdict on the target.`
        : `Target (docs/engine-costs.md: lk load-test 0.45 CPU-s/p-min at ${TARGET.rooms} rooms of 1+4 audio): **${v <= TARGET.cpuPerPMin ? "met" : "not met"}** - ${fmt(v, 3)} CPU-s/p-min (${v <= TARGET.cpuPerPMin ? "" : "+"}${fmt((v / TARGET.cpuPerPMin - 1) * 100, 0)}% vs 0.45).`,
    );
  }
  return `${lines.join("\n")}\n`;
}

function writeResults(outDir, record) {
  mkdirSync(outDir, { recursive: true });
  const md = join(outDir, "results.md");
  if (!existsSync(md)) {
    writeFileSync(
      md,
      "# Benchmark results\n\nWritten by `npm run bench` (scripts/bench.mjs); each run appends a section. Compare with docs/engine-costs.md.\n",
    );
  }
  appendFileSync(md, markdownSection(record));
  const jsonPath = join(outDir, "results.json");
  let all = { runs: [] };
  if (existsSync(jsonPath)) {
    try {
      all = JSON.parse(readFileSync(jsonPath, "utf8"));
    } catch {
      process.stderr.write(`bench: ${jsonPath} is not JSON; starting it afresh\n`);
    }
  }
  all.runs.push(record);
  writeFileSync(jsonPath, `${JSON.stringify(all, null, 2)}\n`);
  return { md, json: jsonPath };
}

// ---------------------------------------------------------------------------------------------

function log(line) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

function pointLine(p) {
  return (
    `${p.workload} ${p.rooms} room(s), ${p.participants} participants: ` +
    `${fmt(p.generator?.cpuPerPMin, 3)} CPU-s/p-min (${fmt(p.generator?.cores)} cores), server ${fmt(p.server?.cpuPerPMin, 3)}, ` +
    `RSS ${fmt(p.rss?.perParticipantMiB, 1)} MiB/p, loss p95 ${pct(p.lossP95)}, other load ${fmt(p.otherCores)} cores` +
    `${p.keptUp ? "" : ` - did not keep up: ${p.reasons.join("; ")}`}`
  );
}

async function main(argv) {
  const options = parseOptions(argv);
  if (options.help) {
    process.stdout.write(helpText());
    return 0;
  }
  if (!existsSync(CLI))
    throw new BenchError(
      "not-built",
      `${relative(ROOT, CLI)} is missing: run \`npm run build\` first (npm run bench does)`,
    );
  if (options.dryRun) {
    process.stdout.write(`swarm testbed up --name bench-<pid> --json\n`);
    for (const w of options.workloads) {
      const { counts, grow } = roomSeries(w, options);
      for (const r of counts)
        process.stdout.write(
          `swarm ${swarmArgs(w, r, runDurationS(options.holdS, r * w.perRoom), `<tmp>/${w.name}-${r}r`, options.swarmArgs).join(" ")}\n`,
        );
      if (grow) process.stdout.write(`  ... then doubling rooms up to ${w.maxRooms} until saturation\n`);
    }
    process.stdout.write(`swarm testbed down --name bench-<pid>\n`);
    return 0;
  }

  const abort = new AbortController();
  const ctx = {
    holdS: options.holdS,
    swarmArgs: options.swarmArgs,
    runsDir: mkdtempSync(join(tmpdir(), "livekit-swarm-bench-")),
    abort: abort.signal,
    child: undefined,
    testbed: undefined,
    /** Per workload, its first point: what media flows when the machine is not loaded. */
    baselines: new Map(),
  };
  let signalName;
  const onSignal = (sig) => {
    if (signalName !== undefined) {
      log("second signal: killing the run and stopping the testbed now");
      ctx.child?.kill("SIGKILL");
      if (ctx.testbed !== undefined) stopTestbed(ctx.testbed, ctx.runsDir);
      process.exit(sig === "SIGTERM" ? 143 : 130);
    }
    signalName = sig;
    log(`${sig}: stopping the current run and the testbed (again to force)`);
    ctx.child?.kill("SIGINT");
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // the last resort, should anything end the process without the finally below
  process.on("exit", () => {
    if (ctx.testbed !== undefined) stopTestbed(ctx.testbed, ctx.runsDir);
  });

  const started = Date.now();
  const record = {
    startedAt: new Date(started).toISOString(),
    kind: options.quick ? "quick" : options.rooms !== undefined ? "partial" : "full",
    holdS: options.holdS,
    swarmArgs: options.swarmArgs,
    machine: describeMachine(),
    workloads: [],
  };
  log(`runs write to ${ctx.runsDir}`);
  try {
    ctx.testbed = startTestbed(`bench-${process.pid}`);
    log(`testbed ${ctx.testbed.name} up at ${ctx.testbed.url} (livekit-server pid ${ctx.testbed.serverPid})`);
    for (const workload of options.workloads) {
      const result = { name: workload.name, title: workload.title, points: [] };
      record.workloads.push(result);
      const { counts, grow } = roomSeries(workload, options);
      const series = [...counts];
      for (let i = 0; i < series.length; i++) {
        const rooms = series[i];
        let best;
        for (let attempt = 0; attempt <= options.retries; attempt++) {
          log(`${workload.name}: ${rooms} room(s)${attempt > 0 ? `, retry ${attempt}` : ""}...`);
          const point = await runPoint(ctx, workload, rooms, attempt);
          log(pointLine(point));
          if (best === undefined || (point.otherCores ?? Infinity) < (best.otherCores ?? Infinity))
            best = point;
          await sleep(PAUSE_MS);
          if ((point.otherCores ?? 0) <= DISTURBED_CORES) break;
          if (attempt < options.retries)
            log(`other processes used ${fmt(point.otherCores)} cores meanwhile: re-running the point`);
        }
        result.points.push(best);
        if (!ctx.baselines.has(workload.name) && best.keptUp) {
          ctx.baselines.set(workload.name, { rooms, inKbps: best.inboundKbpsPerTrack });
        }
        if (best.saturated) {
          log(`${workload.name}: saturated at ${rooms} rooms (${best.reasons.join("; ")}); no more rooms`);
          break;
        }
        if (grow && i === series.length - 1 && rooms * 2 <= workload.maxRooms) series.push(rooms * 2);
      }
    }
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    if (ctx.testbed !== undefined) {
      stopTestbed(ctx.testbed, ctx.runsDir);
      log(`testbed ${ctx.testbed.name} stopped`);
      ctx.testbed = undefined;
    }
  }
  if (signalName !== undefined) return signalName === "SIGTERM" ? 143 : 130;
  record.tookS = (Date.now() - started) / 1000;
  const written = writeResults(options.outDir, record);
  process.stdout.write(markdownSection(record));
  log(
    `appended to ${relative(ROOT, written.md)} and ${relative(ROOT, written.json)}; raw runs in ${ctx.runsDir}`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    if (err instanceof BenchError) {
      if (err.reason === "interrupted") {
        process.exitCode = 130;
        return;
      }
      process.stderr.write(`bench: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    process.stderr.write(`${err?.stack ?? err}\nbench: this is a bug in scripts/bench.mjs\n`);
    process.exitCode = 70;
  },
);
