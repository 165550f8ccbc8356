/**
 * The run's summary (summary.json) as the aggregator writes it: its figures, counts and timeline,
 * and the markers and E2EE pairs it lists.
 */
import type { SampleSet } from "@livekit-swarm/gate";
import type { Figure } from "./figures.js";
import type { GeneratorLoad } from "./generator-load.js";
import type { RunGroups } from "./groups.js";
import type { Kind } from "./messages.js";
import type { TimelinePoint } from "./timeline.js";

export interface RunSummary {
  readonly participants: {
    readonly planned: number;
    readonly joined: number;
    /** Connected at the end; those still reconnecting are not, and are in `reconnectingAtEndS`. */
    readonly connectedAtEnd: number;
    /**
     * For each participant still reconnecting at the end, how long it had been at it (s), longest
     * first; absent from summaries written before it was kept (their `connectedAtEnd` counted them).
     */
    readonly reconnectingAtEndS?: readonly number[];
    readonly joinFailures: Record<string, number>;
    readonly disconnects: Record<string, number>;
    readonly reconnects: number;
    /**
     * Participants whose turn to join (the ramp's schedule) had not come when the run ended: a run
     * stopped or cut short during its ramp. Neither joined nor failed; absent when none.
     */
    readonly notDue?: number;
    /**
     * Participants that never joined because their worker process or browser went away first (a
     * join failure for the generator's reason, and no join after it); absent when none. Counted
     * apart from `joinFailures`, which keeps a failure that a later join (a rejoin) followed.
     */
    readonly lostJoining?: number;
  };
  /**
   * From the window samples, per joined participant capped at its expected tracks: `receiving`
   * had packets in the participant's last window (receiving at the end), `everReceived` in any
   * window; `decodingVideo` decoded frames in the last window; `assembledVideo` the same for lean
   * subscribers, whose frames are counted from RTP without a decoder (a frame when its last packet
   * arrives, whole or not), so they are never said to decode. First-packet events only time them.
   */
  readonly tracks: {
    readonly expected: Record<Kind, number>;
    readonly receiving: Record<Kind, number>;
    readonly everReceived: Record<Kind, number>;
    readonly decodingVideo: number;
    readonly assembledVideo?: number;
    /**
     * Tracks LiveKit owed a subscriber (its publisher and it in the room together for 10 s,
     * delivery.ts) and how many of those never had a packet, with whose; absent from summaries
     * written before it was judged.
     */
    readonly owed?: Record<Kind, number>;
    readonly neverReceived?: Record<Kind, number>;
    readonly undelivered?: readonly string[];
  };
  readonly loss: Record<
    Kind,
    {
      readonly lost: number;
      readonly expected: number;
      readonly ratio: number | undefined;
      /**
       * Video only: windows in which a subscriber's video, having come before, had no packet at all
       * (a stall: a bandwidth cap's trickle, a paused layer, a path gone before its reconnect).
       * libwebrtc counts no loss over such a gap, so the ratio above says nothing of it: loss there
       * is unknown. Audio is not judged so: a talk/silence scenario's silences send nothing.
       */
      readonly stalled?: { readonly participants: number; readonly seconds: number };
    }
  >;
  readonly counters: Record<string, number>;
  readonly figures: readonly Figure[];
  readonly timeline: readonly TimelinePoint[];
  /**
   * How long each timeline point is: the stats interval, doubled as often as it took to keep the
   * timeline to MOST_TIMELINE_POINTS (absent from older summaries: the stats interval).
   */
  readonly timelineStepMs?: number;
  readonly joinSeconds: readonly number[];
  readonly firstFrameSeconds: readonly number[];
  /** Per-participant and per-track values, for comparing a later run with this one (--baseline). */
  readonly samples: readonly SampleSet[];
  /** Per room, role and node (absent from summaries written before the report showed them). */
  readonly groups?: RunGroups;
  /** What happened to the run itself, for the report's time axis (epoch ms). */
  readonly markers?: readonly RunMarker[];
  /**
   * E2EE: participants whose frame cryptors said last (by the run's end) that they cannot decrypt a
   * publisher (a wrong or missing key, a ratchet not followed). Their packets still arrive and count
   * in `loss` as received: this is not loss.
   */
  readonly decryptionFailures?: readonly DecryptionFailure[];
  /**
   * E2EE: participants whose cryptors could not decrypt a publisher for a while and decrypted it
   * again before the run ended (e.g. frames sealed with a key the receiver had ratcheted past).
   */
  readonly decryptionRecovered?: readonly DecryptionFailure[];
  /**
   * How busy the swarm's own workers were over the hold (generator-load.ts); absent from merged
   * sharded runs and summaries written before it was measured.
   */
  readonly generator?: GeneratorLoad;
}

/** One participant and the publishers whose frames it could not decrypt (E2EE). */
export interface DecryptionFailure {
  readonly room: string;
  readonly participant: string;
  /** The publishers, sorted. */
  readonly from: readonly string[];
}

/**
 * A moment the report marks on its charts: a worker process died with its participants, or many
 * participants began reconnecting within one timeline bucket (a burst, not one flaky client).
 */
export interface RunMarker {
  readonly t: number;
  readonly kind: "worker-died" | "reconnect-burst";
  readonly detail: string;
}
