import { describe, expect, it } from "vitest";
import { iceNominated } from "./wait.js";

const pc = (iceConnectionState: string, nominated: unknown[]) => ({
  iceConnectionState,
  iceTransports: nominated.map((n) => ({ connection: { nominated: n } })),
});

describe("iceNominated", () => {
  it("holds once every ICE transport has a nominated pair, whatever werift's state word", () => {
    expect(iceNominated(pc("connected", [{}]))).toBe(true);
    expect(iceNominated(pc("completed", [{}]))).toBe(true);
    expect(iceNominated(pc("checking", [{}]))).toBe(true);
  });

  it("does not hold after a restart cleared the pair, though werift reads `completed` (candidates gathered)", () => {
    expect(iceNominated(pc("completed", [undefined]))).toBe(false);
    expect(iceNominated(pc("completed", [{}, undefined]))).toBe(false);
    expect(iceNominated(pc("completed", []))).toBe(false);
  });

  it("does not hold once ICE failed, disconnected or closed, a pair still named", () => {
    for (const state of ["failed", "disconnected", "closed"])
      expect(iceNominated(pc(state, [{}]))).toBe(false);
  });
});
