/**
 * Where each participant stood by its events, so that a worker process that dies can have what
 * became of each of its participants said on their behalf: a link lost for one that was in, a join
 * cut off for one still joining, nothing more for one already gone or refused. Said as a
 * disconnect for everyone, the joins under way were lost links of participants that never joined:
 * "11 lost before the end (worker_died 12), 1 never joined" for 12 people, the 12th on LiveKit's
 * side.
 */

import type { ParticipantEvent, ParticipantPlan } from "./messages.js";
import { participantKey } from "./participant-state.js";

/** The reason a worker process's death gives its participants' lost links and cut-off joins. */
export const WORKER_DIED = "worker_died";

/**
 * Reasons that are the generator's own doing: its worker process died, or a browser of the browser
 * engine exited or its page crashed (packages/browser: `browser_exited`, `page_crashed`).
 */
const GENERATOR_LOSS = /^(worker_died|page_crashed|.*_exited)$/;

/** A disconnect or join-failure reason that is the generator's, not LiveKit's. */
export function generatorLoss(reason: string): boolean {
  return GENERATOR_LOSS.test(reason);
}

type Standing = "in" | "out" | "failed";

export interface LostWithWorker {
  readonly participant: ParticipantPlan;
  readonly event: ParticipantEvent;
}

export class Standings {
  /** By room and identity; absent: not joined yet (joining, or its turn not come). */
  private readonly byKey = new Map<string, Standing>();

  /**
   * The event as the run records it: a disconnect for the generator's reasons (its browser page
   * crashed) before the participant was ever in is a join that process cut off, said as a join
   * failure, so the summary, the gate's counters and the exporter all count it once, as such.
   * Other events unchanged.
   */
  recorded(room: string, identity: string, event: ParticipantEvent): ParticipantEvent {
    if (event.type !== "disconnected" || !generatorLoss(event.reason)) return event;
    if (this.byKey.has(participantKey(room, identity))) return event;
    return {
      type: "join-failed",
      reason: event.reason,
      message: `its ${event.reason === WORKER_DIED ? "worker process" : "browser"} went away before it joined (${event.reason}): the generator's failure, not LiveKit's`,
    };
  }

  onEvent(room: string, identity: string, event: ParticipantEvent): void {
    const key = participantKey(room, identity);
    switch (event.type) {
      case "joined":
      case "reconnecting":
      case "reconnected":
        this.byKey.set(key, "in");
        break;
      case "disconnected":
        this.byKey.set(key, "out");
        break;
      case "join-failed":
        if (this.byKey.get(key) !== "in") this.byKey.set(key, "failed");
        break;
      default:
        break;
    }
  }

  /** What each of a dead worker's participants gets: only those it still carried, in or joining. */
  lostWithWorker(participants: readonly ParticipantPlan[]): LostWithWorker[] {
    const lost: LostWithWorker[] = [];
    for (const participant of participants) {
      const standing = this.byKey.get(participantKey(participant.room, participant.identity));
      if (standing === "in") lost.push({ participant, event: { type: "disconnected", reason: WORKER_DIED } });
      else if (standing === undefined)
        lost.push({
          participant,
          event: {
            type: "join-failed",
            reason: WORKER_DIED,
            message: "its worker process died before it joined: the generator's failure, not LiveKit's",
          },
        });
    }
    return lost;
  }
}

/** A worker process that died during the run: its index, and its exit code or the signal that killed it. */
export interface LostWorker {
  readonly worker: number;
  readonly code: number | null;
  readonly signal: string | null;
}

/** "worker 0: killed by SIGKILL", "worker 1: exited with code 134". */
export function lostWorkerText(w: LostWorker): string {
  return `worker ${w.worker}: ${w.signal !== null ? `killed by ${w.signal}` : `exited with code ${w.code ?? "unknown"}`}`;
}
