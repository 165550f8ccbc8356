import { describe, expect, it } from "vitest";

import { emptySnapshot, fromRtcNodeStats } from "./snapshot.js";
import type { RtcNodeStats } from "./snapshot.js";

// Shaped like `await room.getRtcStats()` from @livekit/rtc-node 1.1.0 against livekit-server 1.13.5:
// every entry is `{ stats: { case, value } }`, 64-bit counters are bigint, 32-bit ones are number,
// rust fills absent fields with 0, and everything (inbound included) sits in publisherStats.
const T_US = 1_760_000_000_123_456n;

const publisherStats: RtcNodeStats[] = [
  {
    stats: {
      case: "codec",
      value: { rtc: { id: "CIT01_111", timestamp: T_US }, codec: { mimeType: "audio/opus" } },
    },
  },
  {
    stats: {
      case: "transport",
      value: { rtc: { id: "T01", timestamp: T_US }, transport: { selectedCandidatePairId: "CPabc_def" } },
    },
  },
  {
    stats: {
      case: "candidatePair",
      value: {
        rtc: { id: "CPabc_def", timestamp: T_US },
        candidatePair: {
          state: 4,
          nominated: true,
          currentRoundTripTime: 0.004,
          totalRoundTripTime: 0.06,
          availableOutgoingBitrate: 1_500_000,
          responsesReceived: 12n,
          bytesSent: 123_456n,
        },
      },
    },
  },
  {
    stats: {
      case: "candidatePair",
      value: {
        rtc: { id: "CPzzz_yyy", timestamp: T_US },
        candidatePair: { state: 3, nominated: false, currentRoundTripTime: 0.9, responsesReceived: 1n },
      },
    },
  },
  {
    stats: {
      case: "localCandidate",
      value: { rtc: { id: "Iabc", timestamp: T_US }, candidate: { port: 50000 } },
    },
  },
  {
    stats: {
      case: "remoteCandidate",
      value: { rtc: { id: "Idef", timestamp: T_US }, candidate: { port: 7882 } },
    },
  },
  { stats: { case: "certificate", value: { rtc: { id: "CFxx", timestamp: T_US }, certificate: {} } } },
  {
    stats: { case: "dataChannel", value: { rtc: { id: "D1", timestamp: T_US }, dc: { label: "_reliable" } } },
  },
  {
    stats: {
      case: "peerConnection",
      value: { rtc: { id: "P", timestamp: T_US }, pc: { dataChannelsOpened: 2 } },
    },
  },
  {
    stats: {
      case: "mediaSource",
      value: { rtc: { id: "SA1", timestamp: T_US }, source: { trackIdentifier: "mic", kind: "audio" } },
    },
  },
  {
    stats: {
      case: "outboundRtp",
      value: {
        rtc: { id: "OT01A111", timestamp: T_US },
        stream: { ssrc: 111, kind: "audio", transportId: "T01", codecId: "COT01_111" },
        sent: { packetsSent: 300n, bytesSent: 24_000n },
        outbound: {
          mid: "0",
          rid: "",
          nackCount: 1,
          pliCount: 0,
          firCount: 0,
          framesEncoded: 0,
          qualityLimitationReason: 0,
          qualityLimitationDurations: {},
        },
      },
    },
  },
  {
    stats: {
      case: "outboundRtp",
      value: {
        rtc: { id: "OT01V222", timestamp: T_US },
        stream: { ssrc: 222, kind: "video", transportId: "T01", codecId: "COT01_96" },
        sent: { packetsSent: 900n, bytesSent: 750_000n },
        outbound: {
          mid: "1",
          rid: "f",
          nackCount: 3,
          pliCount: 2,
          firCount: 0,
          framesEncoded: 150,
          qualityLimitationReason: 2,
          qualityLimitationDurations: { none: 4.2, bandwidth: 0.8 },
        },
      },
    },
  },
  {
    stats: {
      case: "remoteInboundRtp",
      value: {
        rtc: { id: "RIA111", timestamp: T_US },
        stream: { ssrc: 111, kind: "audio" },
        received: { packetsReceived: 0n, packetsLost: 3n, jitter: 0.001 },
        remoteInbound: {
          localId: "OT01A111",
          roundTripTime: 0.012,
          fractionLost: 0.0078125,
          roundTripTimeMeasurements: 4n,
        },
      },
    },
  },
  {
    stats: {
      case: "remoteInboundRtp",
      value: {
        rtc: { id: "RIV222", timestamp: T_US },
        stream: { ssrc: 222, kind: "video" },
        received: { packetsReceived: 0n, packetsLost: 0n, jitter: 0 },
        remoteInbound: {
          localId: "OT01V222",
          roundTripTime: 0,
          fractionLost: 0,
          roundTripTimeMeasurements: 0n,
        },
      },
    },
  },
  {
    stats: {
      case: "inboundRtp",
      value: {
        rtc: { id: "IT01A333", timestamp: T_US },
        stream: { ssrc: 333, kind: "audio", transportId: "T01", codecId: "CIT01_111" },
        received: { packetsReceived: 295n, packetsLost: -2n, jitter: 0.0021 },
        inbound: {
          trackIdentifier: "TR_AMkR8dUAf6h9",
          mid: "2",
          remoteId: "ROA333",
          bytesReceived: 23_600n,
          headerBytesReceived: 3_540n,
          packetsDiscarded: 294n,
          nackCount: 0,
          pliCount: 0,
          firCount: 0,
          framesDecoded: 0,
          framesDropped: 0,
          freezeCount: 0,
          totalFreezeDuration: 0,
          concealedSamples: 960n,
          totalSamplesReceived: 283_200n,
          jitterBufferDelay: 5.76,
          jitterBufferEmittedCount: 283_200n,
          audioLevel: 0.3,
        },
      },
    },
  },
  {
    stats: {
      case: "inboundRtp",
      value: {
        rtc: { id: "IT01V444", timestamp: T_US },
        stream: { ssrc: 444, kind: "video", transportId: "T01", codecId: "CIT01_96" },
        received: { packetsReceived: 1_200n, packetsLost: 7n, jitter: 0.0125 },
        inbound: {
          trackIdentifier: "TR_VCx2KQp3RhQf",
          mid: "3",
          bytesReceived: 1_000_000n,
          headerBytesReceived: 28_800n,
          retransmittedPacketsReceived: 9n,
          retransmittedBytesReceived: 8_100n,
          frameWidth: 640,
          frameHeight: 360,
          framesPerSecond: 15,
          nackCount: 5,
          pliCount: 1,
          firCount: 0,
          framesDecoded: 148,
          framesDropped: 2,
          freezeCount: 1,
          totalFreezeDuration: 0.35,
          concealedSamples: 0n,
          totalSamplesReceived: 0n,
          jitterBufferDelay: 7.4,
          jitterBufferEmittedCount: 148n,
        },
      },
    },
  },
  {
    stats: {
      case: "remoteOutboundRtp",
      value: {
        rtc: { id: "ROA333", timestamp: T_US },
        stream: { ssrc: 333, kind: "audio" },
        sent: { packetsSent: 297n, bytesSent: 23_760n },
        remoteOutbound: { roundTripTime: 0, reportsSent: 3n },
      },
    },
  },
];

describe("fromRtcNodeStats", () => {
  const snapshot = fromRtcNodeStats(publisherStats, [], 1_760_000_000_200);

  it("finds inbound streams in publisherStats when subscriberStats is empty", () => {
    expect(snapshot.inbound.map((s) => s.ssrc)).toEqual([333, 444]);
    expect(snapshot.timestampMs).toBe(1_760_000_000_200);
  });

  it("converts bigint counters to numbers and keeps packetsLost signed", () => {
    const audio = snapshot.inbound.find((s) => s.ssrc === 333);
    expect(audio).toMatchObject({
      key: "inbound:audio:333:2:TR_AMkR8dUAf6h9",
      kind: "audio",
      mid: "2",
      trackIdentifier: "TR_AMkR8dUAf6h9",
      packetsReceived: 295,
      packetsLost: -2,
      bytesReceived: 23_600,
      concealedSamples: 960,
      totalSamplesReceived: 283_200,
      jitterBufferEmittedCount: 283_200,
    });
    expect(typeof audio?.packetsLost).toBe("number");
  });

  it("reads retransmitted packets, header bytes and the received frame size and rate", () => {
    const video = snapshot.inbound.find((s) => s.kind === "video");
    expect(video).toMatchObject({
      retransmittedPacketsReceived: 9,
      headerBytesReceived: 28_800,
      frameWidth: 640,
      frameHeight: 360,
      framesPerSecond: 15,
    });
    const audio = snapshot.inbound.find((s) => s.kind === "audio");
    // rust fills an absent counter with 0; a frame size of 0 is no frame, so no size
    expect(audio).toMatchObject({ headerBytesReceived: 3_540, retransmittedPacketsReceived: undefined });
    expect(audio?.frameWidth).toBeUndefined();
  });

  it("passes jitter through unchanged: rtc-node already reports seconds", () => {
    // proto `double jitter` is filled from libwebrtc's JSON, which follows W3C (seconds); 12.5 ms
    // would be 12.5 if it were milliseconds.
    expect(snapshot.inbound.find((s) => s.ssrc === 444)?.jitter).toBe(0.0125);
    expect(snapshot.inbound.find((s) => s.ssrc === 333)?.jitter).toBe(0.0021);
  });

  it("reads stats timestamps as microseconds", () => {
    // libwebrtc RTCStats::ToJson writes timestamp_.us(); rust-sdks passes the i64 through untouched.
    expect(snapshot.inbound[0]?.timestampMs).toBeCloseTo(1_760_000_000_123.456, 3);
  });

  it("keeps video-only fields off audio streams and audio-only fields off video streams", () => {
    const audio = snapshot.inbound.find((s) => s.kind === "audio");
    const video = snapshot.inbound.find((s) => s.kind === "video");
    expect(audio?.freezeCount).toBeUndefined();
    expect(audio?.framesDecoded).toBeUndefined();
    expect(audio?.pliCount).toBeUndefined();
    expect(video?.concealedSamples).toBeUndefined();
    expect(video?.totalSamplesReceived).toBeUndefined();
    expect(video).toMatchObject({
      freezeCount: 1,
      totalFreezesDuration: 0.35,
      framesDecoded: 148,
      pliCount: 1,
    });
  });

  it("normalizes outbound streams, with quality limitation from the proto enum on video only", () => {
    expect(snapshot.outbound).toEqual([
      expect.objectContaining({
        key: "outbound:audio:111:0:",
        packetsSent: 300,
        bytesSent: 24_000,
        nackCount: 1,
        qualityLimitationReason: undefined,
        rid: undefined,
      }),
      expect.objectContaining({
        key: "outbound:video:222:1:f",
        rid: "f",
        packetsSent: 900,
        bytesSent: 750_000,
        pliCount: 2,
        framesEncoded: 150,
        qualityLimitationReason: "bandwidth",
      }),
    ]);
  });

  it("reports remote-inbound RTT only once it has been measured", () => {
    const [audio, video] = snapshot.remoteInbound;
    expect(audio).toMatchObject({ ssrc: 111, roundTripTime: 0.012, fractionLost: 0.0078125, packetsLost: 3 });
    expect(video?.roundTripTime).toBeUndefined();
  });

  it("keeps only the selected candidate pair", () => {
    expect(snapshot.candidatePairs).toEqual([
      {
        id: "CPabc_def",
        currentRoundTripTime: 0.004,
        totalRoundTripTime: 0.06,
        responsesReceived: 12,
        availableOutgoingBitrate: 1_500_000,
      },
    ]);
  });

  it("falls back to the nominated, succeeded pair when no transport names one", () => {
    const pairs = publisherStats.filter((e) => e.stats?.case === "candidatePair");
    expect(fromRtcNodeStats(pairs, [], 0).candidatePairs.map((p) => p.id)).toEqual(["CPabc_def"]);
  });

  it("treats an RTT of 0 with responses as real (loopback) and without responses as absent", () => {
    const pair = (responsesReceived: bigint): RtcNodeStats => ({
      stats: {
        case: "candidatePair",
        value: {
          rtc: { id: "CP1" },
          candidatePair: { state: 4, nominated: true, currentRoundTripTime: 0, responsesReceived },
        },
      },
    });
    expect(fromRtcNodeStats([pair(3n)], [], 0).candidatePairs[0]?.currentRoundTripTime).toBe(0);
    expect(fromRtcNodeStats([pair(0n)], [], 0).candidatePairs[0]?.currentRoundTripTime).toBeUndefined();
  });

  it("reads subscriberStats too, and keeps a stream reported in both arrays once", () => {
    const inbound = publisherStats.filter((e) => e.stats?.case === "inboundRtp");
    expect(fromRtcNodeStats([], inbound, 0).inbound).toHaveLength(2);
    expect(fromRtcNodeStats(inbound, inbound, 0).inbound).toHaveLength(2);
    const [audio, video] = inbound;
    expect(
      fromRtcNodeStats(audio ? [audio] : [], video ? [video] : [], 0).inbound.map((s) => s.kind),
    ).toEqual(["audio", "video"]);
  });

  it("produces JSON-safe data (no bigint), so snapshots can cross IPC and go to samples.jsonl", () => {
    // JSON.stringify throws on bigint; toEqual ignores the undefined fields JSON drops.
    const roundTrip: unknown = JSON.parse(JSON.stringify(snapshot));
    expect(roundTrip).toEqual(snapshot);
  });

  it("returns an empty snapshot for an empty result", () => {
    expect(fromRtcNodeStats([], [], 42)).toEqual(emptySnapshot(42));
  });
});

describe("fromRtcNodeStats: hostile and extreme values", () => {
  const inboundWith = (
    received: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ): RtcNodeStats => ({
    stats: {
      case: "inboundRtp",
      value: { stream: { ssrc: 1, kind: "video" }, received, inbound: { mid: "0", ...extra } },
    },
  });
  const first = (entry: RtcNodeStats) => fromRtcNodeStats([entry], [], 0).inbound[0];

  it("converts counters beyond 2^53 to finite numbers with their sign, rounding the low bits", () => {
    const huge = 2n ** 60n + 3n;
    const s = first(inboundWith({ packetsReceived: huge, packetsLost: -huge }));
    expect(s?.packetsReceived).toBe(2 ** 60);
    expect(s?.packetsLost).toBe(-(2 ** 60));
    expect(Number.isFinite(s?.packetsReceived)).toBe(true);
  });

  it("reads a two's-complement wrapped packetsLost as the negative int64 it encodes", () => {
    expect(first(inboundWith({ packetsLost: 2n ** 64n - 5n }))?.packetsLost).toBe(-5);
    expect(first(inboundWith({ packetsLost: 2n ** 63n }))?.packetsLost).toBe(-(2 ** 63));
    expect(first(inboundWith({ packetsLost: 2n ** 63n - 1n }))?.packetsLost).toBe(2 ** 63);
  });

  it("accepts plain numbers as well as bigints", () => {
    expect(first(inboundWith({ packetsReceived: 10, packetsLost: -1 }))).toMatchObject({
      packetsReceived: 10,
      packetsLost: -1,
    });
  });

  it("turns non-finite or mistyped fields into undefined or 0, never NaN", () => {
    const s = first(
      inboundWith({ packetsReceived: "12", packetsLost: Number.NaN, jitter: Infinity }, { nackCount: "3" }),
    );
    expect(s?.packetsReceived).toBe(0);
    expect(s?.packetsLost).toBe(0);
    expect(s?.jitter).toBeUndefined();
    expect(s?.nackCount).toBeUndefined();
  });

  it("skips entries without a value, without a case, of unknown cases, or without an ssrc", () => {
    const entries: RtcNodeStats[] = [
      {},
      { stats: {} },
      { stats: { case: undefined } },
      { stats: { case: "inboundRtp", value: null } },
      { stats: { case: "inboundRtp", value: 5 } },
      { stats: { case: "somethingNew", value: { stream: { ssrc: 9 } } } },
      {
        stats: {
          case: "inboundRtp",
          value: { stream: { kind: "audio" }, received: { packetsReceived: 1n } },
        },
      },
    ];
    expect(fromRtcNodeStats(entries, [], 7)).toEqual(emptySnapshot(7));
  });

  it("labels a kind other than audio/video as unknown and keeps all of its fields", () => {
    const s = fromRtcNodeStats(
      [
        {
          stats: {
            case: "inboundRtp",
            value: { stream: { ssrc: 5, kind: "data" }, inbound: { freezeCount: 1 } },
          },
        },
      ],
      [],
      0,
    ).inbound[0];
    expect(s).toMatchObject({ kind: "unknown", freezeCount: 1, packetsReceived: 0, packetsLost: 0 });
  });
});

describe("fromRtcNodeStats: the selected candidate pair's path", () => {
  // shaped like rtc-node 1.1.0: enums as numbers (IceCandidateType 0 host ... 3 relay,
  // IceServerTransportProtocol 0 udp, 1 tcp, 2 tls), the protocol as libwebrtc's lower-case string
  const entries = (
    local: { candidateType: number; protocol: string; relayProtocol?: number },
    remote: { candidateType: number; protocol: string },
    selected = "CP1",
  ): RtcNodeStats[] => [
    { stats: { case: "transport", value: { transport: { selectedCandidatePairId: selected } } } },
    {
      stats: {
        case: "candidatePair",
        value: {
          rtc: { id: "CP1" },
          candidatePair: { state: 4, nominated: true, localCandidateId: "IL1", remoteCandidateId: "IR1" },
        },
      },
    },
    {
      stats: {
        case: "candidatePair",
        value: {
          rtc: { id: "CP2" },
          candidatePair: { state: 4, nominated: false, localCandidateId: "IL2", remoteCandidateId: "IR1" },
        },
      },
    },
    { stats: { case: "localCandidate", value: { rtc: { id: "IL1" }, candidate: local } } },
    {
      stats: {
        case: "localCandidate",
        value: { rtc: { id: "IL2" }, candidate: { candidateType: 3, protocol: "udp", relayProtocol: 2 } },
      },
    },
    { stats: { case: "remoteCandidate", value: { rtc: { id: "IR1" }, candidate: remote } } },
  ];

  it("reads host to host over UDP, with no relay protocol (proto2 fills it with udp's 0)", () => {
    const s = fromRtcNodeStats(
      entries({ candidateType: 0, protocol: "udp", relayProtocol: 0 }, { candidateType: 0, protocol: "udp" }),
      [],
      0,
    );
    expect(s.selectedPair).toEqual({ local: "host", remote: "host", protocol: "udp" });
  });

  it("reads ICE/TCP", () => {
    const s = fromRtcNodeStats(
      entries({ candidateType: 2, protocol: "tcp" }, { candidateType: 0, protocol: "tcp" }),
      [],
      0,
    );
    expect(s.selectedPair).toEqual({ local: "prflx", remote: "host", protocol: "tcp" });
  });

  it("reads a relay candidate's relay protocol", () => {
    const s = fromRtcNodeStats(
      entries({ candidateType: 3, protocol: "udp", relayProtocol: 2 }, { candidateType: 0, protocol: "udp" }),
      [],
      0,
    );
    expect(s.selectedPair).toEqual({ local: "relay", remote: "host", protocol: "udp", relayProtocol: "tls" });
  });

  it("follows the pair the transport selected, not another succeeded one", () => {
    const s = fromRtcNodeStats(
      entries({ candidateType: 0, protocol: "udp" }, { candidateType: 0, protocol: "udp" }, "CP2"),
      [],
      0,
    );
    expect(s.selectedPair).toEqual({ local: "relay", remote: "host", protocol: "udp", relayProtocol: "tls" });
  });

  it("says nothing when a candidate is missing or of an unknown shape", () => {
    const all = entries({ candidateType: 0, protocol: "udp" }, { candidateType: 0, protocol: "udp" });
    const noRemote = all.filter((e) => e.stats?.case !== "remoteCandidate");
    expect(fromRtcNodeStats(noRemote, [], 0).selectedPair).toBeUndefined();
    const odd = entries({ candidateType: 9, protocol: "udp" }, { candidateType: 0, protocol: "sctp" });
    expect(fromRtcNodeStats(odd, [], 0).selectedPair).toBeUndefined();
    expect(fromRtcNodeStats([], [], 0).selectedPair).toBeUndefined();
  });
});
