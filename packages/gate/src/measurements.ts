import type {
  EventContext,
  ParticipantEvent,
  RunObserver,
  StormObservation,
  SwarmMetricName,
  WindowSample,
} from "@livekit-swarm/schema";
import {
  QuantileSketch,
  censoredPercentiles,
  checkP,
  rankOf,
  type CensoredPercentile,
  type Population,
} from "@livekit-swarm/stats";

/**
 * A censored observation as kept: something that had not happened by the end (docs/observability.md
 * 2.1), its `value` only a lower bound. Few (one per participant or track at most) and kept raw.
 */
interface CensoredKept {
  readonly t: number;
  readonly participant: string;
  readonly track: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** What one participant's (or track's) observations reduce to, whatever the reducer: a few numbers. */
interface Member {
  n: number;
  sum: number;
  max: number;
  lost: number;
  expected: number;
  censored: boolean;
}

function member(): Member {
  return { n: 0, sum: 0, max: -Infinity, lost: 0, expected: 0, censored: false };
}

function addTo(m: Member, value: number, loss: { lost: number; expected: number } | undefined): void {
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

function mergeInto(into: Map<number, Member>, key: number, m: Member): void {
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
class Cell {
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
class Cuts {
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
class Names {
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

/**
 * Something that should have happened and had not when the run ended: a participant that never
 * joined, an expected track that never received. Its time is known only to exceed `atLeastS`.
 */
export interface CensoredObservation {
  /** When it was known to be censored (epoch ms): the run's end, or the participant's disconnect. */
  readonly t: number;
  /** `room/identity`, as events and samples name participants. */
  readonly participant: string;
  /** Distinguishes a participant's several censored tracks. */
  readonly track: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly atLeastS: number;
}

/** How one participant's (or track's) many observations become its one value. */
type Reducer = "ratio-of-sums" | "max" | "mean";

const REDUCERS: Readonly<Record<string, Reducer>> = {
  lkswarm_inbound_loss_ratio: "ratio-of-sums",
  lkswarm_join_duration_seconds: "max",
  lkswarm_time_to_first_packet_seconds: "max",
  lkswarm_time_to_first_frame_seconds: "max",
  lkswarm_reconnect_duration_seconds: "max",
  lkswarm_inbound_jitter_seconds: "mean",
  lkswarm_round_trip_time_seconds: "mean",
  lkswarm_end_to_end_latency_seconds: "mean",
} satisfies Partial<Record<SwarmMetricName, Reducer>>;

export interface Distribution {
  readonly population: Population;
  /** Observed and censored together: the whole population. */
  readonly n: number;
  /**
   * Observed values of a participants or tracks population, one a member (exact, bounded by the
   * run's members); undefined for windows, which only `sketch` holds.
   */
  readonly values: readonly number[] | undefined;
  /** Observed values in a sketch: exact while small (`sketch.exact`), then within its relative error. */
  readonly sketch: QuantileSketch;
  /** Lower bounds of the censored members (docs/observability.md 2.1). */
  readonly censored: readonly number[];
}

/** A statistic over a population with censored members: `censored` means `value` is a lower bound. */
export interface Statistic {
  readonly value: number | undefined;
  readonly n: number;
  readonly censored: boolean;
}

export type Figure = Readonly<Record<"p50" | "p95" | "p99" | "max" | "min" | "avg", Statistic>> & {
  readonly n: number;
  readonly censored: number;
  /** The percentiles are exact nearest-rank values; false: each within `relativeError` of it. */
  readonly exact: boolean;
  readonly relativeError: number;
};

export interface Selection {
  readonly where?: Readonly<Record<string, string>>;
  /** Observations before this epoch ms are left out (run start + warmup). */
  readonly fromMs?: number;
  /** Observations at or after this epoch ms are left out (a window of the run, e.g. before a storm). */
  readonly toMs?: number;
}

export interface MeasurementsOptions {
  /**
   * Where selections will start after the run's start (ms): each threshold's warm-up. The run is
   * cut there as soon as its start is known (setRunWindow), before any observation past it.
   */
  readonly cutsAfterStartMs?: readonly number[];
}

/**
 * The metrics a window reports on no track (a participant's, not a track's): their tracks
 * population is one member a window, which is the windows population. `onSample` folds exactly
 * these with no track (a unit test holds the two together).
 */
export const WINDOW_METRICS_WITHOUT_TRACK: ReadonlySet<string> = new Set([
  "lkswarm_outbound_bytes_total",
  "lkswarm_outbound_nack_total",
  "lkswarm_outbound_pli_total",
  "lkswarm_outbound_fir_total",
  "lkswarm_round_trip_time_seconds",
  "lkswarm_end_to_end_latency_seconds",
  "lkswarm_data_messages_sent_total",
  "lkswarm_data_messages_received_total",
]);

/**
 * Every observation of a run, folded as it comes into state that does not grow with the run's
 * length (Cell), so that thresholds and the summary compute their figures over an explicit
 * population, with label filters and warm-up, from the same data: counts, sums, min, max and the
 * participants and tracks populations exact; percentiles over windows exact up to
 * SKETCH_EXACT_LIMIT windows a label set and stretch, then within the sketch's relative error.
 * A selection's time bounds must be cuts made before the observations past them (`cut`).
 *
 * Reduction to a population: windows are the per-track-window values; tracks and participants
 * reduce their observations with the metric's reducer: loss as a ratio of sums; times-to-first and
 * join/reconnect times as the worst (max); jitter, RTT and latency as the mean over windows.
 */
export class Measurements implements RunObserver {
  /** metric -> label set -> one Cell per stretch between cuts (sparse). */
  private readonly observations = new Map<string, Map<number, Cell[]>>();
  private readonly names = new Names();
  private readonly cuts = new Cuts();
  private readonly censoredObservations = new Map<string, CensoredKept[]>();
  private readonly reconnecting = new Set<string>();
  private readonly cutsAfterStartMs: readonly number[];
  private stormFigures = 0;
  private startMs: number | undefined;
  private endMs: number | undefined;

  constructor(options: MeasurementsOptions = {}) {
    this.cutsAfterStartMs = options.cutsAfterStartMs ?? [];
  }

  /**
   * The run's clock: warm-up counts from the start, rates divide by start-to-end. The start is
   * a cut, and so is every `cutsAfterStartMs` after it; a run's start is set once, before its
   * observations (a second call may only add the end).
   */
  setRunWindow(startMs: number, endMs?: number): void {
    if (this.startMs !== undefined && this.startMs !== startMs)
      throw new Error(`the run's start was set at ${this.startMs}, not ${startMs}: this is a bug`);
    if (this.startMs === undefined)
      for (const after of [0, ...this.cutsAfterStartMs]) this.cut(startMs + after);
    this.startMs = startMs;
    this.endMs = endMs === undefined ? undefined : this.cut(endMs);
  }

  get runStartMs(): number | undefined {
    return this.startMs;
  }

  /** The run's end as cut (setRunWindow's end, or just past the last observation after it). */
  get runEndMs(): number | undefined {
    return this.endMs;
  }

  /**
   * Cuts the run at `atMs`, so that a selection may start or end there (a storm's start and end);
   * returns where the cut went: `atMs`, or just after the latest observation if one already came
   * past it (a cut never splits what was folded together).
   */
  cut(atMs: number): number {
    return this.cuts.add(atMs);
  }

  onEvent(ctx: EventContext, event: ParticipantEvent): void {
    const who = `${ctx.room}/${ctx.participant}`;
    const role = { role: ctx.role };
    // an event is one observation of its participant, on no track
    const observe = (metric: string, labels: Record<string, string>, value: number): void => {
      this.add(metric, ctx.t, who, undefined, labels, value, undefined, "event");
    };
    switch (event.type) {
      case "joined":
        observe("lkswarm_join_duration_seconds", role, event.joinS);
        break;
      case "join-failed":
        observe("lkswarm_join_failures_total", { ...role, reason: event.reason }, 1);
        break;
      case "first-packet":
      case "first-frame":
        observe(
          event.type === "first-packet"
            ? "lkswarm_time_to_first_packet_seconds"
            : "lkswarm_time_to_first_frame_seconds",
          { kind: event.kind },
          event.afterJoinStartS,
        );
        break;
      case "reconnecting":
        // a reconnect is an entry into Reconnecting (the catalog's definition), counted once per episode
        if (!this.reconnecting.has(who)) observe("lkswarm_reconnects_total", role, 1);
        this.reconnecting.add(who);
        break;
      case "reconnected":
        this.reconnecting.delete(who);
        observe("lkswarm_reconnect_duration_seconds", role, event.durationS);
        break;
      case "disconnected":
        observe("lkswarm_disconnects_total", { ...role, reason: event.reason }, 1);
        break;
      case "quality":
        observe("lkswarm_connection_quality_changes_total", { quality: event.quality }, 1);
        break;
      case "transport":
        observe("lkswarm_transport_selections_total", { ...role, transport: event.transport }, 1);
        if (event.iceS !== undefined)
          observe("lkswarm_ice_duration_seconds", { ...role, transport: event.transport }, event.iceS);
        break;
      case "track-subscribed":
        break;
    }
  }

  /**
   * A signalling storm's figure. Each join (or call) is its own member of every population: a
   * storm's participant joins once per visit, and a percentile over joins is what the storm gates.
   * On no track, each is folded as a window is (`Cell.untracked`, the `add` default): a storm's
   * joins grow with its length, not with the participants, as events do.
   */
  onStorm(o: StormObservation): void {
    const who = `storm/${this.stormFigures++}`;
    switch (o.type) {
      case "join":
        this.add("lkswarm_storm_join_duration_seconds", o.t, who, undefined, {}, o.durationS);
        this.add("lkswarm_storm_joins_total", o.t, who, undefined, {}, 1);
        break;
      case "join-failed":
        this.add("lkswarm_storm_join_failures_total", o.t, who, undefined, { reason: o.reason }, 1);
        break;
      case "session-ended":
        // only the live gauge of open sessions (the exporter) reads it; nothing gates a momentary count
        break;
      case "reconnect":
        this.add(
          "lkswarm_storm_reconnect_duration_seconds",
          o.t,
          who,
          undefined,
          { state: o.state },
          o.durationS,
        );
        break;
      case "reconnect-failed":
        this.add("lkswarm_storm_reconnect_failures_total", o.t, who, undefined, { reason: o.reason }, 1);
        break;
      case "api":
        this.add(
          "lkswarm_storm_api_duration_seconds",
          o.t,
          who,
          undefined,
          { method: o.method },
          o.durationS,
        );
        break;
      case "api-failed":
        this.add(
          "lkswarm_storm_api_failures_total",
          o.t,
          who,
          undefined,
          { method: o.method, reason: o.reason },
          1,
        );
        break;
    }
  }

  onSample(s: WindowSample): void {
    // the names are interned once a window (and once a track), not once a metric
    const who = this.names.participantIndex(`${s.room}/${s.participant}`);
    const role = s.role;
    const t = s.t;
    for (const tr of s.inbound) {
      const pair = this.names.pair(who, this.names.trackIndex(tr.key));
      const l = this.names.labelSet({ kind: tr.kind, role });
      const add = (metric: string, value: number, loss?: { lost: number; expected: number }): void => {
        this.fold(metric, t, who, pair, l, value, loss, "window");
      };
      if (tr.expected > 0)
        add("lkswarm_inbound_loss_ratio", tr.lost / tr.expected, { lost: tr.lost, expected: tr.expected });
      add("lkswarm_inbound_packets_expected_total", tr.expected);
      add("lkswarm_inbound_packets_lost_total", tr.lost);
      if (tr.jitterS !== undefined && tr.received > 0) add("lkswarm_inbound_jitter_seconds", tr.jitterS);
      add("lkswarm_inbound_nack_total", tr.nack);
      add("lkswarm_inbound_pli_total", tr.pli);
      add("lkswarm_inbound_fir_total", tr.fir);
      add("lkswarm_inbound_bytes_total", tr.bytes);
      if (tr.kind === "video") {
        add("lkswarm_inbound_frames_decoded_total", tr.framesDecoded);
        add("lkswarm_inbound_frames_dropped_total", tr.framesDropped);
        add("lkswarm_inbound_freezes_total", tr.freezes);
        // unmeasured freeze time is unknown, not 0 s: it stays out of the population
        if (tr.freezeS !== undefined) add("lkswarm_inbound_freeze_seconds_total", tr.freezeS);
      } else {
        add("lkswarm_inbound_audio_concealed_samples_total", tr.concealedSamples);
        add("lkswarm_inbound_audio_samples_total", tr.totalSamples);
      }
    }
    // the rest is on no track (pair 0)
    const untracked = (metric: string, labels: Record<string, string>, value: number): void => {
      this.fold(metric, t, who, 0, this.names.labelSet(labels), value, undefined, "window");
    };
    for (const tr of s.outbound) {
      const l = { kind: tr.kind, role };
      untracked("lkswarm_outbound_bytes_total", l, tr.bytes);
      untracked("lkswarm_outbound_nack_total", l, tr.nack);
      untracked("lkswarm_outbound_pli_total", l, tr.pli);
      untracked("lkswarm_outbound_fir_total", l, tr.fir);
    }
    const r = { role };
    if (s.rttS !== undefined) untracked("lkswarm_round_trip_time_seconds", r, s.rttS);
    if (s.latencyS !== undefined)
      untracked("lkswarm_end_to_end_latency_seconds", { kind: "video", role }, s.latencyS.p50);
    untracked("lkswarm_data_messages_sent_total", r, s.dataSent);
    untracked("lkswarm_data_messages_received_total", r, s.dataReceived);
  }

  private add(
    metric: string,
    t: number,
    participant: string,
    track: string | undefined,
    labels: Record<string, string>,
    value: number,
    loss?: { lost: number; expected: number },
    from: "event" | "window" = "window",
  ): void {
    const who = this.names.participantIndex(participant);
    const pair = this.names.pair(who, this.names.trackIndex(track));
    this.fold(metric, t, who, pair, this.names.labelSet(labels), value, loss, from);
  }

  /** `add` with its names already interned (a window's several metrics share them). */
  private fold(
    metric: string,
    t: number,
    who: number,
    pair: number,
    labelSet: number,
    value: number,
    loss: { lost: number; expected: number } | undefined,
    from: "event" | "window",
  ): void {
    // an observation at no time belongs to no stretch, and no selection ever took one
    if (!Number.isFinite(t)) return;
    let byLabels = this.observations.get(metric);
    if (byLabels === undefined) {
      byLabels = new Map();
      this.observations.set(metric, byLabels);
    }
    let cells = byLabels.get(labelSet);
    if (cells === undefined) {
      cells = [];
      byLabels.set(labelSet, cells);
    }
    const segment = this.cuts.segment(t);
    let cell = cells[segment];
    if (cell === undefined) {
      cell = new Cell();
      cells[segment] = cell;
    }
    cell.add(who, pair, value, loss, from);
    if (t > this.cuts.latestMs) this.cuts.latestMs = t;
  }

  /**
   * Sets the metric's censored observations (replacing any set before), so that the summary's
   * figures and every threshold over the metric read the same population.
   */
  censor(metric: string, censored: readonly CensoredObservation[]): void {
    this.censoredObservations.set(
      metric,
      censored.map((c) => ({
        t: c.t,
        participant: c.participant,
        track: c.track,
        labels: c.labels,
        value: c.atLeastS,
      })),
    );
  }

  /** The cells a selection takes and its censored observations. */
  private select(metric: string, selection: Selection): { cells: Cell[]; censored: CensoredKept[] } {
    const where = Object.entries(selection.where ?? {});
    const from = selection.fromMs ?? -Infinity;
    const to = selection.toMs ?? Infinity;
    const matches = (labels: Readonly<Record<string, string>>): boolean =>
      where.every(([k, v]) => labels[k] === v);
    const [first, last] = this.cuts.span(from, to);
    const cells: Cell[] = [];
    for (const [set, byStretch] of this.observations.get(metric) ?? []) {
      if (!matches(this.names.labels(set))) continue;
      for (let i = first; i <= last; i++) {
        const cell = byStretch[i];
        if (cell !== undefined) cells.push(cell);
      }
    }
    const censored = (this.censoredObservations.get(metric) ?? []).filter(
      (o) => o.t >= from && o.t < to && matches(o.labels),
    );
    return { cells, censored };
  }

  /**
   * The values a percentile, min, max or mean over `population` is taken from. A participant (or
   * track) with a censored observation among its own is censored: its reduced value is then a
   * lower bound (the max, or the mean, of lower bounds).
   */
  distribution(metric: string, population: Population, selection: Selection = {}): Distribution {
    const { cells, censored: kept } = this.select(metric, selection);
    const reducer = REDUCERS[metric] ?? "mean";
    const sketch = new QuantileSketch();
    const censored: number[] = [];
    if (population === "windows") {
      for (const cell of cells) sketch.merge(cell.windows);
      for (const o of kept) if (Number.isFinite(o.value)) censored.push(o.value);
      return { population, n: sketch.count + censored.length, values: undefined, sketch, censored };
    }
    const members = new Map<number, Member>();
    const values: number[] = [];
    // windows with no track, each its own track-level member: exact while few, then sketched
    const untracked = new QuantileSketch();
    for (const cell of cells) {
      const of = population === "participants" ? cell.participants : cell.tracks;
      // forEach skips the holes: members this cell never saw
      of.forEach((m, key) => {
        mergeInto(members, key, m);
      });
      if (population === "tracks") {
        // events carry no track: each is its own track-level member
        for (const v of cell.events) if (Number.isFinite(v)) values.push(v);
        untracked.merge(cell.untracked);
      }
    }
    for (const o of kept) {
      const who = this.names.participantIndex(o.participant);
      const pair = this.names.pair(who, this.names.trackIndex(o.track));
      const bound = member();
      addTo(bound, o.value, undefined);
      bound.censored = true;
      mergeInto(members, population === "participants" ? who : pair, bound);
    }
    for (const m of members.values()) {
      const v = reduce(m, reducer);
      if (v !== undefined && Number.isFinite(v)) (m.censored ? censored : values).push(v);
    }
    for (const v of values) sketch.add(v);
    sketch.merge(untracked);
    const n = sketch.count + censored.length;
    // past the sketch's exact size the untracked windows are only in the sketch, as windows are
    if (!untracked.exact) return { population, n, values: undefined, sketch, censored };
    return { population, n, values: [...values, ...untracked.exactValues()], sketch, censored };
  }

  /** The values a label took on a metric's observations, in order of first sight. */
  labelValues(metric: string, label: string): string[] {
    const seen = new Set<string>();
    for (const set of this.observations.get(metric)?.keys() ?? []) {
      const v = this.names.labels(set)[label];
      if (v !== undefined) seen.add(v);
    }
    return [...seen];
  }

  /** The metrics with windows on no track among what was folded (WINDOW_METRICS_WITHOUT_TRACK's test). */
  metricsWithWindowsWithoutTrack(): string[] {
    const out: string[] = [];
    for (const [metric, byLabels] of this.observations)
      if ([...byLabels.values()].some((cells) => cells.some((c) => c.untracked.count > 0))) out.push(metric);
    return out.sort();
  }

  /** A counter's total over the selection (events after warm-up, matching labels). */
  count(metric: string, selection: Selection = {}): { n: number; total: number } {
    const { cells, censored } = this.select(metric, selection);
    let n = censored.length;
    let total = censored.reduce((a, o) => a + o.value, 0);
    for (const cell of cells) {
      n += cell.n;
      total += cell.total;
    }
    return { n, total };
  }

  /** A counter's total per second, over the evaluated part of the run. */
  rate(metric: string, selection: Selection = {}): { n: number; perSecond: number | undefined } {
    const { n, total } = this.count(metric, selection);
    const from = selection.fromMs ?? this.startMs;
    const to = this.endMs ?? Date.now();
    const seconds = from !== undefined ? (to - from) / 1000 : undefined;
    return { n, perSecond: seconds !== undefined && seconds > 0 ? total / seconds : undefined };
  }

  /** p50/p95/p99/min/max/avg of a distribution, for the summary table; the gate reads the same. */
  figure(metric: string, population: Population, selection: Selection = {}): Figure {
    const d = this.distribution(metric, population, selection);
    const [p50, p95, p99] = distributionPercentiles(d, [50, 95, 99]);
    return {
      n: d.n,
      censored: d.censored.length,
      exact: isExact(d),
      relativeError: d.sketch.relativeError,
      p50: statistic(p50),
      p95: statistic(p95),
      p99: statistic(p99),
      ...extremes(d),
    };
  }
}

/** Whether a distribution's percentiles are the exact nearest-rank values. */
export function isExact(d: Distribution): boolean {
  return d.values !== undefined || d.sketch.exact;
}

/**
 * Nearest-rank percentiles of a distribution with its censored members (`censoredPercentiles`):
 * exact over a participants or tracks population, and over windows while the sketch is exact;
 * past that, a rank among the observed values is the sketch's (within its relative error), and a
 * rank that lands on the censored ones the rank-th smallest of observed values and bounds together.
 */
export function distributionPercentiles(d: Distribution, ps: readonly number[]): CensoredPercentile[] {
  if (d.values !== undefined) return censoredPercentiles(d.values, d.censored, ps, d.population);
  if (d.sketch.exact) return censoredPercentiles(d.sketch.exactValues(), d.censored, ps, d.population);
  const observed = d.sketch.count;
  const n = observed + d.censored.length;
  let lower: QuantileSketch | undefined;
  return ps.map((p) => {
    checkP(p);
    if (n === 0)
      return { method: "nearest-rank", p, population: d.population, n, value: undefined, censored: false };
    const rank = rankOf(p, n);
    const censored = rank > observed;
    if (censored && lower === undefined) {
      lower = new QuantileSketch(d.sketch.relativeError);
      lower.merge(d.sketch);
      for (const b of d.censored) lower.add(b);
    }
    const value = censored ? lower?.atRank(rank) : d.sketch.atRank(rank);
    return { method: "nearest-rank", p, population: d.population, n, value, censored };
  });
}

function statistic(p: CensoredPercentile | undefined): Statistic {
  return { value: p?.value, n: p?.n ?? 0, censored: p?.censored ?? false };
}

/**
 * Max, min and mean of a population with censored members, each a lower bound when a censored
 * member could change it: the max and the mean whenever there is one, the min when a bound is
 * below every observed value.
 */
export function extremes(d: Distribution): Pick<Figure, "max" | "min" | "avg"> {
  const n = d.n;
  if (n === 0) {
    const none = { value: undefined, n, censored: false };
    return { max: none, min: none, avg: none };
  }
  // the sketch's count, sum, min and max are exact; loops, not Math.max(...values): a run's
  // members can outnumber the arguments a call may take
  let max = d.sketch.max ?? -Infinity;
  const minObserved = d.sketch.min ?? Infinity;
  let sum = d.sketch.sum;
  let min = minObserved;
  for (const v of d.censored) {
    max = Math.max(max, v);
    min = Math.min(min, v);
    sum += v;
  }
  const anyCensored = d.censored.length > 0;
  return {
    max: { value: max, n, censored: anyCensored },
    min: { value: min, n, censored: min < minObserved },
    avg: { value: sum / n, n, censored: anyCensored },
  };
}

function reduce(m: Member, reducer: Reducer): number | undefined {
  switch (reducer) {
    case "ratio-of-sums":
      return m.expected > 0 ? m.lost / m.expected : undefined;
    case "max":
      return m.max;
    case "mean":
      return m.sum / m.n;
  }
}
