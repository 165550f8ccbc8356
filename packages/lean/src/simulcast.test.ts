import { VideoQuality } from "@livekit/protocol";
import {
  GenericNack,
  PictureLossIndication,
  RtcpPayloadSpecificFeedback,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  RTP_EXTENSION_URI,
  type RtcpPacket,
  type RtpHeader,
} from "werift";
import { describe, expect, it } from "vitest";
import { LeanError } from "./errors.js";
import {
  lowerLayerSizes,
  SimulcastPublication,
  simulcastExtensionIds,
  simulcastRids,
  simulcastVideoLayers,
  type LayerTransport,
} from "./simulcast.js";
import type { TickHandler } from "./pacer.js";
import type { VideoLoop } from "./video-media.js";
import { startsKeyframe } from "./vp8.js";
import { cameraTrackRequest } from "./track-requests.js";

const key = (n: number): Buffer =>
  Buffer.concat([Buffer.from([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a]), Buffer.alloc(n, 1)]);
const inter = (n: number): Buffer => Buffer.alloc(n, 0x11);

function loop(height: number, frames: Buffer[], bitrateKbps = 100): VideoLoop {
  return {
    codec: "vp8",
    width: (height * 16) / 9,
    height,
    fps: 25,
    bitrateKbps,
    frames,
    sha256: "",
    file: "",
  };
}

const IDS = { mid: 1, rid: 10, repairedRid: 11, absCaptureTime: 5 };

/** A DTLS transport that keeps what is written and hands the test's RTCP to the publication. */
class FakeTransport implements LayerTransport {
  readonly rtp: { payload: Buffer; header: RtpHeader }[] = [];
  readonly rtcp: RtcpPacket[][] = [];
  private handler: ((packet: RtcpPacket) => void) | undefined;
  readonly onRtcp = {
    subscribe: (handler: (packet: RtcpPacket) => void) => {
      this.handler = handler;
      return {
        unSubscribe: () => {
          this.handler = undefined;
        },
      };
    },
  };
  sendRtp(payload: Buffer, header: RtpHeader): Promise<number> {
    this.rtp.push({ payload, header });
    return Promise.resolve(payload.length);
  }
  sendRtcp(packets: RtcpPacket[]): Promise<number | undefined> {
    this.rtcp.push(packets);
    return Promise.resolve(undefined);
  }
  receive(packet: RtcpPacket): void {
    this.handler?.(packet);
  }
}

function publication(now = () => 1_700_000_000_000) {
  const transport = new FakeTransport();
  const handlers: TickHandler[] = [];
  const pacer = {
    add: (h: TickHandler) => {
      handlers.push(h);
      return () => handlers.splice(handlers.indexOf(h), 1);
    },
  };
  const p = new SimulcastPublication(
    [180, 360, 720].map((h) => loop(h, [key(h / 10), inter(h / 10), inter(h / 10)])),
    transport,
    pacer,
    { mid: "1", ids: IDS, payloadType: 96, rtxPayloadType: 97, now },
  );
  const tick = (from: number, to: number): void => {
    for (let t = from; t < to; t++) for (const h of [...handlers]) h(t);
  };
  return { p, transport, tick, handlers };
}

const ext = (header: RtpHeader, id: number): string | undefined => {
  const e = header.extensions.find((x) => x.id === id);
  return e === undefined ? undefined : e.payload.toString();
};

describe("lowerLayerSizes", () => {
  it("cuts a track into the 180p/360p ladder under its height, at its aspect ratio", () => {
    expect(lowerLayerSizes(1280, 720)).toEqual([
      { width: 320, height: 180 },
      { width: 640, height: 360 },
    ]);
    expect(lowerLayerSizes(960, 540)).toEqual([
      { width: 320, height: 180 },
      { width: 640, height: 360 },
    ]);
    expect(lowerLayerSizes(640, 360)).toEqual([{ width: 320, height: 180 }]);
    expect(lowerLayerSizes(640, 480)).toEqual([
      { width: 240, height: 180 },
      { width: 480, height: 360 },
    ]);
    // the smallest loop has nothing under it: one layer
    expect(lowerLayerSizes(320, 180)).toEqual([]);
  });
});

describe("simulcast signalling", () => {
  it("announces each layer from LOW up with its size and bitrate, and offers q;h;f in that order", () => {
    const layers = [loop(180, [], 160), loop(360, [], 450), loop(720, [], 1700)];
    expect(simulcastVideoLayers(layers).map((l) => [l.quality, l.width, l.height, l.bitrate])).toEqual([
      [VideoQuality.LOW, 320, 180, 160_000],
      [VideoQuality.MEDIUM, 640, 360, 450_000],
      [VideoQuality.HIGH, 1280, 720, 1_700_000],
    ]);
    const request = cameraTrackRequest("cam", loop(720, [], 1700), layers.slice(0, 2));
    expect(request.layers.map((l) => l.quality)).toEqual([
      VideoQuality.LOW,
      VideoQuality.MEDIUM,
      VideoQuality.HIGH,
    ]);
    expect(cameraTrackRequest("cam", loop(720, [], 1700)).layers.map((l) => l.quality)).toEqual([
      VideoQuality.HIGH,
    ]);
    expect(simulcastRids(2)).toEqual([
      { rid: "q", direction: "send" },
      { rid: "h", direction: "send" },
    ]);
  });

  it("reads the extension ids from the server's answer and refuses one without rid", () => {
    const answer = [
      "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
      `a=extmap:4 ${RTP_EXTENSION_URI.sdesMid}`,
      `a=extmap:10 ${RTP_EXTENSION_URI.sdesRTPStreamID}`,
      `a=extmap:11 ${RTP_EXTENSION_URI.repairedRtpStreamId}`,
      "",
    ].join("\r\n");
    expect(simulcastExtensionIds(answer)).toEqual({
      mid: 4,
      rid: 10,
      repairedRid: 11,
      absCaptureTime: undefined,
    });
    const noRid = answer.replace(/^a=extmap:10 .*\r\n/m, "");
    expect(() => simulcastExtensionIds(noRid)).toThrow(LeanError);
  });
});

describe("SimulcastPublication", () => {
  it("sends every layer on its own SSRC with its own sequence numbers, each packet carrying mid and its rid", () => {
    const { p, transport, tick } = publication();
    tick(0, 4); // frames due at 0 and 40 ms: two frames per layer
    const ssrcs = p.layers.map((l) => l.ssrc);
    expect(new Set(ssrcs).size).toBe(3);
    for (const [i, layer] of p.layers.entries()) {
      const packets = transport.rtp.filter((r) => r.header.ssrc === layer.ssrc);
      expect(packets).toHaveLength(2);
      expect(packets.map((r) => ext(r.header, IDS.rid))).toEqual([["q", "h", "f"][i], ["q", "h", "f"][i]]);
      expect(packets.every((r) => ext(r.header, IDS.mid) === "1" && r.header.payloadType === 96)).toBe(true);
      const [a, b] = packets.map((r) => r.header.sequenceNumber);
      expect(((b ?? 0) - (a ?? 0)) & 0xffff).toBe(1);
      // extensions in id order, abs-capture-time among them
      expect(packets[0]?.header.extensions.map((e) => e.id)).toEqual([1, 5, 10]);
    }
    expect(p.totals).toMatchObject({
      packets: 6,
      frames: 6,
      keyframes: 3,
      bytes: transport.rtp.reduce((n, r) => n + r.payload.length, 0),
    });
  });

  it("answers a NACK for one layer on that layer's RTX SSRC with the repaired rid and the original sequence number", () => {
    const { p, transport, tick } = publication();
    tick(0, 1);
    const layer = p.layers[1];
    if (layer === undefined) throw new Error("no layer");
    const original = transport.rtp.find((r) => r.header.ssrc === layer.ssrc);
    if (original === undefined) throw new Error("nothing sent");
    const seq = original.header.sequenceNumber;
    transport.rtp.length = 0;
    transport.receive(
      new RtcpTransportLayerFeedback({
        feedback: new GenericNack({ mediaSourceSsrc: layer.ssrc, lost: [seq, (seq + 100) & 0xffff] }),
      }),
    );
    // one retransmission: the other sequence number was never sent
    expect(transport.rtp).toHaveLength(1);
    const [rtx] = transport.rtp;
    expect(rtx?.header).toMatchObject({
      ssrc: layer.rtxSsrc,
      payloadType: 97,
      timestamp: original.header.timestamp,
    });
    expect(rtx?.payload.readUInt16BE(0)).toBe(seq);
    expect(rtx?.payload.subarray(2)).toEqual(original.payload);
    expect(ext(rtx?.header as RtpHeader, IDS.repairedRid)).toBe("h");
    expect(ext(rtx?.header as RtpHeader, IDS.rid)).toBeUndefined();
    // a NACK for an SSRC that is not ours is somebody else's
    transport.receive(
      new RtcpTransportLayerFeedback({ feedback: new GenericNack({ mediaSourceSsrc: 12345, lost: [seq] }) }),
    );
    expect(transport.rtp).toHaveLength(1);
    expect(p.totals.nack).toBe(1);
  });

  it("restarts only the layer a PLI or a new FIR names at its keyframe", () => {
    const { p, transport, tick } = publication();
    tick(0, 4); // keyframe, then an inter frame on every layer
    const [low, mid, high] = p.layers;
    if (low === undefined || mid === undefined || high === undefined) throw new Error("no layers");
    transport.rtp.length = 0;
    transport.receive(
      new RtcpPayloadSpecificFeedback({ feedback: new PictureLossIndication({ mediaSsrc: mid.ssrc }) }),
    );
    // werift exports no FullIntraRequest class: its shape, as werift parses one
    type Feedback = ConstructorParameters<typeof RtcpPayloadSpecificFeedback>[0];
    const fir = (seq: number) =>
      new RtcpPayloadSpecificFeedback({
        feedback: {
          fir: [{ ssrc: high.ssrc, sequenceNumber: seq }],
        } as unknown as NonNullable<Feedback>["feedback"],
      });
    transport.receive(fir(7));
    const keyframeOf = (ssrc: number) =>
      transport.rtp.filter((r) => r.header.ssrc === ssrc).map((r) => startsKeyframe(r.payload));
    tick(4, 5); // the loops' third frame, an inter frame, unless restarted
    expect([keyframeOf(low.ssrc), keyframeOf(mid.ssrc), keyframeOf(high.ssrc)]).toEqual([
      [false],
      [true],
      [true],
    ]);
    transport.rtp.length = 0;
    transport.receive(fir(7)); // a repeat of the same command: nothing new
    tick(5, 7);
    // low wraps round to its keyframe; mid and high go on from their restart
    expect([keyframeOf(low.ssrc), keyframeOf(mid.ssrc), keyframeOf(high.ssrc)]).toEqual([
      [true],
      [false],
      [false],
    ]);
    expect(p.totals).toMatchObject({ pli: 1, fir: 1, restarts: 2 });
  });

  it("reports each layer that has sent in one compound of sender reports, timestamps carried to the report's time", () => {
    let nowMs = 1_700_000_000_000;
    const { transport, tick, p } = publication(() => nowMs);
    tick(0, 1);
    const firstTimestamps = p.layers.map(
      (l) => transport.rtp.find((r) => r.header.ssrc === l.ssrc)?.header.timestamp,
    );
    nowMs += 20;
    tick(1, 2); // the second tick sends the first reports
    expect(transport.rtcp).toHaveLength(1);
    const reports = (transport.rtcp[0] ?? []).filter((r): r is RtcpSrPacket => r instanceof RtcpSrPacket);
    expect(reports.map((r) => r.ssrc)).toEqual(p.layers.map((l) => l.ssrc));
    for (const [i, r] of reports.entries()) {
      // 20 ms after the frame at 90 kHz
      expect((r.senderInfo.rtpTimestamp - (firstTimestamps[i] ?? 0)) >>> 0).toBe(1800);
      expect(r.senderInfo.packetCount).toBe(1);
      expect(Number(r.senderInfo.ntpTimestamp >> 32n)).toBe(Math.floor(nowMs / 1000) + 2_208_988_800);
    }
    tick(2, 51);
    expect(transport.rtcp).toHaveLength(1);
    tick(51, 52); // a second later
    expect(transport.rtcp).toHaveLength(2);
  });

  it("dynacast: a quality listed off pauses its layer (no packets, no sender report), listed on resumes it at its keyframe, unlisted stays", () => {
    const { p, transport, tick } = publication();
    tick(0, 4);
    const [low, mid, high] = p.layers;
    if (low === undefined || mid === undefined || high === undefined) throw new Error("no layers");
    // a subscriber asked LOW: LiveKit turns MEDIUM and HIGH off
    p.setSubscribedQualities([
      { quality: VideoQuality.LOW, enabled: true },
      { quality: VideoQuality.MEDIUM, enabled: false },
      { quality: VideoQuality.HIGH, enabled: false },
    ]);
    transport.rtp.length = 0;
    transport.rtcp.length = 0;
    tick(4, 60);
    const sentOn = (ssrc: number) => transport.rtp.filter((r) => r.header.ssrc === ssrc);
    expect([sentOn(low.ssrc).length > 0, sentOn(mid.ssrc).length, sentOn(high.ssrc).length]).toEqual([
      true,
      0,
      0,
    ]);
    const reported = transport.rtcp.flat().flatMap((r) => (r instanceof RtcpSrPacket ? [r.ssrc] : []));
    expect(new Set(reported)).toEqual(new Set([low.ssrc]));
    // HIGH on again, MEDIUM not named: HIGH resumes at its keyframe, MEDIUM stays off
    p.setSubscribedQualities([{ quality: VideoQuality.HIGH, enabled: true }]);
    transport.rtp.length = 0;
    tick(60, 63);
    expect(sentOn(mid.ssrc)).toEqual([]);
    expect(startsKeyframe(sentOn(high.ssrc)[0]?.payload ?? Buffer.alloc(0))).toBe(true);
    expect(p.totals.restarts).toBe(0);
  });

  it("stops sending and listening", () => {
    const { p, transport, tick, handlers } = publication();
    p.stop();
    expect(handlers).toHaveLength(0);
    tick(0, 5);
    expect(transport.rtp).toHaveLength(0);
  });
});
