import { QuantileSketch, lossRatioOfSums, percentiles } from "@livekit-swarm/stats";
import type { ParticipantState } from "./participant-state.js";

/**
 * Which participants a group gathers: those of one room, one role, one LiveKit node, one
 * transport class (the path their media took: UDP, ICE/TCP, TURN over UDP, TCP or TLS), or one
 * engine (a mixed run's bulk beside its probes, which should read the same loss on the same path).
 */
export type GroupBy = "room" | "role" | "node" | "transport" | "engine";
const GROUP_BYS: readonly GroupBy[] = ["room", "role", "node", "transport", "engine"];

/**
 * One room's (role's, node's) figures: where a run's trouble sits. Loss is a ratio of sums over the
 * group's participants, jitter p95 over its track-windows, join p95 over its joined participants.
 */
export interface GroupFigures {
  readonly name: string;
  readonly participants: number;
  readonly joined: number;
  readonly joinP95S: number | undefined;
  readonly lossRatio: number | undefined;
  /**
   * What `lossRatio` rests on, per kind: original packets lost and expected over the group. Absent
   * from summaries written before it was kept.
   */
  readonly lossByKind?: Readonly<
    Record<"audio" | "video", { readonly lost: number; readonly expected: number }>
  >;
  readonly jitterP95S: number | undefined;
  readonly reconnects: number;
  /** ICE time p95 over its participants whose engine timed ICE (lean); undefined when none did. */
  readonly iceP95S?: number;
  /** Participants that left before the end (a disconnect, a dead worker). */
  readonly disconnected: number;
  /**
   * Median frames per second over the group's video track-windows with packets (the run's "frame
   * rate"): decoded for native and browser, assembled from RTP for lean (docs/observability.md
   * 4.3). Absent without video, and from summaries written before it was kept.
   */
  readonly frameRateP50?: number;
}

export interface RunGroups {
  readonly rooms: readonly GroupFigures[];
  readonly roles: readonly GroupFigures[];
  /** Empty when no engine said which node answered its join. */
  readonly nodes: readonly GroupFigures[];
  /**
   * Per transport class, by each participant's last selected pair; participants whose engine saw
   * none (never joined) are in none. In a run with client network profiles, per profile and class
   * ("udp-blocked tcp"), and a profile's participants that got no path are in "<profile> none".
   * Absent from summaries written before transports were read.
   */
  readonly transports?: readonly GroupFigures[];
  /** Per engine (native, lean, browser). Absent from summaries written before engines were grouped. */
  readonly engines?: readonly GroupFigures[];
}

/** The group a participant is in by `by`; undefined when its node is unknown. */
export function groupOf(p: ParticipantState, by: GroupBy): string | undefined {
  switch (by) {
    case "room":
      return p.plan.room;
    case "role":
      return p.plan.role;
    case "node":
      return p.nodeId;
    case "transport":
      // with client network profiles, each profile's participants and the path they got (or
      // "none": no ICE path through that profile's firewall), so a row reads "udp-blocked tcp"
      return p.plan.profile === undefined ? p.transport : `${p.plan.profile} ${p.transport ?? "none"}`;
    case "engine":
      return p.plan.engine;
  }
}

/**
 * One figure's per-track-window values (jitter, frame rate), kept per group as the samples come,
 * in a quantile sketch each: exact up to SKETCH_EXACT_LIMIT windows a group, then within its
 * relative error, and never growing with the run (docs/observability.md 6).
 */
export class GroupWindowValues {
  private readonly values = new Map<string, QuantileSketch>();

  add(p: ParticipantState, value: number): void {
    for (const by of GROUP_BYS) {
      const name = groupOf(p, by);
      if (name === undefined) continue;
      const key = `${by}\u0000${name}`;
      let sketch = this.values.get(key);
      if (sketch === undefined) this.values.set(key, (sketch = new QuantileSketch()));
      sketch.add(value);
    }
  }

  of(by: GroupBy, name: string): QuantileSketch {
    return this.values.get(`${by}\u0000${name}`) ?? new QuantileSketch();
  }
}

/** Rooms worst first (participants that never joined, loss, jitter, join time): the table a reader opens first. */
export function runGroups(
  participants: Iterable<ParticipantState>,
  jitter: GroupWindowValues,
  frameRates: GroupWindowValues = new GroupWindowValues(),
): RunGroups {
  const all = [...participants];
  const group = (by: GroupBy): GroupFigures[] => {
    const members = new Map<string, ParticipantState[]>();
    for (const p of all) {
      const name = groupOf(p, by);
      if (name === undefined) continue;
      const list = members.get(name);
      if (list === undefined) members.set(name, [p]);
      else list.push(p);
    }
    return [...members].map(([name, ps]) =>
      figuresOf(name, ps, jitter.of(by, name), frameRates.of(by, name)),
    );
  };
  return {
    rooms: group("room").sort(worstFirst),
    roles: group("role"),
    nodes: group("node").sort(worstFirst),
    transports: group("transport").sort(worstFirst),
    engines: group("engine").sort(worstFirst),
  };
}

function figuresOf(
  name: string,
  ps: readonly ParticipantState[],
  jitter: QuantileSketch,
  frameRates: QuantileSketch,
): GroupFigures {
  const frameRateP50 = frameRates.percentiles([50], "windows")[0]?.value;
  const joined = ps.filter((p) => p.joinS !== undefined);
  const iceP95S = percentiles(
    ps.map((p) => p.iceS),
    [95],
    "participants",
  )[0]?.value;
  const lossByKind = { audio: sumLoss(ps, "audio"), video: sumLoss(ps, "video") };
  const loss = lossRatioOfSums(
    Object.values(lossByKind).map((k) => ({ packetsLost: k.lost, packetsExpected: k.expected })),
  );
  return {
    name,
    participants: ps.length,
    joined: joined.length,
    joinP95S: percentiles(
      joined.map((p) => p.joinS),
      [95],
      "participants",
    )[0]?.value,
    lossRatio: loss.value,
    lossByKind,
    jitterP95S: jitter.percentiles([95], "windows")[0]?.value,
    reconnects: ps.reduce((a, p) => a + p.reconnects, 0),
    ...(iceP95S !== undefined ? { iceP95S } : {}),
    disconnected: ps.filter((p) => p.disconnected !== undefined).length,
    ...(frameRateP50 !== undefined ? { frameRateP50 } : {}),
  };
}

function sumLoss(
  ps: readonly ParticipantState[],
  kind: "audio" | "video",
): { lost: number; expected: number } {
  return {
    lost: ps.reduce((a, p) => a + p.lossByKind[kind].lost, 0),
    expected: ps.reduce((a, p) => a + p.lossByKind[kind].expected, 0),
  };
}

const worse = (a: number | undefined, b: number | undefined): number => (b ?? -1) - (a ?? -1);

export function worstFirst(a: GroupFigures, b: GroupFigures): number {
  return (
    b.participants - b.joined - (a.participants - a.joined) ||
    worse(a.lossRatio, b.lossRatio) ||
    worse(a.jitterP95S, b.jitterP95S) ||
    worse(a.joinP95S, b.joinP95S) ||
    a.name.localeCompare(b.name)
  );
}
