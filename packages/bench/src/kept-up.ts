import type { RunSummary } from "@livekit-swarm/load";

/** Figures a run reports about whether the generator kept up with its own plan. */
export interface KeptUpFigures {
  readonly joined: number;
  readonly expectedParticipants: number;
  /** Milliseconds the last join came after its scheduled time. */
  readonly joinLagMs: number;
  /** Tracks with packets in their subscriber's last window (the summary's `tracks.receiving`). */
  readonly tracksReceiving: number;
  /** Tracks with packets in any window; names "never flowed" apart from "stopped". */
  readonly tracksEverReceived?: number;
  readonly tracksExpected: number;
}

export type KeptUp = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * The figures from a run summary. Receiving comes from the window samples, not from first-packet
 * events, which a loaded generator may time late: a track flowing at the end counts.
 */
export function keptUpFigures(summary: RunSummary, joinLagMs: number): KeptUpFigures {
  const t = summary.tracks;
  return {
    joined: summary.participants.joined,
    expectedParticipants: summary.participants.planned,
    joinLagMs,
    tracksReceiving: t.receiving.audio + t.receiving.video,
    tracksEverReceived: t.everReceived.audio + t.everReceived.video,
    tracksExpected: t.expected.audio + t.expected.video,
  };
}

/** Pure: did every participant join within the grace, and is every expected track receiving at the end? */
export function keptUp(f: KeptUpFigures, joinGraceMs: number): KeptUp {
  if (f.joined < f.expectedParticipants)
    return { ok: false, reason: `${String(f.joined)}/${String(f.expectedParticipants)} participants joined` };
  if (f.joinLagMs > joinGraceMs)
    return {
      ok: false,
      reason: `joins lagged ${String(f.joinLagMs)} ms behind schedule (grace ${String(joinGraceMs)} ms)`,
    };
  if (f.tracksReceiving < f.tracksExpected) {
    const ever = f.tracksEverReceived;
    const detail =
      ever === undefined
        ? ""
        : ever >= f.tracksExpected
          ? ` (all ${String(ever)} received at some point: some stopped)`
          : ` (${String(f.tracksExpected - ever)} never received)`;
    return {
      ok: false,
      reason: `${String(f.tracksReceiving)}/${String(f.tracksExpected)} tracks receiving at the end${detail}`,
    };
  }
  return { ok: true };
}
