import type { ParticipantEvent } from "@livekit-swarm/schema";
import type { MediaStreamTrack, RTCPeerConnection } from "werift";
import { tapAudio } from "./audio-track.js";
import { ReceivedStreams } from "./received.js";
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
  /** Packets received on a payload type other than Opus (RTX, RED): not counted as media. */
  otherPackets = 0;

  constructor(
    private readonly emit: (event: ParticipantEvent) => void,
    private readonly joinStartMs: number,
    /** Drop every Nth received original video packet before the stack sees it (simulated loss). */
    private readonly videoReceiveLossEvery: number | undefined,
  ) {}

  private sinceJoinS(): number {
    return (Date.now() - this.joinStartMs) / 1000;
  }

  /** werift's onTrack, with the current subscriber PeerConnection (its transceivers name the receiver). */
  onTrack(track: MediaStreamTrack, subscriber: RTCPeerConnection): void {
    const afterJoinStartS = this.sinceJoinS();
    // werift fires onTrack again, with the same track, at every server re-offer that still sends
    // on the transceiver: tapping it twice counted every packet twice
    if (this.tapped.has(track)) return;
    if (track.kind === "video") {
      this.onVideoTrack(track, subscriber, afterJoinStartS);
      return;
    }
    if (track.kind !== "audio") return;
    this.tapped.add(track);
    this.emit({ type: "track-subscribed", kind: "audio", afterJoinStartS });
    tapAudio(
      track,
      this.streams,
      () => {
        this.emit({ type: "first-packet", kind: "audio", afterJoinStartS: this.sinceJoinS() });
      },
      () => {
        this.otherPackets++;
      },
    );
  }

  private onVideoTrack(
    track: MediaStreamTrack,
    subscriber: RTCPeerConnection,
    afterJoinStartS: number,
  ): void {
    const receiver = subscriber.getTransceivers().find((t) => t.receiver.tracks.includes(track))?.receiver;
    if (receiver === undefined || this.tappedReceivers.has(receiver)) return;
    this.tapped.add(track);
    this.tappedReceivers.add(receiver);
    this.emit({ type: "track-subscribed", kind: "video", afterJoinStartS });
    const { stream, fresh } = this.streams.video(track.ssrc);
    this.videoReceiving.push(
      new VideoReceiving(
        receiver,
        track,
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
        },
        this.videoReceiveLossEvery,
      ),
    );
  }

  /** Asks every received video stream's sender for a keyframe (a PLI each). */
  requestKeyframes(): void {
    for (const v of this.videoReceiving) v.requestKeyframe();
  }

  /** A full rejoin: the old session's streams end (ReceivedStreams), its video tracks go. */
  endSession(): void {
    this.videoReceiving = [];
    this.streams.endSession();
  }
}
