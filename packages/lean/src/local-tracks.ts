import type { SubscribedQualityUpdate, TrackInfo } from "@livekit/protocol";
import type { OutboundTrackSample } from "@livekit-swarm/schema";
import { MediaStreamTrack, type RTCPeerConnection, type RTCRtpTransceiver } from "werift";
import { AudioSending } from "./audio-track.js";
import type { DirectSendCount } from "./direct-send.js";
import { LeanError } from "./errors.js";
import type { OpusLoop } from "./media.js";
import type { Pacer } from "./pacer.js";
import { extmapId, withMsid } from "./sdp.js";
import type { SignalConnection } from "./signal.js";
import { SimulcastPublication, simulcastExtensionIds, simulcastRids } from "./simulcast.js";
import { cameraTrackRequest, microphoneTrackRequest } from "./track-requests.js";
import type { VideoLoop } from "./video-media.js";
import { ABS_CAPTURE_TIME_URI, type VideoSent } from "./video-send.js";
import {
  NOTHING_SENT,
  VideoPublication,
  videoPayloadTypes,
  type SubscribedQualityState,
} from "./video-track.js";
import { connected, within } from "./wait.js";

/** What a published video loop sent and what feedback it got. */
export type VideoSentTotals = VideoSent & {
  readonly nack: number;
  readonly pli: number;
  readonly fir: number;
};

/** Two loops' totals added up: the ones a full rejoin ended and the current one. */
export function addVideoTotals(a: VideoSentTotals, b: VideoSentTotals): VideoSentTotals {
  return {
    packets: a.packets + b.packets,
    bytes: a.bytes + b.bytes,
    frames: a.frames + b.frames,
    keyframes: a.keyframes + b.keyframes,
    restarts: a.restarts + b.restarts,
    nack: a.nack + b.nack,
    pli: a.pli + b.pli,
    fir: a.fir + b.fir,
  };
}

/** The client track ids of our tracks, matched by the server to their AddTrackRequests. */
const AUDIO_CID = "lean-mic";
const VIDEO_CID = "lean-camera";

/** Whether the native media path carries a publisher's audio now, the packets it sent, and why not. */
export interface NativeAudioUse {
  readonly on: boolean;
  readonly packets: number;
  readonly refused: string | undefined;
  /** Whether its thread reads the publisher's socket now (an audio-only publisher's: native-audio.ts). */
  readonly socketRead: boolean;
  /** Whether its thread read the publisher's socket at any time. */
  readonly socketEverRead: boolean;
  /** The server's keepalives its thread answered there. */
  readonly keepalives: number;
  /** Why its thread does not read the publisher's socket, when it tried. */
  readonly socketRefused: string | undefined;
  /** Why its thread does not send the stream's sender reports, when it tried (native-audio.ts). */
  readonly reportsRefused: string | undefined;
}

/**
 * What a participant publishes, across its sessions: the audio and video loops, announced, offered
 * on the publisher PeerConnection and sent on the pacer. A full rejoin ends a session's tracks
 * (`endSession`) and publishes them again; audio and video counters carry on (a new video loop
 * starts from zero, its totals are added to the ended ones') and an ended loop's last window is
 * reported once.
 */
export class LocalTracks {
  private readonly confirmations = new Map<string, () => void>();
  /** What the server made of our tracks, by cid: a resume's SyncState names them. */
  readonly confirmed = new Map<string, TrackInfo>();
  private readonly audioSending = new AudioSending();
  private stopAudio: (() => void) | undefined;
  private video: VideoPublication | SimulcastPublication | undefined;
  /** The last window of a publication a full rejoin ended, reported once by the next window. */
  private readonly videoBeforeRejoin: OutboundTrackSample[] = [];
  /** What the video loops that full rejoins ended sent and heard. */
  private videoEnded = NOTHING_SENT;
  /** The session's last dynacast word on the camera track, kept for a publication not made yet. */
  private cameraQualities: readonly SubscribedQualityState[] | undefined;
  /** Dynacast updates taken for the camera track. */
  readonly dynacast = { updates: 0 };

  constructor(
    private readonly loops: {
      readonly audio?: OpusLoop | undefined;
      readonly video?: VideoLoop | undefined;
      /** The simulcast layers under `video`, smallest first. */
      readonly videoLayers?: readonly VideoLoop[] | undefined;
      /** Withhold every Nth video packet written past werift's sender (see LeanParticipantOptions). */
      readonly videoSendLossEvery?: number | undefined;
    },
    private readonly identity: string,
    private readonly pacer: Pacer,
  ) {}

  /** Whether the camera track goes out as simulcast layers. */
  get simulcast(): boolean {
    return this.loops.video !== undefined && (this.loops.videoLayers?.length ?? 0) > 0;
  }

  /** Whether there is anything to publish. */
  get any(): boolean {
    return this.loops.audio !== undefined || this.loops.video !== undefined;
  }

  /** Announces each track and waits for the server to accept them all (trackPublished). */
  async announce(signal: SignalConnection, timeoutMs: number): Promise<void> {
    const { audio, video } = this.loops;
    const requests = [
      ...(audio === undefined ? [] : [microphoneTrackRequest(AUDIO_CID)]),
      ...(video === undefined ? [] : [cameraTrackRequest(VIDEO_CID, video, this.loops.videoLayers)]),
    ];
    const published = requests.map(
      (r) => new Promise<void>((resolve) => this.confirmations.set(r.cid, resolve)),
    );
    for (const r of requests) signal.addTrack(r);
    await within(
      Promise.all(published),
      timeoutMs,
      "the server did not confirm every track (trackPublished)",
    );
  }

  /** The server's trackPublished for our track `cid`. */
  trackPublished(cid: string, track: TrackInfo | undefined): void {
    if (track !== undefined) this.confirmed.set(cid, track);
    this.confirmations.get(cid)?.();
  }

  /**
   * A SubscribedQualityUpdate: for our camera track, the qualities of its codec pause or resume
   * the layers (video-track.ts), kept for the publication when it comes before it. Other tracks'
   * (the microphone's) change nothing.
   */
  subscribedQualities(update: SubscribedQualityUpdate): void {
    const camera = this.confirmed.get(VIDEO_CID);
    const codec = this.loops.video?.codec;
    if (camera === undefined || codec === undefined || update.trackSid !== camera.sid) return;
    // per codec (the plain list is its first codec's, kept for old clients)
    const codecs = update.subscribedCodecs;
    const qualities = (codecs.find((c) => c.codec.toLowerCase() === codec) ?? codecs[0])?.qualities ?? [];
    if (qualities.length === 0) return;
    this.dynacast.updates++;
    this.cameraQualities = qualities;
    this.video?.setSubscribedQualities(qualities);
  }

  /** Offers the announced tracks on the publisher PeerConnection `pc` and starts sending once it connects. */
  async offer(pc: RTCPeerConnection, signal: SignalConnection, timeoutMs: number): Promise<void> {
    const { audio, video } = this.loops;
    const lower = this.loops.videoLayers ?? [];
    const transceiver = (kind: "audio" | "video"): RTCRtpTransceiver =>
      pc.addTransceiver(new MediaStreamTrack({ kind }), {
        direction: "sendonly",
        ...(kind === "video" && lower.length > 0 ? { simulcast: simulcastRids(lower.length + 1) } : {}),
      });
    const audioSender = audio === undefined ? undefined : transceiver("audio").sender;
    const videoTransceiver = video === undefined ? undefined : transceiver("video");
    await pc.setLocalDescription(await pc.createOffer());
    const local = pc.localDescription;
    if (local === null) throw new LeanError("negotiation", "werift produced no publisher offer");
    signal.sendOffer(withMsid(local.sdp, this.identity, { audio: AUDIO_CID, video: VIDEO_CID }));
    await connected(pc, timeoutMs, "publisher");
    if (audioSender !== undefined && audio !== undefined)
      // the thread reads the socket only where no video shares it (native-audio.ts)
      this.stopAudio = this.audioSending.start(audioSender, audio, this.pacer, video === undefined);
    if (videoTransceiver !== undefined && video !== undefined) {
      const answer = pc.remoteDescription?.sdp ?? "";
      // written only when the server's answer takes the extension, under the id it answered with
      const captureId = extmapId(answer, ABS_CAPTURE_TIME_URI, "video");
      this.video =
        lower.length === 0
          ? new VideoPublication(
              videoTransceiver.sender,
              video,
              this.pacer,
              captureId,
              this.loops.videoSendLossEvery,
            )
          : new SimulcastPublication([...lower, video], videoTransceiver.sender.dtlsTransport, this.pacer, {
              mid: videoTransceiver.mid ?? "",
              ids: simulcastExtensionIds(answer),
              ...videoPayloadTypes(video.codec),
            });
      if (this.cameraQualities !== undefined) this.video.setSubscribedQualities(this.cameraQualities);
    }
  }

  /** Stops sending; the counters stay readable. */
  stop(): void {
    this.stopAudio?.();
    this.video?.stop();
  }

  /** A full rejoin: stop sending, forget what the server confirmed, keep the video loop's last window. */
  endSession(): void {
    const video = this.video;
    this.stop();
    this.stopAudio = undefined;
    this.video = undefined;
    if (video !== undefined) {
      this.videoBeforeRejoin.push(video.window());
      this.videoEnded = addVideoTotals(this.videoEnded, video.totals);
    }
    this.confirmations.clear();
    this.confirmed.clear();
    // the next session's track has a new sid, and LiveKit says again who receives it
    this.cameraQualities = undefined;
  }

  /** What was sent since the previous call, per published kind (audio even when nothing went). */
  windows(): OutboundTrackSample[] {
    return [
      ...(this.loops.audio === undefined ? [] : [this.audioSending.window()]),
      ...this.videoBeforeRejoin.splice(0),
      ...(this.video === undefined ? [] : [this.video.window()]),
    ];
  }

  /** Audio packets and payload bytes sent since joining. */
  get audioTotals(): { readonly packets: number; readonly bytes: number } {
    return this.audioSending.totals;
  }

  /**
   * Whether the native media path carries the audio now, the packets it sent, and why not once that
   * is settled (native-audio.ts).
   */
  get audioNative(): NativeAudioUse {
    const sending = this.audioSending;
    return {
      on: sending.onNativePath,
      packets: sending.nativePackets,
      refused: sending.nativeRefused,
      socketRead: sending.nativeReadsSocket,
      socketEverRead: (sending.socket.taken ?? 0) > 0,
      keepalives: sending.socket.keepalives ?? 0,
      socketRefused: sending.socket.refused,
      reportsRefused: sending.nativeReportsRefused,
    };
  }

  /** Of the packets sent, the ones written past werift's sender (direct-send.ts); video: the current loop's. */
  get direct(): { readonly audio: DirectSendCount; readonly video: DirectSendCount | undefined } {
    return {
      audio: { ...this.audioSending.direct },
      video: this.video instanceof VideoPublication ? { ...this.video.direct } : undefined,
    };
  }

  /** Video sent and feedback heard since joining, across full rejoins; undefined without a video loop. */
  get videoTotals(): VideoSentTotals | undefined {
    if (this.loops.video === undefined) return undefined;
    return addVideoTotals(this.videoEnded, this.video?.totals ?? NOTHING_SENT);
  }
}
