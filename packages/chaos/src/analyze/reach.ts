/**
 * Which fault reached which participant, and how. A node fault reaches a participant whose room
 * was on the failed node or whose signalling ran through it; these notice at very different times
 * (docs/livekit-behaviour.md 2.2, 3.1): the signal path within a second, the room alone only when
 * the signal relay times out, 7.5-12.5 s later. The signal path comes from the balancer's log
 * (local testbeds); without it a participant's population is unknown, never guessed.
 */
import type { RecoveryPopulation } from "@livekit-swarm/schema";
import type { FaultTiming, SignalConnection } from "./observations.js";

export type PopulationOrUnknown = RecoveryPopulation | "unknown";

export class FaultReach {
  /** Per `room/identity`: its signalling connections, oldest first; null when no log was read. */
  private readonly connections: Map<string, SignalConnection[]> | null;

  constructor(
    private readonly faults: readonly FaultTiming[],
    signal: readonly SignalConnection[] | null,
    private readonly roomNodesBefore: Readonly<Record<string, string | null>>,
  ) {
    if (signal === null) {
      this.connections = null;
      return;
    }
    this.connections = new Map();
    for (const c of [...signal].sort((a, b) => a.at - b.at)) {
      const key = `${c.room}/${c.identity}`;
      this.connections.set(key, [...(this.connections.get(key) ?? []), c]);
    }
  }

  byId(id: string | null | undefined): FaultTiming | undefined {
    return this.faults.find((f) => f.id === id);
  }

  get signalKnown(): boolean {
    return this.connections !== null;
  }

  /** The node carrying a participant's signalling at `t` (its latest connection by then); null: unknown. */
  signalNodeAt(room: string, identity: string, t: number): string | null {
    let node: string | null = null;
    for (const c of this.connections?.get(`${room}/${identity}`) ?? []) {
      if (c.at > t) break;
      node = c.node;
    }
    return node;
  }

  /** The node hosting `room` when `fault` was injected (as seen just before it); null: unknown. */
  roomNodeAt(fault: FaultTiming, room: string): string | null {
    return fault.roomNodes?.[room] ?? this.roomNodesBefore[room] ?? null;
  }

  /** How `fault` reached the participant; "unknown" when the nodes it hit or the paths are not known. */
  population(fault: FaultTiming, room: string, identity: string): PopulationOrUnknown {
    const nodes = fault.nodes;
    if (nodes === undefined) return "unknown";
    if (nodes.length === 0) return "other";
    const signal = this.signalNodeAt(room, identity, fault.injectedAt);
    if (signal === null) return "unknown";
    if (nodes.includes(signal)) return "signal-via-failed-node";
    const roomNode = this.roomNodeAt(fault, room);
    if (roomNode === null) return "unknown";
    return nodes.includes(roomNode) ? "room-on-failed-node" : "other";
  }

  /** Did `fault` fail the node hosting `room` when it was injected? */
  failedRoom(fault: FaultTiming, room: string): boolean {
    const roomNode = this.roomNodeAt(fault, room);
    return roomNode !== null && (fault.nodes?.includes(roomNode) ?? false);
  }

  /** Did `fault` fail the node carrying the participant's signalling (known from the balancer's log)? */
  failedSignal(fault: FaultTiming, room: string, identity: string): boolean {
    const signal = this.signalNodeAt(room, identity, fault.injectedAt);
    return signal !== null && (fault.nodes?.includes(signal) ?? false);
  }

  /**
   * The fault a participant's disruption at `t` is attributed to: of the confirmed faults issued by
   * then, the latest that failed its signal node (that is what it notices first), else the latest
   * that failed its room's node, else the latest of all.
   */
  attributeDisruption(t: number, room: string, identity: string): FaultTiming | undefined {
    return this.latestBest(t, 0, (f) =>
      this.failedSignal(f, room, identity) ? 2 : this.failedRoom(f, room) ? 1 : 0,
    );
  }

  /**
   * The fault a media stall at `t` is attributed to (issued up to `leadMs` after it): the latest
   * that failed the room's node (its SFU), else the latest that failed the subscriber's or the
   * publisher's signal node (a reconnect interrupts the track), else the latest of all.
   */
  attributeStall(
    t: number,
    room: string,
    subscriber: string,
    publisher: string,
    leadMs: number,
  ): FaultTiming | undefined {
    return this.latestBest(t, leadMs, (f) =>
      this.failedRoom(f, room)
        ? 2
        : this.failedSignal(f, room, subscriber) || this.failedSignal(f, room, publisher)
          ? 1
          : 0,
    );
  }

  /** Of the confirmed faults issued by `t` (with `leadMs` of slack), the latest of the highest rank. */
  private latestBest(t: number, leadMs: number, rank: (f: FaultTiming) => number): FaultTiming | undefined {
    let best: FaultTiming | undefined;
    let bestRank = -1;
    for (const f of this.faults) {
      if (f.confirmedAt === null || f.injectedAt - leadMs > t) continue;
      const r = rank(f);
      if (r >= bestRank) {
        best = f;
        bestRank = r;
      }
    }
    return best;
  }

  /** The fault a participant that was not disrupted is described against: the first that reached it, or the first. */
  firstFor(room: string, identity: string): FaultTiming | undefined {
    const confirmed = this.faults.filter((f) => f.confirmedAt !== null);
    return (
      confirmed.find((f) => this.failedSignal(f, room, identity) || this.failedRoom(f, room)) ?? confirmed[0]
    );
  }
}
