/**
 * Runs a drill: a swarm forms the steady state, the baseline is measured, faults are injected on
 * schedule and confirmed (T0), recovery is watched, every fault is rolled back whatever happens,
 * and the journal says what the system did. Ctrl-C, an abort condition or an error at any moment
 * lands in the same place: `end()` rolls back and drains, then the journal is written.
 *
 * Phases, in order, each returning early once a stop is requested: prepare (target + injector,
 * system.ts), preflight, placeRooms, startSwarm (load's run API; joined), baseline, faults
 * (FaultSchedule), after window.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { messageOf, type Drill, type Scenario } from "@livekit-swarm/schema";
import type { PlacementSample, ServerView } from "../analyze.js";
import type { DrillJournal, ProbeResult } from "../journal.js";
import { renderDrillJUnit } from "../junit.js";
import { renderDrillMarkdown } from "../report.js";
import { renderDrillHtml } from "../report-html.js";
import { RoomServiceClient } from "livekit-server-sdk";
import {
  checkDrillable,
  ENGINE_RULES,
  lostWorkerText,
  planRun,
  preflight,
  prepareRun,
  restrictiveProfiles,
  shapeOf,
  startRun,
  TargetError,
  type PreparedRun,
  type RunControl,
  type RunOutcome,
  type RunPlan,
  uplotAssets,
} from "@livekit-swarm/load";
import { assembleJournal, WATCH_MS } from "./assemble.js";
import { FaultSchedule } from "./faults.js";
import { PartialJournalWriter } from "./partial.js";
import { describeProbe, probeSwarm } from "./probes.js";
import { DrillRecorder } from "./recorder.js";
import { DrillStop } from "./stop.js";
import { SERVER_VIEW_MS, startPlacements, startServerViews } from "./watch.js";
import { prepare, type System } from "./system.js";

export interface DrillRunOptions {
  readonly drill: Drill;
  readonly runId: string;
  readonly outputDir: string;
  readonly log: (line: string) => void;
  /** Aborted on Ctrl-C / SIGTERM: the drill rolls back and ends as interrupted. */
  readonly interrupt: AbortSignal;
  /** Aborted on a second Ctrl-C: workers are killed instead of drained (rollback still runs). */
  readonly force: AbortSignal;
}

interface Swarm {
  readonly outcome: Promise<RunOutcome>;
  readonly stop: AbortController;
  control: RunControl | undefined;
}

/** What the phases leave for the journal; each phase fills in its part. */
interface DrillRun {
  readonly options: DrillRunOptions;
  readonly scenario: Scenario;
  /** The workload planned by load's run API; `plan` is its participants and rooms. */
  readonly prepared: PreparedRun;
  readonly plan: RunPlan;
  readonly recorder: DrillRecorder;
  readonly stop: DrillStop;
  readonly startedAt: number;
  readonly serverViews: ServerView[];
  readonly placements: PlacementSample[];
  readonly timers: NodeJS.Timeout[];
  readonly windows: {
    baselineStart: number;
    faultPhaseStart: number;
    observeEnd: number;
    afterStart: number;
    end: number;
  };
  readonly roomNodes: { before: Record<string, string | null>; after: Record<string, string | null> };
  system: System | undefined;
  swarm: Swarm | undefined;
  schedule: FaultSchedule | undefined;
  before: ProbeResult[];
  after: ProbeResult[];
  problem: string | null;
  /** Set by end(): rollback and drain run once, whoever calls first. */
  ended: Promise<SwarmEnd> | undefined;
}

/**
 * Refuses, in one line, a drill whose workload's engine cannot serve it (media flow per track, the
 * client.simulate fault), before anything starts: the run and `--dry-run` alike.
 */
export function checkDrillWorkload(
  drill: Drill,
  participants = planRun(shapeOf(drill.workload.scenario)).participants,
): void {
  checkDrillable(
    participants,
    drill.workload.scenario.engine,
    drill.faults.map((f) => ({ type: f.type, scenario: f.params.scenario })),
  );
}

export async function runDrill(options: DrillRunOptions): Promise<DrillJournal> {
  const { drill } = options;
  const startedAt = Date.now();
  const scenario = {
    ...drill.workload.scenario,
    roomPrefix:
      drill.workload.scenario.roomPrefix === "lkswarm-room-"
        ? `chaos-${options.runId.slice(-4)}-room-`
        : drill.workload.scenario.roomPrefix,
  };
  // participants placed on the workload's network profiles, if it has any
  const prepared = prepareRun(scenario);
  const { plan } = prepared;
  checkDrillWorkload(drill, plan.participants);
  mkdirSync(options.outputDir, { recursive: true });
  const journalFile = join(options.outputDir, "journal.json");
  const partial = new PartialJournalWriter(journalFile, {
    drill: { name: drill.name, file: drill.file },
    runId: options.runId,
    start: new Date(startedAt).toISOString(),
  });
  // every line the drill logs also rewrites the partial journal: a killed drill leaves a record
  const logged: DrillRunOptions = {
    ...options,
    log: (line) => {
      options.log(line);
      partial.write(line, run.schedule?.runs ?? [], run.system?.deployment ?? null);
    },
  };
  const run: DrillRun = {
    options: logged,
    scenario,
    prepared,
    plan,
    recorder: new DrillRecorder(plan.participants),
    stop: new DrillStop(logged.log),
    startedAt,
    serverViews: [],
    placements: [],
    timers: [],
    windows: {
      baselineStart: startedAt,
      faultPhaseStart: startedAt,
      observeEnd: startedAt,
      afterStart: startedAt,
      end: startedAt,
    },
    roomNodes: { before: {}, after: {} },
    system: undefined,
    swarm: undefined,
    schedule: undefined,
    before: [],
    after: [],
    problem: null,
    ended: undefined,
  };
  const onInterrupt = (): void => {
    run.stop.request({
      status: "interrupted",
      condition: "interrupted",
      reason: "stopping: rolling back every fault",
    });
  };
  options.interrupt.addEventListener("abort", onInterrupt);
  logged.log(`journal: ${journalFile} (partial until the drill ends)`);
  try {
    try {
      await runPhases(run);
    } catch (err) {
      if (err instanceof TargetError) throw err;
      const message = messageOf(err);
      run.stop.fail(message);
      run.problem ??= message;
      logged.log(`drill failed: ${message}`);
    }
    return await finish(run);
  } finally {
    options.interrupt.removeEventListener("abort", onInterrupt);
    // whatever happened, no fault outlives the drill
    await end(run);
    await run.system?.stopOwn?.();
  }
}

async function runPhases(run: DrillRun): Promise<void> {
  const { stop } = run;
  const system = await prepare(
    run.options.drill,
    run.options.log,
    restrictiveProfiles(run.plan.participants),
  );
  run.system = system;
  // an unreachable server or rejected keys is bad input, not a drill result
  await preflight(system.target.url, system.target.apiKey, system.target.apiSecret, {
    url: "check the drill's target.url",
    keys: "check the drill's target.api-key and target.api-secret",
  });
  if (stop.current() !== undefined) return;
  await placeRooms(run, system);
  if (stop.current() !== undefined) return;
  run.swarm = startSwarm(run, system);
  await joined(run);
  if (!(await baseline(run, system))) return;
  watchAbortConditions(run);
  if (run.before.every((p) => p.met)) {
    const schedule = new FaultSchedule(
      run.options.drill,
      system.injector,
      run.recorder,
      stop,
      run.options.log,
    );
    run.schedule = schedule;
    const swarm = run.swarm;
    await schedule.run(run.windows.faultPhaseStart, () => swarm.control);
    run.problem = schedule.problem;
  } else {
    run.problem = "the steady state did not hold before the faults: no fault was injected";
    run.options.log(run.problem);
  }
  run.windows.observeEnd = Date.now();
  await run.schedule?.rollBack();
  run.windows.afterStart = Date.now();
  await afterWindow(run, system);
}

/**
 * LiveKit places a room on the node with the fewest rooms by stats it refreshes every 2 s: rooms
 * created faster all land on one node. Spaced, they spread, and a fault on one node leaves the
 * others' rooms as a control group.
 */
async function placeRooms(run: DrillRun, system: System): Promise<void> {
  const { plan, stop } = run;
  const nodeCount = (await system.injector.nodes()).length;
  if (nodeCount <= 1 || plan.rooms.length <= 1) return;
  const gapMs = Math.min(2500, 20_000 / plan.rooms.length);
  run.options.log(
    `placing ${plan.rooms.length} rooms ${gapMs / 1000} s apart so they spread over ${nodeCount} nodes`,
  );
  const { url, apiKey, apiSecret } = system.target;
  const rooms = new RoomServiceClient(url.replace(/^ws/, "http"), apiKey, apiSecret);
  for (const [i, room] of plan.rooms.entries()) {
    if (i > 0) await stop.sleep(gapMs);
    if (stop.current() !== undefined) break;
    await rooms.createRoom({ name: room, emptyTimeout: 300 });
  }
}

/** The steady state's load: a persistent swarm that holds until end() stops it. */
function startSwarm(run: DrillRun, system: System): Swarm {
  const { options, plan, prepared } = run;
  const { workers } = prepared;
  options.log(
    `swarm: ${plan.rooms.length} room(s), ${plan.participants.length} participants, ${workers} worker(s)`,
  );
  const stop = new AbortController();
  // the control arrives once the workers are up; faults that need it read it then
  const swarm: { control: RunControl | undefined } = { control: undefined };
  const outcome = startRun(prepared, {
    target: system.target,
    networks: system.networks,
    media: {
      watchMs: WATCH_MS,
      ...(options.drill.workload.rejoin ? { rejoin: true } : {}),
    },
    holdMs: Number.MAX_SAFE_INTEGER,
    persistent: true,
    statsIntervalMs: 2000,
    outputDir: join(options.outputDir, "swarm"),
    signal: stop.signal,
    forceSignal: options.force,
    observers: [run.recorder],
    onControl: (c) => {
      swarm.control = c;
    },
  });
  return Object.assign(swarm, { outcome, stop });
}

async function joined(run: DrillRun): Promise<void> {
  const { plan, recorder, stop } = run;
  // how long the swarm may take to be fully joined before the baseline starts anyway: its slowest
  // engine's grace (a browser participant starts a Chromium first)
  const graceMs = Math.max(...plan.participants.map((p) => ENGINE_RULES[p.engine].joinGraceMs));
  const deadline = Date.now() + plan.rampMs + graceMs;
  while (
    stop.current() === undefined &&
    recorder.connected() < plan.participants.length &&
    Date.now() < deadline
  ) {
    await stop.sleep(250);
  }
  run.options.log(
    `swarm: ${recorder.connected()} of ${plan.participants.length} connected; baseline for ${run.options.drill.baseline / 1000} s`,
  );
}

/** Holds the baseline, probes the steady state and notes each room's node; false when stopped. */
async function baseline(run: DrillRun, system: System): Promise<boolean> {
  const { drill, log } = run.options;
  run.timers.push(
    startServerViews(system.target, run.plan.rooms, run.serverViews),
    startPlacements(system.target, system.injector, run.plan.rooms, run.placements),
  );
  run.windows.baselineStart = Date.now();
  await run.stop.sleep(drill.baseline);
  run.windows.faultPhaseStart = Date.now();
  if (run.stop.current() !== undefined) return false;
  run.before = await probeSteadyState(run, system, run.windows.baselineStart);
  for (const p of run.before) log(`steady state before: ${describeProbe(p)}`);
  await recordRoomNodes(run, system, run.roomNodes.before);
  return true;
}

function probeSteadyState(run: DrillRun, system: System, since: number): Promise<ProbeResult[]> {
  return probeSwarm(run.options.drill.steadyState, run.recorder, system.prometheusUrl, since);
}

/** Which node hosts each planned room now; null where the injector cannot say. */
async function recordRoomNodes(
  run: DrillRun,
  system: System,
  into: Record<string, string | null>,
): Promise<void> {
  for (const room of run.plan.rooms)
    into[room] = (await system.injector.roomNode(room).catch(() => undefined))?.name ?? null;
}

/** max-duration and max-participants-down, watched from the end of the baseline on. */
function watchAbortConditions(run: DrillRun): void {
  const { abort } = run.options.drill;
  let downSince: number | undefined;
  run.timers.push(
    setInterval(() => {
      const now = Date.now();
      if (now - run.startedAt > abort.maxDuration) {
        run.stop.request({
          status: "aborted",
          condition: "max-duration",
          reason: `the drill ran longer than ${abort.maxDuration / 1000} s`,
        });
      }
      const maxDown = abort.maxParticipantsDown;
      if (maxDown !== null) {
        const share = run.recorder.down() / run.recorder.planned;
        if (share > maxDown) downSince ??= now;
        else downSince = undefined;
        if (downSince !== undefined && now - downSince >= abort.downFor) {
          run.stop.request({
            status: "aborted",
            condition: "max-participants-down",
            reason: `${Math.round(share * 100)}% of participants down for ${abort.downFor / 1000} s (limit ${Math.round(maxDown * 100)}%)`,
          });
        }
      }
    }, 500),
  );
}

async function afterWindow(run: DrillRun, system: System): Promise<void> {
  const { drill, log } = run.options;
  if (run.stop.current() === undefined && run.problem === null) {
    log(`after window: ${drill.after / 1000} s`);
    await run.stop.sleep(drill.after);
    if (run.stop.current() === undefined)
      run.after = await probeSteadyState(run, system, run.windows.afterStart);
    for (const p of run.after) log(`steady state after: ${describeProbe(p)}`);
  }
  await recordRoomNodes(run, system, run.roomNodes.after);
}

/** What the drained swarm left: its worker pids, and the workers that died before the drain. */
interface SwarmEnd {
  readonly workerPids: readonly number[];
  readonly workersLost: RunOutcome["workersLost"];
}

/**
 * The one way out: stops the watchers, rolls every fault back and drains the swarm, once, however
 * the drill ended.
 */
function end(run: DrillRun): Promise<SwarmEnd> {
  run.ended ??= (async () => {
    // the server's view keeps being recorded while the faults are rolled back
    await run.schedule?.rollBack();
    for (const t of run.timers) clearTimeout(t);
    if (run.swarm === undefined) return { workerPids: [], workersLost: [] };
    run.swarm.stop.abort("completed");
    const outcome = await run.swarm.outcome.catch(() => undefined);
    return { workerPids: outcome?.workerPids ?? [], workersLost: outcome?.workersLost ?? [] };
  })();
  return run.ended;
}

/** Rolls back, drains the swarm, analyses and writes the journal. */
async function finish(run: DrillRun): Promise<DrillJournal> {
  const { options, windows } = run;
  const stopped = run.stop.current();
  windows.observeEnd = Math.max(windows.observeEnd, windows.faultPhaseStart);
  const { workerPids, workersLost } = await end(run);
  windows.end = Date.now();
  if (windows.afterStart < windows.observeEnd) windows.afterStart = windows.observeEnd;
  const artifacts = {
    journal: join(options.outputDir, "journal.json"),
    report: join(options.outputDir, "report.md"),
    html: join(options.outputDir, "report.html"),
    junit: join(options.outputDir, "junit.xml"),
    events: join(options.outputDir, "swarm", "events.jsonl"),
    samples: join(options.outputDir, "swarm", "samples.jsonl"),
  };
  const journal = assembleJournal({
    drill: options.drill,
    runId: options.runId,
    host: hostname(),
    scenarioName: run.scenario.name,
    startedAt: run.startedAt,
    endedAt: Date.now(),
    stopped,
    problem: run.problem,
    deployment: run.system?.deployment ?? { backend: options.drill.target.backend },
    rooms: run.plan.rooms,
    workerPids,
    workersLost: workersLost.map(lostWorkerText),
    serverViewIntervalMs: SERVER_VIEW_MS,
    observations: {
      participants: run.recorder.participants,
      events: run.recorder.events,
      samples: run.recorder.samples,
      serverViews: run.serverViews,
      placements: run.placements,
      signalConnections: run.system?.injector.signalConnections?.() ?? null,
      roomNodes: run.roomNodes,
      windows,
    },
    faultRuns: run.schedule?.runs ?? [],
    rollbacks: run.schedule?.rollbacks ?? [],
    before: run.before,
    after: run.after,
    artifacts,
  });
  writeFileSync(artifacts.journal, `${JSON.stringify(journal, null, 2)}\n`);
  writeFileSync(artifacts.report, renderDrillMarkdown(journal));
  writeFileSync(artifacts.html, renderDrillHtml(journal, uplotAssets()));
  writeFileSync(artifacts.junit, renderDrillJUnit(journal));
  return journal;
}
