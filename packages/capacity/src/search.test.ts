import { describe, expect, it } from "vitest";
import { defaultResolution, nextStep, simulate, type SearchPlan } from "./search.js";

const plan = (p: Partial<SearchPlan> = {}): SearchPlan => ({
  start: 4,
  step: 4,
  max: 40,
  resolution: 1,
  ...p,
});
const kneeAt = (limit: number) => (rooms: number) => (rooms <= limit ? ("good" as const) : ("bad" as const));

describe("the knee search", () => {
  it("ramps by step, then bisects to the largest good and smallest bad room count", () => {
    const { tried, knee } = simulate(plan(), kneeAt(13));
    expect(tried.map((t) => t.rooms)).toEqual([4, 8, 12, 16, 14, 13]);
    expect(knee).toEqual({ kind: "found", good: 13, bad: 14 });
  });

  it.each([1, 2, 5, 9, 17, 23, 39])("finds a knee at %i rooms exactly with resolution 1", (limit) => {
    expect(simulate(plan({ start: 1, step: 8 }), kneeAt(limit)).knee).toEqual({
      kind: "found",
      good: limit,
      bad: limit + 1,
    });
  });

  it("stops bisecting once good and bad are within the resolution", () => {
    const { tried, knee } = simulate(plan({ step: 8, start: 8, resolution: 2 }), kneeAt(13));
    expect(tried.map((t) => t.rooms)).toEqual([8, 16, 12, 14]);
    expect(knee).toEqual({ kind: "found", good: 12, bad: 14 });
  });

  it("bisects below the first step when that one already breaks", () => {
    expect(simulate(plan({ start: 8 }), kneeAt(3)).knee).toEqual({ kind: "found", good: 3, bad: 4 });
    expect(simulate(plan({ start: 8 }), () => "bad").knee).toEqual({ kind: "none-good", bad: 1 });
  });

  it("says the knee is above max when every step is good, and never steps past max", () => {
    const { tried, knee } = simulate(plan({ start: 5, step: 10, max: 20 }), () => "good");
    expect(tried.map((t) => t.rooms)).toEqual([5, 15, 20]);
    expect(knee).toEqual({ kind: "above-max", good: 20 });
  });

  it("stops at a generator-bound step and keeps the last good one", () => {
    const { tried, knee } = simulate(plan(), (rooms) => (rooms < 12 ? "good" : "generator-bound"));
    expect(tried.map((t) => t.rooms)).toEqual([4, 8, 12]);
    expect(knee).toEqual({ kind: "generator-bound", rooms: 12, good: 8 });
  });

  it("stops when bisection hits a generator-bound step too", () => {
    const { knee } = simulate(plan(), (rooms) =>
      rooms <= 8 ? "good" : rooms === 16 ? "bad" : "generator-bound",
    );
    expect(knee).toEqual({ kind: "generator-bound", rooms: 12, good: 8 });
  });

  it("reads a good step above a bad one as noise: the knee lies below the smallest bad step", () => {
    const next = nextStep(plan(), [
      { rooms: 4, outcome: "good" },
      { rooms: 8, outcome: "bad" },
      { rooms: 12, outcome: "good" },
    ]);
    expect(next).toEqual({ kind: "run", rooms: 6, phase: "bisect" });
  });

  it("resolves to about a quarter of a step by default", () => {
    expect(defaultResolution(1)).toBe(1);
    expect(defaultResolution(4)).toBe(1);
    expect(defaultResolution(10)).toBe(3);
  });
});
