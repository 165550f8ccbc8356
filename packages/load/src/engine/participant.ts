import type {
  E2EEOptions,
  RemoteTrack,
  Room,
  SimulateScenarioKind,
  TrackPublication,
} from "@livekit/rtc-node";
import { CryptorReport, TransportWatch, type SimulateScenario, messageOf } from "@livekit-swarm/schema";
import {
  FreezeDetector,
  computeWindowDelta,
  emptySnapshot,
  fromRtcNodeStats,
  type Snapshot,
} from "@livekit-swarm/stats";
import type { Kind, ParticipantPlan, WindowSample } from "../run/messages.js";
import {
  LEFT_BEFORE_JOINING,
  simulated,
  stampsCaptureTime,
  type EngineParticipant,
  type EventSink,
} from "./engine.js";
import type { CryptorStates } from "./e2ee.js";
import { FirstMedia } from "./first-media.js";
import { loadRtc } from "./rtc.js";
import { readStamp, unwrapCaptureTime } from "./stamp.js";
import { RoomPlacement } from "./placement.js";
import { MediaWatch, PeerWatch } from "./watch.js";
import { knownKinds, windowSampleOf, windowStreams } from "./window.js";

type Rtc = Awaited<ReturnType<typeof loadRtc>>;

/** How often a joining subscriber polls its stats to time its first packet and frame. */
export const FIRST_MEDIA_POLL_MS = 250;
/**
 * It stops after this long; a track whose first packet (or frame) comes later is timed by the
 * regular sampler instead, at the end of the first window with packets (an upper bound).
 */
export const FIRST_MEDIA_WINDOW_MS = 20_000;

/** Why a join failed, as a short stable word for counting (the message keeps the details). */
export function joinFailureReason(message: string): string {
  const m = message.toLowerCase();
  if (/401|unauthori[sz]ed|invalid token|token is expired|signature/.test(m)) return "unauthorized";
  if (/econnrefused|connection refused|failed to connect|could not connect|dns|enotfound|no route/.test(m))
    return "unreachable";
  // signalling answered but no ICE candidate pair connected: a firewall left media no path
  // (rtc-node: "engine: connection error: wait_pc_connection timed out", docs/transport.md)
  if (/wait_pc_connection|ice (?:connection )?failed|peer ?connection/.test(m)) return "no_transport";
  if (/timed? ?out|timeout/.test(m)) return "timeout";
  if (/limit|full|too many/.test(m)) return "server_limit";
  return "error";
}

/**
 * One headless participant on @livekit/rtc-node: joins, publishes what its plan says, records the
 * events a user would feel (join time, first packet and frame, reconnects, disconnects) and turns
 * its WebRTC stats into per-window deltas on demand.
 */
export class NativeParticipant implements EngineParticipant {
  private room: Room | undefined;
  private previous: Snapshot | undefined;
  private joinStartMs = 0;
  private reconnectingSinceMs: number | undefined;
  private latencies: number[] = [];
  /** Probes only: freezes measured from decoded frames, per track sid (inbound-rtp trackIdentifier). */
  private readonly freezeDetectors = new Map<string, FreezeDetector>();
  /** Probes only: each publisher's latest video track's detector, which its next track continues. */
  private readonly lastFreezes = new Map<string, FreezeDetector>();
  private dataSent = 0;
  private dataReceived = 0;
  private left = false;
  /** The room while its connect is under way: a leave then cancels it. */
  private connecting: Room | undefined;
  private readonly firstMedia: FirstMedia;
  private fastPollDone = false;
  private allowedPublishers = new Set<string>();
  /** The current reconnect episode: what it took to tell a resume from a full reconnect. */
  private episode: { remotesAtStart: number; remotesLeft: number; republished: boolean } | undefined;
  private sid: string | undefined;
  /** Watch mode (chaos drills): which subscribed tracks flow. */
  private readonly watcher: MediaWatch;
  private readonly peers: PeerWatch;
  private readonly placement: RoomPlacement;
  private readonly transport: TransportWatch;

  constructor(
    private readonly rtc: Rtc,
    readonly plan: ParticipantPlan,
    private readonly emit: EventSink,
    /** Publishes the plan's tracks once joined (the engine owns the shared sources). */
    private readonly publish: (room: Room) => Promise<void>,
    private readonly subscribeLimit: number | undefined,
    /** Poll media flow and the session id this often (chaos drills); undefined: no watching. */
    private readonly watchMs?: number,
    /** End-to-end encryption: the connect options, and where cryptor states are read. */
    private readonly e2ee?: { readonly options: E2EEOptions; readonly states: CryptorStates },
  ) {
    this.watcher = new MediaWatch(emit);
    this.peers = new PeerWatch(emit);
    this.transport = new TransportWatch(emit);
    this.firstMedia = new FirstMedia(plan.expectedTracks, plan.probe, emit);
    this.placement = new RoomPlacement(
      emit,
      () => this.sid,
      () => this.left,
    );
  }

  get connected(): boolean {
    return this.room !== undefined && !this.left;
  }

  async join(url: string, token: string): Promise<boolean> {
    const { Room, RoomEvent } = this.rtc;
    const room = new Room();
    this.wire(room);
    this.joinStartMs = Date.now();
    this.connecting = room;
    try {
      const connecting = room.connect(url, token, {
        autoSubscribe: this.plan.subscribe && this.subscribeLimit === undefined,
        dynacast: true,
        ...(this.e2ee !== undefined ? { encryption: this.e2ee.options } : {}),
      });
      // connect has made rtc-node's FFI client by now: cryptor states from the first frames are kept
      this.e2ee?.states.listen();
      await connecting;
    } catch (err) {
      // a leave cancelled it (and took the room), and said so
      if (this.connecting !== room) return false;
      this.connecting = undefined;
      const message = messageOf(err);
      this.emit({ type: "join-failed", reason: joinFailureReason(message), message });
      await room.disconnect().catch(() => undefined);
      return false;
    }
    if (this.connecting !== room) {
      // connected after it was told to leave, which said the join failed: it leaves now
      await room.disconnect().catch(() => undefined);
      return false;
    }
    this.connecting = undefined;
    this.room = room;
    const joinS = (Date.now() - this.joinStartMs) / 1000;
    this.watchCryptors(room);
    await this.placement.read(room);
    this.emit({ type: "joined", joinS, ...this.placement.fields() });
    this.previous = emptySnapshot(this.joinStartMs);
    await this.readTransport(room);
    if (this.plan.subscribe && this.subscribeLimit !== undefined) {
      for (const participant of room.remoteParticipants.values()) {
        for (const publication of participant.trackPublications.values())
          this.maybeSubscribe(publication, participant.identity);
      }
      room.on(RoomEvent.TrackPublished, (publication, participant) => {
        this.maybeSubscribe(publication, participant.identity);
      });
    }
    if (this.plan.expectedTracks.audio + this.plan.expectedTracks.video > 0) void this.timeFirstMedia();
    this.noteSession();
    if (this.watchMs !== undefined) void this.watch(this.watchMs);
    if (this.plan.publishAudio || this.plan.publishVideo) {
      try {
        await this.publish(room);
      } catch (err) {
        const message = messageOf(err);
        this.emit({ type: "join-failed", reason: "publish_failed", message });
      }
    }
    return true;
  }

  private wire(room: Room): void {
    const { RoomEvent, ConnectionQuality, DisconnectReason, TrackKind } = this.rtc;
    room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack, _publication, participant) => {
      const kind: Kind = track.kind === TrackKind.KIND_VIDEO ? "video" : "audio";
      if (this.watchMs !== undefined) this.watcher.subscribed(`${participant.identity}/${kind}`, kind);
      this.emit({ type: "track-subscribed", kind, afterJoinStartS: (Date.now() - this.joinStartMs) / 1000 });
      if (this.plan.probe && kind === "video")
        void this.probeVideo(track, stampsCaptureTime(participant.attributes), participant.identity);
    });
    room.on(RoomEvent.Reconnecting, () => {
      this.reconnectingSinceMs = Date.now();
      this.episode = { remotesAtStart: room.remoteParticipants.size, remotesLeft: 0, republished: false };
      this.emit({ type: "reconnecting" });
    });
    // rtc-node has no "resume" vs "full" event: a full reconnect republishes our tracks and drops
    // every remote participant (docs/livekit-behaviour.md 3.2); the sid changes too, but lags
    room.on(RoomEvent.LocalTrackRepublished, () => {
      if (this.episode !== undefined) this.episode.republished = true;
    });
    room.on(RoomEvent.ParticipantDisconnected, () => {
      if (this.episode !== undefined) this.episode.remotesLeft++;
    });
    room.on(RoomEvent.RoomSidChanged, (sid) => {
      this.placement.note(sid);
    });
    room.on(RoomEvent.Reconnected, () => {
      const since = this.reconnectingSinceMs ?? Date.now();
      const episode = this.episode;
      this.reconnectingSinceMs = undefined;
      this.episode = undefined;
      const sidChanged = this.noteSession();
      const full =
        sidChanged ||
        episode?.republished === true ||
        (episode !== undefined &&
          episode.remotesAtStart > 0 &&
          episode.remotesLeft >= episode.remotesAtStart);
      this.emit({
        type: "reconnected",
        durationS: (Date.now() - since) / 1000,
        path: full ? "full" : "resume",
        ...this.placement.fields(),
      });
      // the pair this reconnect selected (the next sample reads it if this cannot)
      this.transport.reselect();
      void this.readTransport(room);
      // the new sid shows up to 3 s after Reconnected: look again then
      setTimeout(() => {
        this.noteSession();
        void this.placement.read(room);
      }, 3500).unref();
    });
    room.on(RoomEvent.Disconnected, (reason) => {
      if (this.left) return;
      this.left = true;
      // snake_case, as every reason label in the catalog
      this.emit({ type: "disconnected", reason: DisconnectReason[reason].toLowerCase() });
    });
    room.on(RoomEvent.DataReceived, () => {
      this.dataReceived++;
    });
    room.on(RoomEvent.ConnectionQualityChanged, (quality, participant) => {
      if (participant.identity !== this.plan.identity) return;
      this.emit({
        type: "quality",
        quality: ConnectionQuality[quality].replace(/^QUALITY_/, "").toLowerCase(),
      });
    });
  }

  /**
   * Reports frame cryptor state changes as CryptorReport lets through: a wrong key fails every
   * frame and one event says so (the count of frames is not in rtc-node's events); a cryptor that
   * decrypts again after failing says `ok` (libwebrtc's cryptor tells that change, once).
   */
  private watchCryptors(room: Room): void {
    if (this.e2ee === undefined) return;
    const report = new CryptorReport();
    const watched = this.e2ee.states.watch(room, ({ from, state }) => {
      if (this.left || !report.report(from, state, this.plan.identity)) return;
      this.emit({ type: "e2ee", from, state });
    });
    if (!watched) this.emit({ type: "e2ee", from: "", state: "unobservable" });
  }

  /**
   * Ratchets the shared key this participant encrypts with (scenario `e2ee.ratchet-every`).
   * rtc-node 1.1 keeps the key provider in E2EEManager's TypeScript-private `keyProvider`: read
   * there, pinned by the E2EE ratchet end-to-end test (packages/cli/test/e2ee.e2e.test.ts).
   */
  ratchetKey(): void {
    const room = this.room;
    if (this.e2ee === undefined || room === undefined || this.left) return;
    const manager = room.e2eeManager as unknown as
      { keyProvider?: { ratchetSharedKey(keyIndex: number): Uint8Array } } | undefined;
    const provider = manager?.keyProvider;
    if (provider === undefined) {
      this.emit({ type: "e2ee", from: this.plan.identity, state: "unobservable" });
      return;
    }
    try {
      provider.ratchetSharedKey(0);
    } catch {
      this.emit({ type: "e2ee", from: this.plan.identity, state: "internal_error" });
      return;
    }
    this.emit({ type: "e2ee", from: this.plan.identity, state: "key_ratcheted" });
  }

  /**
   * The selected pair right after the join: rtc-node's connect resolves once the peer connection is
   * up, so a pair is selected by then. rtc-node does not say when ICE began or ended, so no `iceS`:
   * the join time, per transport in the summary, is what a path costs.
   */
  private async readTransport(room: Room): Promise<void> {
    try {
      const stats = await room.getRtcStats();
      this.transport.note(
        fromRtcNodeStats(stats.publisherStats, stats.subscriberStats, Date.now()).selectedPair,
      );
    } catch {
      // the next sample reads it
    }
  }

  /** Emits a `session` event when the server-side sid is new; returns whether it changed. */
  private noteSession(): boolean {
    const sid = this.room?.localParticipant?.sid;
    if (sid === undefined || sid === "" || sid === this.sid || this.left) return false;
    const changed = this.sid !== undefined;
    this.sid = sid;
    this.emit({ type: "session", sid, ...this.placement.fields() });
    return changed;
  }

  /** Watch mode (chaos drills): every `intervalMs`, one look at the inbound streams (MediaWatch). */
  private async watch(intervalMs: number): Promise<void> {
    while (!this.left) {
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      const room = this.room;
      if (room === undefined || this.hasLeft()) return;
      this.noteSession();
      if (room.isConnected) {
        await this.placement.read(room);
        this.peers.look([...room.remoteParticipants.values()].map((p) => p.identity));
      }
      const now = Date.now();
      let snapshot: Snapshot | undefined;
      try {
        const stats = await Promise.race([
          room.getRtcStats(),
          new Promise<never>((_, reject) =>
            setTimeout(() => {
              reject(new Error("stats timeout"));
            }, intervalMs * 4),
          ),
        ]);
        snapshot = fromRtcNodeStats(stats.publisherStats, stats.subscriberStats, now);
      } catch {
        // no stats while reconnecting: every track counts as idle this look
      }
      if (this.hasLeft()) return;
      this.watcher.look(snapshot === undefined ? undefined : knownKinds([...snapshot.inbound.values()]), now);
    }
  }

  /** Runs rtc-node's simulateScenario (a client.simulate fault) and reports whether it was accepted. */
  async simulate(scenario: string): Promise<void> {
    const room = this.room;
    const K = this.rtc.SimulateScenarioKind;
    const kinds: Record<SimulateScenario, SimulateScenarioKind> = {
      "signal-reconnect": K.SIMULATE_SIGNAL_RECONNECT,
      "node-failure": K.SIMULATE_NODE_FAILURE,
      "server-leave": K.SIMULATE_SERVER_LEAVE,
      migration: K.SIMULATE_MIGRATION,
      "force-tcp": K.SIMULATE_FORCE_TCP,
      "force-tls": K.SIMULATE_FORCE_TLS,
      "full-reconnect": K.SIMULATE_FULL_RECONNECT,
      "disconnect-signal-on-resume": K.SIMULATE_DISCONNECT_SIGNAL_ON_RESUME,
    };
    await simulated(
      "native",
      scenario,
      async (s) => {
        if (room === undefined || this.left) throw new Error("not connected");
        await room.simulateScenario(kinds[s]);
      },
      this.emit,
    );
  }

  private maybeSubscribe(publication: TrackPublication, publisher: string): void {
    const limit = this.subscribeLimit ?? Infinity;
    if (!this.allowedPublishers.has(publisher)) {
      if (this.allowedPublishers.size >= limit) return;
      this.allowedPublishers.add(publisher);
    }
    (publication as { setSubscribed?: (s: boolean) => void }).setSubscribed?.(true);
  }

  /** Polls stats briefly after joining to time each inbound stream's first packet and first frame. */
  private async timeFirstMedia(): Promise<void> {
    try {
      await this.pollFirstMedia();
    } finally {
      this.fastPollDone = true;
    }
  }

  private async pollFirstMedia(): Promise<void> {
    const deadline = this.joinStartMs + FIRST_MEDIA_WINDOW_MS;
    while (!this.left && Date.now() < deadline) {
      if (this.firstMedia.complete) return;
      await new Promise((resolve) => setTimeout(resolve, FIRST_MEDIA_POLL_MS));
      const room = this.room;
      if (room === undefined || this.hasLeft()) return;
      let snapshot: Snapshot;
      try {
        const stats = await room.getRtcStats();
        snapshot = fromRtcNodeStats(stats.publisherStats, stats.subscriberStats, Date.now());
      } catch {
        continue;
      }
      const afterJoinStartS = (snapshot.timestampMs - this.joinStartMs) / 1000;
      for (const stream of snapshot.inbound.values()) this.firstMedia.seen(stream, afterJoinStartS);
    }
  }

  /**
   * Decodes a video track's frames: first frame and freezes always, and latency from the capture time
   * stamped in each frame when `capturedStamps` (a native publisher; lean stamps loop positions).
   */
  private async probeVideo(track: RemoteTrack, capturedStamps: boolean, publisher: string): Promise<void> {
    const { VideoStream, VideoBufferType } = this.rtc;
    let first = true;
    const stream = new VideoStream(track);
    const freezes = new FreezeDetector();
    if (track.sid !== undefined) this.freezeDetectors.set(track.sid, freezes);
    // the same publisher's video again (a full reconnect on either side brings a new track): the
    // outage between its last frame and this track's first is a freeze, as a viewer sees it
    const previous = this.lastFreezes.get(publisher);
    if (previous !== undefined) freezes.continueFrom(previous);
    this.lastFreezes.set(publisher, freezes);
    try {
      for await (const { frame } of stream) {
        if (this.left) break;
        const now = Date.now();
        freezes.onFrame(now);
        const i420 = frame.type === VideoBufferType.I420 ? frame : frame.convert(VideoBufferType.I420);
        const stamp = capturedStamps ? readStamp(i420.data, i420.width, i420.height) : undefined;
        if (first) {
          first = false;
          this.firstMedia.frameDecoded((now - this.joinStartMs) / 1000);
        }
        if (stamp !== undefined)
          this.latencies.push((now - unwrapCaptureTime(stamp.captureTimeMs, now)) / 1000);
      }
    } catch {
      // the track ended (unsubscribed, or the participant left)
    }
  }

  /** The participant's stats since the previous call, or undefined when it is not connected. */
  async sample(worker: number): Promise<WindowSample | undefined> {
    const room = this.room;
    if (room === undefined || this.left || this.previous === undefined) return undefined;
    const stats = await room.getRtcStats();
    const current = fromRtcNodeStats(stats.publisherStats, stats.subscriberStats, Date.now());
    const delta = computeWindowDelta(this.previous, current);
    this.previous = current;
    this.transport.note(current.selectedPair);
    const transport = this.transport.current();
    if (this.fastPollDone) {
      // first media after the fast poll's window: never dropped, timed at this window's end
      const afterJoinStartS = (delta.endMs - this.joinStartMs) / 1000;
      for (const c of current.inbound.values()) this.firstMedia.seen(c, afterJoinStartS, true);
    }
    const data = { sent: this.dataSent, received: this.dataReceived };
    this.dataSent = 0;
    this.dataReceived = 0;
    const streams = windowStreams(delta, this.freezeDetectors);
    const sample = windowSampleOf(this.plan, worker, delta, streams, data, this.latencies.splice(0));
    return transport === undefined ? sample : { ...sample, transport };
  }

  /** Sends one reliable data packet to the room (scenario `data`). */
  async sendData(payload: Uint8Array): Promise<void> {
    const room = this.room;
    if (room?.localParticipant === undefined || this.left) return;
    await room.localParticipant.publishData(payload, { reliable: true, topic: "lkswarm" });
    this.dataSent++;
  }

  /**
   * Told to leave before its connect ended (the run's end overtook a slow join): said as a join
   * that failed with `left`, as the browser and lean engines say it, which the worker counts as
   * `run_ended` when it is stopping; otherwise nothing would ever say what became of the join. The
   * connect under way is cancelled (bounded, as a leave).
   */
  private async leftWhileJoining(): Promise<void> {
    const room = this.connecting;
    if (room === undefined) return; // never asked to join, or its join already failed
    this.connecting = undefined;
    this.left = true;
    this.emit(LEFT_BEFORE_JOINING);
    await Promise.race([room.disconnect().catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
  }

  /** A method, not a field read: `left` changes under awaits, which narrowing cannot see. */
  private hasLeft(): boolean {
    return this.left;
  }

  async leave(): Promise<void> {
    if (this.left) return;
    if (this.room === undefined) {
      await this.leftWhileJoining();
      return;
    }
    this.left = true;
    this.e2ee?.states.forget(this.room);
    await Promise.race([this.room.disconnect(), new Promise((resolve) => setTimeout(resolve, 5000))]);
  }
}
