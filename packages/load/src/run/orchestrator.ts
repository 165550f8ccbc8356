import { availableParallelism } from "node:os";
import { fork, type ChildProcess } from "node:child_process";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { makeFolder } from "./folder.js";
import { lineFile } from "./line-file.js";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Measurements } from "@livekit-swarm/gate";
import type { RunObserver } from "@livekit-swarm/schema";
import { leanLoopOptions, leanPublishesVideo } from "../engine/engine.js";
import { RunAggregator, type RunSummary } from "./aggregate.js";
import { linksLost } from "./health.js";
import type {
  MediaPlan,
  OrchestratorMessage,
  ParticipantEvent,
  ParticipantPlan,
  WorkerMessage,
} from "./messages.js";
import { NOT_STARTED } from "./messages.js";
import { Standings, type LostWorker } from "./standings.js";
import type { RunPlan } from "./plan.js";
import { iceScopeEnv, iceScopeFor, type IceScope, type MediaTarget } from "./ice-scope.js";
import type { NetworkProfile } from "@livekit-swarm/testbed";
import { forkInNamespace, shardByProfile } from "./network-placement.js";
import { GeneratorLoadFold, slowEvents } from "./generator-load.js";
import { CpuThrottling } from "./cpu-wait.js";

/** The orchestrator's progress tick: progress lines, the end check, the server's reachability. */
const PROGRESS_TICK_MS = 1000;

export interface RunTarget extends MediaTarget {
  readonly apiKey: string;
  readonly apiSecret: string;
}

export interface OrchestratorOptions {
  readonly target: RunTarget;
  readonly plan: RunPlan;
  readonly media: MediaPlan;
  /** How long the full swarm holds after the last join, ms. */
  readonly holdMs: number;
  /** Keep going while the server is unreachable or nobody has joined (the canary): no early end. */
  readonly persistent?: boolean;
  readonly statsIntervalMs: number;
  /** Write samples.jsonl.gz and events.jsonl.gz (gzip, streamed) instead of the plain files. */
  readonly gzipLines?: boolean;
  readonly workers: number;
  readonly outputDir: string;
  /** Epoch ms the plan's join times count from (a sharded run's common start); default in a second. */
  readonly startAtMs?: number;
  /** See every event and sample as it arrives (the exporter). */
  readonly observers?: readonly RunObserver[];
  /** Where raw observations go; the caller evaluates thresholds on it, live and at the end. */
  readonly measurements?: Measurements;
  /** Called about once a second with live figures. */
  readonly onProgress?: (p: ProgressView) => void;
  /** Aborting it ends the run early, as Ctrl-C does: stop joining, drain, report. */
  readonly signal?: AbortSignal;
  /** Aborting it kills the workers at once (a second Ctrl-C). */
  readonly forceSignal?: AbortSignal;
  /** Receives a handle to steer the running swarm (chaos drills), once the workers are forked. */
  readonly onControl?: (control: RunControl) => void;
  /** Where native workers' sockets stay (`iceScopeFor`); default: worked out from the target. */
  readonly iceScope?: IceScope;
  /** The shared key of an E2EE run (media.e2ee): handed to the workers over IPC, never written. */
  readonly e2eeKey?: Uint8Array;
  /**
   * The client network of each restrictive profile the plan's participants have: their workers
   * are forked into its namespace and join at `url`, with ICE kept on `address`, the namespace's
   * own. Participants without a profile, or `open`, run on the host against the target.
   */
  readonly networks?: ReadonlyMap<NetworkProfile, ClientNetworkPlace>;
}

/** Where a profile's workers run: a client namespace, its address, and the server's URL from there. */
export interface ClientNetworkPlace {
  readonly namespace: string;
  readonly address: string;
  readonly url: string;
}

/** Steers a running swarm. */
export interface RunControl {
  /** Asks these participants to run rtc-node's simulateScenario. */
  simulate(participants: readonly { room: string; identity: string }[], scenario: string): void;
  /**
   * Joins participants beyond the plan now, each in the worker that holds its room (late joiners
   * after a fault). Their events reach the observers; the run's summary counts only the plan.
   */
  join(participants: readonly ParticipantPlan[]): void;
}

export interface ProgressView {
  readonly elapsedMs: number;
  readonly rampMs: number;
  readonly totalMs: number;
  readonly planned: number;
  readonly joined: number;
  readonly failed: number;
  /** Connected now; those trying to get back in are `reconnecting`. */
  readonly connected: number;
  readonly reconnecting: number;
  readonly lossP95: number | undefined;
  readonly jitterP95S: number | undefined;
  readonly bitrateInBps: number;
  readonly phase: "ramp" | "hold" | "drain";
}

/**
 * Why a run ended. `workers-lost`: every worker process died (killed, out of memory, crashed), so
 * nothing was left to measure; the server may be up, and the run says so rather than blame it.
 */
export type EndReason =
  "completed" | "interrupted" | "aborted" | "server-unreachable" | "no-participant-joined" | "workers-lost";

export interface RunOutcome {
  readonly summary: RunSummary;
  readonly endReason: EndReason;
  /** It ended at its planned end, not before (nobody joined in time, unreachable, interrupted...). */
  readonly endedOnTime?: boolean;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly durationMs: number;
  readonly workersLost: readonly LostWorker[];
  /** Process ids of the workers, all ended by the time the outcome is returned. */
  readonly workerPids: readonly number[];
  /** The first error writing samples.jsonl or events.jsonl met: the files stop there. */
  readonly linesUnwritten?: Error;
}

const WORKER = fileURLToPath(new URL("./worker.js", import.meta.url));
/** A server is given up on after this long unreachable: reconnect budgets are spent by then. */
const SERVER_GIVE_UP_MS = 20_000;
/**
 * With nobody joined this long after the ramp, the run ends once every join has failed, or at the
 * second bound whatever the joins still do. The second bound is above rtc-node's own: a join whose
 * signalling answered but whose ICE found no path (a firewall) fails after 30 s with
 * `wait_pc_connection timed out` (docs/transport.md), and that failure is what the run reports.
 */
const NOBODY_JOINED_MS = 10_000;
const NOBODY_JOINED_PENDING_MS = 45_000;
const DRAIN_TIMEOUT_MS = 15_000;
/** The drain's first phase waits this long for every worker's last samples, then leaves anyway. */
const FINAL_SAMPLE_TIMEOUT_MS = 5_000;

/**
 * Runs a planned swarm: forks worker processes (a shard of rooms each), starts them on one clock,
 * folds their events and samples, and ends on time, on request, or when the server is gone. Workers
 * are never left behind: each is told to stop, then killed if it does not exit.
 */
export async function orchestrate(options: OrchestratorOptions): Promise<RunOutcome> {
  const { plan } = options;
  if (plan.participants.some((p) => p.engine === "lean")) {
    // the Opus and video loops are encoded once per machine, here rather than by workers racing to
    // write them; a missing ffmpeg ends the run before it starts. Imported late: werift loads only when used.
    const { opusLoop, videoLoop } = await import("@livekit-swarm/lean");
    await opusLoop();
    if (leanPublishesVideo(plan.participants)) await videoLoop(leanLoopOptions(options.media.video));
  }
  const measurements = options.measurements ?? new Measurements();
  const observers = [measurements, ...(options.observers ?? [])];
  makeFolder(options.outputDir);
  const gzip = options.gzipLines === true;
  const samplesOut = lineFile(join(options.outputDir, "samples.jsonl"), gzip);
  const eventsOut = lineFile(join(options.outputDir, "events.jsonl"), gzip);
  const aggregator = new RunAggregator(plan.participants, options.statsIntervalMs, measurements);
  const standings = new Standings();
  /** A participant's event: in events.jsonl (`swarm merge` rebuilds the summary from it), the figures, the observers. */
  const record = (said: Extract<WorkerMessage, { type: "event" }>): void => {
    const message = { ...said, event: standings.recorded(said.room, said.participant, said.event) };
    eventsOut.write(`${JSON.stringify(message)}\n`);
    standings.onEvent(message.room, message.participant, message.event);
    aggregator.onEvent(message.room, message.participant, message.event, message.t);
    for (const o of observers) o.onEvent?.(message, message.event);
  };
  /** The same event for each of a worker's participants, said on their behalf (the worker cannot). */
  const recordFor = (
    worker: number,
    participants: readonly ParticipantPlan[],
    event: ParticipantEvent,
  ): void => {
    const t = Date.now();
    for (const p of participants)
      record({ type: "event", t, room: p.room, participant: p.identity, role: p.role, worker, event });
  };
  const shards = shardByProfile(plan, options.workers);
  // every worker of a run with native participants: a late joiner may be native in any of them
  const native = plan.participants.some((p) => p.engine === "native");
  const workerEnv = native
    ? iceScopeEnv(options.iceScope ?? (await iceScopeFor(options.target)), process.env)
    : process.env;
  const placeOf = (profile: NetworkProfile | undefined): ClientNetworkPlace | undefined => {
    if (profile === undefined || profile === "open") return undefined;
    const place = options.networks?.get(profile);
    if (place === undefined) throw new Error(`no client network for profile ${profile}: this is a bug`);
    return place;
  };
  const startedAtMs = options.startAtMs ?? Date.now() + 1000; // workers need a moment to load rtc-node
  measurements.setRunWindow(startedAtMs);
  const totalMs = plan.rampMs + options.holdMs;
  const workersLost: RunOutcome["workersLost"][number][] = [];
  const children: {
    child: ChildProcess;
    worker: number;
    done: Promise<void>;
    /** Its last samples are in (or it is gone): the drain's first phase. */
    sampled: Promise<void>;
    participants: ParticipantPlan[];
  }[] = [];

  // folded as they come: a week-long run keeps a few numbers a worker, not every window
  const loadFold = new GeneratorLoadFold(startedAtMs + plan.rampMs);
  // workers whose engines loaded (their `ready`): the others' participants never began to join
  const ready = new Set<number>();
  // the swarm's own cgroup quota over the whole run (its workers share it): what held back a
  // worker too starved to report a window of its own
  const quota = new CpuThrottling();
  let stopping = false;
  let endReason: EndReason = "completed";
  let endedOnTime = false;
  let unreachableSinceMs: number | undefined;
  const logPath = join(options.outputDir, "workers.log");
  const logFd = openSync(logPath, "a");
  // appended to: this run's lines start here
  const logFrom = fstatSync(logFd).size;
  try {
    shards.forEach(({ profile, participants }, worker) => {
      const place = placeOf(profile);
      // inside a namespace the only address is the namespace's own: ICE stays on it
      const env =
        place === undefined || !native
          ? workerEnv
          : iceScopeEnv({ addresses: [place.address], why: `profile ${profile ?? ""}` }, process.env);
      const child = fork(WORKER, [], {
        serialization: "advanced",
        stdio: ["ignore", logFd, logFd, "ipc"],
        env: { ...env, NODE_ENV: "production" },
        ...(place !== undefined ? forkInNamespace(place.namespace) : {}),
      });
      // its participants, late joiners added: whatever becomes of the worker becomes of them
      const carried = [...participants];
      let markSampled = (): void => undefined;
      const sampled = new Promise<void>((resolve) => {
        markSampled = resolve;
      });
      const exited = new Promise<void>((resolve) => {
        child.once("exit", (code, signal) => {
          markSampled();
          if (!stopping) {
            workersLost.push({ worker, code, signal });
            // its participants are gone with it: links lost, joins cut off; the run goes on
            const t = Date.now();
            for (const { participant: p, event } of standings.lostWithWorker(carried))
              record({
                type: "event",
                t,
                room: p.room,
                participant: p.identity,
                role: p.role,
                worker,
                event,
              });
          }
          resolve();
        });
      });
      child.on("message", (message: WorkerMessage) => {
        if (message.type === "event") {
          record(message);
        } else if (message.type === "sampled") {
          markSampled();
        } else if (message.type === "ready") {
          // ready after the run ended is too late: its participants never began within the run
          if (!stopping) ready.add(worker);
        } else if (message.type === "load") {
          loadFold.add(message.window);
          for (const o of options.observers ?? []) o.onWorkerLoad?.(message.window);
        } else if (message.type === "samples") {
          for (const s of message.samples) {
            samplesOut.write(`${JSON.stringify(s)}\n`);
            aggregator.onSample(s);
            for (const o of observers) o.onSample?.(s);
          }
        }
      });
      const start: OrchestratorMessage = {
        type: "start",
        plan: {
          worker,
          url: place?.url ?? options.target.url,
          apiKey: options.target.apiKey,
          apiSecret: options.target.apiSecret,
          startAtMs: startedAtMs,
          rampMs: plan.rampMs,
          holdMs: options.holdMs,
          statsIntervalMs: options.statsIntervalMs,
          tokenTtlS: joinTokenTtlS(options),
          participants,
          media:
            options.target.turnTls === undefined
              ? options.media
              : { ...options.media, turnTls: options.target.turnTls },
          ...(options.e2eeKey !== undefined ? { e2eeKey: options.e2eeKey } : {}),
        },
      };
      child.send(start);
      children.push({ child, worker, done: exited, sampled, participants: carried });
    });
  } finally {
    closeSync(logFd);
  }
  options.onControl?.({
    simulate(chosen, scenario) {
      const wanted = new Set(chosen.map((c) => `${c.room}/${c.identity}`));
      for (const { child, participants } of children) {
        const mine = participants
          .filter((p) => wanted.has(`${p.room}/${p.identity}`))
          .map((p) => ({ room: p.room, identity: p.identity }));
        if (mine.length > 0 && child.connected)
          child.send({ type: "simulate", participants: mine, scenario } satisfies OrchestratorMessage);
      }
    },
    join(late) {
      const byChild = new Map<(typeof children)[number], ParticipantPlan[]>();
      for (const p of late) {
        const owner = children.find((c) => c.participants.some((q) => q.room === p.room)) ?? children[0];
        if (owner === undefined) continue;
        byChild.set(owner, [...(byChild.get(owner) ?? []), p]);
      }
      for (const [owner, mine] of byChild) {
        // a worker that dies counts its late joiners as lost too
        owner.participants.push(...mine);
        if (owner.child.connected)
          owner.child.send({ type: "join", participants: mine } satisfies OrchestratorMessage);
      }
    },
  });

  await new Promise<void>((resolve) => {
    let onTime: NodeJS.Timeout | undefined;
    const finish = (reason: EndReason, atPlannedEnd = false): void => {
      if (stopping) return;
      endReason = reason;
      endedOnTime = atPlannedEnd;
      clearInterval(tick);
      clearTimeout(onTime);
      resolve();
    };
    options.signal?.addEventListener("abort", () => {
      // a threshold's abort= ends the run as "aborted"; a drill ends it when done ("completed");
      // Ctrl-C and SIGTERM as "interrupted"
      const reason: unknown = options.signal?.reason;
      finish(reason === "threshold" ? "aborted" : reason === "completed" ? "completed" : "interrupted");
    });
    const tick = setInterval(() => {
      const now = Date.now();
      const elapsedMs = Math.max(0, now - startedAtMs);
      const live = aggregator.progress();
      options.onProgress?.({
        elapsedMs,
        rampMs: plan.rampMs,
        totalMs,
        planned: plan.participants.length,
        ...live,
        phase: elapsedMs < plan.rampMs ? "ramp" : "hold",
      });
      const end = holdEnd(startedAtMs + totalMs, now, PROGRESS_TICK_MS);
      if (end === "now") finish(endOnTime(live.joined, options.persistent), true);
      else if (end !== undefined && onTime === undefined)
        onTime = setTimeout(() => {
          finish(endOnTime(aggregator.progress().joined, options.persistent), true);
        }, end);
      // every worker gone: the generator's failure, unless the server was already unreachable,
      // which may be why they went
      if (workersLost.length === children.length)
        finish(unreachableSinceMs !== undefined ? "server-unreachable" : "workers-lost");
      void reachable(options.target.url).then((ok) => {
        if (ok) unreachableSinceMs = undefined;
        else unreachableSinceMs ??= now;
        if (
          options.persistent !== true &&
          unreachableSinceMs !== undefined &&
          Date.now() - unreachableSinceMs > SERVER_GIVE_UP_MS
        ) {
          finish("server-unreachable");
        }
      });
      const allFailed = live.failed >= plan.participants.length;
      if (
        options.persistent !== true &&
        live.joined === 0 &&
        elapsedMs > plan.rampMs + (allFailed ? NOBODY_JOINED_MS : NOBODY_JOINED_PENDING_MS)
      ) {
        finish("no-participant-joined");
      }
    }, PROGRESS_TICK_MS);
  });
  stopping = true;
  const stoppedAtMs = Date.now();

  // drain: workers take a last sample and disconnect; a second Ctrl-C or the timeout kills them
  const kill = (): void => {
    for (const { child } of children) child.kill("SIGKILL");
  };
  options.forceSignal?.addEventListener("abort", kill);
  const timer = setTimeout(kill, DRAIN_TIMEOUT_MS);
  // two phases: every worker takes its last samples, and only then does anyone leave. In one phase a
  // worker whose publishers had already left could end another worker's subscribers on an empty
  // last window: "receiving at the end" then undercounts (a two-worker run once read 1/3 tracks
  // receiving at the end, all three flowing until the stop)
  for (const { child } of children) {
    if (child.connected) child.send({ type: "sample" } satisfies OrchestratorMessage);
  }
  let sampleTimer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(children.map((c) => c.sampled)),
    new Promise((resolve) => {
      sampleTimer = setTimeout(resolve, FINAL_SAMPLE_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(sampleTimer);
  for (const { child } of children) {
    if (child.connected) child.send({ type: "stop" } satisfies OrchestratorMessage);
  }
  await Promise.all(children.map((c) => c.done));
  clearTimeout(timer);
  const unstarted = notStarted(children, ready, workersLost, startedAtMs, stoppedAtMs);
  for (const { worker, participants, event } of unstarted) recordFor(worker, participants, event);
  // a write that failed (the disk full, the folder's rights taken) is reported, the run is not lost
  const [samplesFailed, eventsFailed] = await Promise.all([samplesOut.end(), eventsOut.end()]);
  const linesUnwritten = samplesFailed ?? eventsFailed;
  const endedAtMs = Date.now();
  measurements.setRunWindow(startedAtMs, endedAtMs);
  const summary = aggregator.summary(endedAtMs, stoppedAtMs);
  return {
    summary: {
      ...summary,
      generator: loadFold.load(
        slowEventsSince(logPath, logFrom),
        availableParallelism(),
        linksLost(summary.participants),
        unstarted.map((u) => u.worker),
        quota.sample(),
      ),
    },
    endReason,
    ...(linesUnwritten !== undefined ? { linesUnwritten } : {}),
    endedOnTime,
    startedAt: new Date(startedAtMs).toISOString(),
    endedAt: new Date(endedAtMs).toISOString(),
    durationMs: endedAtMs - startedAtMs,
    workersLost,
    workerPids: children.map((c) => c.child.pid ?? -1),
  };
}

/**
 * The workers that never said `ready` (their engines still loading when the run ended: a worker
 * capped at 0.15 cores had not loaded rtc-node 33 s in, CI 2026-11-30) and did not die first (their
 * participants are already lost as `worker_died`), with the event each of their participants gets:
 * a join that never began, the generator's failure (NOT_STARTED), not a join LiveKit left unserved.
 * `endedAtMs`: when the run stopped, before its drain.
 */
export function notStarted(
  children: readonly { readonly worker: number; readonly participants: readonly ParticipantPlan[] }[],
  ready: ReadonlySet<number>,
  lost: readonly { readonly worker: number }[],
  startedAtMs: number,
  endedAtMs: number,
): { worker: number; participants: readonly ParticipantPlan[]; event: ParticipantEvent }[] {
  const dead = new Set(lost.map((w) => w.worker));
  const s = Math.max(0, (endedAtMs - startedAtMs) / 1000).toFixed(1);
  return children
    .filter((c) => !ready.has(c.worker) && !dead.has(c.worker))
    .map((c) => ({
      worker: c.worker,
      participants: c.participants,
      event: {
        type: "join-failed",
        reason: NOT_STARTED,
        message: `the run ended (${s} s after it began) while worker ${c.worker} was still loading its engines: it never reached LiveKit`,
      },
    }));
}

/**
 * What a progress tick at `nowMs` does about a run that ends at `endMs`: end it now (the end has
 * passed), set a one-shot timer for the milliseconds returned (the end falls before the next tick,
 * which would end it up to a tick late: a 3 s hold after a 0.2 s ramp ran 4.06 s), or nothing yet.
 */
export function holdEnd(endMs: number, nowMs: number, tickMs: number): "now" | number | undefined {
  const left = endMs - nowMs;
  if (left <= 0) return "now";
  return left < tickMs ? left : undefined;
}

/**
 * Why a run that reached its planned end ended: "completed" only if somebody joined. A run whose
 * hold was shorter than its workers took to start (rtc-node loads in over 10 s on a loaded host) or
 * than its joins took to fail reached its end with nobody in, and reporting that as completed would
 * exit 0 over an empty summary. A persistent swarm (the canary) never ends this way.
 */
export function endOnTime(joined: number, persistent: boolean | undefined): EndReason {
  return joined === 0 && persistent !== true ? "no-participant-joined" : "completed";
}

/**
 * How long a join token stays valid. A leaked token (a log, a core dump) must not outlive the run
 * by much: it lets anyone join as that participant. A connected participant is sent fresh tokens by
 * the server, so this covers the join itself and reconnects until the run's planned end, plus ten
 * minutes for the drain and reconnect back-off. A persistent swarm (the canary) mints a token per
 * join, so an hour per token is enough there.
 */
export function joinTokenTtlS(options: Pick<OrchestratorOptions, "plan" | "holdMs" | "persistent">): number {
  if (options.persistent === true) return 3600;
  return Math.ceil((options.plan.rampMs + options.holdMs) / 1000) + 600;
}

/** Whether the server's HTTP endpoint answers at all (any status): a TCP-level liveness check. */
async function reachable(url: string): Promise<boolean> {
  const http = url.replace(/^ws/, "http");
  try {
    await fetch(http, { signal: AbortSignal.timeout(3000) });
    return true;
  } catch {
    return false;
  }
}

/**
 * The events rtc-node took over 10 s to handle in workers.log from byte `from` on (this run's
 * lines), read a MiB at a time; undefined when the log cannot be read.
 */
function slowEventsSince(path: string, from: number): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined;
  }
  try {
    const buffer = Buffer.alloc(1 << 20);
    let at = from;
    let rest = "";
    let n = 0;
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, at);
      if (read === 0) break;
      at += read;
      const text = rest + buffer.toString("utf8", 0, read);
      const cut = text.lastIndexOf("\n");
      n += slowEvents(text.slice(0, cut + 1));
      rest = text.slice(cut + 1);
    }
    return n + slowEvents(rest);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
