/// <reference lib="dom" />
/// <reference lib="dom.asynciterable" />
/**
 * One participant of the page: its own Room, the tracks it publishes, the stamps it reads from what
 * it receives, the E2EE recoveries it looks for, and the events it hands the Node side.
 */
import { CryptorReport, cannotDecrypt, messageOf } from "@livekit-swarm/schema";
import {
  ConnectionQuality,
  ConnectionState,
  DisconnectReason,
  LocalAudioTrack,
  LocalVideoTrack,
  Room,
  RoomEvent,
  Track,
  createLocalAudioTrack,
  type Participant,
  type SimulationScenario,
  type RemoteParticipant,
  type RemoteTrack,
} from "livekit-client";
import {
  E2EE_WORKER_PATH,
  EVENT_BINDING,
  type PageE2ee,
  type PageEvent,
  type PageJoin,
  type PageLatency,
  type PageLook,
  type PageSample,
  type PageStatsEntry,
  type PageStream,
  slotElementId,
} from "../protocol.js";
import {
  AUDIO_SETTLE_MS,
  AUDIO_WATCH_MS,
  audioPlayout,
  decodesAgain,
  type AudioPlayout,
} from "../audio-recovery.js";
import { ReconnectEpisodes, disconnectReasonName } from "../reconnect.js";
import { PatternCanvas } from "./pattern-canvas.js";
import { SharedKeyProvider, cryptorState } from "./e2ee.js";
import { stampReader } from "./stamp-reader.js";

type Binding = (slot: number, event: PageEvent) => Promise<void>;

function emitFor(slot: number): (event: PageEvent) => void {
  return (event) => {
    const binding = (window as unknown as Record<string, Binding | undefined>)[EVENT_BINDING];
    void binding?.(slot, event);
  };
}

/** Why a join failed, as a short word for counting, in the native engine's words. */
function joinFailure(message: string): string {
  const m = message.toLowerCase();
  if (/401|unauthori[sz]ed|invalid token|token is expired|signature|permission/.test(m))
    return "unauthorized";
  if (/could not establish signal|failed to fetch|websocket|econnrefused|connection refused/.test(m))
    return "unreachable";
  if (/timed? ?out|timeout/.test(m)) return "timeout";
  if (/could not establish pc|pc connection|ice/.test(m)) return "negotiation";
  return "error";
}

/** One participant of the page: its own Room, elements, stamps and events. */
export class PageParticipant {
  private room: Room | undefined;
  private joinStartMs = 0;
  private left = false;
  private sid: string | undefined;
  private readonly episodes = new ReconnectEpisodes();
  /** Each subscribed track's number (PageStream.subscription): a new RemoteTrack, a new number. */
  private readonly subscriptions = new WeakMap<RemoteTrack, number>();
  private subscriptionCount = 0;
  private latencies: PageLatency[] = [];
  private pattern: PatternCanvas | undefined;
  private readonly readers: (() => void)[] = [];
  /** What the cryptors said of each publisher's frames (the failures it is in, for a recovery). */
  private readonly cryptors = new CryptorReport();
  /** When each publisher's frames last failed to decrypt (epoch ms): what a recovery is seen after. */
  private readonly failedAtMs = new Map<string, number>();
  /** The video elements watched for a recovery now: one watch each, however often their publisher fails. */
  private readonly watched = new WeakSet<HTMLVideoElement>();
  /** Failing publishers without video, whose audio is read for a recovery: the last read, and when reading starts. */
  private readonly audioWatch = new Map<string, { notBeforeMs: number; before: AudioPlayout | undefined }>();
  private audioTimer: number | undefined;
  private audioReading = false;
  private tone: AudioContext | undefined;
  private readonly emit: (event: PageEvent) => void;
  /** Where this participant's canvas and videos go: its own box, so a shared page shows whose is whose. */
  private readonly box: HTMLElement;
  private keyProvider: SharedKeyProvider | undefined;
  private e2eeWorker: Worker | undefined;

  constructor(slot: number) {
    this.emit = emitFor(slot);
    this.box = document.createElement("section");
    this.box.id = slotElementId(slot);
    document.body.append(this.box);
  }

  async join(options: PageJoin): Promise<boolean> {
    // dynacast as the native engine; no adaptive stream, so every subscriber asks for the top layer
    // whatever its element's size, as native subscribers do (their sizes are comparable)
    const encryption = options.e2ee === undefined ? undefined : await this.encryption(options.e2ee);
    const room = new Room({
      dynacast: true,
      adaptiveStream: false,
      ...(encryption !== undefined ? { encryption } : {}),
    });
    this.wire(room, options);
    this.joinStartMs = Date.now();
    try {
      if (encryption !== undefined) await room.setE2EEEnabled(true);
      await room.connect(options.url, options.token, { autoSubscribe: options.subscribe });
    } catch (err) {
      const message = messageOf(err);
      this.emit({ type: "join-failed", reason: joinFailure(message), message });
      await room.disconnect().catch(() => undefined);
      return false;
    }
    this.room = room;
    const roomSid = await room.getSid().catch(() => "");
    this.emit({
      type: "joined",
      joinS: (Date.now() - this.joinStartMs) / 1000,
      ...(roomSid !== "" ? { roomSid } : {}),
    });
    this.noteSession(roomSid);
    try {
      await this.publish(room, options);
    } catch (err) {
      this.emit({ type: "join-failed", reason: "publish_failed", message: messageOf(err) });
    }
    return true;
  }

  /** The key provider, holding the key, and a worker of its own (each Room's cryptors live in theirs). */
  private async encryption(e2ee: PageE2ee): Promise<{ keyProvider: SharedKeyProvider; worker: Worker }> {
    const keyProvider = new SharedKeyProvider(e2ee);
    await keyProvider.setKeyBytes(e2ee.key);
    this.keyProvider = keyProvider;
    this.e2eeWorker = new Worker(E2EE_WORKER_PATH);
    return { keyProvider, worker: this.e2eeWorker };
  }

  /**
   * Ratchets the shared key this participant encrypts with. livekit-client's shared-key mode has one
   * key handler in the worker for sending and receiving and reports no ratchet back (neither this
   * one nor a receiver's following), so the event is the page's own: it asked for the ratchet.
   */
  ratchetKey(): boolean {
    if (this.keyProvider === undefined || this.room === undefined || this.left) return false;
    this.keyProvider.ratchetKey();
    this.emit({ type: "e2ee", from: this.room.localParticipant.identity, state: "key_ratcheted" });
    return true;
  }

  /** A drill's client.simulate scenario, by livekit-client's own simulateScenario. */
  async simulate(scenario: string): Promise<void> {
    if (this.room === undefined || this.left) throw new Error("not connected to the room");
    await this.room.simulateScenario(scenario as SimulationScenario);
  }

  private async publish(room: Room, options: PageJoin): Promise<void> {
    if (options.publishAudio) {
      const track =
        options.toneHz !== undefined
          ? new LocalAudioTrack(this.toneTrack(options.toneHz), undefined, true)
          : // the fake device plays the WAV: no processing, which would change the tone a subscriber hears
            await createLocalAudioTrack({
              echoCancellation: false,
              noiseSuppression: false,
              autoGainControl: false,
            });
      await room.localParticipant.publishTrack(track, { source: Track.Source.Microphone, dtx: false });
    }
    if (options.publishVideo) {
      const { width, height, fps, codec, simulcast, maxBitrate } = options.video;
      this.pattern = new PatternCanvas({ width, height }, fps, options.publisherIndex, this.box);
      const track = new LocalVideoTrack(this.pattern.track, undefined, true);
      await room.localParticipant.publishTrack(track, {
        source: Track.Source.Camera,
        videoCodec: codec,
        simulcast,
        videoEncoding: { maxBitrate, maxFramerate: fps },
      });
    }
  }

  /**
   * The publisher's sine tone made in the page, at the level of the other engines' tone (6000 of
   * 32767): a browser shared by several publishers has one fake microphone, which plays one file.
   */
  private toneTrack(hz: number): MediaStreamTrack {
    const context = new AudioContext({ sampleRate: 48_000 });
    this.tone = context;
    const oscillator = new OscillatorNode(context, { type: "sine", frequency: hz });
    const gain = new GainNode(context, { gain: 6000 / 32767 });
    const destination = context.createMediaStreamDestination();
    oscillator.connect(gain).connect(destination);
    oscillator.start();
    const track = destination.stream.getAudioTracks()[0];
    if (track === undefined) throw new Error("Web Audio gave no audio track");
    return track;
  }

  private wire(room: Room, options: PageJoin): void {
    room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack, _publication, participant: RemoteParticipant) => {
      const kind = track.kind === Track.Kind.Video ? "video" : "audio";
      this.emit({ type: "track-subscribed", kind, afterJoinStartS: (Date.now() - this.joinStartMs) / 1000 });
      // attached, so Chromium decodes and plays it out (an unattached track is not rendered or mixed)
      this.subscriptions.set(track, ++this.subscriptionCount);
      const element = track.attach();
      element.dataset.publisher = participant.identity;
      this.box.append(element);
      if (kind === "video" && options.probe && element instanceof HTMLVideoElement)
        this.readStamps(element, participant.identity, participant.attributes[options.engineAttribute]);
      if (element instanceof HTMLVideoElement && this.cryptors.isFailing(participant.identity))
        this.watchRecovery(element, participant.identity);
    });
    room.on(RoomEvent.TrackUnsubscribed, (track: RemoteTrack) => {
      for (const element of track.detach()) element.remove();
    });
    const started = (event: PageEvent | undefined): void => {
      if (event !== undefined) this.emit(event);
    };
    room.on(RoomEvent.SignalReconnecting, () => {
      started(this.episodes.signalReconnecting(Date.now()));
    });
    room.on(RoomEvent.Reconnecting, () => {
      started(this.episodes.reconnecting(Date.now()));
    });
    room.on(RoomEvent.LocalTrackPublished, () => {
      this.episodes.published();
    });
    room.on(RoomEvent.Reconnected, () => {
      void (async () => {
        const endedMs = Date.now();
        const roomSid = await room.getSid().catch(() => "");
        // a full reconnect is a new session: a new participant sid, tracks published again
        const event = this.episodes.reconnected(endedMs, this.noteSession(roomSid));
        this.emit({ ...event, ...(roomSid !== "" ? { roomSid } : {}) });
      })();
    });
    room.on(RoomEvent.Disconnected, (reason?: DisconnectReason) => {
      if (this.left) return;
      this.left = true;
      this.emit({ type: "disconnected", reason: disconnectReasonName(reason, DisconnectReason) });
    });
    // a cryptor that cannot decrypt a publisher's frames (wrong or missing key, frames sealed with
    // a key it has ratcheted past, or dropped with an internal error): said as CryptorReport lets
    // through, as the native engine does, never as loss (its packets still arrive). livekit-client
    // tells no recovery: the page looks for one in the publisher's video
    room.on(RoomEvent.EncryptionError, (error: Error, participant?: Participant) => {
      const from = participant?.identity ?? "";
      const self = room.localParticipant.identity;
      const state = cryptorState(error);
      if (this.left || !this.cryptors.report(from, state, self)) return;
      this.emit({ type: "e2ee", from, state });
      if (!cannotDecrypt(state, from, self)) return;
      this.failedAtMs.set(from, Date.now());
      this.box.querySelectorAll("video").forEach((element) => {
        if (element.dataset.publisher === from) this.watchRecovery(element, from);
      });
      this.watchAudioRecovery(from);
    });
    room.on(RoomEvent.ConnectionQualityChanged, (quality: ConnectionQuality, participant) => {
      if (participant.identity !== room.localParticipant.identity) return;
      this.emit({ type: "quality", quality: quality.toString() });
    });
  }

  /** Emits a `session` event when the participant's sid is new; returns whether it changed. */
  private noteSession(roomSid: string): boolean {
    const sid = this.room?.localParticipant.sid;
    if (sid === undefined || sid === "" || sid === this.sid || this.left) return false;
    const changed = this.sid !== undefined;
    this.sid = sid;
    this.emit({ type: "session", sid, ...(roomSid !== "" ? { roomSid } : {}) });
    return changed;
  }

  /**
   * Reads the stamp of every frame the element presents: the frame is drawn into a canvas and the
   * stamp's rows turned back into luma, then read with the other engines' reader. The time is when
   * Chromium hands the frame to the compositor, after its jitter buffer and decoder: what a viewer sees.
   */
  private readStamps(video: HTMLVideoElement, publisher: string, publisherEngine: string | undefined): void {
    const read = stampReader(video);
    if (read === undefined) return;
    let stopped = false;
    this.readers.push(() => {
      stopped = true;
    });
    const onFrame = (): void => {
      if (stopped) return;
      const now = Date.now();
      const captureTimeMs = read(now);
      if (captureTimeMs !== undefined)
        this.latencies.push({ publisher, publisherEngine, latencyS: (now - captureTimeMs) / 1000 });
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  /**
   * After `from`'s frames could not be decrypted: the first frame of its video presented with a
   * stamp captured after the failure (the latest, failedAtMs) was sealed after it and decrypted,
   * so the cryptor decrypts again and the page says `ok`. A frame captured before it may still be
   * in the pipeline, and a blank frame LiveKit injects unencrypted has no stamp: neither counts. A
   * publisher without the stamped pattern (not one of ours) or without video is never seen to
   * recover (docs/e2ee.md). Nothing is read while no frame is presented.
   */
  private watchRecovery(video: HTMLVideoElement, from: string): void {
    const read = this.watched.has(video) ? undefined : stampReader(video);
    if (read === undefined) return;
    this.watched.add(video);
    const onFrame = (): void => {
      if (this.left || !this.cryptors.isFailing(from)) {
        this.watched.delete(video);
        return;
      }
      const captureTimeMs = read(Date.now());
      if (captureTimeMs !== undefined && captureTimeMs > (this.failedAtMs.get(from) ?? Infinity)) {
        const self = this.room?.localParticipant.identity ?? "";
        if (this.cryptors.report(from, "ok", self)) this.emit({ type: "e2ee", from, state: "ok" });
        this.watched.delete(video);
        return;
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  /**
   * After `from`'s frames could not be decrypted, for a publisher that sends no video (no stamp to
   * read): its audio is read every AUDIO_WATCH_MS from AUDIO_SETTLE_MS after the failure, and the
   * page says `ok` once the samples played between two reads were mostly decoded, not concealed
   * (audio-recovery.ts). A publisher with video is judged by its stamps alone: audio and video
   * follow a ratchet at their own pace, and one recovery said early would be undone by the next
   * failure of the other.
   */
  private watchAudioRecovery(from: string): void {
    const publisher = this.room?.remoteParticipants.get(from);
    if (publisher === undefined || publisher.videoTrackPublications.size > 0) return;
    this.audioWatch.set(from, { notBeforeMs: Date.now() + AUDIO_SETTLE_MS, before: undefined });
    this.audioTimer ??= window.setInterval(() => {
      void this.readAudioRecoveries();
    }, AUDIO_WATCH_MS);
  }

  private async readAudioRecoveries(): Promise<void> {
    if (this.audioReading) return;
    this.audioReading = true;
    try {
      for (const [from, watch] of [...this.audioWatch]) {
        const publisher = this.room?.remoteParticipants.get(from);
        if (this.left || publisher === undefined || !this.cryptors.isFailing(from)) {
          this.audioWatch.delete(from);
          continue;
        }
        if (Date.now() < watch.notBeforeMs) continue;
        const now = await playoutOf(publisher);
        if (now === undefined) continue;
        if (watch.before !== undefined && decodesAgain(watch.before, now)) {
          this.audioWatch.delete(from);
          const self = this.room?.localParticipant.identity ?? "";
          if (this.cryptors.report(from, "ok", self)) this.emit({ type: "e2ee", from, state: "ok" });
          continue;
        }
        watch.before = now;
      }
    } finally {
      this.audioReading = false;
    }
    if (this.audioWatch.size === 0 && this.audioTimer !== undefined) {
      window.clearInterval(this.audioTimer);
      this.audioTimer = undefined;
    }
  }

  async sample(): Promise<PageSample> {
    const room = this.room;
    const latencies = this.latencies.splice(0);
    if (room === undefined) return { stats: [], latencies };
    const tracks: Track[] = [];
    for (const publication of room.localParticipant.trackPublications.values())
      if (publication.track !== undefined) tracks.push(publication.track);
    for (const participant of room.remoteParticipants.values())
      for (const publication of participant.trackPublications.values())
        if (publication.track !== undefined) tracks.push(publication.track);
    // each track's report is its peer connection's whole report: entries repeat, kept once by id
    const byId = new Map<string, PageStatsEntry>();
    for (const track of tracks) {
      const report = await track.getRTCStatsReport().catch(() => undefined);
      report?.forEach((entry: { id: string }) => {
        byId.set(entry.id, { ...entry });
      });
    }
    return { stats: [...byId.values()], latencies };
  }

  async look(): Promise<PageLook> {
    const room = this.room;
    if (room === undefined || this.left) return { connected: false, peers: [], streams: [] };
    const streams: PageStream[] = [];
    for (const participant of room.remoteParticipants.values())
      for (const publication of participant.trackPublications.values()) {
        const track = publication.track;
        const subscription = track === undefined ? undefined : this.subscriptions.get(track);
        if (track === undefined || subscription === undefined) continue;
        // the receiver's own report: its inbound-rtp, not the whole peer connection's
        const report = await track.receiver?.getStats().catch(() => undefined);
        const inbound: PageStatsEntry[] = [];
        report?.forEach((entry: { type: string }) => {
          if (entry.type === "inbound-rtp") inbound.push({ ...entry });
        });
        streams.push({
          publisher: participant.identity,
          kind: track.kind === Track.Kind.Video ? "video" : "audio",
          subscription,
          inbound,
        });
      }
    return {
      connected: room.state === ConnectionState.Connected,
      peers: [...room.remoteParticipants.values()].map((p) => p.identity),
      streams,
    };
  }

  async leave(): Promise<void> {
    if (this.left) return;
    this.left = true;
    for (const stop of this.readers) stop();
    if (this.audioTimer !== undefined) window.clearInterval(this.audioTimer);
    this.pattern?.stop();
    await this.tone?.close().catch(() => undefined);
    await this.room?.disconnect();
    this.e2eeWorker?.terminate();
    this.box.remove();
  }
}

/** The playout counters of `publisher`'s subscribed audio, from its receivers' inbound-rtp. */
async function playoutOf(publisher: RemoteParticipant): Promise<AudioPlayout | undefined> {
  const entries: Record<string, unknown>[] = [];
  for (const publication of publisher.audioTrackPublications.values()) {
    const report = await publication.track?.receiver?.getStats().catch(() => undefined);
    report?.forEach((entry: Record<string, unknown>) => {
      entries.push(entry);
    });
  }
  return audioPlayout(entries);
}
