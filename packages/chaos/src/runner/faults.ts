/**
 * The fault schedule: each fault is chosen, injected, confirmed (its T0) and reverted after its
 * duration. Every fault it injects stays on its books until reverted, and `rollBack()` is the one
 * path that reverts what is left, whichever way the drill ends.
 */
import { randomInt as cryptoRandomInt } from "node:crypto";
import { isDeploymentFault, messageOf, type Drill, type DrillFault } from "@livekit-swarm/schema";
import type { FaultInjector, InjectedFault, NodeRef } from "../backend.js";
import type { RollbackRun } from "../journal.js";
import type { RunControl } from "@livekit-swarm/load";
import type { FaultRecord } from "./assemble.js";
import type { DrillRecorder } from "./recorder.js";
import { lateJoin, lateJoiners } from "./late.js";
import { selectTargets, type Selection } from "./select.js";
import type { DrillStop } from "./stop.js";
import { simulate } from "./watch.js";

interface ActiveFault {
  readonly fault: DrillFault;
  readonly run: FaultRecord;
  readonly injected: InjectedFault;
  /** Set when its revert starts; resolves when it is done (whoever started it waits on it). */
  reverting: Promise<void> | undefined;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export class FaultSchedule {
  readonly runs: FaultRecord[] = [];
  readonly rollbacks: RollbackRun[] = [];
  /** Why a fault could not be injected and confirmed; null when every one was. */
  problem: string | null = null;
  private readonly active: ActiveFault[] = [];
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly drill: Drill,
    private readonly injector: FaultInjector,
    private readonly recorder: DrillRecorder,
    private readonly stop: DrillStop,
    private readonly log: (line: string) => void,
    /** An integer in [0, n) for targets chosen at random; a fixed draw in a test. */
    private readonly randomInt: (n: number) => number = (n) => cryptoRandomInt(n),
  ) {}

  /** Injects the faults at their times from `phaseStart`, then observes until every timed revert is done. */
  async run(phaseStart: number, control: () => RunControl | undefined): Promise<void> {
    const { drill, stop } = this;
    const hitNodes = new Set<string>();
    let lastT0: number | undefined;
    for (const fault of [...drill.faults].sort((a, b) => a.at - b.at)) {
      await stop.sleep(phaseStart + fault.at - Date.now());
      if (stop.current() !== undefined) break;
      const chosen = await this.choose(fault);
      for (const n of chosen.nodes) hitNodes.add(n.name);
      if (drill.abort.maxNodes !== null && hitNodes.size > drill.abort.maxNodes) {
        stop.request({
          status: "aborted",
          condition: "max-nodes",
          reason: `${fault.id} would bring the nodes hit to ${hitNodes.size} (${[...hitNodes].join(", ")}), over abort.max-nodes ${drill.abort.maxNodes}`,
        });
        break;
      }
      const t0 = await this.injectOne(fault, chosen, control());
      if (t0 === undefined) break;
      lastT0 = t0;
    }
    // observe the recovery: until the last T0 + observe, and every timed revert done
    if (lastT0 !== undefined) await stop.sleep(lastT0 + drill.observe - Date.now());
    while (
      stop.current() === undefined &&
      this.active.some((a) => a.fault.duration !== null && a.reverting === undefined)
    )
      await stop.sleep(250);
    await Promise.all(this.active.flatMap((a) => (a.reverting === undefined ? [] : [a.reverting])));
  }

  /** Reverts every fault still in place, newest first; a revert already under way is waited for. */
  async rollBack(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const a of [...this.active].reverse()) await this.revert(a, "rollback");
  }

  /** The fault's target, and where each room is as it is chosen (what the analysis calls the fault's room placement). */
  private async choose(fault: DrillFault): Promise<Selection & { roomNodes: Record<string, string | null> }> {
    const byRoom = this.recorder.connectedByRoom();
    const roomNodes = new Map<string, NodeRef | undefined>();
    // only the busiest room's node needs the placement to choose; elsewhere a failed lookup leaves it unknown
    const lookup = (room: string): Promise<NodeRef | undefined> =>
      fault.target.kind === "busiest-room-node"
        ? this.injector.roomNode(room)
        : this.injector.roomNode(room).catch(() => undefined);
    for (const room of byRoom.keys()) roomNodes.set(room, await lookup(room));
    const selection = selectTargets(fault, {
      nodes: await this.injector.nodes(),
      byRoom,
      roomNodes,
      earlier: this.runs,
      randomInt: this.randomInt,
    });
    return {
      ...selection,
      roomNodes: Object.fromEntries([...roomNodes].map(([room, node]) => [room, node?.name ?? null])),
    };
  }

  /** Injects and confirms one fault and schedules its revert; returns its T0, or undefined on failure. */
  private async injectOne(
    fault: DrillFault,
    chosen: Selection & { roomNodes: Record<string, string | null> },
    control: RunControl | undefined,
  ): Promise<number | undefined> {
    const log = this.log;
    const run: FaultRecord = {
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
      roomNodes: chosen.roomNodes,
    };
    this.runs.push(run);
    log(`${fault.id}: ${fault.type} on ${chosen.selection}`);
    try {
      const injected = isDeploymentFault(fault)
        ? await this.injector.inject(fault, chosen.nodes)
        : fault.type === "client.simulate"
          ? simulate(fault, chosen.participants, control, this.recorder)
          : this.lateJoin(fault, control);
      run.injectedAt = iso(run.injectedAtMs);
      run.subjects = injected.subjects;
      run.actions = injected.actions;
      const a: ActiveFault = { fault, run, injected, reverting: undefined };
      this.active.push(a);
      run.evidence = await injected.confirm(Date.now() + fault.confirmWithin);
      run.confirmedAtMs = Date.now();
      run.confirmedAt = iso(run.confirmedAtMs);
      run.injectLatencyMs = run.confirmedAtMs - run.injectedAtMs;
      log(`${fault.id}: confirmed in ${run.injectLatencyMs} ms (${run.evidence})`);
      if (fault.type === "node.restart" || fault.type === "redis.restart") {
        await this.revert(a, "restart");
      } else if (fault.duration !== null) {
        const duration = fault.duration;
        // an early stop clears the timer and rolls the fault back instead
        this.timers.push(
          setTimeout(() => {
            void this.revert(a, `after ${duration / 1000} s`);
          }, duration),
        );
      }
      return run.confirmedAtMs;
    } catch (err) {
      run.error = messageOf(err);
      this.problem = `${fault.id} could not be injected and confirmed: ${run.error}`;
      log(`${fault.id}: ${run.error}`);
      return undefined;
    }
  }

  private lateJoin(fault: DrillFault, control: RunControl | undefined): InjectedFault {
    const joiners = lateJoiners(
      fault,
      this.recorder.participants.filter((p) => p.lateJoiner === undefined),
    );
    this.recorder.add(fault.id, joiners);
    return lateJoin(
      joiners,
      control === undefined
        ? undefined
        : (participants) => {
            control.join(participants);
          },
      this.recorder,
    );
  }

  // a revert already under way (a timed one, when Ctrl-C comes) is waited for, never started twice
  private revert(a: ActiveFault, why: string): Promise<void> {
    a.reverting ??= (async () => {
      const at = Date.now();
      try {
        const did = await a.injected.revert();
        a.run.revertedAtMs = Date.now();
        this.rollbacks.push({
          fault: a.fault.id,
          action: `${why}: ${did}`,
          at: iso(at),
          ok: true,
          error: null,
        });
        this.log(`${a.fault.id}: reverted (${did})`);
        // what was measured under it was not measured under the fault the drill names
        const lapsed = a.injected.lapsed?.();
        if (lapsed !== undefined) {
          a.run.error ??= `did not hold until its revert: ${lapsed}`;
          this.log(`${a.fault.id}: did not hold until its revert: ${lapsed}`);
        }
      } catch (err) {
        const message = messageOf(err);
        this.rollbacks.push({ fault: a.fault.id, action: why, at: iso(at), ok: false, error: message });
        this.log(`${a.fault.id}: ROLLBACK FAILED: ${message}`);
      }
    })();
    return a.reverting;
  }
}
