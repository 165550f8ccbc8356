import type {
  EventContext,
  ParticipantEvent,
  RunObserver,
  StormObservation,
  WindowSample,
} from "@livekit-swarm/schema";
import { QuantileSketch, type Population } from "@livekit-swarm/stats";
import {
  Cell,
  Cuts,
  Names,
  REDUCERS,
  addTo,
  member,
  mergeInto,
  reduce,
  type CensoredKept,
  type Member,
} from "./cells.js";
import {
  distributionPercentiles,
  extremes,
  isExact,
  statistic,
  type Distribution,
  type Figure,
} from "./distribution.js";

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
