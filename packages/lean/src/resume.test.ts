import { TrackInfo, TrackType } from "@livekit/protocol";
import { describe, expect, it } from "vitest";
import { LeanError } from "./errors.js";
import { publisherHeld, resumeSyncState, subscribedTrackSids } from "./resume.js";

const offer = [
  "v=0",
  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
  "a=mid:0",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111",
  "a=mid:1",
  "a=ssrc:2911956089 msid:PA_x|TR_a TR_a",
  "a=msid:PA_x|TR_a TR_a",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111",
  "a=mid:2",
  "a=msid:PA_y|TR_b TR_b",
  "",
].join("\r\n");

describe("subscribedTrackSids", () => {
  it("reads the track sids of a LiveKit subscriber offer from its msid lines, once each", () => {
    expect(subscribedTrackSids(offer)).toEqual(["TR_a", "TR_b"]);
    expect(subscribedTrackSids("v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n")).toEqual([]);
  });
});

describe("resumeSyncState", () => {
  it("names our last answer, resubscribes the offer's tracks and lists what the server made of ours", () => {
    const mic = new TrackInfo({ sid: "TR_mine", type: TrackType.AUDIO });
    const sync = resumeSyncState({ answer: "v=0 answer", offer }, new Map([["lean-mic", mic]]));
    expect(sync.answer?.type).toBe("answer");
    expect(sync.answer?.sdp).toBe("v=0 answer");
    expect(sync.subscription?.trackSids).toEqual(["TR_a", "TR_b"]);
    expect(sync.subscription?.subscribe).toBe(true);
    expect(sync.publishTracks.map((t) => [t.cid, t.track?.sid])).toEqual([["lean-mic", "TR_mine"]]);
  });

  it("before any subscriber negotiation: no answer, nothing to resubscribe", () => {
    const sync = resumeSyncState({ answer: null, offer: null }, new Map());
    expect(sync.answer).toBeUndefined();
    expect(sync.subscription?.trackSids).toEqual([]);
    expect(sync.publishTracks).toEqual([]);
  });
});

describe("publisherHeld", () => {
  it("passes a connected publisher and a participant that publishes nothing", () => {
    expect(() => {
      publisherHeld("connected");
    }).not.toThrow();
    expect(() => {
      publisherHeld(undefined);
    }).not.toThrow();
  });

  it("sends a publisher that lost its media to a full rejoin", () => {
    expect(() => {
      publisherHeld("failed");
    }).toThrow(
      new LeanError("negotiation", "the publisher PeerConnection is failed: a full rejoin brings it back"),
    );
  });
});
