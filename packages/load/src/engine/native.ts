import type { AudioSource, Room, VideoSource } from "@livekit/rtc-node";
import type { MediaPlan, ParticipantPlan } from "../run/messages.js";
import type { Engine, EventSink } from "./engine.js";
import {
  AUDIO_SAMPLE_RATE,
  isTalking,
  SILENT_FRAME,
  TestPattern,
  toneFrames,
  toneFrequency,
} from "./media.js";
import { CryptorStates, encryptionOptions } from "./e2ee.js";
import { NativeParticipant } from "./participant.js";
import { loadRtc } from "./rtc.js";

type Rtc = Awaited<ReturnType<typeof loadRtc>>;

/**
 * @livekit/rtc-node in one worker process: libwebrtc encodes the tone and the test pattern live and
 * decodes what it receives. One FFI server per process fans every event out to every room in it.
 */
export class NativeEngine implements Engine {
  readonly name = "native";
  private readonly toneSources = new Map<number, AudioSource>();
  /** The tone capture loops, awaited before the FFI server goes: a frame sent after it logs an error. */
  private readonly feeds: Promise<void>[] = [];
  private videoSources: { source: VideoSource; pattern: TestPattern; owner: NativeParticipant }[] = [];
  private readonly ticker: NodeJS.Timeout;
  private closed = false;
  private readonly cryptors = new CryptorStates();

  private constructor(
    private readonly rtc: Rtc,
    private readonly media: MediaPlan,
    /** The room's shared key when media.e2ee is set. */
    private readonly e2eeKey: Uint8Array | undefined,
  ) {
    this.ticker = setInterval(() => {
      this.tickVideo();
    }, 1000 / media.video.fps);
  }

  static async open(media: MediaPlan, e2eeKey?: Uint8Array): Promise<NativeEngine> {
    if (media.e2ee !== undefined && e2eeKey === undefined)
      throw new Error("an E2EE media plan needs its key: the worker plan carries none");
    return new NativeEngine(await loadRtc(), media, e2eeKey);
  }

  participant(plan: ParticipantPlan, emit: EventSink): NativeParticipant {
    const participant: NativeParticipant = new NativeParticipant(
      this.rtc,
      plan,
      emit,
      (room) => this.publish(room, plan, participant),
      this.media.subscribeLimit,
      this.media.watchMs,
      this.media.e2ee !== undefined && this.e2eeKey !== undefined
        ? {
            options: encryptionOptions(this.media.e2ee, this.e2eeKey, plan.wrongKey === true),
            states: this.cryptors,
          }
        : undefined,
    );
    return participant;
  }

  private async publish(room: Room, p: ParticipantPlan, owner: NativeParticipant): Promise<void> {
    const {
      AudioSource,
      VideoSource,
      LocalAudioTrack,
      LocalVideoTrack,
      TrackPublishOptions,
      TrackSource,
      VideoCodec,
    } = this.rtc;
    if (p.publishAudio) {
      const source = this.toneSource(p.publisherIndex, AudioSource);
      const track = LocalAudioTrack.createAudioTrack(`tone-${p.publisherIndex}`, source);
      await room.localParticipant?.publishTrack(
        track,
        new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE, dtx: false }),
      );
    }
    if (p.publishVideo) {
      const { width, height, fps, codec, simulcast, maxBitrate } = this.media.video;
      const source = new VideoSource(width, height);
      const track = LocalVideoTrack.createVideoTrack(`pattern-${p.publisherIndex}`, source);
      const codecs = {
        vp8: VideoCodec.VP8,
        h264: VideoCodec.H264,
        vp9: VideoCodec.VP9,
        av1: VideoCodec.AV1,
      } as const;
      await room.localParticipant?.publishTrack(
        track,
        new TrackPublishOptions({
          source: TrackSource.SOURCE_CAMERA,
          videoCodec: codecs[codec],
          simulcast,
          videoEncoding: { maxBitrate: BigInt(maxBitrate), maxFramerate: fps },
        }),
      );
      this.videoSources.push({
        source,
        pattern: new TestPattern({ width, height }, fps, p.publisherIndex),
        owner,
      });
    }
  }

  /**
   * The AudioSource of publisher index `i`, shared by that publisher in every room of this worker:
   * the tone still tells a room's publishers apart, and one capture loop feeds them all (one
   * AudioSource across Rooms: -15% CPU, docs/engine-costs.md rule 3).
   */
  private toneSource(publisherIndex: number, AudioSourceClass: Rtc["AudioSource"]): AudioSource {
    let source = this.toneSources.get(publisherIndex);
    if (source === undefined) {
      source = new AudioSourceClass(AUDIO_SAMPLE_RATE, 1, 1000);
      this.toneSources.set(publisherIndex, source);
      this.feeds.push(this.feedAudio(source, publisherIndex));
    }
    return source;
  }

  /** Paced by the source's 1 s queue: captureFrame resolves when there is room for 100 ms more. */
  private async feedAudio(source: AudioSource, publisherIndex: number): Promise<void> {
    const { AudioFrame } = this.rtc;
    const frames = toneFrames(toneFrequency(publisherIndex));
    const { talkMs, silenceMs } = this.media.audio;
    const started = Date.now();
    let i = 0;
    while (!this.closed) {
      const data = isTalking(Date.now() - started, talkMs, silenceMs)
        ? (frames[i % frames.length] ?? SILENT_FRAME)
        : SILENT_FRAME;
      i++;
      try {
        await source.captureFrame(new AudioFrame(data, AUDIO_SAMPLE_RATE, 1, data.length));
      } catch {
        return;
      }
    }
  }

  private tickVideo(): void {
    // a publisher that left or was disconnected no longer needs frames (a rejoin publishes anew)
    this.videoSources = this.videoSources.filter((v) => v.owner.connected);
    if (this.videoSources.length === 0) return;
    const { VideoFrame, VideoBufferType } = this.rtc;
    const now = Date.now();
    for (const { source, pattern } of this.videoSources) {
      const { width, height } = pattern.resolution;
      try {
        source.captureFrame(new VideoFrame(pattern.next(now), width, height, VideoBufferType.I420));
      } catch {
        // the track was closed while we ticked; the next tick will not see it again
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.ticker);
    this.cryptors.close();
    // each loop ends once its pending frame is queued: within the source's 1 s queue
    await Promise.all(this.feeds);
    await this.rtc.dispose().catch(() => undefined);
  }
}
