import { describe, expect, it } from "vitest";
import { QualityRoster } from "./roster.js";

describe("QualityRoster", () => {
  it("hands out quality time as the participant's clock moves, and stops at departure", () => {
    const roster = new QualityRoster();
    roster.move("r", "p", "connected", 0);
    expect(roster.changeQuality("r", "p", "good", 1000)).toBeUndefined();
    expect(roster.advance("r", "p", 6000)).toEqual({ quality: "good", seconds: 5 });
    expect(roster.changeQuality("r", "p", "poor", 7000)).toEqual({ quality: "good", seconds: 1 });
    expect(roster.move("r", "p", "reconnecting", 8000)).toEqual({ previous: "connected", closed: undefined });
    expect(roster.move("r", "p", "disconnected", 9000)).toEqual({
      previous: "reconnecting",
      closed: { quality: "poor", seconds: 2 },
    });
    expect(roster.advance("r", "p", 20_000)).toBeUndefined();
    expect(roster.changeQuality("r", "p", "good", 21_000)).toBeUndefined();
  });

  it("never hands out negative time when a timestamp arrives late", () => {
    const roster = new QualityRoster();
    roster.changeQuality("r", "p", "good", 5000);
    expect(roster.advance("r", "p", 4000)).toBeUndefined();
    expect(roster.changeQuality("r", "p", "poor", 4500)).toBeUndefined();
    // the late change starts at the latest time already counted, so nothing is counted twice
    expect(roster.advance("r", "p", 6000)).toEqual({ quality: "poor", seconds: 1 });
  });

  it("keeps participants apart", () => {
    const roster = new QualityRoster();
    roster.changeQuality("r", "a", "good", 0);
    roster.changeQuality("r", "b", "poor", 0);
    expect(roster.advance("r", "a", 3000)).toEqual({ quality: "good", seconds: 3 });
    expect(roster.advance("r", "b", 1000)).toEqual({ quality: "poor", seconds: 1 });
    expect(roster.advance("r", "c", 1000)).toBeUndefined();
  });
});
