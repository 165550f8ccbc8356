import { describe, expect, it } from "vitest";
import { computeWindowDelta } from "./delta.js";
import { fromWebrtcStats, type WebrtcStatsEntry } from "./webrtc.js";

/**
 * Captured from Chromium 156 with livekit-client 2.23 against livekit-server 1.13.5 (a 360p15 VP8 and
 * Opus publisher and its subscriber, 8 s in), trimmed to the fields the snapshot reads plus a codec
 * entry each, which it must skip.
 */
const PUBLISHER: WebrtcStatsEntry[] = [
  {
    id: "COT01_111_maxaveragebitrate=510000;minptime=10;stereo=1;useinbandfec=1",
    timestamp: 1795439920175.582,
    type: "codec",
    mimeType: "audio/opus",
    payloadType: 111,
  },
  {
    id: "CPEpWUVtOE_U3Nx0rqh",
    timestamp: 1795439920175.582,
    type: "candidate-pair",
    state: "succeeded",
    nominated: true,
    currentRoundTripTime: 0.003,
    availableOutgoingBitrate: 422798,
    responsesReceived: 8,
    localCandidateId: "IEpWUVtOE",
    remoteCandidateId: "IU3Nx0rqh",
  },
  {
    id: "OT01A2992206186",
    timestamp: 1795439920175.582,
    type: "outbound-rtp",
    kind: "audio",
    ssrc: 2992206186,
    mid: "7",
    packetsSent: 566,
    bytesSent: 139917,
    nackCount: 0,
  },
  {
    id: "RIA2992206186",
    timestamp: 1795439919948.783,
    type: "remote-inbound-rtp",
    kind: "audio",
    ssrc: 2992206186,
    packetsLost: 0,
    fractionLost: 0,
    roundTripTime: 0.003067,
    roundTripTimeMeasurements: 9,
  },
  {
    id: "T01",
    timestamp: 1795439920175.582,
    type: "transport",
    selectedCandidatePairId: "CPEpWUVtOE_U3Nx0rqh",
    iceState: "connected",
  },
  {
    id: "COT01_96_x-google-start-bitrate=311",
    timestamp: 1795439920175.582,
    type: "codec",
    mimeType: "video/VP8",
    payloadType: 96,
  },
  {
    id: "OT01V2818235103",
    timestamp: 1795439920175.582,
    type: "outbound-rtp",
    kind: "video",
    ssrc: 2818235103,
    mid: "8",
    packetsSent: 337,
    bytesSent: 289736,
    nackCount: 0,
    pliCount: 1,
    firCount: 0,
    framesEncoded: 163,
    qualityLimitationReason: "bandwidth",
    frameWidth: 480,
    frameHeight: 270,
  },
  {
    id: "RIV2818235103",
    timestamp: 1795439919771.647,
    type: "remote-inbound-rtp",
    kind: "video",
    ssrc: 2818235103,
    packetsLost: 0,
    fractionLost: 0,
    roundTripTime: 0.001068,
    roundTripTimeMeasurements: 10,
  },
];

const SUBSCRIBER: WebrtcStatsEntry[] = [
  {
    id: "CIT01_111_minptime=10;stereo=1;useinbandfec=1",
    timestamp: 1795439920194.773,
    type: "codec",
    mimeType: "audio/opus",
    payloadType: 111,
  },
  {
    id: "CPuIcTX7Kz_51D01Gea",
    timestamp: 1795439920194.773,
    type: "candidate-pair",
    state: "succeeded",
    nominated: true,
    currentRoundTripTime: 0.001,
    totalRoundTripTime: 0.005,
    availableOutgoingBitrate: 300000,
    responsesReceived: 7,
    localCandidateId: "IuIcTX7Kz",
    remoteCandidateId: "I51D01Gea",
  },
  {
    id: "IT01A3325195751",
    timestamp: 1795439920194.773,
    type: "inbound-rtp",
    kind: "audio",
    ssrc: 3325195751,
    mid: "0",
    trackIdentifier: "949862e5-3801-4857-9af7-b81cfeb90906",
    packetsReceived: 404,
    packetsLost: 0,
    bytesReceived: 99788,
    headerBytesReceived: 4848,
    jitter: 0.004,
    concealedSamples: 960,
    totalSamplesReceived: 386880,
    jitterBufferDelay: 20284.8,
    jitterBufferEmittedCount: 385920,
  },
  {
    id: "T01",
    timestamp: 1795439920194.773,
    type: "transport",
    selectedCandidatePairId: "CPuIcTX7Kz_51D01Gea",
    iceState: "connected",
  },
  {
    id: "CIT01_96",
    timestamp: 1795439920194.773,
    type: "codec",
    mimeType: "video/VP8",
    payloadType: 96,
  },
  {
    id: "IT01V4016342321",
    timestamp: 1795439920194.773,
    type: "inbound-rtp",
    kind: "video",
    ssrc: 4016342321,
    mid: "3",
    trackIdentifier: "db214e53-a3b9-4ab0-99e4-4a2b5af8fb9d",
    packetsReceived: 264,
    packetsLost: 0,
    bytesReceived: 234932,
    headerBytesReceived: 5280,
    jitter: 0.028,
    nackCount: 0,
    pliCount: 0,
    firCount: 0,
    framesDecoded: 119,
    framesDropped: 0,
    framesPerSecond: 15,
    frameWidth: 480,
    frameHeight: 270,
    freezeCount: 0,
    totalFreezesDuration: 0,
    jitterBufferDelay: 2.479447,
    jitterBufferEmittedCount: 119,
  },
];

/** The same entries later: counters grown, as a second getStats() gives them. */
function later(
  entries: readonly WebrtcStatsEntry[],
  grow: Readonly<Record<string, number>>,
  ms: number,
): WebrtcStatsEntry[] {
  return entries.map((e) => {
    const out: Record<string, unknown> = { ...e, timestamp: Number(e.timestamp) + ms };
    for (const [field, by] of Object.entries(grow))
      if (typeof e[field] === "number") out[field] = e[field] + by;
    return out;
  });
}

describe("fromWebrtcStats (a browser's getStats entries)", () => {
  it("reads a subscriber's audio and video inbound streams with the W3C names", () => {
    const s = fromWebrtcStats(SUBSCRIBER, 1_795_439_920_200);
    expect(s.timestampMs).toBe(1_795_439_920_200);
    expect(s.inbound).toHaveLength(2);
    const audio = s.inbound.find((i) => i.kind === "audio");
    const video = s.inbound.find((i) => i.kind === "video");
    expect(audio).toMatchObject({
      ssrc: 3325195751,
      mid: "0",
      packetsReceived: 404,
      packetsLost: 0,
      bytesReceived: 99788,
      headerBytesReceived: 4848,
      jitter: 0.004,
      concealedSamples: 960,
      totalSamplesReceived: 386880,
      // W3C timestamps are milliseconds already
      timestampMs: 1795439920194.773,
    });
    // video-only fields stay off audio
    expect(audio?.framesDecoded).toBeUndefined();
    expect(video).toMatchObject({
      ssrc: 4016342321,
      packetsReceived: 264,
      framesDecoded: 119,
      framesDropped: 0,
      frameWidth: 480,
      frameHeight: 270,
      freezeCount: 0,
      // W3C's totalFreezesDuration, which the browser fills (rtc-node does not)
      totalFreezesDuration: 0,
      pliCount: 0,
      nackCount: 0,
    });
    expect(video?.concealedSamples).toBeUndefined();
  });

  it("takes the transport's selected pair only, with its round-trip time", () => {
    const s = fromWebrtcStats(SUBSCRIBER, 0);
    expect(s.candidatePairs).toEqual([
      {
        id: "CPuIcTX7Kz_51D01Gea",
        currentRoundTripTime: 0.001,
        totalRoundTripTime: 0.005,
        responsesReceived: 7,
        availableOutgoingBitrate: 300000,
      },
    ]);
    const pair = SUBSCRIBER.find((e) => e.type === "candidate-pair");
    const stale = { ...pair, id: "stale", currentRoundTripTime: 0.5 };
    expect(fromWebrtcStats([...SUBSCRIBER, stale], 0).candidatePairs.map((p) => p.id)).toEqual([
      "CPuIcTX7Kz_51D01Gea",
    ]);
    // without a transport entry: the nominated, succeeded pair, not one still in progress
    const noTransport = [
      ...SUBSCRIBER.filter((e) => e.type !== "transport"),
      { ...stale, state: "in-progress" },
    ];
    expect(fromWebrtcStats(noTransport, 0).candidatePairs.map((p) => p.id)).toEqual(["CPuIcTX7Kz_51D01Gea"]);
  });

  it("reads the selected pair's candidate types and protocols (a relay's too) from the candidate entries", () => {
    // W3C RTCIceCandidateStats as Chromium names them; the ids are the captured pair's ends
    const pair = SUBSCRIBER.find((e) => e.type === "candidate-pair");
    const ends = (local: WebrtcStatsEntry): WebrtcStatsEntry[] => [
      { id: pair?.localCandidateId, type: "local-candidate", ...local },
      { id: pair?.remoteCandidateId, type: "remote-candidate", candidateType: "host", protocol: "udp" },
    ];
    expect(fromWebrtcStats(SUBSCRIBER, 0).selectedPair).toBeUndefined();
    expect(
      fromWebrtcStats([...SUBSCRIBER, ...ends({ candidateType: "host", protocol: "udp" })], 0).selectedPair,
    ).toEqual({ local: "host", remote: "host", protocol: "udp" });
    expect(
      fromWebrtcStats(
        [...SUBSCRIBER, ...ends({ candidateType: "relay", protocol: "udp", relayProtocol: "tls" })],
        0,
      ).selectedPair,
    ).toEqual({ local: "relay", remote: "host", protocol: "udp", relayProtocol: "tls" });
  });

  it("reads a publisher's outbound streams, its limitation reason, and the SFU's receiver reports", () => {
    const s = fromWebrtcStats(PUBLISHER, 0);
    const video = s.outbound.find((o) => o.kind === "video");
    expect(video).toMatchObject({
      ssrc: 2818235103,
      packetsSent: 337,
      bytesSent: 289736,
      pliCount: 1,
      framesEncoded: 163,
    });
    expect(video?.qualityLimitationReason).toBe("bandwidth");
    expect(s.outbound.find((o) => o.kind === "audio")).toMatchObject({ packetsSent: 566, bytesSent: 139917 });
    expect(s.remoteInbound.map((r) => [r.kind, r.roundTripTime, r.fractionLost])).toEqual([
      ["audio", 0.003067, 0],
      ["video", 0.001068, 0],
    ]);
    expect(s.inbound).toEqual([]);
  });

  it("leaves out an RTT the receiver reports have not measured, and entries it does not know", () => {
    const unmeasured = PUBLISHER.map((e) =>
      e.type === "remote-inbound-rtp" ? { ...e, roundTripTimeMeasurements: 0, roundTripTime: 0 } : e,
    );
    expect(fromWebrtcStats(unmeasured, 0).remoteInbound.map((r) => r.roundTripTime)).toEqual([
      undefined,
      undefined,
    ]);
    const junk = [
      { type: "inbound-rtp" },
      { type: "media-playout", id: "AP" },
      { id: 3 },
      { type: "outbound-rtp", ssrc: "x" },
    ];
    expect(fromWebrtcStats(junk, 0)).toEqual({
      timestampMs: 0,
      inbound: [],
      outbound: [],
      remoteInbound: [],
      candidatePairs: [],
    });
  });

  it("gives the same window deltas as any engine's: loss of original packets, frames, freezes", () => {
    const first = fromWebrtcStats(SUBSCRIBER, 1000);
    const second = fromWebrtcStats(
      later(
        SUBSCRIBER,
        {
          packetsReceived: 90,
          packetsLost: 10,
          framesDecoded: 30,
          freezeCount: 1,
          totalFreezesDuration: 0.4,
        },
        2000,
      ),
      3000,
    );
    const delta = computeWindowDelta(first, second);
    const video = delta.inbound.find((w) => w.kind === "video");
    expect(video).toMatchObject({
      packetsReceived: 90,
      packetsLost: 10,
      packetsExpected: 100,
      framesDecoded: 30,
      freezeCount: 1,
    });
    expect(video?.totalFreezesDuration).toBeCloseTo(0.4, 9);
    expect(delta.durationMs).toBe(2000);
  });
});
