/**
 * The journal from what a drill saw: pure (no clock, no I/O), so every field can be tested from
 * recorded inputs.
 */
import { analyzeDrill, type DrillObservations } from "../analyze.js";
import type { NodeRef } from "../backend.js";
import {
  JOURNAL_SCHEMA,
  type DrillJournal,
  type DrillStatus,
  type FaultRun,
  type ProbeResult,
  type RollbackRun,
} from "../journal.js";
import { decideVerdict, judgeExpectations, judgeFindings, notEvaluated } from "../verdict.js";
import { WORKER_DIED } from "@livekit-swarm/load";
import { TOOL, type Drill } from "@livekit-swarm/schema";
import type { Stop } from "./stop.js";

/** How often subscribed tracks' packet counts and session ids are looked at. */
export const WATCH_MS = 250;

/** A fault as it runs: filled in as it is injected, confirmed and reverted (epoch ms). */
export type FaultRecord = { -readonly [K in keyof FaultRun]: FaultRun[K] } & {
  injectedAtMs: number;
  confirmedAtMs: number | null;
  revertedAtMs: number | null;
  nodes: readonly NodeRef[];
  /** Where each room was just before it was injected (unplaced or unknown: null). */
  roomNodes: Record<string, string | null>;
};

export interface JournalInput {
  readonly drill: Drill;
  readonly runId: string;
  readonly host: string;
  readonly scenarioName: string;
  /** Epoch ms the drill started and the journal is written. */
  readonly startedAt: number;
  readonly endedAt: number;
  readonly stopped: Stop | undefined;
  readonly problem: string | null;
  readonly deployment: Readonly<Record<string, unknown>>;
  readonly rooms: readonly string[];
  readonly workerPids: readonly number[];
  /** The swarm's worker processes that died during the drill, said as "worker 0: killed by SIGKILL". */
  readonly workersLost?: readonly string[];
  readonly serverViewIntervalMs: number;
  readonly observations: Omit<DrillObservations, "faults" | "settled">;
  readonly faultRuns: readonly FaultRecord[];
  readonly rollbacks: readonly RollbackRun[];
  readonly before: readonly ProbeResult[];
  readonly after: readonly ProbeResult[];
  readonly artifacts: DrillJournal["artifacts"];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function assembleJournal(input: JournalInput): DrillJournal {
  const { drill, stopped } = input;
  const analysis = analyzeDrill({
    ...input.observations,
    // late joiners disrupt nobody: no disruption is theirs, and T0 stays the first real fault's
    faults: input.faultRuns
      .filter((r) => r.type !== "client.join")
      .map((r) => ({
        id: r.id,
        injectedAt: r.injectedAtMs,
        confirmedAt: r.confirmedAtMs,
        revertedAt: r.revertedAtMs,
        nodes: r.nodes.map((n) => n.name),
        roomNodes: r.roomNodes,
      })),
    settled: stopped === undefined,
  });
  const t0 = analysis.t0;
  const rel = (t: number | null): number | null => (t === null || t0 === null ? null : t - t0);
  const faults: FaultRun[] = input.faultRuns.map((r) => ({
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
  const failedRollbacks = input.rollbacks.filter((r) => !r.ok);
  const rollbackProblem =
    failedRollbacks.length === 0
      ? null
      : `rollback failed, the deployment may still carry the fault: ${failedRollbacks.map((r) => `${r.fault}: ${r.error ?? "?"}`).join("; ")}`;
  const status: DrillStatus = stopped?.status ?? (rollbackProblem !== null ? "failed" : "completed");
  const judgedFindings = judgeFindings(analysis.findings, drill.expect.acceptFindings);
  const judged = [...judgeExpectations(drill.expect, analysis), judgedFindings.expectation];
  const stoppedEarly = stopped === undefined ? null : `${stopped.condition}: ${stopped.reason}`;
  const generatorLost = workersLostProblem(input.workersLost ?? [], input.observations.events);
  const expectations =
    stoppedEarly !== null
      ? notEvaluated(judged, `the drill stopped early (${stoppedEarly}): its data is incomplete`)
      : generatorLost !== null
        ? notEvaluated(judged, generatorLost)
        : judged;
  const verdict = decideVerdict({
    status,
    before: input.before,
    after: input.after,
    faults,
    expectations,
    problem: rollbackProblem ?? input.problem ?? stoppedEarly,
    generatorLost,
  });
  const timeline = [...analysis.timeline];
  if (stopped !== undefined) {
    timeline.push({
      tMs: rel(stopped.at) ?? stopped.at - input.observations.windows.faultPhaseStart,
      kind: "abort",
      subject: "drill",
      detail: `${stopped.condition}: ${stopped.reason}`,
    });
    timeline.sort((a, b) => a.tMs - b.tMs);
  }
  return {
    schema: JOURNAL_SCHEMA,
    drill: {
      name: drill.name,
      file: drill.file,
      description: drill.description,
      backend: drill.target.backend,
    },
    runId: input.runId,
    toolVersion: TOOL.version,
    host: input.host,
    start: iso(input.startedAt),
    end: iso(input.endedAt),
    durationMs: input.endedAt - input.startedAt,
    t0: t0 === null ? null : iso(t0),
    status,
    verdict: verdict.verdict,
    reason: verdict.reason,
    exitCode: verdict.exitCode,
    deployment: input.deployment,
    workload: {
      scenario: input.scenarioName,
      scenarioFile: drill.workload.scenarioFile,
      rooms: input.rooms,
      participants: input.observations.participants.length,
      rejoin: drill.workload.rejoin,
      reconnectPolicy: drill.workload.rejoin
        ? "sdk, then the app rejoins after Disconnected"
        : "sdk only (rtc-node 1.1)",
      watchIntervalMs: WATCH_MS,
      workerPids: input.workerPids,
      ...(input.workersLost !== undefined && input.workersLost.length > 0
        ? { workersLost: input.workersLost }
        : {}),
      serverViewIntervalMs: input.serverViewIntervalMs,
    },
    steadyState: { before: input.before, after: input.after },
    faults,
    rollbacks: input.rollbacks,
    timeline,
    participants: analysis.participants,
    tracks: analysis.tracks,
    rooms: analysis.rooms,
    quality: analysis.quality,
    aggregates: analysis.aggregates,
    expectations,
    findings: judgedFindings.findings,
    abort:
      stopped === undefined || stopped.status === "failed"
        ? null
        : { condition: stopped.condition, atMs: rel(stopped.at), detail: stopped.reason },
    artifacts: input.artifacts,
  };
}

/**
 * A drill whose swarm lost a worker process: the participants it carried went with it, so whether
 * and how fast they recovered is not LiveKit's to be judged on (a worker SIGKILLed 9 s after a node
 * kill read "12 of 12 never came back" and "participants lost: 12 (worker_died: 12)", FAIL, exit 1).
 * Null when no worker died, or one died carrying nobody (its participants already gone or refused:
 * what became of them is judged as it was).
 */
export function workersLostProblem(
  workersLost: readonly string[],
  events: readonly { readonly event: { readonly type: string; readonly reason?: string } }[],
): string | null {
  if (workersLost.length === 0) return null;
  const carried = events.filter((e) => e.event.reason === WORKER_DIED).length;
  if (carried === 0) return null;
  return (
    `the swarm's own worker process died during the drill (${workersLost.join("; ")}), ` +
    `taking ${carried} participant${carried === 1 ? "" : "s"} with it: their recovery is not LiveKit's to judge, ` +
    "and the drill cannot be (the generator's failure: see swarm/workers.log). Run it again"
  );
}
