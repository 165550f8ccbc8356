/**
 * A worker process: owns the participants of its shard of rooms. rtc-node runs one FFI server per
 * process and fans every event out to every room in it, so rooms are packed many to a process
 * (cheaper per participant) and spread over a few processes (a core each), never one per room.
 */
import { AccessToken } from "livekit-server-sdk";
import type { AudioSource, VideoSource } from "@livekit/rtc-node";
import { NativeParticipant } from "../engine/participant.js";
import {
  AUDIO_SAMPLE_RATE,
  isTalking,
  SILENT_FRAME,
  TestPattern,
  toneFrames,
  toneFrequency,
} from "../engine/media.js";
import { loadRtc } from "../engine/rtc.js";
import type {
  OrchestratorMessage,
  ParticipantEvent,
  ParticipantPlan,
  WindowSample,
  WorkerMessage,
  WorkerPlan,
} from "./messages.js";

type Rtc = Awaited<ReturnType<typeof loadRtc>>;

function send(message: WorkerMessage): void {
  process.send?.(message);
}

async function token(plan: WorkerPlan, p: ParticipantPlan): Promise<string> {
  const at = new AccessToken(plan.apiKey, plan.apiSecret, { identity: p.identity, ttl: plan.tokenTtlS });
  at.addGrant({
    roomJoin: true,
    room: p.room,
    canPublish: p.publishAudio || p.publishVideo,
    canSubscribe: p.subscribe,
  });
  return at.toJwt();
}

class Worker {
  private readonly participants: NativeParticipant[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly toneSources = new Map<number, AudioSource>();
  private videoSources: { source: VideoSource; pattern: TestPattern; owner: NativeParticipant }[] = [];
  private stopping = false;

  constructor(
    private readonly rtc: Rtc,
    private readonly plan: WorkerPlan,
  ) {}

  start(): void {
    for (const p of this.plan.participants) {
      const delay = Math.max(0, this.plan.startAtMs + p.joinAtMs - Date.now());
      this.timers.push(
        setTimeout(() => {
          void this.join(p);
        }, delay),
      );
    }
    const { fps } = this.plan.media.video;
    this.timers.push(
      setInterval(() => {
        this.tickVideo();
      }, 1000 / fps),
    );
    this.timers.push(
      setInterval(() => {
        void this.sampleAll();
      }, this.plan.statsIntervalMs),
    );
    const data = this.plan.media.data;
    if (data !== undefined) {
      this.timers.push(
        setInterval(() => {
          this.sendData();
        }, data.intervalMs),
      );
    }
  }

  private async join(p: ParticipantPlan, attempt = 0): Promise<void> {
    if (this.stopping) return;
    const participant = new NativeParticipant(
      this.rtc,
      p,
      (event) => {
        if (event.type === "disconnected") this.scheduleRejoin(p, participant, 0);
        this.report(p, event);
      },
      this.plan.media.subscribeLimit,
      this.plan.media.watchMs,
    );
    this.participants.push(participant);
    const joined = await participant.join(this.plan.url, await token(this.plan, p));
    if (!joined) this.scheduleRejoin(p, participant, attempt + 1);
    if (!joined || this.isStopping()) return;
    await this.publish(participant, p);
  }

  /**
   * With `rejoin` (the canary), a participant that was disconnected or could not join comes back
   * as a fresh one: 1 s after a disconnect, then backing off to 30 s while joins keep failing.
   */
  private scheduleRejoin(p: ParticipantPlan, gone: NativeParticipant, failures: number): void {
    if (this.plan.media.rejoin !== true || this.stopping) return;
    const index = this.participants.indexOf(gone);
    if (index >= 0) this.participants.splice(index, 1);
    this.videoSources = this.videoSources.filter((v) => v.owner !== gone);
    const delayMs = Math.min(30_000, 1000 * 2 ** failures);
    this.timers.push(
      setTimeout(() => {
        void this.join(p, failures);
      }, delayMs),
    );
  }

  private async publish(participant: NativeParticipant, p: ParticipantPlan): Promise<void> {
    const {
      AudioSource,
      VideoSource,
      LocalAudioTrack,
      LocalVideoTrack,
      TrackPublishOptions,
      TrackSource,
      VideoCodec,
    } = this.rtc;
    const room = participant.localRoom;
    if (room === undefined) return;
    try {
      if (p.publishAudio) {
        const source = this.toneSource(p.publisherIndex, AudioSource);
        const track = LocalAudioTrack.createAudioTrack(`tone-${p.publisherIndex}`, source);
        await room.localParticipant?.publishTrack(
          track,
          new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE, dtx: false }),
        );
      }
      if (p.publishVideo) {
        const { width, height, fps, codec, simulcast, maxBitrate } = this.plan.media.video;
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
          owner: participant,
        });
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.report(p, { type: "join-failed", reason: "publish_failed", message });
    }
  }

  /** Tells the orchestrator what happened to one of this worker's participants. */
  private report(p: ParticipantPlan, event: ParticipantEvent): void {
    send({
      type: "event",
      t: Date.now(),
      worker: this.plan.worker,
      room: p.room,
      participant: p.identity,
      role: p.role,
      event,
    });
  }

  /** Paced by the source's 1 s queue: captureFrame resolves when there is room for 100 ms more. */
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
      void this.feedAudio(source, publisherIndex);
    }
    return source;
  }

  private async feedAudio(source: AudioSource, publisherIndex: number): Promise<void> {
    const { AudioFrame } = this.rtc;
    const frames = toneFrames(toneFrequency(publisherIndex));
    const { talkMs, silenceMs } = this.plan.media.audio;
    const started = Date.now();
    let i = 0;
    while (!this.stopping) {
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

  private sendData(): void {
    const payload = new TextEncoder().encode(JSON.stringify({ t: Date.now() }));
    for (const p of this.participants) {
      if (p.plan.role === "publisher") {
        void p.sendData(payload).catch((err: unknown) => {
          // workers.log: a failed send is counted by its absence from data_sent
          console.error(`data send failed for ${p.plan.identity}: ${String(err)}`);
        });
      }
    }
  }

  private tickVideo(): void {
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

  private async sampleAll(): Promise<void> {
    const samples: WindowSample[] = [];
    await Promise.all(
      this.participants.map(async (p) => {
        try {
          const s = await p.sample(this.plan.worker);
          if (s !== undefined) samples.push(s);
        } catch {
          // a participant mid-disconnect has no stats; its events tell what happened
        }
      }),
    );
    if (samples.length > 0) send({ type: "samples", samples });
  }

  async simulate(chosen: readonly { room: string; identity: string }[], scenario: string): Promise<void> {
    const wanted = new Set(chosen.map((c) => `${c.room}/${c.identity}`));
    await Promise.all(
      this.participants
        .filter((p) => wanted.has(`${p.plan.room}/${p.plan.identity}`))
        .map((p) => p.simulate(scenario)),
    );
  }

  /** Participants beyond the plan (late joiners), joining at once. */
  joinNow(participants: readonly ParticipantPlan[]): void {
    for (const p of participants) void this.join(p);
  }

  /** A method, not a field read: `stopping` changes under awaits, which narrowing cannot see. */
  private isStopping(): boolean {
    return this.stopping;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    await this.sampleAll();
    await Promise.all(this.participants.map((p) => p.leave()));
    await this.rtc.dispose().catch(() => undefined);
  }
}

let worker: Worker | undefined;

process.on("message", (message: OrchestratorMessage) => {
  void (async () => {
    if (message.type === "start") {
      const rtc = await loadRtc();
      worker = new Worker(rtc, message.plan);
      send({ type: "ready", worker: message.plan.worker });
      worker.start();
    } else if (message.type === "simulate") {
      await worker?.simulate(message.participants, message.scenario);
    } else if (message.type === "join") {
      worker?.joinNow(message.participants);
    } else {
      await worker?.stop();
      send({ type: "done", worker: worker === undefined ? -1 : 0 });
      if (process.connected) process.disconnect();
      process.exit(0);
    }
  })();
});

// the orchestrator is gone (killed, or crashed): nobody is left to report to
process.on("disconnect", () => {
  process.exit(0);
});
// Ctrl-C reaches the whole process group; the orchestrator decides how to drain, not us
process.on("SIGINT", () => undefined);
