import { describe, expect, it } from "vitest";
import type { ParticipantEvent } from "../run/messages.js";
import { MediaWatch, PeerWatch } from "./watch.js";

const audio = (key: string, packetsReceived: number) => ({ key, kind: "audio" as const, packetsReceived });

function watch(): { w: MediaWatch; events: ParticipantEvent[] } {
  const events: ParticipantEvent[] = [];
  return { w: new MediaWatch((e) => events.push(e)), events };
}

describe("MediaWatch: media flow per subscribed track, from looks at packet counts", () => {
  it("says flowing at the first look with packets, stalled after two looks without, flowing again", () => {
    const { w, events } = watch();
    w.subscribed("pub/audio", "audio");
    w.look([audio("s1", 10)], 1000);
    w.look([audio("s1", 20)], 1250);
    w.look([audio("s1", 20)], 1500);
    expect(events).toHaveLength(1);
    w.look([audio("s1", 20)], 1750);
    w.look(undefined, 2000);
    w.look([audio("s1", 25)], 2250);
    expect(events).toEqual([
      { type: "media", track: "pub/audio", kind: "audio", flowing: true, atMs: 1000 },
      { type: "media", track: "pub/audio", kind: "audio", flowing: false, atMs: 1250 },
      { type: "media", track: "pub/audio", kind: "audio", flowing: true, atMs: 2250 },
    ]);
  });

  it("holds a stream seen before its subscription and dates its flow from its first packets", () => {
    const { w, events } = watch();
    w.look([audio("s1", 5)], 1000);
    expect(events).toEqual([]);
    w.subscribed("pub/audio", "audio");
    w.look([audio("s1", 9)], 1250);
    expect(events).toEqual([{ type: "media", track: "pub/audio", kind: "audio", flowing: true, atMs: 1000 }]);
  });

  it("names a stream no subscription claims within 2 s unknown", () => {
    const { w, events } = watch();
    w.look([audio("s1", 5)], 1000);
    w.look([audio("s1", 6)], 2999);
    expect(events).toEqual([]);
    w.look([audio("s1", 7)], 3000);
    expect(events).toEqual([
      { type: "media", track: "unknown-audio-1", kind: "audio", flowing: true, atMs: 1000 },
    ]);
  });

  it("gives a republished track's new stream the same name (a full reconnect)", () => {
    const { w, events } = watch();
    w.subscribed("pub/audio", "audio");
    w.look([audio("old", 10)], 1000);
    w.look([], 1250);
    w.look([], 1500);
    w.subscribed("pub/audio", "audio");
    w.look([audio("new", 3)], 1750);
    expect(events.map((e) => (e.type === "media" ? `${e.track} ${e.flowing}` : e.type))).toEqual([
      "pub/audio true",
      "pub/audio false",
      "pub/audio true",
    ]);
  });

  it("lets a subscription that comes after its stream was named unknown claim it, dated from its first packets", () => {
    const { w, events } = watch();
    w.subscribed("pub/audio", "audio");
    w.look([audio("old", 10)], 1000);
    w.look([], 1250);
    w.look([], 1500);
    // after a full reconnect the new stream's packets come 2 s and more before its subscription event
    w.look([audio("new", 3)], 2000);
    w.look([audio("new", 9)], 4000);
    w.subscribed("pub/audio", "audio");
    w.look([audio("new", 12)], 4250);
    w.look([audio("new", 15)], 4500);
    expect(events.map((e) => (e.type === "media" ? `${e.track} ${e.flowing} ${e.atMs}` : e.type))).toEqual([
      "pub/audio true 1000",
      "pub/audio false 1000",
      "unknown-audio-1 true 2000",
      "pub/audio true 2000",
    ]);
    // a later stream of the same kind with no subscription is unknown again, not the claimed one
    w.look([audio("new", 18), audio("other", 1)], 4750);
    w.look([audio("new", 21), audio("other", 2)], 7000);
    expect(events.at(-1)).toEqual({
      type: "media",
      track: "unknown-audio-2",
      kind: "audio",
      flowing: true,
      atMs: 4750,
    });
  });

  it("never hands a subscription an unknown stream that stopped flowing", () => {
    const { w, events } = watch();
    w.look([audio("stray", 1)], 1000);
    w.look([audio("stray", 2)], 3000);
    w.look([audio("stray", 2)], 3250);
    w.look([audio("stray", 2)], 3500);
    w.subscribed("pub/audio", "audio");
    w.look([audio("stray", 2), audio("real", 4)], 3750);
    expect(events.map((e) => (e.type === "media" ? `${e.track} ${e.flowing}` : e.type))).toEqual([
      "unknown-audio-1 true",
      "unknown-audio-1 false",
      "pub/audio true",
    ]);
  });

  it("names a stream that says its track (lean) without a subscription, whatever order the streams come in", () => {
    const { w, events } = watch();
    const named = (key: string, track: string, n: number) => ({ ...audio(key, n), track });
    // two publishers' audio first seen in one look: order says nothing, the names do
    w.look([named("s2", "pub-b/audio", 4), named("s1", "pub-a/audio", 7)], 1000);
    w.look([named("s2", "pub-b/audio", 8), named("s1", "pub-a/audio", 7)], 1250);
    w.look([named("s2", "pub-b/audio", 12), named("s1", "pub-a/audio", 7)], 1500);
    // our full rejoin: the old streams are gone, a new one carries pub-a's track again
    w.look([named("s9", "pub-a/audio", 2)], 1750);
    expect(events.map((e) => (e.type === "media" ? `${e.track} ${e.flowing} ${e.atMs}` : e.type))).toEqual([
      "pub-b/audio true 1000",
      "pub-a/audio true 1000",
      "pub-a/audio false 1000",
      "pub-a/audio true 1750",
    ]);
    // a named stream takes no subscription from a stream that is not
    w.subscribed("pub-c/audio", "audio");
    w.look([named("s9", "pub-a/audio", 3), audio("anon", 1)], 2000);
    expect(events.at(-1)).toEqual({
      type: "media",
      track: "pub-c/audio",
      kind: "audio",
      flowing: true,
      atMs: 2000,
    });
  });
});

describe("PeerWatch: the remote participants one sees, told when they change", () => {
  it("reports the sorted set at the first look and again only when it changes", () => {
    const events: ParticipantEvent[] = [];
    const p = new PeerWatch((e) => events.push(e));
    p.look(["sub-2", "pub-0"]);
    p.look(["pub-0", "sub-2"]);
    p.look(["pub-0"]);
    p.look([]);
    expect(events).toEqual([
      { type: "peers", identities: ["pub-0", "sub-2"] },
      { type: "peers", identities: ["pub-0"] },
      { type: "peers", identities: [] },
    ]);
  });
});
