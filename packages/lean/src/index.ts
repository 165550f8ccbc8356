export { DATA_TOPIC, RELIABLE_LABEL, isUserPacket, userPacket } from "./data.js";
export { LeanError, type LeanErrorReason } from "./errors.js";
export {
  H264_MAX_PAYLOAD,
  accessUnits,
  annexBNalUnits,
  h264KeyframeSize,
  h264Payloads,
  h264StartsKeyframe,
  isH264KeyframeBitstream,
  payloadNalUnits,
  profileLevelId,
  spsSize,
} from "./h264.js";
export { InboundStream, type InboundTotals } from "./inbound.js";
export { IvfError, parseIvf, type IvfFile } from "./ivf.js";
export {
  MediaError,
  SAMPLES_PER_PACKET,
  cachedMedia,
  defaultCacheDir,
  opusLoop,
  type MediaRecipe,
  type OpusLoop,
} from "./media.js";
export { restrictHostCandidates, sourceAddressFor } from "./network.js";
export { OggError, oggPackets, opusAudioPackets, opusPacketSamples } from "./ogg.js";
export { buildLeanMedia, loadedLeanMedia, nativeMediaWanted } from "./native-media.js";
export { NativeTickLateness, latenessBetween, type TickLateness } from "./native-lateness.js";
export { srtcpByAddonCounts } from "./native-srtcp.js";
export { PACKET_MS, Pacer, processPacer, ticksDue, type TickHandler } from "./pacer.js";
export { LeanParticipant, type ReceivedTrack } from "./participant.js";
export type { LeanParticipantOptions } from "./participant-options.js";
export { ReceivedStreams } from "./received.js";
export {
  DEFAULT_RECONNECT_POLICY,
  reconnectEpisode,
  type EpisodeOutcome,
  type ReconnectCause,
  type ReconnectPath,
  type ReconnectPolicy,
} from "./reconnect.js";
export { Reconnection, type ReconnectionHooks } from "./reconnection.js";
export { RemotePublishers, type RemoteTrackIds } from "./remote.js";
export {
  publisherHeld,
  resumeSyncState,
  subscribedTrackSids,
  type SubscriberDescriptions,
} from "./resume.js";
export { extmapId, withMsid } from "./sdp.js";
export {
  SIMULCAST_RIDS,
  SimulcastPublication,
  lowerLayerSizes,
  simulcastExtensionIds,
  simulcastLoops,
  simulcastVideoLayers,
  type LayerTransport,
  type SimulcastExtensionIds,
} from "./simulcast.js";
export { TestPattern, type Resolution } from "./pattern.js";
export {
  LEAN_SIMULATIONS,
  isLeanSimulation,
  simulationSteps,
  type LeanSimulation,
  type SimulationSteps,
} from "./simulate.js";
export { joinUrl } from "./signal.js";
export { cameraTrackRequest, microphoneTrackRequest } from "./track-requests.js";
export { STAMP_BITS, STAMP_ROWS, readStamp, unwrapCaptureTime, writeStamp, type Stamp } from "./stamp.js";
export { KEYFRAME_WAIT_MS, VideoInbound, type VideoTotals } from "./video-inbound.js";
export {
  H264_FMTP,
  VideoPublication,
  VideoReceiving,
  videoCodecs,
  videoHeaderExtensions,
} from "./video-track.js";
export {
  LEAN_VIDEO_CODECS,
  VIDEO_FORMATS,
  formatOfMimeType,
  type LeanVideoCodec,
  type VideoFormat,
} from "./video-format.js";
export {
  MAX_LEAN_FPS,
  h264Loop,
  loopKbps,
  presetBitrateKbps,
  videoLoop,
  vp8Loop,
  type VideoLoop,
  type VideoLoopOptions,
} from "./video-media.js";
export {
  ABS_CAPTURE_TIME_URI,
  VIDEO_CLOCK,
  VideoSender,
  absCaptureTime,
  absCaptureTimeMs,
  type VideoSenderOptions,
  type VideoSent,
} from "./video-send.js";
export {
  VP8_MAX_PAYLOAD,
  isKeyframeBitstream,
  keyframeSize,
  startsKeyframe,
  vp8Descriptor,
  vp8Payloads,
  type Vp8Descriptor,
} from "./vp8.js";
