import { describe, expect, it } from "vitest";
import type { ParticipantPlan } from "./messages.js";
import { endOnTime, holdEnd, notStarted } from "./orchestrator.js";

describe("endOnTime: a run that reached its planned end", () => {
  it("completed when anybody joined, even one participant who later left", () => {
    expect(endOnTime(1, undefined)).toBe("completed");
    expect(endOnTime(250, false)).toBe("completed");
  });

  it("ended with nobody joined is not completed: it exits as an error, not 0 over an empty summary", () => {
    // measured: workers that took 12 s to load rtc-node on a loaded host, an 8 s hold, 0 joined, exit 0
    expect(endOnTime(0, undefined)).toBe("no-participant-joined");
    expect(endOnTime(0, false)).toBe("no-participant-joined");
  });

  it("a persistent swarm (the canary) keeps its own rules", () => {
    expect(endOnTime(0, true)).toBe("completed");
  });
});

describe("holdEnd: what a progress tick does about the run's planned end", () => {
  it("ends the run once the end has passed, at the tick or after it", () => {
    expect(holdEnd(10_000, 10_000, 1000)).toBe("now");
    expect(holdEnd(10_000, 10_400, 1000)).toBe("now");
  });

  it("sets a timer for the end when it falls before the next tick, not a tick late", () => {
    // a 3 s hold after a 0.2 s ramp, ticks at 1, 2, 3 s: the end at 3.2 s came at the 4 s tick
    expect(holdEnd(3200, 3000, 1000)).toBe(200);
    expect(holdEnd(3200, 2201, 1000)).toBe(999);
  });

  it("waits for a later tick when the end is a tick or more away", () => {
    expect(holdEnd(3200, 2200, 1000)).toBeUndefined();
    expect(holdEnd(60_000, 1000, 1000)).toBeUndefined();
  });
});

describe("notStarted: workers whose engines never loaded", () => {
  const people = (worker: number, n: number): ParticipantPlan[] =>
    Array.from(
      { length: n },
      (_, i) => ({ room: `r${worker}`, identity: `p${worker}-${i}` }) as ParticipantPlan,
    );
  const children = [0, 1, 2, 3].map((worker) => ({ worker, participants: people(worker, 2) }));

  it("are those never ready and not already lost, each participant a join that never began (the generator's)", () => {
    // worker 0 ready; worker 1 died first (its people are worker_died already); 2 and 3 never ready
    const out = notStarted(children, new Set([0]), [{ worker: 1 }], 1_000, 34_500);
    expect(out.map((u) => u.worker)).toEqual([2, 3]);
    expect(out[0]?.participants.map((p) => p.identity)).toEqual(["p2-0", "p2-1"]);
    expect(out[0]?.event).toEqual({
      type: "join-failed",
      reason: "not_started",
      message:
        "the run ended (33.5 s after it began) while worker 2 was still loading its engines: it never reached LiveKit",
    });
  });

  it("is empty when every worker said ready", () => {
    expect(notStarted(children, new Set([0, 1, 2, 3]), [], 0, 10)).toEqual([]);
  });
});
