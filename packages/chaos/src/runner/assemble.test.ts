import { parseDrill } from "@livekit-swarm/schema";
import { describe, expect, it } from "vitest";
import { sampleJournal } from "../../test/journal-fixture.js";
import { renderDrillJUnit } from "../junit.js";
import { assembleJournal } from "./assemble.js";
import { DRILL_ENV as ENV, sampleJournalInput as input } from "../../test/journal-input-fixture.js";
import type { Stop } from "./stop.js";

const FIXTURE = sampleJournal();
const [KILL] = FIXTURE.faults;
if (KILL === undefined) throw new Error("the journal fixture has no fault");
const at = (iso: string | null): number => Date.parse(iso ?? "");
const START = at(FIXTURE.start);
const T0 = at(FIXTURE.t0);

describe("assembleJournal", () => {
  it("writes the fixture's run: times, T0, faults relative to T0, rollbacks, steady state", () => {
    const j = assembleJournal(input());
    expect(j.schema).toBe(FIXTURE.schema);
    expect(j.drill.name).toBe(FIXTURE.drill.name);
    expect([j.runId, j.host, j.toolVersion]).toEqual([FIXTURE.runId, FIXTURE.host, FIXTURE.toolVersion]);
    expect([j.start, j.end, j.durationMs, j.t0]).toEqual([
      FIXTURE.start,
      FIXTURE.end,
      FIXTURE.durationMs,
      FIXTURE.t0,
    ]);
    expect(j.faults).toEqual(FIXTURE.faults);
    expect(j.rollbacks).toEqual(FIXTURE.rollbacks);
    expect(j.steadyState).toEqual(FIXTURE.steadyState);
    expect(j.deployment).toEqual(FIXTURE.deployment);
    expect(j.artifacts).toEqual(FIXTURE.artifacts);
    expect(j.status).toBe("completed");
    expect(j.abort).toBeNull();
    expect(j.workload).toMatchObject({
      scenario: "kill",
      workerPids: [101, 102],
      serverViewIntervalMs: 1000,
    });
  });

  it("is pure: the same input gives the same journal", () => {
    expect(assembleJournal(input())).toEqual(assembleJournal(input()));
  });

  it("a failed rollback fails the drill and says the deployment may still carry the fault", () => {
    const j = assembleJournal(
      input({
        rollbacks: [
          { fault: KILL.id, action: "rollback", at: FIXTURE.end, ok: false, error: "start node2: exit 1" },
        ],
      }),
    );
    expect(j.status).toBe("failed");
    expect(j.reason).toContain(
      "rollback failed, the deployment may still carry the fault: kill-busiest: start node2: exit 1",
    );
    expect(j.abort).toBeNull();
  });

  it("an interrupt after T0 is an abort at its time from T0, also on the timeline", () => {
    const stopped: Stop = {
      status: "interrupted",
      condition: "interrupted",
      reason: "stopping: rolling back every fault",
      at: T0 + 5000,
    };
    const j = assembleJournal(input({ stopped }));
    expect(j.status).toBe("interrupted");
    expect(j.abort).toEqual({ condition: "interrupted", atMs: 5000, detail: stopped.reason });
    expect(j.timeline).toContainEqual({
      tMs: 5000,
      kind: "abort",
      subject: "drill",
      detail: "interrupted: stopping: rolling back every fault",
    });
  });

  it("a stop before any fault is timed from the fault phase's start; an error is no abort", () => {
    const stopped: Stop = { status: "failed", condition: "error", reason: "boom", at: START + 40_000 };
    const j = assembleJournal(input({ stopped, faultRuns: [], rollbacks: [], problem: "boom" }));
    expect(j.t0).toBeNull();
    expect(j.status).toBe("failed");
    expect(j.abort).toBeNull();
    expect(j.timeline).toContainEqual({ tMs: 1000, kind: "abort", subject: "drill", detail: "error: boom" });
  });

  it("Ctrl-C before anyone joined: every expectation not evaluated, none failing in JUnit", () => {
    const drill = parseDrill(
      [
        "name: early",
        "workload: { rooms: 2, subscribers: 2 }",
        "faults: [{ id: kill, type: node.kill }]",
        "expect: { participants-lost: 0, ghosts: 0, consistent-within: 30s }",
      ].join("\n"),
      "early.yaml",
      { env: ENV },
    );
    const six = [0, 1].flatMap((r) =>
      ["pub", "sub-a", "sub-b"].map((who) => ({
        identity: `${who}-${r}`,
        room: `room-${r}`,
        role: who === "pub" ? ("publisher" as const) : ("subscriber" as const),
      })),
    );
    const stopped: Stop = {
      status: "interrupted",
      condition: "interrupted",
      reason: "SIGINT",
      at: START + 2000,
    };
    const base = input();
    const j = assembleJournal({
      ...base,
      drill,
      stopped,
      faultRuns: [],
      rollbacks: [],
      before: [],
      after: [],
      observations: { ...base.observations, participants: six },
    });
    expect(j.participants.filter((p) => p.lostReason === "never_joined")).toHaveLength(6);
    expect([j.status, j.verdict, j.exitCode, j.reason]).toEqual([
      "interrupted",
      "inconclusive",
      130,
      "interrupted: SIGINT",
    ]);
    expect(j.expectations.map((e) => [e.name, e.met])).toEqual([
      ["participants lost", null],
      ["ghost participants", null],
      ["server view consistent", null],
      ["high-severity findings", null],
    ]);
    const reason = "the drill stopped early (interrupted: SIGINT): its data is incomplete";
    expect(j.expectations.every((e) => e.notEvaluated === reason)).toBe(true);
    const junit = renderDrillJUnit(j);
    expect(junit).not.toContain("ExpectationNotMet");
    expect(junit).toContain(
      `<testcase classname="chaos.early" name="participants lost" time="0.000">\n      <skipped message="not evaluated: ${reason}"/>`,
    );
  });

  it("a worker of the swarm lost mid-drill: inconclusive (exit 2), its participants counted, no expectation judged", () => {
    const base = input();
    const t = at(FIXTURE.start) + 20_000;
    const died = [
      {
        t,
        room: "r1",
        participant: "a",
        role: "subscriber",
        event: { type: "disconnected", reason: "worker_died" },
      },
      {
        t,
        room: "r1",
        participant: "b",
        role: "subscriber",
        event: { type: "join-failed", reason: "worker_died", message: "x" },
      },
    ] as const;
    const j = assembleJournal({
      ...base,
      workersLost: ["worker 0: killed by SIGKILL"],
      observations: { ...base.observations, events: [...base.observations.events, ...died] },
    });
    expect(j.verdict).toBe("inconclusive");
    expect(j.exitCode).toBe(2);
    expect(j.reason).toMatch(
      /^the swarm's own worker process died during the drill \(worker 0: killed by SIGKILL\), taking 2 participants with it: their recovery is not LiveKit's to judge/,
    );
    expect(j.expectations.length).toBeGreaterThan(0);
    for (const e of j.expectations) expect(e).toMatchObject({ met: null, notEvaluated: j.reason });
    expect(j.workload).toMatchObject({ workersLost: ["worker 0: killed by SIGKILL"] });
    // none lost: as before
    expect(assembleJournal(input()).workload).not.toHaveProperty("workersLost");
    // a worker lost carrying nobody (its participants gone already): judged as before, the worker named
    const empty = assembleJournal({ ...base, workersLost: ["worker 1: exited with code 1"] });
    expect(empty.verdict).toBe(assembleJournal(base).verdict);
    expect(empty.workload).toMatchObject({ workersLost: ["worker 1: exited with code 1"] });
  });

  it("a completed run judges its findings against expect.accept-findings", () => {
    const accepting = parseDrill(
      [
        `name: ${FIXTURE.drill.name}`,
        "workload: { rooms: 4, subscribers: 2 }",
        "faults:",
        `  - { id: ${KILL.id}, type: node.kill }`,
        "expect: { accept-findings: [stuck-reconnecting] }",
      ].join("\n"),
      "kill-busiest-node.yaml",
      { env: ENV },
    );
    const j = assembleJournal(input({ drill: accepting }));
    expect(j.expectations).toContainEqual({
      name: "high-severity findings",
      expected: "none besides the accepted stuck-reconnecting",
      observed: "none",
      met: true,
    });
  });
});
