import { describe, expect, it } from "vitest";
import type { ParticipantPlan } from "./messages.js";
import { Standings, WORKER_DIED, generatorLoss } from "./standings.js";

const plan = (identity: string): ParticipantPlan => ({
  room: "r1",
  identity,
  role: "subscriber",
  publishAudio: false,
  publishVideo: false,
  publisherIndex: 0,
  subscribe: true,
  probe: false,
  expectedTracks: { audio: 1, video: 0 },
  joinAtMs: 0,
  engine: "lean",
});

describe("Standings: what a dead worker's participants get", () => {
  it("a lost link for those in, a cut-off join for those not yet in, nothing for those already gone", () => {
    const s = new Standings();
    const ids = ["in", "reconnecting", "joining", "refused", "dropped", "back"];
    s.onEvent("r1", "in", { type: "joined", joinS: 0.2 });
    s.onEvent("r1", "reconnecting", { type: "joined", joinS: 0.2 });
    s.onEvent("r1", "reconnecting", { type: "reconnecting" });
    s.onEvent("r1", "refused", { type: "join-failed", reason: "unauthorized", message: "401" });
    s.onEvent("r1", "dropped", { type: "joined", joinS: 0.2 });
    s.onEvent("r1", "dropped", { type: "disconnected", reason: "server_leave" });
    // a link dropped, then the participant joined again: in
    s.onEvent("r1", "back", { type: "disconnected", reason: "server_leave" });
    s.onEvent("r1", "back", { type: "joined", joinS: 0.3 });
    const lost = s.lostWithWorker(ids.map(plan));
    expect(lost.map(({ participant, event }) => [participant.identity, event.type])).toEqual([
      ["in", "disconnected"],
      ["reconnecting", "disconnected"],
      ["joining", "join-failed"],
      ["back", "disconnected"],
    ]);
    for (const { event } of lost) expect(event).toMatchObject({ reason: WORKER_DIED });
  });

  it("a join that failed after the participant was in does not take it out", () => {
    const s = new Standings();
    s.onEvent("r1", "a", { type: "joined", joinS: 0.2 });
    s.onEvent("r1", "a", { type: "join-failed", reason: "run_ended", message: "late" });
    expect(s.lostWithWorker([plan("a")]).map((l) => l.event.type)).toEqual(["disconnected"]);
  });

  it("records a browser lost before its participant joined as a cut-off join; after, as a disconnect", () => {
    const s = new Standings();
    const crashed = { type: "disconnected", reason: "page_crashed" } as const;
    expect(s.recorded("r1", "a", crashed)).toMatchObject({ type: "join-failed", reason: "page_crashed" });
    s.onEvent("r1", "b", { type: "joined", joinS: 0.2 });
    expect(s.recorded("r1", "b", crashed)).toBe(crashed);
    // LiveKit's reasons before a join stay as they came (a join's own failure follows them)
    const left = { type: "disconnected", reason: "join_failure" } as const;
    expect(s.recorded("r1", "c", left)).toBe(left);
  });

  it("names the generator's reasons", () => {
    expect(["worker_died", "browser_exited", "page_crashed"].every(generatorLoss)).toBe(true);
    expect(["server_leave", "timeout", "worker_died_later", "exited"].some(generatorLoss)).toBe(false);
  });
});
