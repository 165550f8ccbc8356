import type { RTCRtpReceiver } from "werift";
import { describe, expect, it } from "vitest";
import { ReceivedStreams } from "./received.js";
import type { ClearVideoPacket } from "./video-bypass.js";
import { VideoReceiving } from "./video-track.js";

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

  it("a receiver given another SSRC within the session (a transceiver reused): the old stream's last window once, the new one a track coming back", () => {
    const streams = new ReceivedStreams();
    expect(packets(streams, 7, 10)).toContain(true);
    packets(streams, 9, 4);
    streams.retire(7);
    // its sequence base 2,000 ahead of the old stream's: a stream of its own, nothing lost
    expect(packets(streams, 8, 5, 2110)).toEqual([false, false, false, false, false]);
    expect(streams.windows().map((w) => [w.key, w.received, w.expected, w.lost])).toEqual([
      ["ssrc:7", 10, 10, 0],
      ["ssrc:9", 4, 4, 0],
      ["ssrc:8", 5, 5, 0],
    ]);
    expect([...streams.totals().keys()]).toEqual(["ssrc:9", "ssrc:8"]);
    // an SSRC that never counted a packet has no stream to end: the next one is new
    streams.retire(11);
    expect(packets(streams, 12, 1)).toEqual([true]);
  });
});

describe("VideoReceiving across a receiver's SSRCs", () => {
  const packet = (ssrc: number, sequenceNumber: number): ClearVideoPacket => ({
    payloadType: 96,
    ssrc,
    sequenceNumber,
    timestamp: sequenceNumber * 4500,
    marker: true,
    payload: new Uint8Array([0x10, 0, 0, 0]),
    payloadBytes: 4,
    headerBytes: 12,
    absCaptureTime: undefined,
  });

  it("moves to a new SSRC's stream at its first original (sequence base apart), asks it for keyframes, and leaves the old SSRC's late packets uncounted", () => {
    const plis: number[] = [];
    const receiver = {
      handleRtpBySsrc: () => undefined,
      onPacketLost: { subscribe: () => ({ unSubscribe: () => undefined }) },
      nack: { addPacket: () => undefined, close: () => undefined },
      sendRtcpPLI: (ssrc: number) => {
        plis.push(ssrc);
        return Promise.resolve();
      },
    } as unknown as RTCRtpReceiver;
    const streams = new ReceivedStreams();
    const first = streams.video(1);
    const firsts: string[] = [];
    const receiving = new VideoReceiving(receiver, () => [], first.stream, {
      firstPacket: () => firsts.push("packet"),
      firstFrame: () => firsts.push("frame"),
      nextStream: (from, ssrc) => {
        streams.retire(from);
        const next = streams.video(ssrc);
        firsts.push(`next fresh=${String(next.fresh)}`);
        return next.stream;
      },
    });
    for (let i = 0; i < 10; i++) receiving.count(packet(1, 1000 + i), i * 50);
    receiving.requestKeyframe();
    // 1,500 ahead, then below: each a stream of its own, no packet lost
    for (let i = 0; i < 10; i++) receiving.count(packet(2, 2500 + i), 500 + i * 50);
    receiving.count(packet(1, 1010), 1000);
    for (let i = 0; i < 5; i++) receiving.count(packet(3, 10 + i), 1100 + i * 50);
    receiving.requestKeyframe();
    expect(plis).toEqual([1, 3]);
    expect(firsts.filter((f) => f !== "frame")).toEqual(["packet", "next fresh=false", "next fresh=false"]);
    expect(streams.windows().map((w) => [w.key, w.received, w.expected, w.lost])).toEqual([
      ["ssrc:1", 10, 10, 0],
      ["ssrc:2", 10, 10, 0],
      ["ssrc:3", 5, 5, 0],
    ]);
    expect(receiving.inbound.key).toBe("ssrc:3");
  });
});
