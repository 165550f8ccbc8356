import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { RtpHeader, type RTCRtpReceiver } from "werift";
import { srtpPair } from "../test/srtp.js";
import { h264MayCarrySps, h264Payloads } from "./h264.js";
import { OPEN_PREFIX_BYTES } from "./srtp-gcm.js";
import type { ReceiverStreamStatistics } from "./stream-statistics.js";
import { headerExtension, VideoBypass, type ClearVideoPacket, type VideoPacketSink } from "./video-bypass.js";
import { VIDEO_FORMATS } from "./video-format.js";
import { VideoInbound } from "./video-inbound.js";
import { VideoReceiving } from "./video-track.js";

const GCM = 0x0007;
const TAG = 16;
const MEDIA_PT = 96;
const RTX_PT = 97;
const MEDIA_SSRC = 0x1111;
const RTX_SSRC = 0x2222;
const CAPTURE_ID = 5;

function header(fields: {
  payloadType?: number;
  ssrc?: number;
  sequenceNumber: number;
  timestamp?: number;
  marker?: boolean;
  extensions?: { id: number; payload: Buffer }[];
  extensionProfile?: number;
}): RtpHeader {
  const h = new RtpHeader({
    payloadType: fields.payloadType ?? MEDIA_PT,
    ssrc: fields.ssrc ?? MEDIA_SSRC,
    sequenceNumber: fields.sequenceNumber,
    timestamp: fields.timestamp ?? 90_000 + fields.sequenceNumber * 10,
    marker: fields.marker ?? false,
    extensions: fields.extensions ?? [],
  });
  if (fields.extensionProfile !== undefined)
    h.extensionProfile = fields.extensionProfile as RtpHeader["extensionProfile"];
  return h;
}

describe("headerExtension", () => {
  const capture = Buffer.from("0102030405060708", "hex");
  it("finds an extension's data in werift's one-byte and two-byte forms, beside others", () => {
    for (const profile of [0xbede, 0x1000]) {
      const h = header({
        sequenceNumber: 1,
        extensions: [
          { id: 1, payload: Buffer.from("0") },
          { id: CAPTURE_ID, payload: capture },
          { id: 9, payload: Buffer.from("abc") },
        ],
        extensionProfile: profile,
      });
      const packet = h.serialize(h.serializeSize);
      expect(
        Buffer.from(headerExtension(packet, CAPTURE_ID) ?? []).toString("hex"),
        `profile ${profile}`,
      ).toBe(capture.toString("hex"));
      expect(Buffer.from(headerExtension(packet, 9) ?? []).toString(), `profile ${profile}`).toBe("abc");
      expect(headerExtension(packet, 3), `profile ${profile}`).toBeUndefined();
    }
  });

  it("reads nothing without an extension, past CSRCs, or from a block cut short", () => {
    const bare = header({ sequenceNumber: 1 });
    expect(headerExtension(bare.serialize(bare.serializeSize), CAPTURE_ID)).toBeUndefined();
    const withCsrcs = header({ sequenceNumber: 1, extensions: [{ id: CAPTURE_ID, payload: capture }] });
    withCsrcs.csrc = [7, 8];
    withCsrcs.csrcLength = 2;
    const packet = withCsrcs.serialize(withCsrcs.serializeSize);
    expect(Buffer.from(headerExtension(packet, CAPTURE_ID) ?? []).toString("hex")).toBe(
      capture.toString("hex"),
    );
    expect(headerExtension(packet.subarray(0, packet.length - 4), CAPTURE_ID)).toBeUndefined();
  });
});

/**
 * A payload the test sink reads no further than its first bytes: random, but its first byte an
 * H.264 non-IDR slice (NAL type 1), since one in 16 random bytes reads as a STAP-A or an SPS,
 * which the sink's rule opens whole.
 */
function opaque(bytes: number): Buffer {
  const payload = randomBytes(bytes);
  payload[0] = 0x41;
  return payload;
}

/** A sink that records what it is handed; drops the originals whose sequence numbers `drop` names. */
class RecordingSink implements VideoPacketSink {
  readonly counted: (Omit<ClearVideoPacket, "payload" | "absCaptureTime"> & {
    payload: string;
    absCaptureTime: string | undefined;
  })[] = [];
  readonly drop = new Set<number>();
  wantsWhole = (prefix: Uint8Array): boolean => h264MayCarrySps(prefix);
  readsFrameStartOnly = false;

  payloadKind(payloadType: number): "media" | "rtx" | "other" {
    return payloadType === MEDIA_PT ? "media" : payloadType === RTX_PT ? "rtx" : "other";
  }
  wantsWholePayload(prefix: Uint8Array): boolean {
    return this.wantsWhole(prefix);
  }
  count(packet: ClearVideoPacket): boolean {
    if (this.payloadKind(packet.payloadType) === "media" && this.drop.has(packet.sequenceNumber))
      return false;
    this.counted.push({
      ...packet,
      payload: Buffer.from(packet.payload).toString("hex"),
      absCaptureTime:
        packet.absCaptureTime === undefined ? undefined : Buffer.from(packet.absCaptureTime).toString("hex"),
    });
    return true;
  }
}

/** Fresh statistics as werift's StreamStatistics starts them for a 90 kHz stream. */
function weriftStatistics(): ReceiverStreamStatistics {
  return {
    base_seq: undefined,
    max_seq: undefined,
    cycles: 0,
    packets_received: 0,
    bytesReceived: 0,
    headerBytesReceived: 0,
    lastPacketReceivedTimestamp: undefined,
    clockRate: 90_000,
    jitter_q4: 0,
    last_arrival: undefined,
    last_timestamp: undefined,
  };
}

/** A VideoBypass over a werift SRTP session pair, with werift-shaped statistics and a NACK generator that records. */
function bypassFor(ssrc: number, options: { nack?: boolean } = {}) {
  const { sender, receiver } = srtpPair(GCM);
  const statistics = weriftStatistics();
  const nacked: { sequenceNumber: number; ssrc: number }[] = [];
  const fakeReceiver = {
    stopped: false,
    nackEnabled: options.nack === false ? undefined : { type: "nack" },
    nack: {
      addPacket: (p: { header: { sequenceNumber: number; ssrc: number } }) => nacked.push({ ...p.header }),
    },
    ssrcByRtx: { [RTX_SSRC]: MEDIA_SSRC },
  } as unknown as RTCRtpReceiver;
  const sink = new RecordingSink();
  const bypass = new VideoBypass({
    ssrc,
    receiver: fakeReceiver,
    statistics,
    sink,
    absCaptureTimeId: CAPTURE_ID,
  });
  const seal = (h: RtpHeader, payload: Buffer): Buffer => sender.encrypt(payload, h);
  return { bypass, sink, statistics, nacked, seal, session: receiver };
}

describe("VideoBypass", () => {
  it("counts an original from its clear header and the payload's first bytes, decrypted, and feeds werift's statistics and NACK generator", () => {
    const { bypass, sink, statistics, nacked, seal, session } = bypassFor(MEDIA_SSRC);
    const capture = Buffer.from("00112233445566778899", "hex");
    const payload = opaque(1000);
    const h = header({
      sequenceNumber: 65535,
      marker: true,
      extensions: [{ id: CAPTURE_ID, payload: capture }],
    });
    expect(bypass.take(seal(h, payload), TAG, session)).toBe(true);
    expect(sink.counted).toEqual([
      {
        payloadType: MEDIA_PT,
        ssrc: MEDIA_SSRC,
        sequenceNumber: 65535,
        timestamp: h.timestamp,
        marker: true,
        payload: payload.subarray(0, OPEN_PREFIX_BYTES).toString("hex"),
        payloadBytes: 1000,
        headerBytes: h.serializeSize,
        absCaptureTime: capture.toString("hex"),
      },
    ]);
    expect(statistics).toMatchObject({
      packets_received: 1,
      max_seq: 65535,
      last_timestamp: h.timestamp,
      headerBytesReceived: h.serializeSize,
      bytesReceived: 1000,
    });
    expect(nacked).toEqual([{ sequenceNumber: 65535, ssrc: MEDIA_SSRC }]);
    // the next packet crosses the sequence wrap: its rollover counter is 1, and it still opens
    const next = randomBytes(40);
    expect(bypass.take(seal(header({ sequenceNumber: 0 }), next), TAG, session)).toBe(true);
    expect(sink.counted[1]?.payload).toBe(next.toString("hex"));
    expect(sink.counted[1]?.absCaptureTime).toBeUndefined(); // read on frame ends only
  });

  it("opens the whole payload where the format asks (an H.264 STAP-A that may carry the SPS)", () => {
    const { bypass, sink, seal, session } = bypassFor(MEDIA_SSRC);
    const stapA = Buffer.concat([Buffer.from([24]), randomBytes(300)]);
    bypass.take(seal(header({ sequenceNumber: 10 }), stapA), TAG, session);
    const fuA = Buffer.concat([Buffer.from([28, 0x85]), randomBytes(300)]);
    bypass.take(seal(header({ sequenceNumber: 11 }), fuA), TAG, session);
    expect(sink.counted.map((c) => c.payload.length / 2)).toEqual([301, OPEN_PREFIX_BYTES]);
    expect(sink.counted[0]?.payload).toBe(stapA.toString("hex"));
  });

  it("feeds an RTX packet's original sequence number and the media SSRC to the NACK generator, its own to the statistics", () => {
    const { bypass, sink, statistics, nacked, seal, session } = bypassFor(RTX_SSRC);
    const original = opaque(500);
    const rtx = Buffer.concat([Buffer.from([0x12, 0x34]), original]);
    expect(
      bypass.take(
        seal(header({ payloadType: RTX_PT, ssrc: RTX_SSRC, sequenceNumber: 7 }), rtx),
        TAG,
        session,
      ),
    ).toBe(true);
    expect(sink.counted[0]).toMatchObject({ payloadType: RTX_PT, sequenceNumber: 7, payloadBytes: 502 });
    expect(sink.counted[0]?.payload).toBe(rtx.subarray(0, OPEN_PREFIX_BYTES).toString("hex"));
    expect(statistics).toMatchObject({ packets_received: 1, max_seq: 7 });
    expect(nacked).toEqual([{ sequenceNumber: 0x1234, ssrc: MEDIA_SSRC }]);
    // an RTX padding probe with no original sequence number: counted, statistics, no NACK (as werift)
    bypass.take(
      seal(header({ payloadType: RTX_PT, ssrc: RTX_SSRC, sequenceNumber: 8 }), Buffer.alloc(1)),
      TAG,
      session,
    );
    expect(statistics).toMatchObject({ packets_received: 2, base_seq: 7, max_seq: 8 });
    expect(nacked).toHaveLength(1);
  });

  it("leaves to werift what it does not read: padding, another payload type, media on the RTX SSRC, another SRTP profile", () => {
    const { bypass, sink, seal, session } = bypassFor(MEDIA_SSRC);
    const padded = seal(header({ sequenceNumber: 1 }), randomBytes(100));
    padded[0] = (padded[0] ?? 0) | 0x20;
    expect(bypass.take(padded, TAG, session)).toBe(false);
    expect(
      bypass.take(seal(header({ payloadType: 111, sequenceNumber: 2 }), randomBytes(10)), TAG, session),
    ).toBe(false);
    expect(
      bypass.take(seal(header({ payloadType: RTX_PT, sequenceNumber: 3 }), randomBytes(10)), TAG, session),
    ).toBe(false);
    const rtxSide = bypassFor(RTX_SSRC);
    expect(
      rtxSide.bypass.take(
        rtxSide.seal(header({ ssrc: RTX_SSRC, sequenceNumber: 4 }), randomBytes(10)),
        TAG,
        rtxSide.session,
      ),
    ).toBe(false);
    const cm = srtpPair(0x0001);
    const h = header({ sequenceNumber: 5 });
    expect(bypass.take(cm.sender.encrypt(randomBytes(10), h), 10, cm.receiver)).toBe(false);
    expect(sink.counted).toEqual([]);
  });

  it("gives a packet simulated loss drops to neither the statistics nor the NACK generator, which then sees the gap", () => {
    const { bypass, sink, statistics, nacked, seal, session } = bypassFor(MEDIA_SSRC);
    sink.drop.add(21);
    for (const seq of [20, 21, 22])
      bypass.take(seal(header({ sequenceNumber: seq }), randomBytes(50)), TAG, session);
    expect(sink.counted.map((c) => c.sequenceNumber)).toEqual([20, 22]);
    expect(statistics).toMatchObject({ packets_received: 2, base_seq: 20, max_seq: 22 });
    expect(nacked.map((n) => n.sequenceNumber)).toEqual([20, 22]);
  });

  it("reads only a frame's first packet where the format says keyframes show there (VP8), a reordered earlier one, and every RTX payload", () => {
    const { bypass, sink, seal, session } = bypassFor(MEDIA_SSRC);
    sink.readsFrameStartOnly = true;
    const payloads = new Map<number, Buffer>();
    // frame at 1000: 10, 11, 12; frame at 2000: 14 and 15 arrive before 13; frame at 3000: 16
    for (const [seq, ts] of [
      [10, 1000],
      [11, 1000],
      [12, 1000],
      [14, 2000],
      [15, 2000],
      [13, 2000],
      [16, 3000],
    ] as const) {
      const payload = opaque(100);
      payloads.set(seq, payload);
      expect(bypass.take(seal(header({ sequenceNumber: seq, timestamp: ts }), payload), TAG, session)).toBe(
        true,
      );
    }
    const read = sink.counted.filter((c) => c.payload.length > 0).map((c) => c.sequenceNumber);
    expect(read).toEqual([10, 14, 13, 16]);
    for (const c of sink.counted.filter((c) => c.payload.length > 0))
      expect(c.payload).toBe(payloads.get(c.sequenceNumber)?.subarray(0, OPEN_PREFIX_BYTES).toString("hex"));
    // unread payloads still count their length
    expect(sink.counted.map((c) => c.payloadBytes)).toEqual(Array(7).fill(100));
    const rtx = bypassFor(RTX_SSRC);
    rtx.sink.readsFrameStartOnly = true;
    for (const seq of [1, 2])
      rtx.bypass.take(
        rtx.seal(
          header({ payloadType: RTX_PT, ssrc: RTX_SSRC, sequenceNumber: seq, timestamp: 5 }),
          randomBytes(20),
        ),
        TAG,
        rtx.session,
      );
    expect(rtx.sink.counted.map((c) => c.payload.length / 2)).toEqual([20, 20]);
  });

  it("feeds no NACK generator when NACK was not negotiated", () => {
    const { bypass, nacked, statistics, seal, session } = bypassFor(MEDIA_SSRC, { nack: false });
    bypass.take(seal(header({ sequenceNumber: 1 }), randomBytes(50)), TAG, session);
    expect(statistics.packets_received).toBe(1);
    expect(nacked).toEqual([]);
  });
});

describe("VideoBypass with VideoReceiving", () => {
  /** x264's SPS for 320x180 and a PPS (as in h264.test.ts), and an IDR too big for one packet. */
  const SPS = Buffer.from("6742c01fda05067e7c04400000030040000000a23c60ca80", "hex");
  const PPS = Buffer.from("68ce3c80", "hex");
  const IDR = Buffer.concat([Buffer.from([0x65]), Buffer.alloc(3000, 0x88)]);
  const annexB = (nals: Buffer[]): Buffer =>
    Buffer.concat(nals.flatMap((n) => [Buffer.from([0, 0, 0, 1]), n]));

  it("counts an H.264 keyframe whose IDR starts in a packet after its parameter sets' STAP-A, at the same timestamp", () => {
    const { session, seal } = bypassFor(MEDIA_SSRC);
    const weriftReceiver = {
      handleRtpBySsrc: () => undefined,
      onPacketLost: { subscribe: () => ({ unSubscribe: () => undefined }) },
      nack: { addPacket: () => undefined, close: () => undefined },
    } as unknown as RTCRtpReceiver;
    const inbound = new VideoInbound("ssrc:1", VIDEO_FORMATS.h264);
    const receiving = new VideoReceiving(weriftReceiver, () => [], inbound, {
      firstPacket: () => undefined,
      firstFrame: () => undefined,
      nextStream: () => {
        throw new Error("one SSRC here");
      },
    });
    const bypass = new VideoBypass({
      ssrc: MEDIA_SSRC,
      receiver: weriftReceiver,
      statistics: weriftStatistics(),
      sink: receiving,
      absCaptureTimeId: undefined,
    });
    const payloads = h264Payloads(annexB([SPS, PPS, IDR]));
    expect(payloads.length).toBeGreaterThan(2); // STAP-A, then the IDR's FU-A fragments
    payloads.forEach((payload, i) => {
      const h = header({ sequenceNumber: 100 + i, timestamp: 9000, marker: i === payloads.length - 1 });
      expect(bypass.take(seal(h, payload), TAG, session)).toBe(true);
    });
    expect(inbound.totals()).toMatchObject({ frames: 1, keyframes: 1, width: 320, height: 180 });
    expect(inbound.totals().bytes).toBe(payloads.reduce((n, p) => n + p.length, 0));
  });
});
