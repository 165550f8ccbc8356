/**
 * Runs a drill: a swarm forms the steady state, the baseline is measured, faults are injected on
 * schedule and confirmed (T0), recovery is watched, every fault is rolled back whatever happens,
 * and the journal says what the system did. Ctrl-C, an abort condition or an error at any moment
 * lands in the same place: rollback, drain, journal.
 */
import { randomInt } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, hostname } from "node:os";
import { join } from "node:path";
import { analyzeDrill, type ServerView } from "../analyze.js";
import type { FaultInjector, InjectedFault, NodeRef } from "../backend.js";
import { LocalInjector } from "../backends/local.js";
import {
  JOURNAL_SCHEMA,
  type DrillJournal,
  type DrillStatus,
  type FaultRun,
  type ProbeResult,
  type RollbackRun,
} from "../journal.js";
import { renderDrillJUnit } from "../junit.js";
import { renderDrillMarkdown } from "../report.js";
import { decideVerdict, judgeExpectations, probeSteadyState, type SteadyStateReading } from "../verdict.js";
import type { Drill, DrillFault, PrometheusProbe } from "@livekit-swarm/schema";
import { Testbed } from "@livekit-swarm/testbed";
import { RoomServiceClient } from "livekit-server-sdk";
import {
  defaultWorkers,
  mediaPlanFor,
  orchestrate,
  planRun,
  preflight,
  shapeOf,
  TargetError,
  type RunControl,
  type RunOutcome,
  type RunTarget,
} from "@livekit-swarm/load";
import { DrillRecorder } from "./recorder.js";
import { commandInjector } from "./targets.js";

export const TOOL_VERSION = "0.1.0";
/** How often the drill asks the server who is in each room. */
const SERVER_VIEW_MS = 1000;
/** How often subscribed tracks' packet counts and session ids are looked at. */
const WATCH_MS = 250;
/** How long the swarm may take to be fully joined before the baseline starts anyway. */
const JOIN_GRACE_MS = 20_000;

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

interface Stop {
  readonly status: DrillStatus;
  readonly reason: string;
  readonly condition: string;
  readonly at: number;
}

interface ActiveFault {
  readonly fault: DrillFault;
  readonly run: MutableFaultRun;
  readonly injected: InjectedFault;
  /** Set when its revert starts; resolves when it is done (whoever started it waits on it). */
  reverting: Promise<void> | undefined;
}

type MutableFaultRun = { -readonly [K in keyof FaultRun]: FaultRun[K] } & {
  injectedAtMs: number;
  confirmedAtMs: number | null;
  revertedAtMs: number | null;
  nodes: readonly NodeRef[];
};

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export async function runDrill(options: DrillRunOptions): Promise<DrillJournal> {
  const { drill, log } = options;
  const startedAt = Date.now();
  const scenario = {
    ...drill.workload.scenario,
    roomPrefix:
      drill.workload.scenario.roomPrefix === "lkswarm-room-"
        ? `chaos-${options.runId.slice(-4)}-room-`
        : drill.workload.scenario.roomPrefix,
  };
  const plan = planRun(shapeOf(scenario));
  const recorder = new DrillRecorder(plan.participants);
  mkdirSync(options.outputDir, { recursive: true });

  let stop: Stop | undefined;
  // a function, not a read: the stop is set from callbacks, which narrowing cannot see
  const current = (): Stop | undefined => stop;
  const stopWith = (s: Omit<Stop, "at">): void => {
    if (current() !== undefined) return;
    stop = { ...s, at: Date.now() };
    log(`${s.condition}: ${s.reason}`);
    wake();
  };
  // a sleep the drill can cut short (Ctrl-C, an abort condition)
  let wake: () => void = () => undefined;
  const wait = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      if (current() !== undefined || ms <= 0) {
        resolve();
        return;
      }
      const timer = setTimeout(done, ms);
      const previous = wake;
      function done(): void {
        clearTimeout(timer);
        wake = previous;
        resolve();
      }
      wake = () => {
        done();
        previous();
      };
    });
  const onInterrupt = (): void => {
    stopWith({
      status: "interrupted",
      condition: "interrupted",
      reason: "stopping: rolling back every fault",
    });
  };
  options.interrupt.addEventListener("abort", onInterrupt);

  const faultRuns: MutableFaultRun[] = [];
  const active: ActiveFault[] = [];
  const rollbacks: RollbackRun[] = [];
  const serverViews: ServerView[] = [];
  const timers: NodeJS.Timeout[] = [];
  let before: ProbeResult[] = [];
  let after: ProbeResult[] = [];
  let problem: string | null = null;
  let testbed: Testbed | undefined;
  let ownTestbed = false;
  let injector: FaultInjector | undefined;
  let target: RunTarget | undefined;
  let prometheusUrl: string | undefined;
  let control: RunControl | undefined;
  let swarm: Promise<RunOutcome> | undefined;
  const swarmStop = new AbortController();
  const roomNodes = {
    before: {} as Record<string, string | null>,
    after: {} as Record<string, string | null>,
  };
  const windows = {
    baselineStart: startedAt,
    faultPhaseStart: startedAt,
    observeEnd: startedAt,
    afterStart: startedAt,
    end: startedAt,
  };
  const deployment: Record<string, unknown> = { backend: drill.target.backend };

  // a revert already under way (a timed one, when Ctrl-C comes) is waited for, never started twice
  const revert = (a: ActiveFault, why: string): Promise<void> => {
    a.reverting ??= (async () => {
      const at = Date.now();
      try {
        const did = await a.injected.revert();
        a.run.revertedAtMs = Date.now();
        rollbacks.push({ fault: a.fault.id, action: `${why}: ${did}`, at: iso(at), ok: true, error: null });
        log(`${a.fault.id}: reverted (${did})`);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        rollbacks.push({ fault: a.fault.id, action: why, at: iso(at), ok: false, error: message });
        log(`${a.fault.id}: ROLLBACK FAILED: ${message}`);
      }
    })();
    return a.reverting;
  };

  try {
    // the system under test
    if (drill.target.backend === "local") {
      const t = drill.target;
      if (t.testbed !== null) {
        testbed = Testbed.attach(t.testbed);
        log(`attached to testbed ${testbed.name} (${testbed.nodes.length} node(s)) at ${testbed.url}`);
      } else {
        log(
          `starting a local testbed: ${t.nodes} node(s)${t.nodes > 1 ? ", redis, haproxy" : ""}${t.netns ? ", a network namespace per node" : ""}${t.prometheus ? ", prometheus" : ""}`,
        );
        testbed = await Testbed.start({
          name: `chaos-${process.pid}`,
          nodes: t.nodes,
          netns: t.netns,
          prometheus: t.prometheus,
        });
        ownTestbed = true;
      }
      injector = new LocalInjector(testbed);
      target = { url: testbed.url, apiKey: testbed.apiKey, apiSecret: testbed.apiSecret };
      prometheusUrl = testbed.prometheusUrl;
      Object.assign(deployment, {
        url: testbed.url,
        testbed: testbed.name,
        runDir: testbed.runDir,
        nodes: testbed.nodes.map((n) => ({
          name: n.name,
          nodeId: n.nodeId,
          pid: n.pid,
          ip: n.ip,
          namespace: n.namespace,
        })),
        redis: testbed.redis === undefined ? null : `${testbed.redis.host}:${testbed.redis.port}`,
        balancer:
          testbed.nodes.length > 1
            ? "haproxy 2.6: roundrobin, health GET / every 1 s (fall 2, rise 2), retries 2, option redispatch 1"
            : null,
      });
    } else {
      injector = commandInjector(drill.target);
      target = { url: drill.target.url, apiKey: drill.target.apiKey, apiSecret: drill.target.apiSecret };
      Object.assign(deployment, {
        url: drill.target.url,
        nodes: (await injector.nodes()).map((n) => n.name),
      });
    }
    // an unreachable server or rejected keys is bad input, not a drill result
    await preflight(target.url, target.apiKey, target.apiSecret, {
      url: "check the drill's target.url",
      keys: "check the drill's target.api-key and target.api-secret",
    });
    if (current() !== undefined) return await finish();

    // LiveKit places a room on the node with the fewest rooms by stats it refreshes every 2 s:
    // rooms created faster all land on one node. Spaced, they spread, and a fault on one node
    // leaves the others' rooms as a control group.
    const nodeCount = (await injector.nodes()).length;
    if (nodeCount > 1 && plan.rooms.length > 1) {
      const gapMs = Math.min(2500, 20_000 / plan.rooms.length);
      log(
        `placing ${plan.rooms.length} rooms ${gapMs / 1000} s apart so they spread over ${nodeCount} nodes`,
      );
      const rooms = new RoomServiceClient(target.url.replace(/^ws/, "http"), target.apiKey, target.apiSecret);
      for (const [i, room] of plan.rooms.entries()) {
        if (i > 0) await wait(gapMs);
        if (current() !== undefined) break;
        await rooms.createRoom({ name: room, emptyTimeout: 300 });
      }
    }
    if (current() !== undefined) return await finish();

    // the steady state: the swarm joins, then holds for the baseline
    const workers = defaultWorkers(plan.participants.length, availableParallelism());
    log(
      `swarm: ${plan.rooms.length} room(s), ${plan.participants.length} participants, ${workers} worker(s)`,
    );
    swarm = orchestrate({
      target,
      plan,
      media: {
        ...mediaPlanFor(scenario),
        watchMs: WATCH_MS,
        ...(drill.workload.rejoin ? { rejoin: true } : {}),
      },
      holdMs: Number.MAX_SAFE_INTEGER,
      persistent: true,
      statsIntervalMs: 2000,
      workers,
      outputDir: join(options.outputDir, "swarm"),
      signal: swarmStop.signal,
      forceSignal: options.force,
      observers: [recorder],
      onControl: (c) => {
        control = c;
      },
    });
    const joinDeadline = Date.now() + plan.rampMs + JOIN_GRACE_MS;
    while (
      current() === undefined &&
      recorder.connected() < plan.participants.length &&
      Date.now() < joinDeadline
    ) {
      await wait(250);
    }
    log(
      `swarm: ${recorder.connected()} of ${plan.participants.length} connected; baseline for ${drill.baseline / 1000} s`,
    );
    const pollServer = startServerViews(target, plan.rooms, serverViews);
    timers.push(pollServer);
    windows.baselineStart = Date.now();
    await wait(drill.baseline);
    windows.faultPhaseStart = Date.now();
    if (current() !== undefined) return await finish();

    before = probeSteadyState(drill.steadyState, await reading(windows.baselineStart));
    for (const p of before)
      log(
        `steady state before: ${p.name} ${p.detail ?? String(p.observed)} (${p.tolerance}) ${p.met ? "ok" : "NOT MET"}`,
      );
    for (const room of plan.rooms)
      roomNodes.before[room] = (await injector.roomNode(room).catch(() => undefined))?.name ?? null;

    // abort conditions, watched from here on
    let downSince: number | undefined;
    timers.push(
      setInterval(() => {
        const now = Date.now();
        if (now - startedAt > drill.abort.maxDuration) {
          stopWith({
            status: "aborted",
            condition: "max-duration",
            reason: `the drill ran longer than ${drill.abort.maxDuration / 1000} s`,
          });
        }
        const maxDown = drill.abort.maxParticipantsDown;
        if (maxDown !== null) {
          const share = recorder.down() / plan.participants.length;
          if (share > maxDown) downSince ??= now;
          else downSince = undefined;
          if (downSince !== undefined && now - downSince >= drill.abort.downFor) {
            stopWith({
              status: "aborted",
              condition: "max-participants-down",
              reason: `${Math.round(share * 100)}% of participants down for ${drill.abort.downFor / 1000} s (limit ${Math.round(maxDown * 100)}%)`,
            });
          }
        }
      }, 500),
    );

    if (before.every((p) => p.met)) {
      const hitNodes = new Set<string>();
      let lastT0: number | undefined;
      for (const fault of [...drill.faults].sort((a, b) => a.at - b.at)) {
        await wait(windows.faultPhaseStart + fault.at - Date.now());
        if (current() !== undefined) break;
        const chosen = await select(fault, injector, recorder, faultRuns);
        for (const n of chosen.nodes) hitNodes.add(n.name);
        if (drill.abort.maxNodes !== null && hitNodes.size > drill.abort.maxNodes) {
          stopWith({
            status: "aborted",
            condition: "max-nodes",
            reason: `${fault.id} would bring the nodes hit to ${hitNodes.size} (${[...hitNodes].join(", ")}), over abort.max-nodes ${drill.abort.maxNodes}`,
          });
          break;
        }
        const run: MutableFaultRun = {
          id: fault.id,
          type: fault.type,
          selection: chosen.selection,
          subjects: chosen.nodes.map((n) => ({ kind: "node" as const, name: n.name, nodeId: n.nodeId })),
          actions: [],
          injectedAt: null,
          confirmedAt: null,
          confirmedMs: null,
          injectLatencyMs: null,
          evidence: null,
          revertedAt: null,
          revertedMs: null,
          error: null,
          injectedAtMs: Date.now(),
          confirmedAtMs: null,
          revertedAtMs: null,
          nodes: chosen.nodes,
        };
        faultRuns.push(run);
        log(`${fault.id}: ${fault.type} on ${chosen.selection}`);
        try {
          const injected =
            fault.type === "client.simulate"
              ? simulate(fault, chosen.participants, control, recorder)
              : await injector.inject(fault, chosen.nodes);
          run.injectedAt = iso(run.injectedAtMs);
          run.subjects = injected.subjects;
          run.actions = injected.actions;
          const a: ActiveFault = { fault, run, injected, reverting: undefined };
          active.push(a);
          run.evidence = await injected.confirm(Date.now() + fault.confirmWithin);
          run.confirmedAtMs = Date.now();
          run.confirmedAt = iso(run.confirmedAtMs);
          run.injectLatencyMs = run.confirmedAtMs - run.injectedAtMs;
          lastT0 = run.confirmedAtMs;
          log(`${fault.id}: confirmed in ${run.injectLatencyMs} ms (${run.evidence})`);
          if (fault.type === "node.restart" || fault.type === "redis.restart") {
            await revert(a, "restart");
          } else if (fault.duration !== null) {
            const duration = fault.duration;
            // an early stop clears the timer and rolls the fault back instead
            timers.push(
              setTimeout(() => {
                void revert(a, `after ${duration / 1000} s`);
              }, duration),
            );
          }
        } catch (err) {
          run.error = err instanceof Error ? err.message : String(err);
          problem = `${fault.id} could not be injected and confirmed: ${run.error}`;
          log(`${fault.id}: ${run.error}`);
          break;
        }
      }
      // observe the recovery: until the last T0 + observe, and every timed revert done
      if (lastT0 !== undefined) await wait(lastT0 + drill.observe - Date.now());
      while (
        current() === undefined &&
        active.some((a) => a.fault.duration !== null && a.reverting === undefined)
      )
        await wait(250);
      await Promise.all(active.flatMap((a) => (a.reverting === undefined ? [] : [a.reverting])));
    } else {
      problem = "the steady state did not hold before the faults: no fault was injected";
      log(problem);
    }
    windows.observeEnd = Date.now();
    for (const a of [...active].reverse()) await revert(a, "rollback");
    windows.afterStart = Date.now();
    if (current() === undefined && problem === null) {
      log(`after window: ${drill.after / 1000} s`);
      await wait(drill.after);
      if (current() === undefined)
        after = probeSteadyState(drill.steadyState, await reading(windows.afterStart));
      for (const p of after)
        log(
          `steady state after: ${p.name} ${p.detail ?? String(p.observed)} (${p.tolerance}) ${p.met ? "ok" : "NOT MET"}`,
        );
    }
    for (const room of plan.rooms)
      roomNodes.after[room] = (await injector.roomNode(room).catch(() => undefined))?.name ?? null;
    return await finish();
  } catch (err) {
    if (err instanceof TargetError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    if (current() === undefined)
      stop = { status: "failed", condition: "error", reason: message, at: Date.now() };
    problem ??= message;
    log(`drill failed: ${message}`);
    return await finish();
  } finally {
    options.interrupt.removeEventListener("abort", onInterrupt);
    for (const t of timers) clearTimeout(t);
    // whatever happened, no fault outlives the drill
    for (const a of [...active].reverse()) await revert(a, "rollback");
    if (swarm !== undefined && !swarmStop.signal.aborted) {
      swarmStop.abort("completed");
      await swarm.catch(() => undefined);
    }
    if (testbed !== undefined && ownTestbed) await testbed.stop();
  }

  async function reading(from: number): Promise<SteadyStateReading> {
    const tracks = recorder.tracks();
    return {
      planned: plan.participants.length,
      connected: recorder.connected(),
      tracksExpected: tracks.expected,
      tracksFlowing: tracks.flowing,
      lossRatio: recorder.lossSince(from),
      prometheus: await Promise.all(
        drill.steadyState.prometheus.map((p) => queryPrometheus(prometheusUrl, p)),
      ),
    };
  }

  /** Rolls back, drains the swarm, analyses and writes the journal. */
  async function finish(): Promise<DrillJournal> {
    const stopped = current();
    windows.observeEnd = Math.max(windows.observeEnd, windows.faultPhaseStart);
    for (const a of [...active].reverse()) await revert(a, "rollback");
    for (const t of timers) clearTimeout(t);
    let workerPids: readonly number[] = [];
    if (swarm !== undefined) {
      swarmStop.abort("completed");
      workerPids = (await swarm.catch(() => undefined))?.workerPids ?? [];
    }
    windows.end = Date.now();
    if (windows.afterStart < windows.observeEnd) windows.afterStart = windows.observeEnd;
    const analysis = analyzeDrill({
      participants: plan.participants,
      events: recorder.events,
      samples: recorder.samples,
      faults: faultRuns.map((r) => ({
        id: r.id,
        injectedAt: r.injectedAtMs,
        confirmedAt: r.confirmedAtMs,
        revertedAt: r.revertedAtMs,
      })),
      serverViews,
      roomNodes,
      windows,
      settled: stopped === undefined,
    });
    const t0 = analysis.t0;
    const rel = (t: number | null): number | null => (t === null || t0 === null ? null : t - t0);
    const faults: FaultRun[] = faultRuns.map((r) => ({
      id: r.id,
      type: r.type,
      selection: r.selection,
      subjects: r.subjects,
      actions: r.actions,
      injectedAt: r.injectedAt,
      confirmedAt: r.confirmedAt,
      confirmedMs: rel(r.confirmedAtMs),
      injectLatencyMs: r.injectLatencyMs,
      evidence: r.evidence,
      revertedAt: r.revertedAtMs === null ? null : iso(r.revertedAtMs),
      revertedMs: rel(r.revertedAtMs),
      error: r.error,
    }));
    // a rollback that failed leaves the deployment faulty: the drill did not run cleanly
    const failedRollbacks = rollbacks.filter((r) => !r.ok);
    const rollbackProblem =
      failedRollbacks.length === 0
        ? null
        : `rollback failed, the deployment may still carry the fault: ${failedRollbacks.map((r) => `${r.fault}: ${r.error ?? "?"}`).join("; ")}`;
    const status: DrillStatus = stopped?.status ?? (rollbackProblem !== null ? "failed" : "completed");
    const expectations = judgeExpectations(drill.expect, analysis);
    const verdict = decideVerdict({
      status,
      before,
      after,
      faults,
      expectations,
      problem:
        rollbackProblem ??
        problem ??
        (stopped !== undefined ? `${stopped.condition}: ${stopped.reason}` : null),
    });
    const timeline = [...analysis.timeline];
    if (stopped !== undefined) {
      timeline.push({
        tMs: rel(stopped.at) ?? stopped.at - windows.faultPhaseStart,
        kind: "abort",
        subject: "drill",
        detail: `${stopped.condition}: ${stopped.reason}`,
      });
      timeline.sort((a, b) => a.tMs - b.tMs);
    }
    const end = Date.now();
    const artifacts = {
      journal: join(options.outputDir, "journal.json"),
      report: join(options.outputDir, "report.md"),
      junit: join(options.outputDir, "junit.xml"),
      events: join(options.outputDir, "swarm", "events.jsonl"),
      samples: join(options.outputDir, "swarm", "samples.jsonl"),
    };
    const journal: DrillJournal = {
      schema: JOURNAL_SCHEMA,
      drill: {
        name: drill.name,
        file: drill.file,
        description: drill.description,
        backend: drill.target.backend,
      },
      runId: options.runId,
      toolVersion: TOOL_VERSION,
      host: hostname(),
      start: iso(startedAt),
      end: iso(end),
      durationMs: end - startedAt,
      t0: t0 === null ? null : iso(t0),
      status,
      verdict: verdict.verdict,
      reason: verdict.reason,
      exitCode: verdict.exitCode,
      deployment,
      workload: {
        scenario: scenario.name,
        scenarioFile: drill.workload.scenarioFile,
        rooms: plan.rooms,
        participants: plan.participants.length,
        rejoin: drill.workload.rejoin,
        reconnectPolicy: drill.workload.rejoin
          ? "sdk, then the app rejoins after Disconnected"
          : "sdk only (rtc-node 1.1)",
        watchIntervalMs: WATCH_MS,
        workerPids,
        serverViewIntervalMs: SERVER_VIEW_MS,
      },
      steadyState: { before, after },
      faults,
      rollbacks,
      timeline,
      participants: analysis.participants,
      tracks: analysis.tracks,
      rooms: analysis.rooms,
      quality: analysis.quality,
      aggregates: analysis.aggregates,
      expectations,
      findings: analysis.findings,
      abort:
        stopped === undefined || stopped.status === "failed"
          ? null
          : { condition: stopped.condition, atMs: rel(stopped.at), detail: stopped.reason },
      artifacts,
    };
    writeFileSync(artifacts.journal, `${JSON.stringify(journal, null, 2)}\n`);
    writeFileSync(artifacts.report, renderDrillMarkdown(journal));
    writeFileSync(artifacts.junit, renderDrillJUnit(journal));
    return journal;
  }
}

interface Chosen {
  readonly room: string;
  readonly identity: string;
}

/** Resolves a fault's target to nodes (and participants, for client.simulate), described in words. */
async function select(
  fault: DrillFault,
  injector: FaultInjector,
  recorder: DrillRecorder,
  earlier: readonly { id: string; nodes: readonly NodeRef[] }[],
): Promise<{ nodes: readonly NodeRef[]; participants: readonly Chosen[]; selection: string }> {
  const target = fault.target;
  const nodes = await injector.nodes();
  const byRoom = recorder.connectedByRoom();
  const pick = <T>(items: readonly T[], n: number): T[] => {
    const pool = [...items];
    const out: T[] = [];
    while (out.length < n && pool.length > 0) out.push(...pool.splice(randomInt(pool.length), 1));
    return out;
  };
  switch (target.kind) {
    case "busiest-room-node": {
      // the node whose rooms hold the most connected participants: the busiest room's, and on a tie
      // the one with more such rooms, so the fault hits as many people as it can
      const load = new Map<string, { node: NodeRef; rooms: string[]; participants: number }>();
      for (const [room, members] of byRoom) {
        const node = await injector.roomNode(room);
        if (node === undefined) continue;
        const entry = load.get(node.name) ?? { node, rooms: [], participants: 0 };
        entry.rooms.push(room);
        entry.participants += members.length;
        load.set(node.name, entry);
      }
      const best = [...load.values()].sort(
        (a, b) => b.participants - a.participants || a.node.index - b.node.index,
      )[0];
      if (best === undefined)
        throw new Error(
          `${fault.id}: no room is placed on a known node, so there is no busiest room's node to hit`,
        );
      return {
        nodes: [best.node],
        participants: [],
        selection: `${best.node.name}, hosting ${best.rooms.sort().join(", ")} (${best.participants} connected participants)`,
      };
    }
    case "random-node": {
      const [node] = pick(nodes, 1);
      if (node === undefined) throw new Error(`${fault.id}: no nodes to choose from`);
      return { nodes: [node], participants: [], selection: `${node.name} (chosen at random)` };
    }
    case "all-nodes":
      return { nodes, participants: [], selection: `all nodes (${nodes.map((n) => n.name).join(", ")})` };
    case "node": {
      const node = nodes[target.index - 1];
      if (node === undefined)
        throw new Error(`${fault.id}: no node ${target.index}: the deployment has ${nodes.length}`);
      return { nodes: [node], participants: [], selection: node.name };
    }
    case "share-of-nodes": {
      const chosen = pick(nodes, Math.max(1, Math.ceil(target.share * nodes.length)));
      return {
        nodes: chosen,
        participants: [],
        selection: `${chosen.map((n) => n.name).join(", ")} (${Math.round(target.share * 100)}% of nodes, at random)`,
      };
    }
    case "ref": {
      const ref = earlier.find((r) => r.id === target.fault);
      if (ref === undefined)
        throw new Error(`${fault.id}: fault ${target.fault} has not run, so its nodes are unknown`);
      return {
        nodes: ref.nodes,
        participants: [],
        selection: `${ref.nodes.map((n) => n.name).join(", ")} (as ${target.fault})`,
      };
    }
    case "redis":
      return { nodes: [], participants: [], selection: "redis" };
    case "participants": {
      let rooms = [...byRoom.entries()];
      if (target.busiestRoomOnly)
        rooms = rooms.sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0])).slice(0, 1);
      const pool = rooms.flatMap(([room, members]) => members.map((identity) => ({ room, identity })));
      const chosen = pick(pool, Math.max(1, Math.ceil(target.share * pool.length)));
      return {
        nodes: [],
        participants: chosen,
        selection: `${chosen.length} participant(s) (${Math.round(target.share * 100)}% of ${pool.length}${target.busiestRoomOnly ? ` in ${rooms[0]?.[0] ?? "?"}` : ""})`,
      };
    }
  }
}

/** client.simulate: the chosen participants run simulateScenario; confirmed by their reports. */
function simulate(
  fault: DrillFault,
  participants: readonly Chosen[],
  control: RunControl | undefined,
  recorder: DrillRecorder,
): InjectedFault {
  const scenario = fault.params.scenario ?? "signal-reconnect";
  const since = Date.now();
  if (control === undefined) throw new Error("the swarm is not running");
  control.simulate(participants, scenario);
  return {
    subjects: participants.map((p) => ({ kind: "participant", name: `${p.room}/${p.identity}` })),
    actions: [
      `simulateScenario(${scenario}) on ${participants.map((p) => `${p.room}/${p.identity}`).join(", ")}`,
    ],
    async confirm(deadlineMs) {
      for (;;) {
        const seen = recorder.simulated(since);
        const key = (p: Chosen): string => `${p.room}/${p.identity}`;
        const failed = participants.filter((p) => seen.get(key(p))?.ok === false);
        if (failed.length > 0) {
          throw new Error(
            `simulateScenario(${scenario}) failed for ${failed.map((p) => `${key(p)}: ${seen.get(key(p))?.message ?? "?"}`).join(", ")}`,
          );
        }
        if (participants.every((p) => seen.get(key(p))?.ok === true)) {
          return `${participants.length} participant(s) ran simulateScenario(${scenario})`;
        }
        if (Date.now() > deadlineMs) {
          throw new Error(
            `only ${[...seen.keys()].length} of ${participants.length} participants reported simulateScenario(${scenario}) in time`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    revert: () => Promise.resolve("nothing to undo (the SDK recovers by itself)"),
  };
}

/** Asks the server who is in each room, every second, into `out`. */
function startServerViews(target: RunTarget, rooms: readonly string[], out: ServerView[]): NodeJS.Timeout {
  const client = new RoomServiceClient(target.url.replace(/^ws/, "http"), target.apiKey, target.apiSecret);
  let busy = false;
  return setInterval(() => {
    if (busy) return;
    busy = true;
    void Promise.all(
      rooms.map(async (room) => {
        try {
          const list = await Promise.race([
            client.listParticipants(room),
            new Promise<never>((_, reject) =>
              setTimeout(() => {
                reject(new Error("ListParticipants timed out after 2.5 s"));
              }, 2500),
            ),
          ]);
          out.push({
            t: Date.now(),
            room,
            participants: list.map((p) => ({ identity: p.identity, sid: p.sid })),
            error: null,
          });
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          // a room the server does not know lists nobody: that is an answer, not a failure
          const empty = /not.?found|does not exist|could not find/i.test(message);
          out.push({ t: Date.now(), room, participants: empty ? [] : null, error: empty ? null : message });
        }
      }),
    ).finally(() => {
      busy = false;
    });
  }, SERVER_VIEW_MS);
}

async function queryPrometheus(
  url: string | undefined,
  probe: PrometheusProbe,
): Promise<{ value: number } | { error: string }> {
  if (url === undefined) return { error: "no Prometheus for this target" };
  try {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(probe.query)}`, {
      signal: AbortSignal.timeout(5000),
    });
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: unknown };
    };
    if (body.status !== "success") return { error: body.error ?? `HTTP ${res.status}` };
    const result = body.data?.result;
    if (body.data?.resultType === "scalar" && Array.isArray(result)) return { value: Number(result[1]) };
    if (Array.isArray(result) && result.length > 0) {
      const first = result[0] as { value?: [number, string] };
      if (first.value !== undefined) return { value: Number(first.value[1]) };
    }
    return { error: "the query returned no series" };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}
