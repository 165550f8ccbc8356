import { describe, expect, it } from "vitest";
import { Roster, connectionStates, isGone, isPresent } from "./roster.js";

describe("Roster", () => {
  it("returns the state a participant leaves, undefined on its first move", () => {
    const roster = new Roster();
    expect(roster.stateOf("r", "p")).toBeUndefined();
    expect(roster.move("r", "p", "connected")).toBeUndefined();
    expect(roster.move("r", "p", "reconnecting")).toBe("connected");
    expect(roster.move("r", "p", "connected")).toBe("reconnecting");
    expect(roster.move("r", "p", "disconnected")).toBe("connected");
    expect(roster.stateOf("r", "p")).toBe("disconnected");
  });

  it("counts a reconnect once per episode, however often the SDK repeats it", () => {
    const roster = new Roster();
    roster.move("r", "p", "connected");
    roster.move("r", "p", "reconnecting");
    roster.move("r", "p", "reconnecting");
    roster.move("r", "p", "connected");
    roster.move("r", "p", "reconnecting");
    expect(roster.reconnectsOf("r", "p")).toBe(2);
    expect(roster.reconnectsOf("r", "nobody")).toBe(0);
  });

  it("counts a reconnect that is a participant's first event", () => {
    const roster = new Roster();
    roster.move("r", "p", "reconnecting");
    expect(roster.reconnectsOf("r", "p")).toBe(1);
  });

  it("keeps the same identity in two rooms apart", () => {
    const roster = new Roster();
    roster.move("a", "p", "connected");
    roster.move("b", "p", "failed");
    expect(roster.stateOf("a", "p")).toBe("connected");
    expect(roster.stateOf("b", "p")).toBe("failed");
    expect(roster.count((s) => s === "connected")).toBe(1);
    expect([...roster.entries()]).toEqual([
      { room: "a", identity: "p", state: "connected", reconnects: 0 },
      { room: "b", identity: "p", state: "failed", reconnects: 0 },
    ]);
  });

  it("does not confuse a room/identity pair whose names contain the separator others use", () => {
    const roster = new Roster();
    roster.move("a/b", "c", "connected");
    roster.move("a", "b/c", "disconnected");
    expect(roster.count(isPresent)).toBe(1);
    expect(roster.count(isGone)).toBe(1);
  });

  it("tells present from gone for every state", () => {
    expect(connectionStates.map((s) => [s, isPresent(s), isGone(s)])).toEqual([
      ["connected", true, false],
      ["reconnecting", true, false],
      ["disconnected", false, true],
      ["failed", false, true],
    ]);
    expect(isPresent(undefined)).toBe(false);
    expect(isGone(undefined)).toBe(false);
  });
});
