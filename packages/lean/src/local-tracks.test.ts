import {
  SubscribedCodec,
  SubscribedQuality,
  SubscribedQualityUpdate,
  TrackInfo,
  VideoQuality,
} from "@livekit/protocol";
import { describe, expect, it } from "vitest";
import { addVideoTotals, LocalTracks } from "./local-tracks.js";
import { Pacer } from "./pacer.js";
import type { VideoLoop } from "./video-media.js";

const camera: VideoLoop = {
  codec: "vp8",
  width: 320,
  height: 180,
  fps: 20,
  bitrateKbps: 150,
  frames: [],
  sha256: "",
  file: "",
};

describe("what a lean participant published, across full rejoins", () => {
  it("adds an ended video loop's totals to the republished one's, field by field", () => {
    const ended = {
      packets: 900,
      bytes: 800_000,
      frames: 300,
      keyframes: 3,
      restarts: 2,
      nack: 5,
      pli: 2,
      fir: 1,
    };
    const current = {
      packets: 30,
      bytes: 20_000,
      frames: 10,
      keyframes: 1,
      restarts: 0,
      nack: 0,
      pli: 0,
      fir: 0,
    };
    expect(addVideoTotals(ended, current)).toEqual({
      packets: 930,
      bytes: 820_000,
      frames: 310,
      keyframes: 4,
      restarts: 2,
      nack: 5,
      pli: 2,
      fir: 1,
    });
  });

  it("reports zeros for a video loop not sent yet (or between a rejoin's sessions), none without one", () => {
    const pacer = new Pacer();
    const totals = new LocalTracks({ video: camera }, "pub", pacer).videoTotals;
    expect(Object.keys(totals ?? {}).sort()).toEqual([
      "bytes",
      "fir",
      "frames",
      "keyframes",
      "nack",
      "packets",
      "pli",
      "restarts",
    ]);
    expect(Object.values(totals ?? {}).every((v) => v === 0)).toBe(true);
    const audioOnly = new LocalTracks({}, "pub", pacer);
    audioOnly.endSession();
    expect(audioOnly.videoTotals).toBeUndefined();
  });

  it("takes a dynacast update for its camera track only (its codec's qualities, else the first codec's), until the session ends", () => {
    const tracks = new LocalTracks({ video: camera }, "pub", new Pacer());
    const update = (trackSid: string, codec = "vp8") =>
      new SubscribedQualityUpdate({
        trackSid,
        subscribedCodecs: [
          new SubscribedCodec({
            codec,
            qualities: [new SubscribedQuality({ quality: VideoQuality.LOW, enabled: false })],
          }),
        ],
      });
    tracks.subscribedQualities(update("TR_camera")); // before the server confirmed the track
    tracks.trackPublished("lean-camera", new TrackInfo({ sid: "TR_camera" }));
    tracks.trackPublished("lean-mic", new TrackInfo({ sid: "TR_mic" }));
    tracks.subscribedQualities(update("TR_mic"));
    tracks.subscribedQualities(new SubscribedQualityUpdate({ trackSid: "TR_camera" })); // names no quality
    expect(tracks.dynacast.updates).toBe(0);
    // another codec's list only: the first codec's is the one the plain list carries, and is taken
    tracks.subscribedQualities(update("TR_camera", "h264"));
    expect(tracks.dynacast.updates).toBe(1);
    tracks.subscribedQualities(update("TR_camera"));
    expect(tracks.dynacast.updates).toBe(2);
    tracks.endSession();
    tracks.subscribedQualities(update("TR_camera"));
    expect(tracks.dynacast.updates).toBe(2);
  });
});
