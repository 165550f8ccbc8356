/**
 * How Measurements keeps a run's observations in a size that does not grow with its length: one
 * Cell per metric, label set and stretch between cuts, the members each population reduces, and the
 * names (participants, tracks, label sets) they are stored under.
 */
import type { SwarmMetricName } from "@livekit-swarm/schema";
import { QuantileSketch } from "@livekit-swarm/stats";

/**
 * A censored observation as kept: something that had not happened by the end (docs/observability.md
 * 2.1), its `value` only a lower bound. Few (one per participant or track at most) and kept raw.
 */
export interface CensoredKept {
  readonly t: number;
  readonly participant: string;
  readonly track: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** What one participant's (or track's) observations reduce to, whatever the reducer: a few numbers. */
export interface Member {
  n: number;
  sum: number;
  max: number;
  lost: number;
  expected: number;
  censored: boolean;
}

export function member(): Member {
  return { n: 0, sum: 0, max: -Infinity, lost: 0, expected: 0, censored: false };
}

export function addTo(m: Member, value: number, loss: { lost: number; expected: number } | undefined): void {
  m.n += 1;
  m.sum += value;
  // NaN stays NaN, as Math.max over the values gave it: such a member has no value
  m.max = Number.isNaN(value) || Number.isNaN(m.max) ? NaN : Math.max(m.max, value);
  m.lost += loss?.lost ?? 0;
  m.expected += loss?.expected ?? 0;
}

/** A participant and one of its tracks as one number (a Map key) before it is interned: room for 2^24 track keys and 2^29 participants. */
function trackKey(who: number, track: number): number {
  return who * 2 ** 24 + track;
}

/** The member at `index` (an interned participant or pair), made empty on first sight. */
function memberIn(members: Member[], index: number): Member {
  let m = members[index];
  if (m === undefined) {
    m = member();
    members[index] = m;
  }
  return m;
}

export function mergeInto(into: Map<number, Member>, key: number, m: Member): void {
  const to = into.get(key);
  if (to === undefined) {
    into.set(key, { ...m });
    return;
  }
  to.n += m.n;
  to.sum += m.sum;
  to.max = Number.isNaN(m.max) || Number.isNaN(to.max) ? NaN : Math.max(to.max, m.max);
  to.lost += m.lost;
  to.expected += m.expected;
  to.censored ||= m.censored;
}

/**
 * One metric's observations of one label set in one stretch of the run between two cuts, kept in
 * a size that does not grow with the run's length: the count and sum of values (counters, rates),
 * a quantile sketch of the values (the windows population: exact up to SKETCH_EXACT_LIMIT values,
 * then within its relative error), and per participant and per track what the metric's reducer
 * needs (count, sum, max, loss's lost and expected), so those populations stay exact. An event
 * (no track) is its own track-level member: its value is kept, one per event, so the events
 * stay bounded by the participants (a join, a first frame a track). A window with no track (round
 * trip, outbound, data messages) is its own track-level member too, but there is one a window: those
 * go to a second sketch, so the tracks population of such a metric is the windows population.
 */
export class Cell {
  n = 0;
  total = 0;
  readonly windows = new QuantileSketch();
  /** By participant index (`Names.participantIndex`): an array, the quickest lookup a window makes. */
  readonly participants: Member[] = [];
  /** By participant and track (`Names.pair`). */
  readonly tracks: Member[] = [];
  readonly events: number[] = [];
  /** Windows with no track: each its own track-level member, one a window, so in a sketch. */
  readonly untracked = new QuantileSketch();

  /** `pair` is `Names.pair(who, track)`: 0 for an observation on no track. */
  add(
    who: number,
    pair: number,
    value: number,
    loss: { lost: number; expected: number } | undefined,
    from: "event" | "window",
  ): void {
    this.n += 1;
    this.total += value;
    this.windows.add(value);
    addTo(memberIn(this.participants, who), value, loss);
    if (pair === 0) {
      if (from === "event") this.events.push(value);
      else this.untracked.add(value);
      return;
    }
    addTo(memberIn(this.tracks, pair), value, loss);
  }
}

/**
 * Times the run is cut at: a selection's `fromMs` and `toMs` must be one of them (a threshold's
 * warm-up end, a storm's start and end, the run's end). Each metric keeps one Cell per label set
 * and stretch between cuts; a cut comes before any observation past it, so a cell never spans one.
 */
export class Cuts {
  readonly at: number[] = [];
  /** The latest observation's time: a cut must come after it. */
  latestMs = -Infinity;

  /** The stretch `t` falls in: how many cuts are at or before it. */
  segment(t: number): number {
    let i = this.at.length;
    while (i > 0 && (this.at[i - 1] ?? Infinity) > t) i--;
    return i;
  }

  /**
   * Adds a cut and returns where it went: at `atMs`, or just after the latest observation when
   * observations past `atMs` were already kept (a cut never splits what was kept whole). No cell
   * moves: a cut lands past every observation, so every cell after it is still empty.
   */
  add(atMs: number): number {
    const at = atMs > this.latestMs ? atMs : this.latestMs + 1;
    if (!this.at.includes(at)) {
      this.at.push(at);
      this.at.sort((a, b) => a - b);
    }
    return at;
  }

  /** The stretches a selection spans, first to last; a bound that is not a cut is refused. */
  span(fromMs: number, toMs: number): [number, number] {
    const index = (ms: number, what: string): number => {
      const i = this.at.indexOf(ms);
      if (i < 0)
        throw new Error(
          `a selection ${what} ${ms} that is not one of the run's cuts (${this.at.join(", ")}): cut the run there before its observations (Measurements.cut): this is a bug`,
        );
      return i;
    };
    const first = fromMs === -Infinity ? 0 : index(fromMs, "from") + 1;
    const last = toMs === Infinity ? this.at.length : index(toMs, "to");
    return [first, last];
  }
}

/** A run's participant names, track keys and label sets, each stored once and named by index. */
export class Names {
  private readonly participants = new Interned<string>();
  /** Index 0 is "no track" (an event's observation). */
  private readonly tracks = new Interned<string>([""]);
  private readonly labelSets = new Interned<Readonly<Record<string, string>>>();
  /** A participant's track (trackKey) to a small integer from 1; 0 is no track. */
  private readonly pairs = new Map<number, number>();

  /** The participant's index: each observation of a window names the same one. */
  participantIndex(participant: string): number {
    return this.participants.index(participant, participant);
  }

  trackIndex(track: string | undefined): number {
    return track === undefined ? 0 : this.tracks.index(track, track);
  }

  labelSet(labels: Readonly<Record<string, string>>): number {
    return this.labelSets.index(JSON.stringify(labels), labels);
  }

  /** A participant and one of its tracks as a small integer (0 for no track). */
  pair(who: number, track: number): number {
    if (track === 0) return 0;
    const key = trackKey(who, track);
    let i = this.pairs.get(key);
    if (i === undefined) {
      i = this.pairs.size + 1;
      this.pairs.set(key, i);
    }
    return i;
  }

  participant(i: number): string {
    return this.participants.value(i) ?? "";
  }

  track(i: number): string | undefined {
    return this.tracks.value(i);
  }

  labels(i: number): Readonly<Record<string, string>> {
    return this.labelSets.value(i) ?? {};
  }
}

class Interned<T> {
  private readonly byKey = new Map<string, number>();
  private readonly values: T[];

  constructor(initial: T[] = []) {
    this.values = initial;
  }

  index(key: string, value: T): number {
    let i = this.byKey.get(key);
    if (i === undefined) {
      i = this.values.push(value) - 1;
      this.byKey.set(key, i);
    }
    return i;
  }

  value(i: number): T | undefined {
    return this.values[i];
  }
}

/** How one participant's (or track's) many observations become its one value. */
type Reducer = "ratio-of-sums" | "max" | "mean";

export const REDUCERS: Readonly<Record<string, Reducer>> = {
  lkswarm_inbound_loss_ratio: "ratio-of-sums",
  lkswarm_join_duration_seconds: "max",
  lkswarm_time_to_first_packet_seconds: "max",
  lkswarm_time_to_first_frame_seconds: "max",
  lkswarm_reconnect_duration_seconds: "max",
  lkswarm_inbound_jitter_seconds: "mean",
  lkswarm_round_trip_time_seconds: "mean",
  lkswarm_end_to_end_latency_seconds: "mean",
} satisfies Partial<Record<SwarmMetricName, Reducer>>;

export function reduce(m: Member, reducer: Reducer): number | undefined {
  switch (reducer) {
    case "ratio-of-sums":
      return m.expected > 0 ? m.lost / m.expected : undefined;
    case "max":
      return m.max;
    case "mean":
      return m.sum / m.n;
  }
}
