import { DisconnectReason, LeaveRequest_Action, ReconnectReason, type LeaveRequest } from "@livekit/protocol";
import { messageOf, type ParticipantEvent, type RoomPlacement } from "@livekit-swarm/schema";
import { LeanError } from "./errors.js";

/** What made a participant reconnect: the `cause` of its `reconnecting` event. */
export type ReconnectCause =
  | "signal-closed"
  | "ping-timeout"
  | "publisher-ice-failed"
  | "subscriber-ice-failed"
  | "server-leave-resume"
  | "server-leave-reconnect"
  /** A drill's client.simulate full-reconnect: a new session straight away, as rtc-node does it. */
  | "full-reconnect-asked";

export type ReconnectPath = "resume" | "full";

/** The reason a resume names to the server (`reconnect_reason`), as LiveKit's clients send it. */
export function reconnectReason(cause: ReconnectCause): ReconnectReason {
  switch (cause) {
    case "publisher-ice-failed":
      return ReconnectReason.RR_PUBLISHER_FAILED;
    case "subscriber-ice-failed":
      return ReconnectReason.RR_SUBSCRIBER_FAILED;
    case "signal-closed":
    case "ping-timeout":
      return ReconnectReason.RR_SIGNAL_DISCONNECTED;
    default:
      return ReconnectReason.RR_UNKNOWN;
  }
}

/** A disconnect reason as the native engine writes it: DisconnectReason's name in snake_case. */
export function disconnectReason(reason: DisconnectReason): string {
  return DisconnectReason[reason].toLowerCase();
}

/**
 * What a server leave asks of the client: `stay` (DISCONNECT: the session is over) or a reconnect,
 * resume first (RESUME) or a full rejoin straight away (RECONNECT), as LiveKit's SDKs read it.
 */
export function leaveAction(leave: LeaveRequest): { stay: true } | { stay: false; cause: ReconnectCause } {
  switch (leave.action) {
    case LeaveRequest_Action.RESUME:
      return { stay: false, cause: "server-leave-resume" };
    case LeaveRequest_Action.RECONNECT:
      return { stay: false, cause: "server-leave-reconnect" };
    default:
      // protocol < 13 servers set only canReconnect, which means a full rejoin
      return leave.canReconnect ? { stay: false, cause: "server-leave-reconnect" } : { stay: true };
  }
}

/**
 * Causes a resume cannot mend: the server (or a drill) asked for a full reconnect, or the
 * publisher's media is gone (werift's ICE restart of a publisher is not trusted, see the README's
 * measured rules).
 */
export function startsFull(cause: ReconnectCause): boolean {
  return (
    cause === "server-leave-reconnect" || cause === "full-reconnect-asked" || cause === "publisher-ice-failed"
  );
}

/** The reason a participant that gave up reports, by what started the episode. */
function gaveUpReason(cause: ReconnectCause, last: unknown): string {
  if (last instanceof LeanError && (last.reason === "rejected" || last.reason === "left"))
    return disconnectReason(DisconnectReason.JOIN_FAILURE);
  switch (cause) {
    case "publisher-ice-failed":
    case "subscriber-ice-failed":
      return disconnectReason(DisconnectReason.MEDIA_FAILURE);
    case "ping-timeout":
      return disconnectReason(DisconnectReason.CONNECTION_TIMEOUT);
    default:
      return disconnectReason(DisconnectReason.SIGNAL_CLOSE);
  }
}

export interface ReconnectPolicy {
  /** Attempts in one episode, resume and full rejoins together. */
  readonly attempts: number;
  /** Bound on one resume: signalling, SyncState, ICE restart, both PeerConnections connected again. */
  readonly resumeTimeoutMs: number;
  /** Bound on one full rejoin: join, subscriber connected, tracks republished. */
  readonly rejoinTimeoutMs: number;
  /** Wait before attempt `n` (1-based for retries; attempt 0 goes at once). */
  backoffMs(attempt: number): number;
}

/**
 * The Rust SDK's (what rtc-node runs): 10 attempts, full-jitter backoff up to min(7 s, 300 ms x
 * 2^(n-1)), a single failed resume escalates to a full rejoin. Bounds: 5 s signal + 5 s settle for a
 * resume, 15 s for a rejoin, as long as a first join may take.
 */
export const DEFAULT_RECONNECT_POLICY: ReconnectPolicy = {
  attempts: 10,
  resumeTimeoutMs: 10_000,
  rejoinTimeoutMs: 15_000,
  backoffMs: (attempt) => Math.random() * Math.min(7000, 300 * 2 ** (attempt - 1)),
};

/** What an episode needs of the participant it reconnects. */
export interface Reconnectable {
  /** Resume the session (same sid, same PeerConnections with an ICE restart); throws if refused. */
  resume(cause: ReconnectCause, timeoutMs: number): Promise<void>;
  /** Tear the session down and join again as a new one, republishing; throws if it fails. */
  rejoin(timeoutMs: number): Promise<void>;
  /** The participant left (or was told to stay away) meanwhile: the episode ends quietly. */
  over(): boolean;
  /** The room instance and node of the session as it stands (after a rejoin: the new one's). */
  placement(): RoomPlacement;
  emit(event: ParticipantEvent): void;
}

export interface EpisodeOutcome {
  /** How it came back, or undefined when it gave up or the participant left. */
  readonly path: ReconnectPath | undefined;
  readonly attempts: number;
  /** Every failed attempt's message, for logs and tests. */
  readonly failures: readonly string[];
}

/**
 * One reconnect episode: `reconnecting` with its cause, resume first (unless `startsFull`), a full rejoin after a failed resume, backoff between attempts; `reconnected` with
 * the path and the time since the loss, or `disconnected` once the attempts run out. A refused
 * token ends it at once: no retry can fix it.
 */
export async function reconnectEpisode(
  session: Reconnectable,
  cause: ReconnectCause,
  policy: ReconnectPolicy = DEFAULT_RECONNECT_POLICY,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => number = Date.now,
): Promise<EpisodeOutcome> {
  const startMs = now();
  session.emit({ type: "reconnecting", cause });
  let full = startsFull(cause);
  const failures: string[] = [];
  let last: unknown;
  for (let attempt = 0; attempt < policy.attempts; attempt++) {
    if (attempt > 0) await sleep(policy.backoffMs(attempt));
    if (session.over()) return { path: undefined, attempts: attempt, failures };
    const path: ReconnectPath = full ? "full" : "resume";
    try {
      if (path === "resume") await session.resume(cause, policy.resumeTimeoutMs);
      else await session.rejoin(policy.rejoinTimeoutMs);
    } catch (err) {
      last = err;
      failures.push(`${path}: ${messageOf(err)}`);
      if (session.over()) return { path: undefined, attempts: attempt + 1, failures };
      if (err instanceof LeanError && err.reason === "rejected") break;
      full = true;
      continue;
    }
    if (session.over()) return { path: undefined, attempts: attempt + 1, failures };
    session.emit({ type: "reconnected", durationS: (now() - startMs) / 1000, path, ...session.placement() });
    return { path, attempts: attempt + 1, failures };
  }
  session.emit({ type: "disconnected", reason: gaveUpReason(cause, last) });
  return { path: undefined, attempts: failures.length, failures };
}
