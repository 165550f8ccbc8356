/** What the drill watches besides the swarm's own reports: simulated client faults and the server's view. */
import { messageOf, type DrillFault } from "@livekit-swarm/schema";
import type { PlacementSample, ServerView } from "../analyze.js";
import type { FaultInjector, InjectedFault } from "../backend.js";
import type { RunControl, RunTarget } from "@livekit-swarm/load";
import { RoomServiceClient } from "livekit-server-sdk";
import type { DrillRecorder } from "./recorder.js";
import type { ChosenParticipant } from "./select.js";

/** How often the drill asks the server who is in each room. */
export const SERVER_VIEW_MS = 1000;
/** How often it reads where each room is placed (its node and SID, from Redis). */
export const PLACEMENT_MS = 2000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => {
        reject(new Error(`${what} timed out after ${ms / 1000} s`));
      }, ms),
    ),
  ]);
}

/** client.simulate: the chosen participants run simulateScenario; confirmed by their reports. */
export function simulate(
  fault: DrillFault,
  participants: readonly ChosenParticipant[],
  control: RunControl | undefined,
  recorder: DrillRecorder,
): InjectedFault {
  const scenario = fault.params.scenario ?? "signal-reconnect";
  const since = Date.now();
  if (control === undefined) throw new Error("the swarm is not running");
  control.simulate(participants, scenario);
  return {
    subjects: participants.map((p) => ({ kind: "participant", name: `${p.room}/${p.identity}` })),
    actions: [
      `simulateScenario(${scenario}) on ${participants.map((p) => `${p.room}/${p.identity}`).join(", ")}`,
    ],
    async confirm(deadlineMs) {
      for (;;) {
        const seen = recorder.simulated(since);
        const key = (p: ChosenParticipant): string => `${p.room}/${p.identity}`;
        const failed = participants.filter((p) => seen.get(key(p))?.ok === false);
        if (failed.length > 0) {
          throw new Error(
            `simulateScenario(${scenario}) failed for ${failed.map((p) => `${key(p)}: ${seen.get(key(p))?.message ?? "?"}`).join(", ")}`,
          );
        }
        if (participants.every((p) => seen.get(key(p))?.ok === true)) {
          return `${participants.length} participant(s) ran simulateScenario(${scenario})`;
        }
        if (Date.now() > deadlineMs) {
          throw new Error(
            `only ${[...seen.keys()].length} of ${participants.length} participants reported simulateScenario(${scenario}) in time`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    revert: () => Promise.resolve("nothing to undo (the SDK recovers by itself)"),
  };
}

function roomService(target: RunTarget): RoomServiceClient {
  return new RoomServiceClient(target.url.replace(/^ws/, "http"), target.apiKey, target.apiSecret);
}

/** Runs `look` every `intervalMs`, skipping a tick while the previous look is still under way. */
function everyWithoutOverlap(intervalMs: number, look: () => Promise<unknown>): NodeJS.Timeout {
  let busy = false;
  return setInterval(() => {
    if (busy) return;
    busy = true;
    void look().finally(() => {
      busy = false;
    });
  }, intervalMs);
}

/** Asks the server who is in each room, every second, into `out`. */
export function startServerViews(
  target: RunTarget,
  rooms: readonly string[],
  out: ServerView[],
): NodeJS.Timeout {
  const client = roomService(target);
  return everyWithoutOverlap(SERVER_VIEW_MS, () =>
    Promise.all(
      rooms.map(async (room) => {
        try {
          const list = await withTimeout(client.listParticipants(room), 2500, "ListParticipants");
          out.push({
            t: Date.now(),
            room,
            participants: list.map((p) => ({ identity: p.identity, sid: p.sid })),
            error: null,
          });
        } catch (err) {
          const message = messageOf(err);
          // a room the server does not know lists nobody: that is an answer, not a failure
          const empty = /not.?found|does not exist|could not find/i.test(message);
          out.push({ t: Date.now(), room, participants: empty ? [] : null, error: empty ? null : message });
        }
      }),
    ),
  );
}

/**
 * Reads, every 2 s, each room's node (the backend's room_node_map) and SID (ListRooms) into `out`:
 * which node an instance of a room was on, since clients report their instance's SID but not
 * (with rtc-node) its node. Both come from Redis, so they describe the instance Redis knows.
 */
export function startPlacements(
  target: RunTarget,
  injector: FaultInjector,
  rooms: readonly string[],
  out: PlacementSample[],
): NodeJS.Timeout {
  const client = roomService(target);
  return everyWithoutOverlap(PLACEMENT_MS, async () => {
    const t = Date.now();
    const listed = await withTimeout(client.listRooms([...rooms]), 2500, "ListRooms").catch(() => null);
    const sids = new Map((listed ?? []).map((r) => [r.name, r.sid]));
    for (const room of rooms) {
      const node = await injector.roomNode(room).catch(() => undefined);
      out.push({ t, room, node: node?.name ?? null, sid: sids.get(room) ?? null });
    }
  });
}
