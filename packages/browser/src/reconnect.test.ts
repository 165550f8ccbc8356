import { describe, expect, it } from "vitest";
import { ReconnectEpisodes, disconnectReasonName } from "./reconnect.js";

describe("ReconnectEpisodes: livekit-client's reconnect events as the engines' pair", () => {
  it("a resume: SignalReconnecting then Reconnected, timed from the first event", () => {
    const e = new ReconnectEpisodes();
    expect(e.signalReconnecting(1000)).toEqual({ type: "reconnecting" });
    expect(e.open).toBe(true);
    expect(e.reconnected(1750, false)).toEqual({ type: "reconnected", durationS: 0.75, path: "resume" });
    expect(e.open).toBe(false);
  });

  it("a full reconnect: Reconnecting (the engine restarts) then Reconnected", () => {
    const e = new ReconnectEpisodes();
    expect(e.reconnecting(2000)).toEqual({ type: "reconnecting" });
    expect(e.reconnected(5500, false)).toEqual({ type: "reconnected", durationS: 3.5, path: "full" });
  });

  it("a resume that fails and turns into a full reconnect is one episode, full, timed from its start", () => {
    const e = new ReconnectEpisodes();
    expect(e.signalReconnecting(1000)).toEqual({ type: "reconnecting" });
    expect(e.signalReconnecting(1100)).toBeUndefined();
    expect(e.reconnecting(4000)).toBeUndefined();
    expect(e.reconnected(9000, false)).toEqual({ type: "reconnected", durationS: 8, path: "full" });
    // the next episode starts clean
    expect(e.signalReconnecting(20_000)).toEqual({ type: "reconnecting" });
    expect(e.reconnected(20_500, false)).toMatchObject({ path: "resume" });
  });

  it("a resume is full when tracks were republished or the sid changed", () => {
    const e = new ReconnectEpisodes();
    e.signalReconnecting(0);
    e.published();
    expect(e.reconnected(100, false).path).toBe("full");
    e.signalReconnecting(200);
    expect(e.reconnected(300, true).path).toBe("full");
  });

  it("a publish outside an episode (the first publish after joining) does not mark the next one", () => {
    const e = new ReconnectEpisodes();
    e.published();
    e.signalReconnecting(0);
    expect(e.reconnected(100, false).path).toBe("resume");
  });

  it("a Reconnected with no episode open is reported, 0 s long, its path from the sid", () => {
    const e = new ReconnectEpisodes();
    expect(e.reconnected(100, false)).toEqual({ type: "reconnected", durationS: 0, path: "resume" });
    expect(e.reconnected(100, true)).toMatchObject({ path: "full" });
  });
});

describe("disconnectReasonName: the protocol's DisconnectReason in snake case", () => {
  // the shape of a numeric TypeScript enum: names by number and numbers by name
  const names: Record<number, string> = { 0: "UNKNOWN_REASON", 1: "CLIENT_INITIATED", 5: "ROOM_DELETED" };

  it.each([
    [1, "client_initiated"],
    [5, "room_deleted"],
    [0, "unknown_reason"],
    [undefined, "unknown_reason"],
    [42, "reason_42"],
  ])("%s -> %s", (reason, name) => {
    expect(disconnectReasonName(reason, names)).toBe(name);
  });
});
