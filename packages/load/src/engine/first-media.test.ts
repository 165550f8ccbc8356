import { describe, expect, it } from "vitest";
import type { ParticipantEvent } from "@livekit-swarm/schema";
import { FirstMedia, VideoFirsts } from "./first-media.js";

describe("a probe's first video packet is never later than its first frame", () => {
  it("records the first packet at the first frame when the poll has not seen it yet, and not again after", () => {
    const firsts = new VideoFirsts();
    expect(firsts.frameDecoded()).toBe(true);
    // the poll then finds that stream's packets: already recorded
    expect(firsts.packetSeen()).toBe(false);
  });

  it("leaves a first packet the poll saw before the frame as it is", () => {
    const firsts = new VideoFirsts();
    expect(firsts.packetSeen()).toBe(true);
    expect(firsts.frameDecoded()).toBe(false);
  });

  it("with two tracks, implies only the packets the poll has not recorded", () => {
    const firsts = new VideoFirsts();
    expect(firsts.packetSeen()).toBe(true); // track A seen by the poll
    expect(firsts.frameDecoded()).toBe(false); // A's frame
    expect(firsts.frameDecoded()).toBe(true); // B's frame before the poll saw B
    expect(firsts.packetSeen()).toBe(false); // B found by the poll
    // a third stream (a re-created one, say) is a first packet of its own
    expect(firsts.packetSeen()).toBe(true);
  });
});

describe("FirstMedia", () => {
  function firsts(
    expected: { audio: number; video: number },
    probe = false,
  ): { m: FirstMedia; events: ParticipantEvent[] } {
    const events: ParticipantEvent[] = [];
    return { m: new FirstMedia(expected, probe, (e) => events.push(e)), events };
  }
  const look = (key: string, kind: string, packetsReceived: number, framesDecoded?: number) => ({
    key,
    kind,
    packetsReceived,
    framesDecoded,
  });

  it("reports each stream's first packet and first frame once, and is complete when every expected track showed", () => {
    const { m, events } = firsts({ audio: 1, video: 1 });
    m.seen(look("a", "audio", 0), 0.5);
    expect(events).toEqual([]);
    m.seen(look("a", "audio", 3), 1);
    m.seen(look("v", "video", 5, 0), 1);
    expect(m.complete).toBe(false);
    m.seen(look("a", "audio", 9), 1.25);
    m.seen(look("v", "video", 9, 2), 1.25, true);
    expect(m.complete).toBe(true);
    expect(events).toEqual([
      { type: "first-packet", kind: "audio", afterJoinStartS: 1 },
      { type: "first-packet", kind: "video", afterJoinStartS: 1 },
      { type: "first-frame", kind: "video", afterJoinStartS: 1.25, exact: false, late: true },
    ]);
  });

  it("a stream re-created by a reconnect is not a new track: no more first packets than expected tracks", () => {
    const { m, events } = firsts({ audio: 1, video: 0 });
    m.seen(look("a", "audio", 1), 1);
    m.seen(look("a-after-rejoin", "audio", 1), 9);
    expect(events.filter((e) => e.type === "first-packet")).toHaveLength(1);
  });

  it("skips streams of an unknown kind", () => {
    const { m, events } = firsts({ audio: 1, video: 1 });
    m.seen(look("?", "unknown", 5, 5), 1);
    expect(events).toEqual([]);
  });

  it("a probe's exact first frame brings its first packet along and replaces the looks' first frame", () => {
    const { m, events } = firsts({ audio: 0, video: 1 }, true);
    m.frameDecoded(0.8);
    // the poll finds the stream later: its first packet was already reported with the frame
    m.seen(look("v", "video", 40, 10), 1);
    expect(events).toEqual([
      { type: "first-packet", kind: "video", afterJoinStartS: 0.8 },
      { type: "first-frame", kind: "video", afterJoinStartS: 0.8, exact: true },
    ]);
  });
});
