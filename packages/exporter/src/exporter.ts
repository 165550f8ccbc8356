import {
  STORM_METRIC_PREFIX,
  cannotDecrypt,
  transportClasses,
  type EventContext,
  type Kind,
  type ParticipantEvent,
  type Role,
  type RunObserver,
  type StormObservation,
  type WindowSample,
  type WorkerLoadWindow,
} from "@livekit-swarm/schema";
import { connectionStates, wireBytes, type ConnectionState } from "@livekit-swarm/stats";
import { Pushgateway, Registry } from "prom-client";
import {
  CatalogGauge,
  CatalogMetrics,
  type CatalogCounter,
  type CatalogHistogram,
  type LabelName,
  type LabelSet,
} from "./catalog-metrics.js";
import { ExporterError, describeError } from "./errors.js";
import { FreeTextLabel } from "./label-values.js";
import { QualityRoster, type QualityTime } from "./roster.js";
import { serveMetrics, type MetricsServer, type ServeOptions } from "./serve.js";
import { inboundCounts, outboundCounts, totalsByKind } from "./window-totals.js";

export interface ExporterOptions {
  /** Label value. */
  readonly scenario: string;
  /** Label value. */
  readonly runId: string;
  /** Label value: the shard's index in a sharded run; 0 (one shard of one) when unsharded. */
  readonly shard?: number;
  /** Adds room and participant labels where the catalog allows them (optInLabels): small runs only. */
  readonly perParticipant?: boolean;
}

export const DEFAULT_JOB = "lkswarm";
/** A Pushgateway that accepts the connection and never answers must not hold the end of a run. */
const PUSH_TIMEOUT_MS = 10_000;
const KINDS: readonly Kind[] = ["audio", "video"];
/** Labels every event and sample supplies; metrics labelled only by these (and kind) are created at 0. */
const SUBJECT_LABELS: ReadonlySet<LabelName> = new Set([
  "scenario",
  "run_id",
  "shard",
  "worker",
  "role",
  "kind",
  "room",
  "participant",
]);

/** Who an event or a sample is about; `EventContext` and `WindowSample` both are one. */
export interface Subject {
  readonly room: string;
  readonly participant: string;
  readonly role: Role;
  readonly worker: number;
}

function instruments(catalog: CatalogMetrics) {
  return {
    participants: catalog.gauge("lkswarm_participants"),
    joinDuration: catalog.histogram("lkswarm_join_duration_seconds"),
    joinFailures: catalog.counter("lkswarm_join_failures_total"),
    transportSelections: catalog.counter("lkswarm_transport_selections_total"),
    iceDuration: catalog.histogram("lkswarm_ice_duration_seconds"),
    disconnects: catalog.counter("lkswarm_disconnects_total"),
    reconnects: catalog.counter("lkswarm_reconnects_total"),
    reconnectDuration: catalog.histogram("lkswarm_reconnect_duration_seconds"),
    firstPacket: catalog.histogram("lkswarm_time_to_first_packet_seconds"),
    firstFrame: catalog.histogram("lkswarm_time_to_first_frame_seconds"),
    packetsExpected: catalog.counter("lkswarm_inbound_packets_expected_total"),
    packetsLost: catalog.counter("lkswarm_inbound_packets_lost_total"),
    lossRatio: catalog.histogram("lkswarm_inbound_loss_ratio"),
    jitter: catalog.histogram("lkswarm_inbound_jitter_seconds"),
    roundTripTime: catalog.histogram("lkswarm_round_trip_time_seconds"),
    inboundNack: catalog.counter("lkswarm_inbound_nack_total"),
    inboundPli: catalog.counter("lkswarm_inbound_pli_total"),
    inboundFir: catalog.counter("lkswarm_inbound_fir_total"),
    outboundNack: catalog.counter("lkswarm_outbound_nack_total"),
    outboundPli: catalog.counter("lkswarm_outbound_pli_total"),
    outboundFir: catalog.counter("lkswarm_outbound_fir_total"),
    inboundBytes: catalog.counter("lkswarm_inbound_bytes_total"),
    inboundHeaderBytes: catalog.counter("lkswarm_inbound_header_bytes_total"),
    inboundWireBytes: catalog.counter("lkswarm_inbound_wire_bytes_total"),
    retransmitted: catalog.counter("lkswarm_inbound_packets_retransmitted_total"),
    frameHeight: catalog.histogram("lkswarm_inbound_frame_height_pixels"),
    outboundBytes: catalog.counter("lkswarm_outbound_bytes_total"),
    framesDecoded: catalog.counter("lkswarm_inbound_frames_decoded_total"),
    framesDropped: catalog.counter("lkswarm_inbound_frames_dropped_total"),
    freezes: catalog.counter("lkswarm_inbound_freezes_total"),
    freezeSeconds: catalog.counter("lkswarm_inbound_freeze_seconds_total"),
    concealedSamples: catalog.counter("lkswarm_inbound_audio_concealed_samples_total"),
    audioSamples: catalog.counter("lkswarm_inbound_audio_samples_total"),
    qualityChanges: catalog.counter("lkswarm_connection_quality_changes_total"),
    qualitySeconds: catalog.counter("lkswarm_connection_quality_seconds_total"),
    latency: catalog.histogram("lkswarm_end_to_end_latency_seconds"),
    dataSent: catalog.counter("lkswarm_data_messages_sent_total"),
    dataReceived: catalog.counter("lkswarm_data_messages_received_total"),
    decryptionFailures: catalog.counter("lkswarm_e2ee_decryption_failures_total"),
    workerEventLoop: catalog.gauge("lkswarm_worker_event_loop_busy_ratio"),
    workerMediaTickLate: catalog.gauge("lkswarm_worker_media_tick_late_seconds"),
    workerMediaSendJitter: catalog.gauge("lkswarm_worker_media_send_jitter_seconds"),
    stormJoinDuration: catalog.histogram("lkswarm_storm_join_duration_seconds"),
    stormJoins: catalog.counter("lkswarm_storm_joins_total"),
    stormSessionsOpen: catalog.gauge("lkswarm_storm_sessions_open"),
    stormJoinFailures: catalog.counter("lkswarm_storm_join_failures_total"),
    stormReconnectDuration: catalog.histogram("lkswarm_storm_reconnect_duration_seconds"),
    stormReconnectFailures: catalog.counter("lkswarm_storm_reconnect_failures_total"),
    stormApiDuration: catalog.histogram("lkswarm_storm_api_duration_seconds"),
    stormApiFailures: catalog.counter("lkswarm_storm_api_failures_total"),
  };
}

/**
 * Turns a running swarm's events and window samples into the catalog's `lkswarm_*` metrics, in its
 * own registry, for scraping (`serve`), pushing (`push`) or a final dump (`metrics`).
 */
export class SwarmExporter implements RunObserver {
  readonly registry = new Registry();
  private readonly m: ReturnType<typeof instruments>;
  /** Metrics whose every label an event or sample supplies: created at 0 when a subject first shows up. */
  private readonly createdEarly: readonly (CatalogCounter | CatalogHistogram)[];
  private readonly subjectsSeen = new Set<string>();
  private readonly roster = new QualityRoster();
  /** Participants per state, per lkswarm_participants series group (its labels without `state`). */
  private readonly stateCounts = new Map<string, Record<ConnectionState, number>>();
  private readonly joinFailureReasons = new FreeTextLabel();
  private readonly disconnectReasons = new FreeTextLabel();
  private readonly qualities = new FreeTextLabel();
  private readonly stormReasons = new FreeTextLabel();
  private readonly stormMethods = new FreeTextLabel();
  private stormSessionsOpen = 0;
  /** Subscriber-publisher pairs already counted as undecryptable: a cryptor may report a pair again. */
  private readonly undecryptable = new Set<string>();

  constructor(private readonly options: ExporterOptions) {
    const catalog = new CatalogMetrics(this.registry, options.perParticipant ?? false);
    this.m = instruments(catalog);
    this.createdEarly = catalog
      .all()
      .filter(
        (metric): metric is CatalogCounter | CatalogHistogram =>
          !(metric instanceof CatalogGauge) &&
          !metric.name.startsWith(STORM_METRIC_PREFIX) &&
          metric.labelNames.every((name) => SUBJECT_LABELS.has(name)),
      );
  }

  onEvent(context: EventContext, event: ParticipantEvent): void {
    const subject = this.subject(context);
    const m = this.m;
    switch (event.type) {
      case "joined":
        m.joinDuration.observe(subject, event.joinS);
        this.moveTo(context, subject, "connected");
        break;
      case "join-failed":
        m.joinFailures.add({ ...subject, reason: this.joinFailureReasons.valueOf(event.reason) }, 1);
        this.moveTo(context, subject, "failed");
        break;
      case "first-packet":
        m.firstPacket.observe({ ...subject, kind: event.kind }, event.afterJoinStartS);
        break;
      case "first-frame":
        // the catalog's first-frame histogram is about video; audio has first-packet instead
        if (event.kind === "video") m.firstFrame.observe(subject, event.afterJoinStartS);
        break;
      case "reconnecting":
        if (this.moveTo(context, subject, "reconnecting") !== "reconnecting") m.reconnects.add(subject, 1);
        break;
      case "reconnected":
        m.reconnectDuration.observe(subject, event.durationS);
        this.moveTo(context, subject, "connected");
        break;
      case "disconnected":
        m.disconnects.add({ ...subject, reason: this.disconnectReasons.valueOf(event.reason) }, 1);
        this.moveTo(context, subject, "disconnected");
        break;
      case "quality": {
        const quality = this.qualities.valueOf(event.quality);
        m.qualityChanges.add({ ...subject, quality }, 1);
        this.addQualityTime(
          subject,
          this.roster.changeQuality(context.room, context.participant, quality, context.t),
        );
        break;
      }
      case "transport": {
        // a closed set of five, checked: the value crossed a process boundary
        const transport = (transportClasses as readonly string[]).includes(event.transport)
          ? event.transport
          : "other";
        m.transportSelections.add({ ...subject, transport }, 1);
        if (event.iceS !== undefined) m.iceDuration.observe({ ...subject, transport }, event.iceS);
        break;
      }
      case "e2ee": {
        // once per pair, as the run summary lists them: the counter is "who cannot read whom"
        const pair = [context.room, context.participant, event.from].join("\u0000");
        if (cannotDecrypt(event.state, event.from, context.participant) && !this.undecryptable.has(pair)) {
          this.undecryptable.add(pair);
          m.decryptionFailures.add(subject, 1);
        }
        break;
      }
      case "track-subscribed":
        break;
    }
  }

  /**
   * Creates a storm's join series at zero before k6 starts: a series first exported at 1 hides its
   * first increase from rate() (see `prepare`). Failures and API calls have labels known only later.
   */
  prepareStorm(): void {
    const run = this.stormRun();
    this.m.stormJoins.ensure(run);
    this.m.stormJoinDuration.ensure(run);
    this.m.stormSessionsOpen.set(run, this.stormSessionsOpen);
  }

  /** A signalling storm's figure, as k6 timed it; the storm has one worker, k6. */
  onStorm(o: StormObservation): void {
    const run = this.stormRun();
    const m = this.m;
    switch (o.type) {
      case "join":
        m.stormJoinDuration.observe(run, o.durationS);
        m.stormJoins.add(run, 1);
        m.stormSessionsOpen.set(run, ++this.stormSessionsOpen);
        break;
      case "session-ended":
        // a script of the user's may count closes it never counted joins for: never below zero
        this.stormSessionsOpen = Math.max(0, this.stormSessionsOpen - 1);
        m.stormSessionsOpen.set(run, this.stormSessionsOpen);
        break;
      case "join-failed":
        m.stormJoinFailures.add({ ...run, reason: this.stormReasons.valueOf(o.reason) }, 1);
        break;
      case "reconnect":
        m.stormReconnectDuration.observe({ ...run, state: this.stormReasons.valueOf(o.state) }, o.durationS);
        break;
      case "reconnect-failed":
        m.stormReconnectFailures.add({ ...run, reason: this.stormReasons.valueOf(o.reason) }, 1);
        break;
      case "api":
        m.stormApiDuration.observe({ ...run, method: this.stormMethods.valueOf(o.method) }, o.durationS);
        break;
      case "api-failed":
        m.stormApiFailures.add(
          {
            ...run,
            method: this.stormMethods.valueOf(o.method),
            reason: this.stormReasons.valueOf(o.reason),
          },
          1,
        );
        break;
    }
  }

  private stormRun(): LabelSet {
    return {
      scenario: this.options.scenario,
      run_id: this.options.runId,
      shard: String(this.options.shard ?? 0),
      worker: "k6",
    };
  }

  /**
   * A worker's own load over its last stats interval: its event loop's share and, on lean's native
   * path, its media thread's late ticks and own send jitter. Not the event loop of a window that
   * began while its engines loaded (`starting`): loading blocks it by design, and minutes of it
   * would fire the saturation alert with the wrong advice (the health's generator check judges
   * those windows' CPU).
   */
  onWorkerLoad(window: WorkerLoadWindow): void {
    const labels = {
      scenario: this.options.scenario,
      run_id: this.options.runId,
      shard: String(this.options.shard ?? 0),
      worker: String(window.worker),
    };
    // the media thread is woken by its own timer, loading or not (the verdict counts its windows
    // too); a window of fewer than 100 ticks carries none (native-lateness.ts): the last one stands
    if (window.mediaTicks !== undefined)
      this.m.workerMediaTickLate.set(labels, window.mediaTicks.lateP99Ms / 1000);
    // its own send jitter, once it has sent a tick (native-lateness.ts)
    if (window.mediaTicks?.sendJitterMs !== undefined)
      this.m.workerMediaSendJitter.set(labels, window.mediaTicks.sendJitterMs / 1000);
    if (window.starting === true) return;
    this.m.workerEventLoop.set(labels, window.eventLoop);
  }

  onSample(sample: WindowSample): void {
    const subject = this.subject(sample);
    const m = this.m;
    const byKind: Record<Kind, LabelSet> = {
      audio: { ...subject, kind: "audio" },
      video: { ...subject, kind: "video" },
    };
    const inbound = totalsByKind(sample.inbound, inboundCounts);
    for (const kind of KINDS) {
      const totals = inbound[kind];
      if (totals.tracks === 0) continue;
      const labels = byKind[kind];
      m.packetsExpected.add(labels, totals.expected);
      m.packetsLost.add(labels, totals.lost);
      m.inboundBytes.add(labels, totals.bytes);
      m.inboundNack.add(labels, totals.nack);
    }
    const { video, audio } = inbound;
    // the catalog has these per video or per audio track only, without a kind label
    if (video.tracks > 0) {
      m.inboundPli.add(subject, video.pli);
      m.inboundFir.add(subject, video.fir);
      m.framesDecoded.add(subject, video.framesDecoded);
      m.framesDropped.add(subject, video.framesDropped);
      m.freezes.add(subject, video.freezes);
      // only measured freeze time: a track without it adds nothing rather than a claimed 0 s
      const frozen = sample.inbound.filter((t) => t.kind === "video" && t.freezeS !== undefined);
      if (frozen.length > 0)
        m.freezeSeconds.add(
          subject,
          frozen.reduce((sum, t) => sum + (t.freezeS ?? 0), 0),
        );
    }
    if (audio.tracks > 0) {
      m.concealedSamples.add(subject, audio.concealedSamples);
      m.audioSamples.add(subject, audio.totalSamples);
    }
    const headerBytes: Record<Kind, number | undefined> = { audio: undefined, video: undefined };
    const onWire: Record<Kind, number | undefined> = { audio: undefined, video: undefined };
    const retransmitted: Record<Kind, number | undefined> = { audio: undefined, video: undefined };
    for (const track of sample.inbound) {
      if (track.headerBytes !== undefined)
        headerBytes[track.kind] = (headerBytes[track.kind] ?? 0) + track.headerBytes;
      const wire = wireBytes(track);
      if (wire !== undefined) onWire[track.kind] = (onWire[track.kind] ?? 0) + wire;
      if (track.retransmitted !== undefined)
        retransmitted[track.kind] = (retransmitted[track.kind] ?? 0) + track.retransmitted;
      if (track.height !== undefined && track.received > 0) m.frameHeight.observe(subject, track.height);
      // one observation per track-window, as the catalog and the gate's "windows" population define it
      if (track.expected > 0) m.lossRatio.observe(byKind[track.kind], track.lost / track.expected);
      // a track that received nothing in the window reports the jitter it last had, not a measurement
      if (track.jitterS !== undefined && track.received > 0) {
        m.jitter.observe(byKind[track.kind], track.jitterS);
      }
    }
    for (const kind of KINDS) {
      const header = headerBytes[kind];
      const rtx = retransmitted[kind];
      if (header !== undefined) m.inboundHeaderBytes.add(byKind[kind], header);
      const wire = onWire[kind];
      if (wire !== undefined) m.inboundWireBytes.add(byKind[kind], wire);
      if (rtx !== undefined) m.retransmitted.add(byKind[kind], rtx);
    }
    const outbound = totalsByKind(sample.outbound, outboundCounts);
    for (const kind of KINDS) {
      const totals = outbound[kind];
      if (totals.tracks === 0) continue;
      m.outboundBytes.add(byKind[kind], totals.bytes);
      m.outboundNack.add(byKind[kind], totals.nack);
    }
    // PLI and FIR ask for a video keyframe; the catalog's counters have no kind label
    if (outbound.video.tracks > 0) {
      m.outboundPli.add(subject, outbound.video.pli);
      m.outboundFir.add(subject, outbound.video.fir);
    }
    if (sample.rttS !== undefined) m.roundTripTime.observe(subject, sample.rttS);
    // one observation per window, of the window's median: the gate's latency figure is over windows too
    if (sample.latencyS !== undefined && sample.latencyS.n > 0) {
      m.latency.observe(byKind.video, sample.latencyS.p50);
    }
    m.dataSent.add(subject, sample.dataSent);
    m.dataReceived.add(subject, sample.dataReceived);
    this.addQualityTime(subject, this.roster.advance(sample.room, sample.participant, sample.t));
  }

  /** Starts serving GET /metrics on host:port (default host 127.0.0.1; port 0 = pick). */
  serve(options: ServeOptions): Promise<MetricsServer> {
    return serveMetrics(this.registry, options);
  }

  /** Pushes the current values to a Pushgateway (job name given), grouping by run_id. */
  async push(gatewayUrl: string, job: string = DEFAULT_JOB): Promise<void> {
    const where = gatewayAddress(gatewayUrl);
    if (job.trim() === "") {
      throw new ExporterError("push-failed", "cannot push metrics: the job name is empty - pass a job name");
    }
    const gateway = new Pushgateway(gatewayUrl, { timeout: PUSH_TIMEOUT_MS }, this.registry);
    try {
      await gateway.pushAdd({
        jobName: job,
        groupings: {
          run_id: this.options.runId,
          // shards of one run push apart, or each push would replace the last shard's values
          ...(this.options.shard !== undefined ? { shard: String(this.options.shard) } : {}),
        },
      });
    } catch (err) {
      throw new ExporterError(
        "push-failed",
        `cannot push metrics to ${where}: ${describeError(err)} - is the Pushgateway running at that address?`,
        { cause: err },
      );
    }
  }

  /** The exposition text (for tests and for a final dump to a file). */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * Creates, at zero, the series of the participants a run is about to start. A series first
   * exported at 1 hides its first increase from rate() and increase(): Prometheus must scrape the 0
   * before the first join. The run calls this with its plan before any worker starts.
   */
  prepare(subjects: Iterable<Subject>): void {
    for (const who of subjects) this.subject(who);
  }

  /** The label values an event or sample offers; the first sighting creates its series at 0. */
  private subject(who: Subject): LabelSet {
    const labels: LabelSet = {
      scenario: this.options.scenario,
      run_id: this.options.runId,
      shard: String(this.options.shard ?? 0),
      worker: String(who.worker),
      role: who.role,
      room: who.room,
      participant: who.participant,
    };
    const key = this.options.perParticipant
      ? [labels.worker, labels.role, labels.room, labels.participant].join("\u0000")
      : `${labels.worker}\u0000${labels.role}`;
    if (!this.subjectsSeen.has(key)) {
      this.subjectsSeen.add(key);
      for (const metric of this.createdEarly) {
        if (!metric.labelNames.includes("kind")) metric.ensure(labels);
        else for (const kind of KINDS) metric.ensure({ ...labels, kind });
      }
    }
    return labels;
  }

  /** Moves a participant to `state` and recounts lkswarm_participants; returns the state it left. */
  private moveTo(
    context: EventContext,
    subject: LabelSet,
    state: ConnectionState,
  ): ConnectionState | undefined {
    const { previous, closed } = this.roster.move(context.room, context.participant, state, context.t);
    this.addQualityTime(subject, closed);
    if (previous === state) return previous;
    const gauge = this.m.participants;
    const group = gauge.keyOf(subject, ["state"]);
    let counts = this.stateCounts.get(group);
    if (counts === undefined) {
      counts = { connected: 0, reconnecting: 0, disconnected: 0, failed: 0 };
      this.stateCounts.set(group, counts);
      for (const s of connectionStates) gauge.set({ ...subject, state: s }, 0);
    }
    if (previous !== undefined) {
      counts[previous] = Math.max(0, counts[previous] - 1);
      gauge.set({ ...subject, state: previous }, counts[previous]);
    }
    counts[state] += 1;
    gauge.set({ ...subject, state }, counts[state]);
    return previous;
  }

  private addQualityTime(subject: LabelSet, time: QualityTime | undefined): void {
    if (time !== undefined) this.m.qualitySeconds.add({ ...subject, quality: time.quality }, time.seconds);
  }
}

/** The gateway's address for messages: without credentials a URL may carry. */
function gatewayAddress(gatewayUrl: string): string {
  if (!URL.canParse(gatewayUrl)) {
    // not echoed: a URL the parser rejects may still hold a password
    throw new ExporterError(
      "push-failed",
      "cannot push metrics: the Pushgateway address is not a URL - pass it with its scheme, e.g. http://127.0.0.1:9091",
    );
  }
  const url = new URL(gatewayUrl);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ExporterError(
      "push-failed",
      `cannot push metrics: "${url.protocol}" is not http or https - pass the Pushgateway's address with its scheme, e.g. http://127.0.0.1:9091`,
    );
  }
  return `${url.origin}${url.pathname === "/" ? "" : url.pathname}`;
}
