/**
 * Per-room recovery: a room's media is back once every subscriber whose media stalled receives
 * again. It is set by the publisher's own recovery, so it can be later than every subscriber's
 * reconnect (docs/livekit-behaviour.md 2.4).
 */
import type { RoomRecovery, TrackOutcome } from "../journal.js";

/** `tracks` of one room's subscribers, grouped by the fault each stall is attributed to, in fault order of first stall. */
export function roomRecoveries(tracks: readonly TrackOutcome[]): RoomRecovery[] {
  const byFault = new Map<string, TrackOutcome[]>();
  for (const t of tracks) {
    if (t.fault === null) continue;
    byFault.set(t.fault, [...(byFault.get(t.fault) ?? []), t]);
  }
  return [...byFault].map(([fault, stalled]) => ({
    fault,
    subscribers: new Set(stalled.map((t) => t.subscriber)).size,
    recoveredMs: stalled.some((t) => !t.resumed || t.resumedMs === null)
      ? null
      : Math.max(0, ...stalled.map((t) => t.resumedMs ?? 0)),
  }));
}
