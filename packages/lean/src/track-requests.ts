import {
  AddTrackRequest,
  AudioTrackFeature,
  TrackSource,
  TrackType,
  VideoLayer,
  VideoQuality,
} from "@livekit/protocol";
import type { VideoLoop } from "./video-media.js";

/** The microphone track an audio publisher announces: Opus without DTX, as the loop never pauses. */
export function microphoneTrackRequest(cid: string): AddTrackRequest {
  return new AddTrackRequest({
    cid,
    name: "microphone",
    type: TrackType.AUDIO,
    source: TrackSource.MICROPHONE,
    audioFeatures: [AudioTrackFeature.TF_NO_DTX],
  });
}

/** The camera track a video publisher announces: one layer, the loop's size, no simulcast. */
export function cameraTrackRequest(cid: string, loop: VideoLoop): AddTrackRequest {
  return new AddTrackRequest({
    cid,
    name: "camera",
    type: TrackType.VIDEO,
    source: TrackSource.CAMERA,
    width: loop.width,
    height: loop.height,
    layers: [
      new VideoLayer({
        quality: VideoQuality.HIGH,
        width: loop.width,
        height: loop.height,
        bitrate: loop.bitrateKbps * 1000,
      }),
    ],
  });
}
