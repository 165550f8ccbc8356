import {
  AddTrackRequest,
  AudioTrackFeature,
  TrackSource,
  TrackType,
  VideoLayer,
  VideoQuality,
} from "@livekit/protocol";
import { simulcastVideoLayers } from "./simulcast.js";
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

/**
 * The camera track a video publisher announces: the loop's size, one layer, or with `lower` (the
 * simulcast layers under it, smallest first) every layer from LOW up.
 */
export function cameraTrackRequest(
  cid: string,
  loop: VideoLoop,
  lower: readonly VideoLoop[] = [],
): AddTrackRequest {
  return new AddTrackRequest({
    cid,
    name: "camera",
    type: TrackType.VIDEO,
    source: TrackSource.CAMERA,
    width: loop.width,
    height: loop.height,
    layers:
      lower.length === 0
        ? [
            new VideoLayer({
              quality: VideoQuality.HIGH,
              width: loop.width,
              height: loop.height,
              bitrate: loop.bitrateKbps * 1000,
            }),
          ]
        : simulcastVideoLayers([...lower, loop]),
  });
}
