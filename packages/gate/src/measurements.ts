import type {
  EventContext,
  ParticipantEvent,
  RunObserver,
  StormObservation,
  SwarmMetricName,
  WindowSample,
} from "@livekit-swarm/schema";
import { censoredPercentiles, type CensoredPercentile, type Population } from "@livekit-swarm/stats";

/**
 * One raw observation of a catalog metric: a join, a track's first frame, one track's window, a
 * counter increment. `lost`/`expected` ride along for loss, so every population can be a ratio of
 * sums instead of a mean of ratios.
 */
interface Observation {
  readonly t: number;
  readonly participant: string;
  readonly track: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly lost?: number;
  readonly expected?: number;
  /** Right-censored: nothing was observed by the end, `value` is only a lower bound. */
  readonly censored?: boolean;
}

/**
 * One metric's observations, kept by column: times and values as doubles, participant, track and
 * label set as indexes into the run's interned names: 28 bytes an observation (and 16 for loss's
 * lost and expected) where an object took ~120, exactly as exact (a run keeps ~15 observations a
 * participant-window: docs/observability.md 6). Grows by half when full.
 */
class Columns {
  n = 0;
  private t = new Float64Array(16);
  private value = new Float64Array(16);
  private who = new Uint32Array(16);
  private track = new Uint32Array(16);
  private labels = new Uint32Array(16);
  /** Loss only: what each window lost and expected. */
  private lost: Float64Array | undefined;
  private expected: Float64Array | undefined;

  push(
    t: number,
    who: number,
    track: number,
    labels: number,
    value: number,
    loss: { lost: number; expected: number } | undefined,
  ): void {
    if (this.n === this.t.length) this.grow(Math.ceil(this.n * 1.5));
    const i = this.n++;
    this.t[i] = t;
    this.value[i] = value;
    this.who[i] = who;
    this.track[i] = track;
    this.labels[i] = labels;
    if (loss !== undefined) {
      this.lost ??= new Float64Array(this.t.length);
      this.expected ??= new Float64Array(this.t.length);
      this.lost[i] = loss.lost;
      this.expected[i] = loss.expected;
    }
  }

  /**
   * The observations from `from` (inclusive) to `to` (exclusive) whose label set `keep` takes,
   * rebuilt from the run's names; only those are made into objects, each label set judged once.
   */
  select(from: number, to: number, keep: (labelSet: number) => boolean, names: Names): Observation[] {
    const judged = new Map<number, boolean>();
    const out: Observation[] = [];
    for (let i = 0; i < this.n; i++) {
      const t = this.t[i] ?? NaN;
      if (!(t >= from && t < to)) continue;
      const set = this.labels[i] ?? 0;
      let kept = judged.get(set);
      if (kept === undefined) {
        kept = keep(set);
        judged.set(set, kept);
      }
      if (kept) out.push(this.at(i, names));
    }
    return out;
  }

  /** The i-th observation, rebuilt from the run's names. */
  private at(i: number, names: Names): Observation {
    const track = this.track[i] ?? 0;
    const lost = this.lost?.[i];
    const expected = this.expected?.[i];
    return {
      t: this.t[i] ?? NaN,
      participant: names.participant(this.who[i] ?? 0),
      track: track === 0 ? undefined : names.track(track),
      labels: names.labels(this.labels[i] ?? 0),
      value: this.value[i] ?? NaN,
      ...(lost !== undefined && expected !== undefined ? { lost, expected } : {}),
    };
  }

  /** The label sets the observations carry, each once. */
  labelSets(): Set<number> {
    return new Set(this.labels.subarray(0, this.n));
  }

  private grow(size: number): void {
    const widen = <A extends Float64Array | Uint32Array>(from: A, make: (n: number) => A): A => {
      const to = make(size);
      to.set(from);
      return to;
    };
    this.t = widen(this.t, (n) => new Float64Array(n));
    this.value = widen(this.value, (n) => new Float64Array(n));
    this.who = widen(this.who, (n) => new Uint32Array(n));
    this.track = widen(this.track, (n) => new Uint32Array(n));
    this.labels = widen(this.labels, (n) => new Uint32Array(n));
    if (this.lost !== undefined) this.lost = widen(this.lost, (n) => new Float64Array(n));
    if (this.expected !== undefined) this.expected = widen(this.expected, (n) => new Float64Array(n));
  }
}

/** A run's participant names, track keys and label sets, each stored once and named by index. */
class Names {
  private readonly participants = new Interned<string>();
  /** Index 0 is "no track" (an event's observation). */
  private readonly tracks = new Interned<string>([""]);
  private readonly labelSets = new Interned<Readonly<Record<string, string>>>();

  indexes(
    participant: string,
    track: string | undefined,
    labels: Readonly<Record<string, string>>,
  ): [number, number, number] {
    return [
      this.participants.index(participant, participant),
      track === undefined ? 0 : this.tracks.index(track, track),
      this.labelSets.index(JSON.stringify(labels), labels),
    ];
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
  /** Observed values. */
  readonly values: readonly number[];
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
};

export interface Selection {
  readonly where?: Readonly<Record<string, string>>;
  /** Observations before this epoch ms are left out (run start + warmup). */
  readonly fromMs?: number;
  /** Observations at or after this epoch ms are left out (a window of the run, e.g. before a storm). */
  readonly toMs?: number;
}

/**
 * Every observation of a run, kept raw (by column: Columns) so that thresholds and the summary compute exact quantiles
 * over an explicit population, with label filters and warm-up, from the same data.
 *
 * Reduction to a population: windows are the raw per-track-window values; tracks and participants
 * reduce their observations with the metric's reducer: loss as a ratio of sums; times-to-first and
 * join/reconnect times as the worst (max); jitter, RTT and latency as the mean over windows.
 */
export class Measurements implements RunObserver {
  private readonly observations = new Map<string, Columns>();
  private readonly names = new Names();
  private readonly censoredObservations = new Map<string, Observation[]>();
  private readonly reconnecting = new Set<string>();
  private stormFigures = 0;
  private startMs: number | undefined;
  private endMs: number | undefined;

  /** The run's clock: warm-up counts from the start, rates divide by start-to-end. */
  setRunWindow(startMs: number, endMs?: number): void {
    this.startMs = startMs;
    this.endMs = endMs;
  }

  get runStartMs(): number | undefined {
    return this.startMs;
  }

  onEvent(ctx: EventContext, event: ParticipantEvent): void {
    const who = `${ctx.room}/${ctx.participant}`;
    const role = { role: ctx.role };
    // an event is one observation of its participant, on no track
    const observe = (metric: string, labels: Record<string, string>, value: number): void => {
      this.add(metric, ctx.t, who, undefined, labels, value);
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
    const who = `${s.room}/${s.participant}`;
    const role = s.role;
    for (const tr of s.inbound) {
      const l = { kind: tr.kind, role };
      if (tr.expected > 0) {
        this.add("lkswarm_inbound_loss_ratio", s.t, who, tr.key, l, tr.lost / tr.expected, {
          lost: tr.lost,
          expected: tr.expected,
        });
      }
      this.add("lkswarm_inbound_packets_expected_total", s.t, who, tr.key, l, tr.expected);
      this.add("lkswarm_inbound_packets_lost_total", s.t, who, tr.key, l, tr.lost);
      if (tr.jitterS !== undefined && tr.received > 0)
        this.add("lkswarm_inbound_jitter_seconds", s.t, who, tr.key, l, tr.jitterS);
      this.add("lkswarm_inbound_nack_total", s.t, who, tr.key, l, tr.nack);
      this.add("lkswarm_inbound_pli_total", s.t, who, tr.key, l, tr.pli);
      this.add("lkswarm_inbound_fir_total", s.t, who, tr.key, l, tr.fir);
      this.add("lkswarm_inbound_bytes_total", s.t, who, tr.key, l, tr.bytes);
      if (tr.kind === "video") {
        this.add("lkswarm_inbound_frames_decoded_total", s.t, who, tr.key, l, tr.framesDecoded);
        this.add("lkswarm_inbound_frames_dropped_total", s.t, who, tr.key, l, tr.framesDropped);
        this.add("lkswarm_inbound_freezes_total", s.t, who, tr.key, l, tr.freezes);
        // unmeasured freeze time is unknown, not 0 s: it stays out of the population
        if (tr.freezeS !== undefined)
          this.add("lkswarm_inbound_freeze_seconds_total", s.t, who, tr.key, l, tr.freezeS);
      } else {
        this.add("lkswarm_inbound_audio_concealed_samples_total", s.t, who, tr.key, l, tr.concealedSamples);
        this.add("lkswarm_inbound_audio_samples_total", s.t, who, tr.key, l, tr.totalSamples);
      }
    }
    for (const tr of s.outbound) {
      const l = { kind: tr.kind, role };
      this.add("lkswarm_outbound_bytes_total", s.t, who, undefined, l, tr.bytes);
      this.add("lkswarm_outbound_nack_total", s.t, who, undefined, l, tr.nack);
      this.add("lkswarm_outbound_pli_total", s.t, who, undefined, l, tr.pli);
      this.add("lkswarm_outbound_fir_total", s.t, who, undefined, l, tr.fir);
    }
    if (s.rttS !== undefined)
      this.add("lkswarm_round_trip_time_seconds", s.t, who, undefined, { role }, s.rttS);
    if (s.latencyS !== undefined) {
      this.add(
        "lkswarm_end_to_end_latency_seconds",
        s.t,
        who,
        undefined,
        { kind: "video", role },
        s.latencyS.p50,
      );
    }
    this.add("lkswarm_data_messages_sent_total", s.t, who, undefined, { role }, s.dataSent);
    this.add("lkswarm_data_messages_received_total", s.t, who, undefined, { role }, s.dataReceived);
  }

  private add(
    metric: string,
    t: number,
    participant: string,
    track: string | undefined,
    labels: Record<string, string>,
    value: number,
    loss?: { lost: number; expected: number },
  ): void {
    let columns = this.observations.get(metric);
    if (columns === undefined) {
      columns = new Columns();
      this.observations.set(metric, columns);
    }
    const [who, trackIndex, labelSet] = this.names.indexes(participant, track, labels);
    columns.push(t, who, trackIndex, labelSet, value, loss);
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
        censored: true,
      })),
    );
  }

  private select(metric: string, selection: Selection): Observation[] {
    const where = Object.entries(selection.where ?? {});
    const from = selection.fromMs ?? -Infinity;
    const to = selection.toMs ?? Infinity;
    const matches = (labels: Readonly<Record<string, string>>): boolean =>
      where.every(([k, v]) => labels[k] === v);
    const out =
      this.observations.get(metric)?.select(from, to, (set) => matches(this.names.labels(set)), this.names) ??
      [];
    for (const o of this.censoredObservations.get(metric) ?? [])
      if (o.t >= from && o.t < to && matches(o.labels)) out.push(o);
    return out;
  }

  /**
   * The values a percentile, min, max or mean over `population` is taken from. A participant (or
   * track) with a censored observation among its own is censored: its reduced value is then a
   * lower bound (the max, or the mean, of lower bounds).
   */
  distribution(metric: string, population: Population, selection: Selection = {}): Distribution {
    const obs = this.select(metric, selection);
    const reducer = REDUCERS[metric] ?? "mean";
    const values: number[] = [];
    const censored: number[] = [];
    const push = (v: number | undefined, isCensored: boolean): void => {
      if (v !== undefined && Number.isFinite(v)) (isCensored ? censored : values).push(v);
    };
    if (population === "windows") {
      for (const o of obs) push(o.value, o.censored === true);
      return { population, n: values.length + censored.length, values, censored };
    }
    const groups = new Map<string, Observation[]>();
    for (const [i, o] of obs.entries()) {
      // events (joins, first frames) carry no track key: each is its own track-level observation
      const key =
        population === "participants" ? o.participant : `${o.participant}#${o.track ?? `event-${i}`}`;
      const group = groups.get(key);
      if (group === undefined) groups.set(key, [o]);
      else group.push(o);
    }
    for (const group of groups.values())
      push(
        reduce(group, reducer),
        group.some((o) => o.censored === true),
      );
    return { population, n: values.length + censored.length, values, censored };
  }

  /** The values a label took on a metric's observations, in order of first sight. */
  labelValues(metric: string, label: string): string[] {
    const seen = new Set<string>();
    for (const set of this.observations.get(metric)?.labelSets() ?? []) {
      const v = this.names.labels(set)[label];
      if (v !== undefined) seen.add(v);
    }
    return [...seen];
  }

  /** A counter's total over the selection (events after warm-up, matching labels). */
  count(metric: string, selection: Selection = {}): { n: number; total: number } {
    const obs = this.select(metric, selection);
    return { n: obs.length, total: obs.reduce((a, o) => a + o.value, 0) };
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
    const [p50, p95, p99] = censoredPercentiles(d.values, d.censored, [50, 95, 99], population);
    return {
      n: d.n,
      censored: d.censored.length,
      p50: statistic(p50),
      p95: statistic(p95),
      p99: statistic(p99),
      ...extremes(d),
    };
  }
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
  // loops, not Math.max(...values): a run's windows can outnumber the arguments a call may take
  let max = -Infinity;
  let minObserved = Infinity;
  let sum = 0;
  for (const v of d.values) {
    max = Math.max(max, v);
    minObserved = Math.min(minObserved, v);
    sum += v;
  }
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

function reduce(group: readonly Observation[], reducer: Reducer): number | undefined {
  switch (reducer) {
    case "ratio-of-sums": {
      const lost = group.reduce((a, o) => a + (o.lost ?? 0), 0);
      const expected = group.reduce((a, o) => a + (o.expected ?? 0), 0);
      return expected > 0 ? lost / expected : undefined;
    }
    case "max":
      return Math.max(...group.map((o) => o.value));
    case "mean":
      return group.reduce((a, o) => a + o.value, 0) / group.length;
  }
}
