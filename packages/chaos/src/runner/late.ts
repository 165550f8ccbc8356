/**
 * client.join: late joiners, added to every room of the swarm after a fault. Each is a subscriber
 * that must see the room's participants and hear its publishers; one that lands in another
 * instance of the room (a split brain) sees nobody and hears nothing.
 */
import type { DrillFault } from "@livekit-swarm/schema";
import type { ParticipantPlan } from "@livekit-swarm/load";
import type { InjectedFault } from "../backend.js";

/** The late joiners of `fault`: `per-room` subscribers in each room of the plan, joining at once. */
export function lateJoiners(fault: DrillFault, planned: readonly ParticipantPlan[]): ParticipantPlan[] {
  const rooms = [...new Set(planned.map((p) => p.room))];
  return rooms.flatMap((room) => {
    const members = planned.filter((p) => p.room === room);
    const expectedTracks = {
      audio: members.filter((p) => p.publishAudio).length,
      video: members.filter((p) => p.publishVideo).length,
    };
    return Array.from({ length: fault.params.perRoom ?? 1 }, (_, i) => ({
      room,
      identity: `${fault.id}-${i + 1}`,
      role: "subscriber" as const,
      publishAudio: false,
      publishVideo: false,
      publisherIndex: -1,
      subscribe: true,
      probe: false,
      expectedTracks,
      joinAtMs: 0,
      // the engine its room's subscribers run on, which the room's worker has open
      engine: (members.find((p) => p.role === "subscriber" && !p.probe) ?? members[0])?.engine ?? "native",
    }));
  });
}

/** What late joiners reported since they were asked to join: joined, or why not. */
export interface JoinReports {
  joinedSince(since: number): ReadonlyMap<string, { readonly ok: boolean; readonly detail: string }>;
}

/** Confirmed once every late joiner reported its join (or its failure), with the room SIDs they got. */
export function lateJoin(
  joiners: readonly ParticipantPlan[],
  join: ((participants: readonly ParticipantPlan[]) => void) | undefined,
  reports: JoinReports,
): InjectedFault {
  if (join === undefined) throw new Error("the swarm is not running");
  const since = Date.now();
  join(joiners);
  const key = (p: ParticipantPlan): string => `${p.room}/${p.identity}`;
  return {
    subjects: joiners.map((p) => ({ kind: "participant", name: key(p) })),
    actions: [`join ${joiners.map(key).join(", ")}`],
    async confirm(deadlineMs) {
      for (;;) {
        const seen = reports.joinedSince(since);
        const missing = joiners.filter((p) => !seen.has(key(p)));
        if (missing.length === 0) {
          const lines = joiners.map((p) => `${key(p)} ${seen.get(key(p))?.detail ?? "?"}`);
          return `${joiners.filter((p) => seen.get(key(p))?.ok === true).length} of ${joiners.length} late joiner(s) joined: ${lines.join(", ")}`;
        }
        if (Date.now() > deadlineMs) {
          throw new Error(
            `${missing.length} of ${joiners.length} late joiner(s) reported neither a join nor a failure in time: ${missing.map(key).join(", ")}`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    revert: () => Promise.resolve("nothing to undo (late joiners stay until the drill ends)"),
  };
}
