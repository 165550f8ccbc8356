import type { ParticipantEvent } from "@livekit-swarm/schema";
import type { Kind } from "@livekit-swarm/schema";
import type { MediaStreamTrack, RTCPeerConnection, RTCRtpReceiver, RTCRtpTransceiver } from "werift";
import { tapAudio } from "./audio-track.js";
import { receiveFastPath } from "./header-only.js";
import { ReceivedStreams } from "./received.js";
import type { RemoteTrackIds } from "./remote.js";
import type { VideoInbound } from "./video-inbound.js";
import { receivedExtensionId, VideoBypass } from "./video-bypass.js";
import { ABS_CAPTURE_TIME_URI } from "./video-send.js";
import { VideoReceiving } from "./video-track.js";

/**
 * The tracks a participant receives on its subscriber PeerConnection, across its sessions: each is
 * tapped once, its packets counted into `streams` without decoding, its first packet (and for
 * video first frame) reported when it is a new track's.
 */
export class SubscribedTracks {
  readonly streams = new ReceivedStreams();
  private readonly tapped = new WeakSet<MediaStreamTrack>();
  private readonly tappedReceivers = new WeakSet<object>();
  /** The current session's received video tracks (a full rejoin replaces them): keyframe requests. */
  private videoReceiving: VideoReceiving[] = [];
  /** The receiver each current stream arrives on: its msid names the track's publisher. */
  private receivers = new Map<string, RTCRtpReceiver>();
  /** Each current video stream's msid ids as offered when it started. */
  private readonly videoIds = new Map<VideoInbound, RemoteTrackIds>();
  /** Per publisher identity, its last video stream that ended with no successor yet. */
  private readonly endedVideo = new Map<string, VideoInbound>();
  /** Each audio receiver's current tap and the SSRC its track was offered with. */
  private audioTaps = new WeakMap<RTCRtpReceiver, { stop: () => void; ssrc: number | undefined }>();
  /** Packets received on a payload type other than Opus (RTX, RED): not counted as media. */
  otherPackets = 0;

  constructor(
    private readonly emit: (event: ParticipantEvent) => void,
    private readonly joinStartMs: number,
    /** Drop every Nth received original video packet before the stack sees it (simulated loss). */
    private readonly videoReceiveLossEvery: number | undefined,
    /** The identity whose track a received stream's msid ids name (the signalling's), if known. */
    private readonly publisherOf: (ids: RemoteTrackIds) => string | undefined = () => undefined,
  ) {}

  /**
   * A video stream starts on `receiver`: the msid ids it was offered with are kept (a re-offer
   * changes the receiver's), and when the same publisher's video ended before (a rejoin on either
   * side, a republished track) the new stream's freezes continue from it: the outage counts once.
   */
  private videoStarted(stream: VideoInbound, receiver: RTCRtpReceiver): void {
    const ids = { streamId: receiver.remoteStreamId, trackId: receiver.remoteTrackId };
    this.videoIds.set(stream, ids);
    const publisher = this.publisherOf(ids);
    const previous = publisher === undefined ? undefined : this.endedVideo.get(publisher);
    if (publisher === undefined || previous === undefined) return;
    stream.continueFrom(previous);
    this.endedVideo.delete(publisher);
  }

  /** A video stream ended (its receiver moved on, or a full rejoin): kept by publisher for the next. */
  private videoEnded(stream: VideoInbound): void {
    const ids = this.videoIds.get(stream);
    this.videoIds.delete(stream);
    const publisher = ids === undefined ? undefined : this.publisherOf(ids);
    if (publisher !== undefined) this.endedVideo.set(publisher, stream);
  }

  private sinceJoinS(): number {
    return (Date.now() - this.joinStartMs) / 1000;
  }

  /** werift's onTrack, with the current subscriber PeerConnection (its transceivers name the receiver). */
  onTrack(track: MediaStreamTrack, subscriber: RTCPeerConnection): void {
    const afterJoinStartS = this.sinceJoinS();
    const transceiver = transceiverOf(track, subscriber);
    // werift fires onTrack at every server re-offer that still sends on a transceiver, always with
    // its receiver's first track (tapping it twice counted every packet twice). When LiveKit gives
    // the transceiver the next publication of its kind (a publisher gone, another or the same one
    // back: same mid, new SSRC) werift adds a track for the new SSRC to the receiver and fires
    // nothing for it: every untapped track of the receiver is a new subscription
    for (const t of transceiver?.receiver.tracks ?? [track]) {
      if (this.tapped.has(t)) continue;
      this.tapped.add(t);
      if (t.kind === "video" && transceiver !== undefined)
        this.onVideoTrack(t, transceiver, subscriber, afterJoinStartS);
      else if (t.kind === "audio") this.onAudioTrack(t, transceiver?.receiver, subscriber, afterJoinStartS);
    }
  }

  private onAudioTrack(
    track: MediaStreamTrack,
    receiver: RTCRtpReceiver | undefined,
    subscriber: RTCPeerConnection,
    afterJoinStartS: number,
  ): void {
    this.emit({ type: "track-subscribed", kind: "audio", afterJoinStartS });
    if (receiver !== undefined) {
      // the receiver's previous track ends here: its stream's last window goes out once, and a
      // late packet of it is not counted into a stream of its own
      const previous = this.audioTaps.get(receiver);
      previous?.stop();
      if (previous?.ssrc !== undefined) this.streams.retire(previous.ssrc);
    }
    const fastPath = receiveFastPath(subscriber);
    const stop = tapAudio(track, this.streams, {
      firstPacket: () => {
        this.emit({ type: "first-packet", kind: "audio", afterJoinStartS: this.sinceJoinS() });
      },
      other: () => {
        this.otherPackets++;
      },
      counted: (stream) => {
        if (receiver !== undefined) this.receivers.set(stream.key, receiver);
      },
      bypass: (ssrc, stream) => {
        if (receiver !== undefined) fastPath?.register(ssrc, receiver, stream);
      },
    });
    if (receiver !== undefined) this.audioTaps.set(receiver, { stop, ssrc: track.ssrc });
  }

  private onVideoTrack(
    track: MediaStreamTrack,
    transceiver: RTCRtpTransceiver,
    subscriber: RTCPeerConnection,
    afterJoinStartS: number,
  ): void {
    const { receiver } = transceiver;
    this.emit({ type: "track-subscribed", kind: "video", afterJoinStartS });
    // a receiver's next track: its VideoReceiving moves to the new SSRC at its first packet
    if (this.tappedReceivers.has(receiver)) return;
    this.tappedReceivers.add(receiver);
    const first = this.streams.video(track.ssrc);
    const { stream } = first;
    this.videoStarted(stream, receiver);
    // whether the receiver's current stream is a new track's: not after a move to another SSRC
    let fresh = first.fresh;
    this.receivers.set(stream.key, receiver);
    this.videoReceiving.push(
      new VideoReceiving(
        receiver,
        () => transceiver.codecs,
        stream,
        {
          firstPacket: () => {
            if (fresh) this.emit({ type: "first-packet", kind: "video", afterJoinStartS: this.sinceJoinS() });
          },
          firstFrame: () => {
            if (fresh)
              this.emit({
                type: "first-frame",
                kind: "video",
                afterJoinStartS: this.sinceJoinS(),
                exact: true,
              });
          },
          nextStream: (from, ssrc, previous) => {
            this.streams.retire(from);
            this.videoEnded(previous);
            const next = this.streams.video(ssrc);
            fresh = next.fresh;
            this.receivers.set(next.stream.key, receiver);
            this.videoStarted(next.stream, receiver);
            return next.stream;
          },
        },
        this.videoReceiveLossEvery,
        (ssrc, sink) => {
          const absCaptureTimeId = receivedExtensionId(subscriber, ABS_CAPTURE_TIME_URI);
          receiveFastPath(subscriber)?.registerStream(
            ssrc,
            receiver,
            (statistics) => new VideoBypass({ ssrc, receiver, statistics, sink, absCaptureTimeId }),
          );
        },
      ),
    );
  }

  /** Asks every received video stream's sender for a keyframe (a PLI each). */
  requestKeyframes(): void {
    for (const v of this.videoReceiving) v.requestKeyframe();
  }

  /**
   * Each current stream's packets so far, with the msid ids its receiver was last offered: a
   * re-offer that reuses a transceiver for another publisher's track names the new one.
   */
  counts(): ReceivedCount[] {
    return this.streams.packetCounts().map((count) => {
      const receiver = this.receivers.get(count.key);
      return { ...count, ids: { streamId: receiver?.remoteStreamId, trackId: receiver?.remoteTrackId } };
    });
  }

  /** A full rejoin: the old session's streams end (ReceivedStreams), its video tracks go. */
  endSession(): void {
    for (const v of this.videoReceiving) this.videoEnded(v.inbound);
    this.videoReceiving = [];
    this.receivers = new Map();
    this.streams.endSession();
  }
}

/** One received stream's cumulative packet count and whose track it carries (watch mode). */
export interface ReceivedCount {
  readonly key: string;
  readonly kind: Kind;
  readonly packetsReceived: number;
  readonly ids: RemoteTrackIds;
}

/** The transceiver of a track on the subscriber PeerConnection. */
function transceiverOf(
  track: MediaStreamTrack,
  subscriber: RTCPeerConnection,
): RTCRtpTransceiver | undefined {
  return subscriber.getTransceivers().find((t) => t.receiver.tracks.includes(track));
}
