/**
 * What the run aggregator keeps per participant, and how what it had not done by the end of the run
 * (joined, received a first packet or frame, reconnected) becomes censored observations.
 */
import type { CensoredObservation, Measurements } from "@livekit-swarm/gate";
import type { TransportClass } from "@livekit-swarm/schema";
import type { Kind, ParticipantPlan } from "./messages.js";

export const KINDS: readonly Kind[] = ["audio", "video"];

export interface ParticipantState {
  readonly plan: ParticipantPlan;
  joinS?: number;
  joinFailure?: string;
  /** LiveKit's node that answered its last join, where the engine knows it. */
  nodeId?: string;
  /** The class of its last selected ICE candidate pair, where the engine saw one. */
  transport?: TransportClass;
  /** How long ICE took at its join, where the engine timed it (lean). */
  iceS?: number;
  reconnects: number;
  disconnected?: string;
  lossByKind: Record<Kind, { lost: number; expected: number }>;
  bytesIn: number;
  /** Bytes in on the wire (stats `wireBytes`); undefined until a track reports its RTP header bytes. */
  wireBytesIn?: number;
  bytesOut: number;
  firstSeenMs?: number;
  lastSeenMs?: number;
  /** Timing events received (first-packet per kind, first-frame); not what says "receiving". */
  tracksWithPackets: Record<Kind, number>;
  tracksWithFrames: number;
  joinStartMs?: number;
  leftMs?: number;
  /** When its current reconnect began (the first `reconnecting` of the episode); undefined when connected. */
  reconnectingSinceMs?: number;
  /** Inbound streams with packets in any window, per kind (keys). */
  everReceived: Record<Kind, Set<string>>;
  /**
   * Milliseconds of windows in which its video had come before, a video track was still there, and
   * none of it had a packet: a stall, over which libwebrtc counts no loss (summary `loss.video.stalled`).
   */
  videoStalledMs?: number;
  /**
   * The participant's last window: tracks (keys) with packets, video tracks with decoded frames, and
   * how long it lasted. A window shorter than half the stats interval (the drain's last sample
   * taken just after a periodic one) is folded into the one before (`endWindow`).
   */
  lastWindow: EndWindow;
  /** E2EE: the publishers whose frames its cryptors last said it cannot decrypt. */
  cannotDecrypt?: Set<string>;
  /** E2EE: the publishers whose frames its cryptors said it could not decrypt at some point. */
  failedToDecrypt?: Set<string>;
  /** E2EE: the publishers whose key ratchets its cryptors said they followed. */
  ratchetsFollowed?: Set<string>;
}

export function participantKey(room: string, identity: string): string {
  return `${room}/${identity}`;
}

/**
 * Hands the measurements what had not happened by `endMs` (docs/observability.md 2.1), so the
 * summary's figures and the gate's thresholds are over the same population.
 */
export function censorUnfinished(
  measurements: Measurements,
  participants: Iterable<ParticipantState>,
  endMs: number,
  /** When the run stopped joining (before its drain): a participant scheduled after it never began. */
  stoppedAtMs = endMs,
): void {
  const startMs = measurements.runStartMs;
  const all = [...participants];
  const joined = all.filter((p) => p.joinS !== undefined);
  // a participant scheduled to join before the end and not joined: join time > end − schedule; a
  // join cut off before the end (its worker died mid-join) says only > its leaving − schedule, and
  // one whose worker died before its turn never began
  const cutOff = (p: ParticipantState): number => Math.min(p.leftMs ?? endMs, endMs);
  measurements.censor(
    "lkswarm_join_duration_seconds",
    startMs === undefined
      ? []
      : all
          .filter(
            (p) => p.joinS === undefined && startMs + p.plan.joinAtMs < Math.min(cutOff(p), stoppedAtMs),
          )
          .map((p) => ({
            t: cutOff(p),
            participant: participantKey(p.plan.room, p.plan.identity),
            track: "join",
            labels: { role: p.plan.role },
            atLeastS: (cutOff(p) - startMs - p.plan.joinAtMs) / 1000,
          })),
  );
  // an expected track with no first packet (frame): > the time its subscriber was in the run
  const tracksCensored = (kind: Kind, missing: (p: ParticipantState) => number): CensoredObservation[] =>
    joined.flatMap((p) => {
      const t = p.leftMs ?? endMs;
      const atLeastS = Math.max(0, (t - (p.joinStartMs ?? endMs)) / 1000);
      return Array.from({ length: Math.max(0, missing(p)) }, (_, i) => ({
        t,
        participant: participantKey(p.plan.room, p.plan.identity),
        track: `never-${kind}-${i}`,
        labels: { kind },
        atLeastS,
      }));
    });
  measurements.censor(
    "lkswarm_time_to_first_packet_seconds",
    KINDS.flatMap((k) => tracksCensored(k, (p) => p.plan.expectedTracks[k] - p.tracksWithPackets[k])),
  );
  // still reconnecting at the end: its reconnect time is > the time since it began
  measurements.censor(
    "lkswarm_reconnect_duration_seconds",
    all.flatMap((p) =>
      p.reconnectingSinceMs === undefined
        ? []
        : [
            {
              t: endMs,
              participant: participantKey(p.plan.room, p.plan.identity),
              track: "reconnect",
              labels: { role: p.plan.role },
              atLeastS: Math.max(0, (endMs - p.reconnectingSinceMs) / 1000),
            },
          ],
    ),
  );
  measurements.censor(
    "lkswarm_time_to_first_frame_seconds",
    tracksCensored("video", (p) => p.plan.expectedTracks.video - p.tracksWithFrames),
  );
}

/** What "receiving at the end" is read from: see `ParticipantState.lastWindow`. */
export interface EndWindow {
  readonly receiving: Record<Kind, ReadonlySet<string>>;
  readonly decodingVideo: ReadonlySet<string>;
  readonly durationMs: number;
}

export function emptyEndWindow(): EndWindow {
  return { receiving: { audio: new Set(), video: new Set() }, decodingVideo: new Set(), durationMs: 0 };
}

/**
 * A window under half the stats interval: too short to say whether a track flows, or at what rate
 * (the drain's last sample, taken milliseconds after a periodic one). One rule for both readings.
 */
export function isShortWindow(durationMs: number, intervalMs: number): boolean {
  return durationMs < intervalMs / 2;
}

/**
 * The end window after a new sample's window. A window shorter than half the stats interval says
 * little on its own: one taken 17 ms after the periodic one (measured: the drain's last sample) held
 * no video packet for tracks flowing at 20 frames/s, and read them as stopped. So it is joined to the
 * window before: a track receives at the end when it had packets in the last half interval or more.
 */
export function endWindow(previous: EndWindow, next: EndWindow, intervalMs: number): EndWindow {
  if (!isShortWindow(next.durationMs, intervalMs) || previous.durationMs === 0) return next;
  const union = <T>(a: ReadonlySet<T>, b: ReadonlySet<T>): Set<T> => new Set([...a, ...b]);
  return {
    receiving: {
      audio: union(previous.receiving.audio, next.receiving.audio),
      video: union(previous.receiving.video, next.receiving.video),
    },
    decodingVideo: union(previous.decodingVideo, next.decodingVideo),
    durationMs: previous.durationMs + next.durationMs,
  };
}
