import { describe, expect, it } from "vitest";
import { Measurements } from "@livekit-swarm/gate";
import { ExitCode, parseScenarioObject } from "@livekit-swarm/schema";
import { RunAggregator } from "../run/aggregate.js";
import { planRun, shapeOf } from "../run/plan.js";
import { healthLines, runHealth, withExitCode } from "../run/health.js";
import type { EndReason, RunOutcome } from "../run/orchestrator.js";
import { endingNotes, exitCodeFor } from "./ending.js";
import { Interruption } from "./interruption.js";

/** A run of two workers, one participant each, both in when both workers died. */
function bothWorkersDied(endReason: EndReason): RunOutcome {
  const measurements = new Measurements();
  measurements.setRunWindow(0);
  // one room of a publisher and a subscriber, as the planner makes them
  const { participants } = planRun(shapeOf(parseScenarioObject({ rooms: 1, subscribers: 1 }, "ending.yaml")));
  const [pub, sub] = participants.map((p) => [p.room, p.identity] as const);
  if (pub === undefined || sub === undefined) throw new Error("the plan lost its participants");
  const aggregator = new RunAggregator(participants, 5000, measurements);
  aggregator.onEvent(...pub, { type: "joined", joinS: 0.3 }, 1000);
  aggregator.onEvent(...sub, { type: "joined", joinS: 0.3 }, 1100);
  aggregator.onEvent(...pub, { type: "disconnected", reason: "worker_died" }, 8000);
  aggregator.onEvent(...sub, { type: "disconnected", reason: "worker_died" }, 8200);
  return {
    summary: aggregator.summary(9000),
    endReason,
    startedAt: "2026-12-01T03:00:00.000Z",
    endedAt: "2026-12-01T03:00:09.000Z",
    durationMs: 9000,
    workersLost: [
      { worker: 0, code: null, signal: "SIGKILL" },
      { worker: 1, code: 134, signal: null },
    ],
    workerPids: [101, 102],
  };
}

describe("a run whose every worker died", () => {
  const outcome = bothWorkersDied("workers-lost");
  const health = runHealth(outcome.summary, outcome.workersLost.length);

  it("is inconclusive (exit 2), the generator's failure, and its banner names that code", () => {
    const code = exitCodeFor(outcome, new Interruption(() => undefined), undefined, health);
    expect(code).toBe(ExitCode.inconclusive);
    expect(health.status).toBe("generator");
    const banner = healthLines(withExitCode(health, code));
    expect(banner[0]).toMatch(/^health: INCONCLUSIVE \(exit 2\)/);
    expect(banner.join("\n")).toContain("FAILED  workers: 2 worker processes died");
  });

  it("says every worker died and how, and never that the server became unreachable", () => {
    const notes = endingNotes(outcome);
    expect(notes.join("\n")).toContain(
      "every worker process died (worker 0: killed by SIGKILL; worker 1: exited with code 134), so the run ended there",
    );
    expect(notes.join("\n")).not.toContain("unreachable");
  });

  it("differs from a server that went away, which is an error (exit 1) said as such", () => {
    const unreachable = bothWorkersDied("server-unreachable");
    const code = exitCodeFor(unreachable, new Interruption(() => undefined), undefined, health);
    expect(code).toBe(ExitCode.error);
    expect(endingNotes(unreachable).join("\n")).toContain("the server became unreachable during the run");
  });
});
