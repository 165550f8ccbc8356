import { describe, expect, it } from "vitest";
import type { ParticipantEvent } from "../run/messages.js";
import { watchedStreams } from "./browser-watch.js";
import { MediaWatch } from "./watch.js";

const inbound = (id: string, packetsReceived: unknown) => ({ type: "inbound-rtp", id, packetsReceived });

describe("watchedStreams: a page's subscribed tracks as MediaWatch streams", () => {
  it("names each receiver's inbound-rtp by publisher and kind, keyed by subscription and stats id", () => {
    expect(
      watchedStreams([
        { publisher: "p0", kind: "audio", subscription: 1, inbound: [inbound("IT01A1", 50)] },
        { publisher: "p0", kind: "video", subscription: 2, inbound: [inbound("IT01V2", 30)] },
      ]),
    ).toEqual([
      { key: "1:IT01A1", kind: "audio", packetsReceived: 50, track: "p0/audio" },
      { key: "2:IT01V2", kind: "video", packetsReceived: 30, track: "p0/video" },
    ]);
  });

  it("leaves out entries without a usable packet count or id, and tracks without a receiver report", () => {
    expect(
      watchedStreams([
        { publisher: "p0", kind: "audio", subscription: 1, inbound: [] },
        { publisher: "p1", kind: "audio", subscription: 2, inbound: [inbound("a", undefined)] },
        { publisher: "p2", kind: "audio", subscription: 3, inbound: [inbound("b", Number.NaN)] },
        { publisher: "p3", kind: "audio", subscription: 4, inbound: [{ packetsReceived: 3 }] },
      ]),
    ).toEqual([]);
  });

  it("through MediaWatch: a track stalls at a reconnect and flows again on its new receiver, whose count starts over", () => {
    const events: ParticipantEvent[] = [];
    const watch = new MediaWatch((e) => events.push(e));
    const look = (subscription: number, packets: number, now: number): void => {
      watch.look(
        watchedStreams([
          { publisher: "p0", kind: "audio", subscription, inbound: [inbound("IT01A1", packets)] },
        ]),
        now,
      );
    };
    look(1, 500, 1000);
    look(1, 512, 1250);
    // the old peer connection is gone: no streams while reconnecting
    watch.look(watchedStreams([]), 1500);
    watch.look(watchedStreams([]), 1750);
    // subscribed again: same stats id in a new peer connection, its count far below the old one's
    look(2, 4, 2000);
    expect(events).toEqual([
      { type: "media", track: "p0/audio", kind: "audio", flowing: true, atMs: 1000 },
      { type: "media", track: "p0/audio", kind: "audio", flowing: false, atMs: 1250 },
      { type: "media", track: "p0/audio", kind: "audio", flowing: true, atMs: 2000 },
    ]);
  });
});
