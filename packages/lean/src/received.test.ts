import { describe, expect, it } from "vitest";
import { ReceivedStreams } from "./received.js";

const packets = (streams: ReceivedStreams, ssrc: number, n: number, firstSeq = 100): boolean[] => {
  const fresh: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const { stream, fresh: isFresh } = streams.stream(ssrc, "audio", 48_000);
    fresh.push(isFresh);
    stream.onPacket((firstSeq + i) & 0xffff, i * 960, 80, i * 20);
  }
  return fresh;
};

describe("ReceivedStreams", () => {
  it("reports a new track once, at its first packet", () => {
    const streams = new ReceivedStreams();
    expect(packets(streams, 7, 3)).toEqual([true, false, false]);
  });

  it("after a full rejoin: the old stream's last window once, then only the new stream, never a count going backwards", () => {
    const streams = new ReceivedStreams();
    packets(streams, 7, 10);
    expect(streams.windows().map((w) => [w.key, w.received])).toEqual([["ssrc:7", 10]]);
    packets(streams, 7, 5, 110);
    streams.endSession();
    // the replacement stream (new SSRC, sequence numbers from elsewhere) is the same track coming back
    expect(packets(streams, 9, 4, 60_000)).toEqual([false, false, false, false]);
    const after = streams.windows();
    expect(after.map((w) => [w.key, w.received, w.expected, w.lost])).toEqual([
      ["ssrc:7", 5, 5, 0],
      ["ssrc:9@1", 4, 4, 0],
    ]);
    expect(streams.windows().map((w) => w.key)).toEqual(["ssrc:9@1"]);
    expect([...streams.totals().keys()]).toEqual(["ssrc:9@1"]);
  });

  it("keys a reused SSRC by its session, and a track beyond the replaced ones is new again", () => {
    const streams = new ReceivedStreams();
    packets(streams, 7, 2);
    streams.endSession();
    expect(packets(streams, 7, 1)).toEqual([false]);
    expect(packets(streams, 8, 1)).toEqual([true]);
    expect(streams.windows().map((w) => w.key)).toEqual(["ssrc:7", "ssrc:7@1", "ssrc:8@1"]);
  });

  it("video streams end and come back with audio ones: no new first frame, keys by session, latencies of the ended one kept", () => {
    const streams = new ReceivedStreams();
    const first = streams.video(5);
    expect(first.fresh).toBe(true);
    expect(streams.video(5)).toEqual({ stream: first.stream, fresh: false });
    packets(streams, 7, 1);
    streams.endSession();
    const again = streams.video(6);
    expect(again.fresh).toBe(false);
    expect(again.stream.key).toBe("ssrc:6@1");
    expect(streams.video(8).fresh).toBe(true);
    expect(streams.windows().map((w) => [w.key, w.kind])).toEqual([
      ["ssrc:5", "video"],
      ["ssrc:7", "audio"],
      ["ssrc:6@1", "video"],
      ["ssrc:8@1", "video"],
    ]);
    expect([...streams.totals().keys()]).toEqual(["ssrc:6@1", "ssrc:8@1"]);
  });

  it("counts each current stream's packets for a drill's watch; a full rejoin's new streams start from zero under new keys", () => {
    const streams = new ReceivedStreams();
    packets(streams, 7, 10);
    streams.video(5).stream.onOriginal(1, 0, false, new Uint8Array(10), 0);
    expect(streams.packetCounts()).toEqual([
      { key: "ssrc:7", kind: "audio", packetsReceived: 10 },
      { key: "ssrc:5", kind: "video", packetsReceived: 1 },
    ]);
    streams.endSession();
    expect(streams.packetCounts()).toEqual([]);
    packets(streams, 7, 3, 500);
    expect(streams.packetCounts()).toEqual([{ key: "ssrc:7@1", kind: "audio", packetsReceived: 3 }]);
  });
});
