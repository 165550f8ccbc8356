/**
 * The journal: everything a drill did and measured, as JSON (`journal.json`). Execution status
 * (did the drill run?) is kept apart from the verdict (did the system cope?), as Chaos Toolkit
 * does. Times named `...Ms` relative to T0 are milliseconds after the first fault was confirmed;
 * `at` fields are RFC 3339 wall-clock times.
 */
import {
  ExitCode,
  type DrillBackend,
  type FaultType,
  type FindingId,
  type RecoveryPopulation,
  type TransportClass,
} from "@livekit-swarm/schema";

export const JOURNAL_SCHEMA = "livekit-swarm.chaos.journal/v1";

export type DrillStatus = "completed" | "failed" | "aborted" | "interrupted";
export type DrillVerdict = "pass" | "fail" | "deviated" | "inconclusive";

/** What each outcome of `swarm chaos run` exits with, named from schema's one exit-code table. */
export const DRILL_EXIT = {
  pass: ExitCode.ok,
  failOrDeviated: ExitCode.error,
  badInput: ExitCode.error,
  inconclusive: ExitCode.inconclusive,
  aborted: ExitCode.aborted,
  interrupted: ExitCode.interrupted,
} as const satisfies Record<string, ExitCode>;

/** One of the things a fault hit: a node (by name and LiveKit node id), Redis, or participants. */
export interface FaultSubject {
  readonly kind: "node" | "redis" | "participant";
  readonly name: string;
  readonly nodeId?: string;
  readonly pid?: number;
}

export interface FaultRun {
  readonly id: string;
  readonly type: FaultType;
  /** How the target was chosen, in words ("node hosting the busiest room (room-0, 3 participants)"). */
  readonly selection: string;
  readonly subjects: readonly FaultSubject[];
  /** The command(s) or signal(s) issued, for the record. */
  readonly actions: readonly string[];
  readonly injectedAt: string | null;
  /** When the injector saw the fault in effect (process gone, stopped, rule present). */
  readonly confirmedAt: string | null;
  /** confirmedAt relative to T0. */
  readonly confirmedMs: number | null;
  /** Command issued to confirmed, ms. */
  readonly injectLatencyMs: number | null;
  /** What proved it ("pid 1234 gone", "process state T (stopped)", "nftables table present"). */
  readonly evidence: string | null;
  readonly revertedAt: string | null;
  readonly revertedMs: number | null;
  readonly error: string | null;
}

export interface RollbackRun {
  readonly fault: string;
  readonly action: string;
  readonly at: string;
  readonly ok: boolean;
  readonly error: string | null;
}

export interface ProbeResult {
  readonly name: string;
  readonly observed: number | null;
  /** The tolerance as written: ">= 1", "<= 0.02". */
  readonly tolerance: string;
  readonly met: boolean;
  readonly detail: string | null;
}

export type TimelineKind =
  | "phase"
  | "fault"
  | "revert"
  | "reconnecting"
  | "reconnected"
  | "disconnected"
  | "joined"
  | "media-stalled"
  | "media-resumed"
  | "server"
  | "abort"
  | "finding";

export interface TimelineEvent {
  /** ms after T0 (negative: before the first fault). */
  readonly tMs: number;
  readonly kind: TimelineKind;
  /** Who: a participant identity, a node name, "drill". */
  readonly subject: string;
  readonly detail: string;
}

export type ReconnectPath = "resume" | "full" | "rejoin";

export interface ParticipantOutcome {
  readonly identity: string;
  readonly room: string;
  readonly role: "publisher" | "subscriber";
  /**
   * The fault its worst disruption is attributed to: the one that failed its room's node or its
   * signalling node, else the latest fault injected before the disruption began.
   */
  readonly fault: string | null;
  /**
   * The node carrying its signalling when that fault (or, unaffected, the first fault that reached
   * it, else the first) was injected, from the balancer's log; null: unknown.
   */
  readonly signalNode: string | null;
  /** How that fault reached it; "unknown" without a signal path; null when no fault was confirmed. */
  readonly population: RecoveryPopulation | "unknown" | null;
  /** The node hosting its room before the first fault, and at the end. */
  readonly roomNodeBefore: string | null;
  readonly roomNodeAfter: string | null;
  /** Did anything happen to it after T0 (reconnecting, disconnected, a media stall)? */
  readonly affected: boolean;
  /** First reconnecting or disconnected event, ms after T0. */
  readonly detectMs: number | null;
  /** Back: its last reconnected (or rejoin's joined) event, ms after T0; null: not back. */
  readonly reconnectMs: number | null;
  readonly path: ReconnectPath | null;
  /** Reconnecting episodes after T0 (more than one: it was knocked down again). */
  readonly episodes: number;
  /** Its slowest subscribed track's media resume, ms after T0; null when no track stalled. */
  readonly mediaResumeMs: number | null;
  /** Connected at the end of the observation. */
  readonly connectedAtEnd: boolean;
  /** Why it is lost, when it is: a disconnect reason, or "stuck_reconnecting". */
  readonly lostReason: string | null;
  readonly sidBefore: string | null;
  readonly sidAfter: string | null;
  /** The SID of the room instance it was in at T0, and at the end (null: unknown). */
  readonly roomSidBefore: string | null;
  readonly roomSidAfter: string | null;
  /** The client.join fault that added it after the faults began; null for the planned swarm. */
  readonly lateJoiner: string | null;
  /**
   * The path its media took before the first fault, and the last it selected (after its recovery,
   * for one knocked down), from its `transport` events (docs/transport.md); absent when unknown.
   */
  readonly transportBefore?: TransportClass;
  readonly transportAfter?: TransportClass;
}

export interface TrackOutcome {
  readonly subscriber: string;
  /** The fault this stall is attributed to. */
  readonly fault: string | null;
  /** `<publisher identity>/<audio|video>`. */
  readonly track: string;
  /** Last packet before it stalled, ms after T0 (negative: it stalled before T0). */
  readonly stalledMs: number | null;
  /** First fresh packet after T0; null: it did not stall, or never came back. */
  readonly resumedMs: number | null;
  readonly resumed: boolean;
}

export interface ServerViewSample {
  readonly tMs: number;
  readonly room: string;
  /** Participants ListParticipants returned (identity and sid), or the error when it failed. */
  readonly participants: readonly { readonly identity: string; readonly sid: string }[] | null;
  readonly error: string | null;
}

/** One instance of a room, as its clients saw it: their room SID, and the node it was on. */
export interface RoomInstance {
  readonly sid: string;
  readonly node: string | null;
  /** Connected participants in it (identities). */
  readonly participants: readonly string[];
}

/** A room's media after one fault: back once every subscriber whose media stalled receives again. */
export interface RoomRecovery {
  readonly fault: string;
  /** Subscribers of the room whose media stalled for this fault. */
  readonly subscribers: number;
  /** ms after the fault's T0 when the last stalled track of the room resumed; null: one never did. */
  readonly recoveredMs: number | null;
}

export interface RoomOutcome {
  readonly room: string;
  readonly nodeBefore: string | null;
  /**
   * At the end, as the clients saw it: the node of the instance most of them were in (Redis had it
   * there under that SID); Redis' room_node_map at the end when the clients' instance is unknown.
   */
  readonly nodeAfter: string | null;
  /** Redis' room_node_map at the end: after a split brain it names the newest instance's node. */
  readonly redisNodeAfter: string | null;
  readonly relocated: boolean;
  /** Room SIDs of the participants connected at T0. */
  readonly roomSidsBefore: readonly string[];
  /** Instances of the room at the end, largest first: more than one is a split brain. */
  readonly instances: readonly RoomInstance[];
  /** One per fault that stalled media in the room (none: its media never stalled). */
  readonly recoveries: readonly RoomRecovery[];
  /** Inbound loss (ratio of sums) of the room's participants: baseline, T0 to end of observation, after. */
  readonly loss: {
    readonly before: number | null;
    readonly during: number | null;
    readonly after: number | null;
  };
  /** ListParticipants answers for this room after T0 (0: the server view was never sampled). */
  readonly serverViews: number;
  /**
   * ms after T0 from which the server's view has matched the swarm's to the end (the first answer
   * after T0 when it never differed); null: it differed at the end, or was never sampled.
   */
  readonly consistentMs: number | null;
  /**
   * At the end: one entry per server-side participant no connected client owns (a stale sid, a
   * duplicate, or someone gone). A participant reconnecting at that moment is neither.
   */
  readonly ghosts: readonly string[];
  /** At the end: identities listed more than once. */
  readonly duplicates: readonly string[];
  /** At the end: connected clients the server does not list. */
  readonly missing: readonly string[];
}

export interface QualityWindow {
  readonly fromMs: number;
  readonly toMs: number;
  readonly lossRatio: number | null;
  readonly jitterP95S: number | null;
  /**
   * Median over participant-windows of the round trip to the server (ICE's candidate pair, or the
   * engine's STUN checks): what a net.delay shows first. Absent in journals from before it.
   */
  readonly rttP50S?: number | null;
  /** Mean over receiving participant-windows of payload bits per second. */
  readonly bitrateInBps: number | null;
  /** The same at IP level (payload, RTP headers, IP/UDP/SRTP overhead: stats' wireBytes), comparable with a link cap; null where RTP header bytes were not reported. */
  readonly wireBitrateInBps?: number | null;
  /** Median over video track-windows with packets of frames per second (the run summary's "frame rate"). */
  readonly videoFpsP50?: number | null;
  /**
   * True when no participant in the window decodes video and `videoFpsP50` is lean's frames
   * assembled from RTP (never decoded: they hold their rate under loss where a decoder drops
   * frames); where any participant decodes, the frame rate is over the decoding ones alone.
   */
  readonly videoFpsAssembled?: boolean;
  /** Median over the same track-windows of the received frame height in pixels (which layer arrived). */
  readonly videoHeightP50?: number | null;
  readonly samples: number;
}

export interface Distribution {
  readonly n: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly max: number | null;
}

export interface ExpectationResult {
  readonly name: string;
  /** As written: "p95 <= 20s". */
  readonly expected: string;
  readonly observed: string;
  /** null: not enough data to judge (counts as inconclusive), or not evaluated. */
  readonly met: boolean | null;
  /**
   * Why it was not evaluated: the drill stopped early (Ctrl-C, an abort, an error), so its data is
   * incomplete and can neither pass nor fail it. Absent when it was evaluated.
   */
  readonly notEvaluated?: string;
}

/** Something the drill saw LiveKit (or the SDK) do wrong: reported, never retried away. */
export interface Finding {
  /** Stable: what `expect.accept-findings` names. */
  readonly id: FindingId;
  readonly severity: "high" | "medium" | "low";
  /** Listed in `expect.accept-findings`: reported, but does not fail the drill. */
  readonly accepted: boolean;
  readonly title: string;
  readonly detail: string;
  readonly atMs: number | null;
}

export interface DrillQuality {
  readonly before: QualityWindow | null;
  readonly during: QualityWindow | null;
  readonly after: QualityWindow | null;
  /** after / before. */
  readonly lossRatioVsBaseline: number | null;
  readonly bitrateVsBaseline: number | null;
}

/** How many participants a fault reached, and how fast they noticed and came back. */
export interface RecoveryCounts {
  readonly participants: number;
  readonly affected: number;
  readonly detect: Distribution;
  readonly reconnect: Distribution;
}

/** Each affected participant's worst disruption, over the drill. */
export interface RecoveryAggregates extends RecoveryCounts {
  readonly mediaResume: Distribution;
  /** Stalled tracks that never resumed by the end (not in mediaResume). */
  readonly tracksNotResumed: number;
  /** Recoveries by path (a participant knocked down by two faults counts twice). */
  readonly paths: Readonly<Record<ReconnectPath, number>>;
  readonly lostByReason: Readonly<Record<string, number>>;
  readonly ghosts: number;
  readonly consistentMs: number | null;
  /** Where the signal paths came from ("the testbed's balancer log"); null: unknown for this backend. */
  readonly signalPaths: string | null;
  /** Detect and reconnect by how the fault reached the participants (populations with anyone in them). */
  readonly byPopulation: readonly PopulationAggregate[];
  /**
   * Detect and reconnect by the path the participants' media took before the faults (UDP, TCP,
   * TURN): did those behind TURN come back, and over what. Absent when no engine told its path.
   */
  readonly byTransport?: readonly TransportAggregate[];
}

export interface TransportAggregate extends RecoveryCounts {
  /** The path before the faults. */
  readonly transport: TransportClass;
  /** The affected participants that came back, by the path they selected after their recovery. */
  readonly backOver: Readonly<Partial<Record<TransportClass, number>>>;
}

export interface PopulationAggregate extends RecoveryCounts {
  readonly population: RecoveryPopulation | "unknown";
}

export interface DrillJournal {
  readonly schema: typeof JOURNAL_SCHEMA;
  readonly drill: {
    readonly name: string;
    readonly file: string | null;
    readonly description: string;
    readonly backend: DrillBackend;
  };
  readonly runId: string;
  readonly toolVersion: string;
  readonly host: string;
  readonly start: string;
  readonly end: string;
  readonly durationMs: number;
  /** Wall-clock time of T0 (the first fault's confirmation); null when no fault was confirmed. */
  readonly t0: string | null;
  readonly status: DrillStatus;
  readonly verdict: DrillVerdict;
  /** One line: why this verdict. */
  readonly reason: string;
  readonly exitCode: ExitCode;
  /** What the system under test was: URL, nodes and their ids, the balancer's retry policy. */
  readonly deployment: Readonly<Record<string, unknown>>;
  readonly workload: Readonly<Record<string, unknown>>;
  readonly steadyState: { readonly before: readonly ProbeResult[]; readonly after: readonly ProbeResult[] };
  readonly faults: readonly FaultRun[];
  readonly rollbacks: readonly RollbackRun[];
  readonly timeline: readonly TimelineEvent[];
  readonly participants: readonly ParticipantOutcome[];
  readonly tracks: readonly TrackOutcome[];
  readonly rooms: readonly RoomOutcome[];
  readonly quality: DrillQuality;
  readonly aggregates: RecoveryAggregates;
  readonly expectations: readonly ExpectationResult[];
  readonly findings: readonly Finding[];
  readonly abort: {
    readonly condition: string;
    readonly atMs: number | null;
    readonly detail: string;
  } | null;
  /** Files written next to the journal. */
  readonly artifacts: Readonly<Record<string, string>>;
}
