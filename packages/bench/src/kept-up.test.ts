import { describe, expect, it } from "vitest";
import type { RunSummary } from "@livekit-swarm/load";
import { keptUp, keptUpFigures } from "./kept-up.js";

const base = { joined: 10, expectedParticipants: 10, joinLagMs: 0, tracksReceiving: 8, tracksExpected: 8 };

describe("keptUp", () => {
  it("holds when all joined on time and every track receives", () => {
    expect(keptUp(base, 8_000)).toEqual({ ok: true });
  });
  it("names missing joins, late joins and silent tracks", () => {
    expect(keptUp({ ...base, joined: 9 }, 8_000)).toEqual({ ok: false, reason: "9/10 participants joined" });
    expect(keptUp({ ...base, joinLagMs: 9_000 }, 8_000).ok).toBe(false);
    expect(keptUp({ ...base, tracksReceiving: 7 }, 8_000)).toEqual({
      ok: false,
      reason: "7/8 tracks receiving at the end",
    });
  });
  it("tells tracks that stopped from tracks that never received", () => {
    expect(keptUp({ ...base, tracksReceiving: 7, tracksEverReceived: 8 }, 8_000)).toEqual({
      ok: false,
      reason: "7/8 tracks receiving at the end (all 8 received at some point: some stopped)",
    });
    expect(keptUp({ ...base, tracksReceiving: 5, tracksEverReceived: 6 }, 8_000)).toEqual({
      ok: false,
      reason: "5/8 tracks receiving at the end (2 never received)",
    });
  });
});

describe("keptUpFigures", () => {
  // issue 22: 30 rooms of 1+4 where first-packet events covered 85 of 120 tracks, yet every
  // subscriber had packets in its last window; the summary's receiving comes from the windows
  const summary = {
    participants: { planned: 150, joined: 150 },
    tracks: {
      expected: { audio: 120, video: 0 },
      receiving: { audio: 120, video: 0 },
      everReceived: { audio: 120, video: 0 },
      decodingVideo: 0,
    },
  } as unknown as RunSummary;

  it("takes receiving from the summary's samples-based counts, so a loaded run keeps up", () => {
    const f = keptUpFigures(summary, 1200);
    expect(f).toEqual({
      joined: 150,
      expectedParticipants: 150,
      joinLagMs: 1200,
      tracksReceiving: 120,
      tracksEverReceived: 120,
      tracksExpected: 120,
    });
    expect(keptUp(f, 8_000)).toEqual({ ok: true });
  });
});
