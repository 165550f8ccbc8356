export { LeanError, type LeanErrorReason } from "./errors.js";
export { InboundStream, type InboundTotals } from "./inbound.js";
export { MediaError, SAMPLES_PER_PACKET, defaultCacheDir, opusLoop, type OpusLoop } from "./media.js";
export { restrictHostCandidates, sourceAddressFor } from "./network.js";
export { OggError, oggPackets, opusAudioPackets, opusPacketSamples } from "./ogg.js";
export { PACKET_MS, Pacer, processPacer, ticksDue, type TickHandler } from "./pacer.js";
export {
  LeanParticipant,
  subscribedTrackSids,
  withMsid,
  type LeanParticipantOptions,
} from "./participant.js";
export { ReceivedStreams } from "./received.js";
export {
  DEFAULT_RECONNECT_POLICY,
  reconnectEpisode,
  type EpisodeOutcome,
  type ReconnectCause,
  type ReconnectPath,
  type ReconnectPolicy,
} from "./reconnect.js";
export { joinUrl } from "./signal.js";
