/**
 * `npm run bench`: what a participant costs the generator on this machine, and where the time goes.
 *
 * Starts one local livekit-server (a 1-node testbed) for the whole benchmark, then runs a point
 * process (packages/load's orchestrator and workers) against it once per configuration, rooms
 * growing until the swarm stops keeping up. Each point's CPU is measured over the hold window only,
 * so joins are not counted. Appends a dated section to bench/results.md and a record to
 * bench/results.json; the yardstick is docs/engine-costs.md.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { clientTestbedTarget } from "@livekit-swarm/load";
import { Testbed, startClientTestbed } from "@livekit-swarm/testbed";
import { BenchError } from "./errors.js";
import type { Baseline, Point } from "./figures.js";
import { overrideFlags, type BenchNetwork, type BenchOptions } from "./options.js";
import { pointSpec, runPoint, type PointContext, type PointTarget } from "./point.js";
import { fmt, markdownSection, pointLine, type BenchRecord } from "./report.js";
import { describeMachine, writeResults } from "./results.js";
import { DISTURBED_CORES, PAUSE_MS, roomSeries, runDurationS, type Workload } from "./workloads.js";

export function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** The plan without running it: one line per point. */
export function dryRunPlan(options: BenchOptions): string {
  const network = options.engine.network;
  const lines = [
    `testbed: 1 livekit-server node, started for the whole bench${network !== undefined ? `; every participant in a ${network} client namespace${network === "turn-only" ? ", LiveKit's TURN on UDP" : ""}` : ""}`,
  ];
  for (const w of options.workloads) {
    const { counts, grow } = roomSeries(w, options);
    for (const rooms of counts) {
      const spec = pointSpec(w, rooms, options.holdS, options.engine, `<tmp>/${w.name}-${rooms}r`);
      lines.push(
        `${w.name} ${rooms} room(s), ${rooms * w.perRoom} participants: hold ${runDurationS(options.holdS, rooms * w.perRoom, options.engine.name)} s, ` +
          `${options.holdS} s measured; point process ${JSON.stringify(spec)}`,
      );
    }
    if (grow) lines.push(`  ... then doubling ${w.name} rooms up to ${w.maxRooms} until saturation`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * The bench's one livekit-server: on loopback, or for a `--network` point behind that profile's
 * client namespace (with LiveKit's built-in TURN for turn-only, over UDP, and tcp-only, over TLS), as
 * `swarm run --turn` starts it.
 */
async function openTestbed(network: BenchNetwork | undefined): Promise<{
  testbed: Testbed;
  url: string;
  network?: PointTarget["network"];
  detail: string;
  stop: () => Promise<void>;
}> {
  const name = `bench-${process.pid}`;
  if (network === undefined) {
    const testbed = await Testbed.start({ name });
    return {
      testbed,
      url: testbed.url,
      detail: "",
      stop: async () => {
        await testbed.stop();
      },
    };
  }
  const bed = await startClientTestbed([network], { name, turn: network !== "udp-blocked" });
  const net = bed.networks[0];
  if (net === undefined) {
    await bed.stop();
    throw new BenchError("testbed", `testbed ${name} started without the ${network} client network`);
  }
  // the profile's place and TURN's TLS trust as a run's own testbed has them (load's one rule);
  // the bench says where they are in its own words (detail)
  const { target, networks } = clientTestbedTarget(bed, () => {});
  const place = networks.get(network);
  if (place === undefined) {
    await bed.stop();
    throw new BenchError("testbed", `testbed ${name} has no place for the ${network} client network`);
  }
  return {
    testbed: bed.testbed,
    url: bed.url,
    network: {
      profile: network,
      ...place,
      ...(target.turnTls !== undefined ? { turnTls: target.turnTls } : {}),
    },
    detail: `; participants in ${net.namespace} (${network})${bed.turnUdpPorts.length > 0 ? `, TURN on UDP ${bed.turnUdpPorts.join(", ")}` : ""}${bed.turnTls !== undefined ? ` and TLS ${bed.turnTls.port} (443 in the namespace)` : ""}`,
    stop: () => bed.stop(),
  };
}

/** The points of one workload: each retried while disturbed, growing until saturation. */
async function runWorkload(
  ctx: PointContext,
  options: BenchOptions,
  workload: Workload,
  points: Point[],
): Promise<void> {
  const { counts, grow } = roomSeries(workload, options);
  const series = [...counts];
  let baseline: Baseline | undefined;
  for (let i = 0; i < series.length; i++) {
    const rooms = series[i] ?? 0;
    let best: Point | undefined;
    for (let attempt = 0; attempt <= options.retries; attempt++) {
      log(`${workload.name}: ${rooms} room(s)${attempt > 0 ? `, retry ${attempt}` : ""}...`);
      const point = await runPoint(ctx, workload, rooms, attempt, baseline);
      log(pointLine(point));
      if (best === undefined || (point.otherCores ?? Infinity) < (best.otherCores ?? Infinity)) best = point;
      await sleep(PAUSE_MS, undefined, { signal: ctx.signal }).catch(() => undefined);
      if ((point.otherCores ?? 0) <= DISTURBED_CORES || ctx.signal.aborted) break;
      if (attempt < options.retries)
        log(`other processes used ${fmt(point.otherCores)} cores meanwhile: re-running the point`);
    }
    if (best === undefined) return;
    points.push(best);
    if (baseline === undefined && best.keptUp) baseline = { rooms, inKbps: best.inboundKbpsPerTrack };
    if (best.saturated) {
      log(`${workload.name}: saturated at ${rooms} rooms (${best.reasons.join("; ")}); no more rooms`);
      return;
    }
    if (grow && i === series.length - 1 && rooms * 2 <= workload.maxRooms) series.push(rooms * 2);
  }
}

/**
 * Runs the bench; returns the exit code. SIGINT/SIGTERM stop the current point and the testbed
 * (130/143, nothing recorded); a second one forces.
 */
export async function runBench(options: BenchOptions, root: string): Promise<number> {
  const abort = new AbortController();
  let signalName: NodeJS.Signals | undefined;
  let testbed: Testbed | undefined;
  let stopTestbed = async (): Promise<void> => {
    await testbed?.stop();
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalName !== undefined) {
      const left =
        testbed !== undefined ? `; \`swarm testbed down --name ${testbed.name}\` ends its testbed` : "";
      log(`second signal: exiting now${left}`);
      process.exit(sig === "SIGTERM" ? 143 : 130);
    }
    signalName = sig;
    log(`${sig}: stopping the current run and the testbed (again to force)`);
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const started = Date.now();
  const record: BenchRecord = {
    startedAt: new Date(started).toISOString(),
    kind: options.quick ? "quick" : options.rooms !== undefined ? "partial" : "full",
    holdS: options.holdS,
    swarmArgs: overrideFlags(options.engine),
    machine: describeMachine(root),
    workloads: [],
  };
  const runsDir = mkdtempSync(join(tmpdir(), "livekit-swarm-bench-"));
  log(`runs write to ${runsDir}`);
  try {
    const opened = await openTestbed(options.engine.network);
    testbed = opened.testbed;
    stopTestbed = opened.stop;
    const serverPid = testbed.nodes[0]?.pid;
    if (serverPid === undefined)
      throw new BenchError("testbed", `testbed ${testbed.name} started without a node`);
    log(`testbed ${testbed.name} up at ${opened.url} (livekit-server pid ${serverPid})${opened.detail}`);
    const ctx: PointContext = {
      target: {
        url: opened.url,
        apiKey: testbed.apiKey,
        apiSecret: testbed.apiSecret,
        serverPid,
        ...(opened.network !== undefined ? { network: opened.network } : {}),
      },
      holdS: options.holdS,
      engine: options.engine,
      runsDir,
      signal: abort.signal,
    };
    for (const workload of options.workloads) {
      const points: Point[] = [];
      record.workloads.push({ name: workload.name, title: workload.title, points });
      await runWorkload(ctx, options, workload, points);
      if (abort.signal.aborted) break;
    }
  } catch (err) {
    if (!(err instanceof BenchError && err.reason === "interrupted")) throw err;
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    if (testbed !== undefined) {
      await stopTestbed();
      log(`testbed ${testbed.name} stopped`);
    }
  }
  if (signalName !== undefined) return signalName === "SIGTERM" ? 143 : 130;
  record.tookS = (Date.now() - started) / 1000;
  const written = writeResults(options.outDir, record);
  process.stdout.write(markdownSection(record));
  log(`appended to ${written.md} and ${written.json}; raw runs in ${runsDir}`);
  return 0;
}
