/**
 * The shape of what every engine measures: one participant's stats over one sampling window, and the
 * events a participant lives through. Workers send these over IPC; the exporter turns them into
 * Prometheus metrics, the gate into verdicts, samples.jsonl stores them. Both engines (native and
 * browser) emit exactly this.
 */

import type { TransportClass, TransportEvent } from "./transport.js";

export type Role = "publisher" | "subscriber";
export type Kind = "audio" | "video";

export interface InboundTrackSample {
  /** Identifies the stream within its participant for the run (ssrc-based), for "over tracks". */
  readonly key: string;
  readonly kind: Kind;
  /** Original packets only: received minus retransmitted, plus lost (docs/observability.md 1.1). */
  readonly expected: number;
  readonly lost: number;
  /** Originals and retransmissions, as the receiver counts them. */
  readonly received: number;
  /** Packets that came on the RTX stream (a subset of received); absent when not reported. */
  readonly retransmitted?: number;
  /** RTP payload bytes. */
  readonly bytes: number;
  /** RTP header and padding bytes: bytes + headerBytes is what RTP put on the wire. */
  readonly headerBytes?: number;
  /** Size of the last decoded video frame at the end of the window, when one was decoded. */
  readonly width?: number;
  readonly height?: number;
  readonly jitterS: number | undefined;
  /** NACK feedback packets sent (not sequence numbers: docs/observability.md 1.3). */
  readonly nack: number;
  readonly pli: number;
  readonly fir: number;
  readonly framesDecoded: number;
  readonly framesDropped: number;
  /** Measured from decoded frames where the engine sees them (W3C rule), else as libwebrtc reports. */
  readonly freezes: number;
  /** Frozen seconds, measured from decoded frames; undefined where no frames were seen (unknown, not 0). */
  readonly freezeS: number | undefined;
  readonly concealedSamples: number;
  readonly totalSamples: number;
}

export interface OutboundTrackSample {
  readonly kind: Kind;
  readonly packets: number;
  readonly bytes: number;
  readonly nack: number;
  readonly pli: number;
  readonly fir: number;
  readonly qualityLimitation: string | undefined;
}

/**
 * An inbound track's window of the counts given, every other counter zero: what an engine that counts
 * only packets reports (lean's audio), and the base of test fixtures.
 */
export function inboundTrackSample(
  counts: Pick<InboundTrackSample, "key" | "kind" | "expected" | "lost" | "received"> &
    Partial<InboundTrackSample>,
): InboundTrackSample {
  return {
    bytes: 0,
    jitterS: undefined,
    nack: 0,
    pli: 0,
    fir: 0,
    framesDecoded: 0,
    framesDropped: 0,
    freezes: 0,
    freezeS: 0,
    concealedSamples: 0,
    totalSamples: 0,
    ...counts,
  };
}

/** The counters of an inbound track's window: what a window adds to the run's totals. */
export const inboundCounts = [
  "expected",
  "lost",
  "received",
  "bytes",
  "nack",
  "pli",
  "fir",
  "framesDecoded",
  "framesDropped",
  "freezes",
  "concealedSamples",
  "totalSamples",
] as const satisfies readonly (keyof InboundTrackSample)[];

/** The counters of an outbound track's window. */
export const outboundCounts = [
  "packets",
  "bytes",
  "nack",
  "pli",
  "fir",
] as const satisfies readonly (keyof OutboundTrackSample)[];

/** One participant's stats over one sampling window: a line of samples.jsonl. */
export interface WindowSample {
  readonly t: number;
  readonly durationMs: number;
  readonly room: string;
  readonly participant: string;
  readonly role: Role;
  readonly worker: number;
  readonly inbound: readonly InboundTrackSample[];
  readonly outbound: readonly OutboundTrackSample[];
  readonly rttS: number | undefined;
  /** Data packets this participant sent and received in the window (scenario `data`). */
  readonly dataSent: number;
  readonly dataReceived: number;
  /** End-to-end video latency seen by a probe in this window, seconds. */
  readonly latencyS?: { readonly p50: number; readonly max: number; readonly n: number };
  /** The class of the candidate pair selected at the window's end; absent when the engine did not see one. */
  readonly transport?: TransportClass;
}

/**
 * Which instance of its room a participant is in, as far as its engine can tell. Two instances of
 * one room name at once are a split brain (docs/livekit-behaviour.md 4.1): the room SID tells them
 * apart. Engines fill what their SDK exposes; absent means unknown, never "the same".
 */
export interface RoomPlacement {
  /** The room's server-side SID (`RM_...`). */
  readonly roomSid?: string;
  /** LiveKit's id of the node that answered the join (`ND_...`), where the SDK exposes it. */
  readonly nodeId?: string;
}

export type ParticipantEvent =
  | ({ readonly type: "joined"; readonly joinS: number } & RoomPlacement)
  | { readonly type: "join-failed"; readonly reason: string; readonly message: string }
  | {
      readonly type: "first-packet";
      readonly kind: Kind;
      readonly afterJoinStartS: number;
      /** Seen by the regular sampler after the fast poll ended: the time is its window's end, an upper bound. */
      readonly late?: true;
    }
  | {
      readonly type: "first-frame";
      readonly kind: Kind;
      readonly afterJoinStartS: number;
      readonly exact: boolean;
      /** As for first-packet: seen by the regular sampler, the time is an upper bound. */
      readonly late?: true;
    }
  | { readonly type: "track-subscribed"; readonly kind: Kind; readonly afterJoinStartS: number }
  | {
      readonly type: "reconnecting";
      /** What the engine saw go (signal-closed, ping-timeout, publisher-ice-failed ...), where it knows. */
      readonly cause?: string;
    }
  | ({
      readonly type: "reconnected";
      readonly durationS: number;
      /**
       * `full` when the SDK rejoined as a new session (it republished its tracks, or every remote
       * participant left and came back); `resume` otherwise. A lagging sid change can still turn a
       * resume into a full one: see the `session` event.
       */
      readonly path?: "resume" | "full";
    } & RoomPlacement)
  | { readonly type: "disconnected"; readonly reason: string }
  | TransportEvent
  | { readonly type: "quality"; readonly quality: string }
  /**
   * The participant's server-side sid: at join, and whenever it (or its room's SID) is seen to
   * change (a full reconnect, or a room re-created under the same name).
   */
  | ({ readonly type: "session"; readonly sid: string } & RoomPlacement)
  /**
   * Watch mode: the remote participants this one sees in its room (identities, sorted), at join and
   * whenever the set changes. A participant that cannot see others who are connected to the same
   * room name is in another instance of it.
   */
  | { readonly type: "peers"; readonly identities: readonly string[] }
  /**
   * A subscribed track stopped or started receiving packets (watch mode, polled every 250 ms).
   * `track` is `<publisher identity>/<kind>`, stable across republishing; `atMs` the poll's epoch ms.
   */
  | {
      readonly type: "media";
      readonly track: string;
      readonly kind: Kind;
      readonly flowing: boolean;
      readonly atMs: number;
    }
  /**
   * E2EE: a frame cryptor of this participant changed state. `from` is whose frames it handles (a
   * remote publisher, or this participant itself for its own tracks); `state` is rtc-node's
   * EncryptionState in snake_case: `decryption_failed`, `missing_key`, or `internal_error` for a remote
   * publisher, means it cannot read them (`cannotDecrypt`).
   */
  | { readonly type: "e2ee"; readonly from: string; readonly state: string }
  /** The participant ran rtc-node's simulateScenario (a client.simulate fault). */
  | {
      readonly type: "simulated";
      readonly scenario: string;
      readonly ok: boolean;
      readonly message?: string;
    };

/** Who an event happened to, and when (epoch ms). */
export interface EventContext {
  readonly t: number;
  readonly room: string;
  readonly participant: string;
  readonly role: Role;
  readonly worker: number;
}

/**
 * A worker's event loop busier than this is full: what is left is too little for a 20 ms pacer tick
 * and the receive path in between. The capacity search's thread guard uses the same line (a worker
 * thread at 0.9 of a core), measured where lean workers began to break quality (packages/capacity).
 * One value for the run's verdict (load's generator-load.ts) and the alert.
 */
export const WORKER_SATURATED_EVENT_LOOP = 0.9;

/**
 * A native media thread (lean's native path) that ran its 20 ms ticks this late or more, p99 over a
 * window, sent late enough (half a frame) that subscribers read the generator's lateness as the
 * network's jitter. One value for the run's verdict (load's generator-load.ts LATE_TICK_MS, where
 * it is measured) and the alert.
 */
export const WORKER_LATE_TICK_MS = 10;

/**
 * A media thread's ticks over one stats window (the lean engine's native media path, whose thread
 * sends every native audio publisher's packets once a 20 ms tick): how many were due and how late
 * they ran, from each tick's timer expiry to the thread's wake, in whole milliseconds (each figure
 * its bucket's floor; 100 means that or more).
 */
export interface MediaTicksWindow {
  readonly ticks: number;
  readonly lateP99Ms: number;
  readonly lateMaxMs: number;
  /**
   * The thread's own send jitter at the window's end, ms: RFC 3550's interarrival jitter of its
   * sends against their 20 ms schedule (J += (|D| - J) / 16 over the lateness of two ticks sent one
   * after the other), what a subscriber's jitter would read with a perfect server and network.
   * Absent before the thread has sent two ticks.
   */
  readonly sendJitterMs?: number;
}

/** One worker process over one stats interval: how busy it was itself (load's generator-load.ts). */
export interface WorkerLoadWindow {
  readonly worker: number;
  /** End of the window, epoch ms. */
  readonly t: number;
  readonly windowMs: number;
  /** Share of the window the main thread's event loop was busy (Node's eventLoopUtilization), 0-1. */
  readonly eventLoop: number;
  /**
   * The whole process's CPU over the window (every thread: rtc-node's media threads too) and its
   * descendants' (the browser engine's Chromium processes), in cores.
   */
  readonly cpuCores: number;
  /**
   * Share of its main thread's runnable time over the window spent waiting for a CPU (Linux
   * schedstat run delay against run time), 0-1: how much other processes starved the event loop
   * that runs every timer; absent where the kernel does not say or the thread never ran.
   */
  readonly cpuWait?: number;
  /**
   * Share of the window's CFS periods in which the process's cgroup CPU quota ran out (a pod's or
   * container's CPU limit), 0-1, the worst over its group and the groups above; absent where none
   * has a quota.
   */
  readonly throttled?: number;
  /**
   * Share of the machine's CPU time over the window that was busy, every core and process (steal
   * included), 0-1: other processes (LiveKit beside the swarm, a neighbour) leave the generator no
   * core when it is full; absent off Linux.
   */
  readonly machineBusy?: number;
  /**
   * Share of the runnable time of all the process's threads (rtc-node's too) spent waiting for a
   * CPU over the window (their schedstat summed), 0-1; absent off Linux.
   */
  readonly threadsWait?: number;
  /** p99 of how late the event loop ran what was due over the window (perf_hooks), ms. */
  readonly loopDelayMs?: number;
  /**
   * Its native media thread's ticks (lean's native path): a tick run late sends its packets late,
   * which the subscribers read as jitter, while the event loop may have run on time; absent where
   * no such thread ran a tick in the window.
   */
  readonly mediaTicks?: MediaTicksWindow;
  /**
   * Its engines were still loading when the window began (rtc-node, Chromium's pages): its event
   * loop blocked by the loading, not by participants; absent once the worker was ready.
   */
  readonly starting?: true;
}

/** Watches a run as it happens: the exporter, a live abort. Called on the orchestrator's thread. */
export interface RunObserver {
  onEvent?(context: EventContext, event: ParticipantEvent): void;
  onSample?(sample: WindowSample): void;
  onWorkerLoad?(window: WorkerLoadWindow): void;
}

/**
 * One figure of a signalling storm (`swarm storm`), as k6 timed it: a join answered with a
 * JoinResponse, a join that got none (and why), a joined session's socket closing, a RoomService
 * call or its failure. `t` is epoch ms.
 */
export type StormObservation =
  | { readonly type: "join"; readonly t: number; readonly durationS: number }
  | { readonly type: "join-failed"; readonly t: number; readonly reason: string }
  | { readonly type: "session-ended"; readonly t: number }
  | { readonly type: "reconnect"; readonly t: number; readonly state: string; readonly durationS: number }
  | { readonly type: "reconnect-failed"; readonly t: number; readonly reason: string }
  | { readonly type: "api"; readonly t: number; readonly method: string; readonly durationS: number }
  | { readonly type: "api-failed"; readonly t: number; readonly method: string; readonly reason: string };

/**
 * Whether an `e2ee` event's state means `self` cannot read `from`'s frames: a wrong key
 * (`decryption_failed`), none (`missing_key`), or a reader's cryptor dropping them for a reason of
 * its own (`internal_error` for a remote publisher: livekit-client 2.23's worker drops every frame
 * of a track whose publisher's encryption state it was never told, "encryption state unknown for
 * track", and says so only as an internal error). `internal_error` for the participant itself, or
 * for nobody named, is its own encryptor's or key ratchet's, not a reader's. One rule for the run
 * summary, the exporter and both engines' reports, so they count the same pairs.
 */
export function cannotDecrypt(state: string, from: string, self: string): boolean {
  if (state === "decryption_failed" || state === "missing_key") return true;
  return state === "internal_error" && from !== "" && from !== self;
}

/**
 * Whether an `e2ee` event's state, from a publisher whose frames the subscriber could not decrypt,
 * means it decrypts them again: `ok`, or `key_ratcheted` (a receiver's cryptor that decrypted after
 * ratcheting the key forward).
 */
export function decryptsAgain(state: string): boolean {
  return state === "ok" || state === "key_ratcheted";
}

/**
 * Which of a subscriber's frame cryptor state changes it reports, per publisher (`from`): each
 * entry into a failure ({@link cannotDecrypt}) and each way out of one ({@link decryptsAgain}),
 * every other state once. A wrong key is one event however many frames fail; a cryptor that fails
 * for a moment and decrypts again says both, so it is not read as "cannot decrypt" for the rest of
 * the run (livekit-client does this around a key ratchet when frames sealed with the old key reach
 * it after the new one: docs/e2ee.md). Both engines' cryptor reports go through it.
 */
export class CryptorReport {
  /** Publishers whose frames cannot be decrypted now, with the failure's state. */
  private readonly failing = new Map<string, string>();
  private readonly seen = new Map<string, Set<string>>();

  /** Whether to report `state` of `self`'s cryptor for `from`'s frames. */
  report(from: string, state: string, self: string): boolean {
    const failure = this.failing.get(from);
    if (cannotDecrypt(state, from, self)) {
      if (failure === state) return false;
      this.failing.set(from, state);
      return true;
    }
    const seen = this.seen.get(from) ?? new Set<string>();
    this.seen.set(from, seen);
    if (failure !== undefined && decryptsAgain(state)) {
      this.failing.delete(from);
      seen.add(state);
      return true;
    }
    if (seen.has(state)) return false;
    seen.add(state);
    return true;
  }

  /** Whether `from`'s frames cannot be decrypted now, as last reported. */
  isFailing(from: string): boolean {
    return this.failing.has(from);
  }

  /** The publishers whose frames cannot be decrypted now. */
  get failingFrom(): readonly string[] {
    return [...this.failing.keys()];
  }
}

/** Storm metrics are named after it; a media run never creates their series. */
export const STORM_METRIC_PREFIX = "lkswarm_storm_";
