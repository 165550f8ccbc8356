/**
 * Which tracks LiveKit owed a subscriber and never delivered. A track is owed when its publisher and
 * its subscriber were both in the room for OWED_AFTER_MS together (first-media censoring: a pair
 * that met near the end, or a publisher that never joined, owes nothing); it is delivered when the
 * subscriber's samples had packets of that kind from it in any window. A subscriber counts its owed
 * tracks of a kind up to the tracks its plan expects, and its delivered ones up to the owed: which
 * publisher a received stream came from is not compared, so a subscriber that received a late
 * publisher's track but not an owed one reads as delivered.
 */
import { KINDS, participantKey, type ParticipantState } from "./participant-state.js";
import type { Kind } from "./messages.js";

/** First media is owed this long after a publisher and a subscriber are both in the room. */
export const OWED_AFTER_MS = 10_000;

/** How many of a run's subscribers' owed tracks arrived, and whose did not. */
export interface Delivery {
  readonly owed: Record<Kind, number>;
  readonly neverReceived: Record<Kind, number>;
  /** `room/identity: N audio, M video` for each subscriber missing any, in plan order. */
  readonly undelivered: readonly string[];
}

/** When it joined last (epoch ms), and until when it was in (its leaving, or the run's end). */
function presence(p: ParticipantState, endMs: number): { from: number; to: number } | undefined {
  if (p.joinS === undefined || p.joinStartMs === undefined) return undefined;
  return { from: p.joinStartMs + p.joinS * 1000, to: p.leftMs ?? endMs };
}

export function delivery(participants: readonly ParticipantState[], endMs: number): Delivery {
  const owed: Record<Kind, number> = { audio: 0, video: 0 };
  const neverReceived: Record<Kind, number> = { audio: 0, video: 0 };
  const undelivered: string[] = [];
  const byRoom = new Map<string, ParticipantState[]>();
  for (const p of participants) byRoom.set(p.plan.room, [...(byRoom.get(p.plan.room) ?? []), p]);
  for (const sub of participants) {
    const mine = presence(sub, endMs);
    if (mine === undefined) continue;
    const missing: Record<Kind, number> = { audio: 0, video: 0 };
    for (const kind of KINDS) {
      if (sub.plan.expectedTracks[kind] <= 0) continue;
      const publishers = (byRoom.get(sub.plan.room) ?? []).filter((pub) => {
        if (pub === sub || !(kind === "audio" ? pub.plan.publishAudio : pub.plan.publishVideo)) return false;
        const theirs = presence(pub, endMs);
        if (theirs === undefined) return false;
        return Math.min(mine.to, theirs.to) - Math.max(mine.from, theirs.from) >= OWED_AFTER_MS;
      }).length;
      const due = Math.min(sub.plan.expectedTracks[kind], publishers);
      owed[kind] += due;
      missing[kind] = due - Math.min(sub.everReceived[kind].size, due);
      neverReceived[kind] += missing[kind];
    }
    if (missing.audio + missing.video > 0) {
      const what = KINDS.filter((k) => missing[k] > 0).map((k) => `${missing[k]} ${k}`);
      undelivered.push(`${participantKey(sub.plan.room, sub.plan.identity)}: ${what.join(", ")}`);
    }
  }
  return { owed, neverReceived, undelivered };
}
