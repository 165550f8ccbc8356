import { parseDrill, type Drill, type DrillFault } from "@livekit-swarm/schema";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { FaultInjector, InjectedFault, NodeRef } from "../backend.js";
import type { FaultRecord } from "./assemble.js";
import { assembleJournal } from "./assemble.js";
import { FaultSchedule } from "./faults.js";
import { DRILL_ENV, sampleJournalInput } from "../../test/journal-input-fixture.js";
import { DrillRecorder } from "./recorder.js";
import { DrillStop } from "./stop.js";

const PHASE_START = Date.parse("2026-11-22T10:00:00.000Z");
const NODES: readonly NodeRef[] = [1, 2, 3].map((i) => ({
  name: `node${i}`,
  index: i - 1,
  nodeId: `ND_${i}`,
}));

/** A drill whose `faults:` are `lines` (further top-level keys may follow them). */
function drill(lines: readonly string[]): Drill {
  return parseDrill(
    ["name: d", "workload: { rooms: 1 }", "observe: 10s", "faults:", ...lines].join("\n"),
    "d.yaml",
    {
      env: DRILL_ENV,
    },
  );
}

function after(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** How the recording injector's fault behaves: when its confirmation comes, and what fails. */
interface Behaviour {
  readonly confirmAfterMs?: number;
  readonly confirmError?: string;
  readonly revertError?: string;
  readonly revertAfterMs?: number;
  /** What its `lapsed()` says once reverted (the fault stopped holding before its revert). */
  readonly lapsed?: string;
}

/**
 * A FaultInjector that does nothing but write down, with the time since the fault phase began,
 * every inject, confirm and revert the schedule asks of it.
 */
class RecordingInjector implements FaultInjector {
  readonly backend = "local" as const;
  readonly calls: string[] = [];

  constructor(private readonly behaviour: Readonly<Record<string, Behaviour>> = {}) {}

  nodes(): Promise<readonly NodeRef[]> {
    return Promise.resolve(NODES);
  }

  roomNode(): Promise<NodeRef | undefined> {
    return Promise.resolve(undefined);
  }

  describe(): readonly string[] {
    return [];
  }

  inject(fault: DrillFault, nodes: readonly NodeRef[]): Promise<InjectedFault> {
    const b = this.behaviour[fault.id] ?? {};
    this.note(`inject ${fault.id} on ${nodes.map((n) => n.name).join(",")}`);
    return Promise.resolve({
      subjects: nodes.map((n) => ({ kind: "node", name: n.name })),
      actions: [`stop ${fault.id}`],
      confirm: async (deadlineMs) => {
        this.note(`confirm ${fault.id} by +${deadlineMs - PHASE_START}`);
        if (b.confirmAfterMs !== undefined) await after(b.confirmAfterMs);
        if (b.confirmError !== undefined) throw new Error(b.confirmError);
        return `${fault.id} seen`;
      },
      revert: async () => {
        this.note(`revert ${fault.id}`);
        if (b.revertAfterMs !== undefined) await after(b.revertAfterMs);
        if (b.revertError !== undefined) throw new Error(b.revertError);
        return `undid ${fault.id}`;
      },
      ...(b.lapsed !== undefined ? { lapsed: () => b.lapsed } : {}),
    });
  }

  private note(what: string): void {
    this.calls.push(`+${Date.now() - PHASE_START} ${what}`);
  }
}

interface Phase {
  readonly schedule: FaultSchedule;
  readonly injector: RecordingInjector;
  readonly stop: DrillStop;
  readonly log: string[];
}

/** A fault schedule for a drill whose faults are `faultLines`, on a recording injector. */
function phase(faultLines: readonly string[], behaviour: Readonly<Record<string, Behaviour>> = {}): Phase {
  const log: string[] = [];
  const stop = new DrillStop((line) => log.push(line));
  const injector = new RecordingInjector(behaviour);
  // a random target is always the last node
  const schedule = new FaultSchedule(
    drill(faultLines),
    injector,
    new DrillRecorder([]),
    stop,
    (line) => log.push(line),
    (n) => n - 1,
  );
  return { schedule, injector, stop, log };
}

/** Runs the fault phase to its end on the fake clock. */
async function runPhase(s: FaultSchedule): Promise<void> {
  const done = s.run(PHASE_START, () => undefined);
  await vi.runAllTimersAsync();
  await done;
}

describe("FaultSchedule", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    vi.setSystemTime(PHASE_START);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("injects the faults in the order of their `at`, each at its time, and confirms each before the next", async () => {
    const { schedule: s, injector } = phase(
      [
        "  - { id: c, type: node.freeze, target: { node: 3 }, at: 20s, confirm-within: 5s }",
        "  - { id: a, type: node.freeze, target: { node: 1 }, at: 0s, confirm-within: 5s }",
        "  - { id: b, type: node.freeze, target: { node: 2 }, at: 10s, confirm-within: 3s }",
      ],
      { b: { confirmAfterMs: 1500 } },
    );
    await runPhase(s);
    expect(injector.calls).toEqual([
      "+0 inject a on node1",
      "+0 confirm a by +5000",
      "+10000 inject b on node2",
      "+10000 confirm b by +13000",
      "+20000 inject c on node3",
      "+20000 confirm c by +25000",
    ]);
    expect(s.problem).toBeNull();
    const b = s.runs.find((r) => r.id === "b");
    expect(b).toMatchObject({
      selection: "node2",
      actions: ["stop b"],
      evidence: "b seen",
      injectedAtMs: PHASE_START + 10_000,
      confirmedAtMs: PHASE_START + 11_500,
      injectLatencyMs: 1500,
      confirmedAt: "2026-11-22T10:00:11.500Z",
    });
  });

  it("reverts a fault with a duration that long after its confirmation, and the phase waits for it", async () => {
    const { schedule: s, injector } = phase(
      ["  - { id: a, type: node.freeze, target: { node: 1 }, at: 0s, duration: 30s, confirm-within: 5s }"],
      { a: { confirmAfterMs: 500 } },
    );
    await runPhase(s);
    expect(injector.calls).toEqual(["+0 inject a on node1", "+0 confirm a by +5000", "+30500 revert a"]);
    expect(s.rollbacks).toEqual([
      { fault: "a", action: "after 30 s: undid a", at: "2026-11-22T10:00:30.500Z", ok: true, error: null },
    ]);
    expect(s.runs[0]?.revertedAtMs).toBe(PHASE_START + 30_500);
    // already reverted: the rollback at the end has nothing left to do
    await s.rollBack();
    expect(injector.calls.filter((c) => c.includes("revert"))).toHaveLength(1);
  });

  it("node.restart and redis.restart are reverted (restarted) as soon as they are confirmed", async () => {
    const { schedule: s, injector } = phase([
      "  - { id: r, type: node.restart, target: { node: 2 }, at: 0s, confirm-within: 5s }",
    ]);
    await runPhase(s);
    expect(injector.calls).toEqual(["+0 inject r on node2", "+0 confirm r by +5000", "+0 revert r"]);
    expect(s.rollbacks.map((r) => r.action)).toEqual(["restart: undid r"]);
  });

  it("rolls back every fault still in place, newest first; a failed revert does not stop the others and fails the drill", async () => {
    const {
      schedule: s,
      injector,
      log,
    } = phase(
      [
        "  - { id: a, type: node.freeze, target: { node: 1 }, at: 0s }",
        "  - { id: b, type: node.kill, target: { node: 2 }, at: 1s }",
        "  - { id: c, type: net.partition, target: { node: 3 }, at: 2s }",
      ],
      { b: { revertError: "start node2: exit 1" } },
    );
    await runPhase(s);
    expect(injector.calls.filter((c) => c.includes("revert"))).toEqual([]);
    await s.rollBack();
    expect(injector.calls.filter((c) => c.includes("revert")).map((c) => c.replace(/^\+\d+ /, ""))).toEqual([
      "revert c",
      "revert b",
      "revert a",
    ]);
    expect(s.rollbacks.map((r) => [r.fault, r.ok, r.error])).toEqual([
      ["c", true, null],
      ["b", false, "start node2: exit 1"],
      ["a", true, null],
    ]);
    expect(log).toContain("b: ROLLBACK FAILED: start node2: exit 1");
    const journal = assembleJournal(sampleJournalInput({ rollbacks: s.rollbacks }));
    expect(journal.status).toBe("failed");
    expect(journal.reason).toContain(
      "rollback failed, the deployment may still carry the fault: b: start node2: exit 1",
    );
  });

  it("a rollback that comes while a timed revert is under way waits for it instead of reverting twice", async () => {
    const { schedule: s, injector } = phase(
      [
        "  - { id: a, type: node.freeze, target: { node: 1 }, at: 0s, duration: 5s }",
        "  - { id: b, type: node.freeze, target: { node: 2 }, at: 0s, duration: 60s }",
      ],
      { a: { revertAfterMs: 2000 } },
    );
    const done = s.run(PHASE_START, () => undefined);
    // Ctrl-C at +6 s: a's timed revert started at +5 s and takes until +7 s
    await vi.advanceTimersByTimeAsync(6000);
    let rolledBack = false;
    const rollback = s.rollBack().then(() => {
      rolledBack = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(rolledBack).toBe(false);
    await vi.runAllTimersAsync();
    await Promise.all([rollback, done]);
    expect(injector.calls.filter((c) => c.includes("revert"))).toEqual(["+5000 revert a", "+6000 revert b"]);
    expect(s.rollbacks.map((r) => [r.action, r.at])).toEqual([
      ["rollback: undid b", "2026-11-22T10:00:06.000Z"],
      ["after 5 s: undid a", "2026-11-22T10:00:05.000Z"],
    ]);
  });

  it("a fault found gone at its revert did not hold: its error says so and the verdict is inconclusive, not a pass", async () => {
    const { schedule: s, log } = phase(
      [
        "  - { id: a, type: net.delay, target: { node: 1 }, at: 0s, duration: 10s, delay: 100ms }",
        "  - { id: b, type: net.loss, target: { node: 2 }, at: 0s, duration: 10s, ratio: 5% }",
      ],
      {
        a: {
          lapsed: "veth1: the delayer exited 6.9 s before the revert, and packets passed undelayed from then",
        },
      },
    );
    await runPhase(s);
    expect(s.problem).toBeNull();
    expect(s.runs.map((r) => [r.id, r.error])).toEqual([
      [
        "a",
        "did not hold until its revert: veth1: the delayer exited 6.9 s before the revert, and packets passed undelayed from then",
      ],
      ["b", null],
    ]);
    expect(log).toContain(
      "a: did not hold until its revert: veth1: the delayer exited 6.9 s before the revert, and packets passed undelayed from then",
    );
    const base = sampleJournalInput();
    const journal = assembleJournal({
      ...base,
      faultRuns: [{ ...(base.faultRuns[0] as FaultRecord), error: s.runs[0]?.error ?? null }],
    });
    expect(journal.verdict).toBe("inconclusive");
    expect(journal.reason).toContain("did not hold until its revert: veth1: the delayer exited 6.9 s");
    // the same drill with the fault held is judged on its figures
    expect(assembleJournal(base).verdict).not.toBe("inconclusive");
  });

  it("a fault that is not confirmed stops the schedule: later faults are not injected, and it is still rolled back", async () => {
    const { schedule: s, injector } = phase(
      [
        "  - { id: a, type: node.freeze, target: { node: 1 }, at: 0s, confirm-within: 5s }",
        "  - { id: b, type: node.freeze, target: { node: 2 }, at: 10s }",
      ],
      {
        a: { confirmAfterMs: 5000, confirmError: "node1 still running" },
      },
    );
    await runPhase(s);
    expect(s.problem).toBe("a could not be injected and confirmed: node1 still running");
    expect(s.runs.map((r) => [r.id, r.confirmedAt, r.error])).toEqual([["a", null, "node1 still running"]]);
    await s.rollBack();
    expect(injector.calls).toEqual(["+0 inject a on node1", "+0 confirm a by +5000", "+5000 revert a"]);
  });

  it("a fault that would hit more nodes than abort.max-nodes aborts the drill instead of being injected", async () => {
    const {
      schedule: s,
      injector,
      stop,
    } = phase([
      "  - { id: a, type: node.freeze, target: { node: 1 }, at: 0s }",
      "  - { id: b, type: node.freeze, target: random-node, at: 5s }",
      "abort: { max-nodes: 1 }",
    ]);
    await runPhase(s);
    expect(injector.calls.filter((c) => c.includes("inject"))).toEqual(["+0 inject a on node1"]);
    expect(s.runs.map((r) => r.id)).toEqual(["a"]);
    expect(stop.current()).toMatchObject({ status: "aborted", condition: "max-nodes" });
    expect(stop.current()?.reason).toContain(
      "b would bring the nodes hit to 2 (node1, node3), over abort.max-nodes 1",
    );
  });
});
