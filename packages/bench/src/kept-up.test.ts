import { describe, expect, it } from "vitest";
import { keptUp } from "./kept-up.js";

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
      reason: "7/8 tracks receiving",
    });
  });
});
