import { UpdateTrackSettings, type VideoQuality } from "@livekit/protocol";
import { messageOf, type Kind, type WindowSample } from "@livekit-swarm/schema";
import { windowLatency, windowRoundTrip } from "@livekit-swarm/stats";
import type { RTCPeerConnection } from "werift";
import { LeanConnection } from "./connection.js";
import type { DirectSendCount } from "./direct-send.js";
import { LeanError } from "./errors.js";
import type { ConsentCount } from "./consent.js";
import type { NativeAudioUse, VideoSentTotals } from "./local-tracks.js";
import type { InboundTotals } from "./inbound.js";
import { noFallbackStun, restrictHostCandidates } from "./network.js";
import type { LeanParticipantOptions } from "./participant-options.js";
import { selectedPair, pairRoundTrip, type Negotiated } from "./peer.js";
import { subscribedTrackSids } from "./resume.js";
import { simulationSteps, type LeanSimulation } from "./simulate.js";
import type { VideoTotals } from "./video-inbound.js";
import { opened } from "./wait.js";
import { userPacket } from "./data.js";

/** One received stream for a drill's watch: its packets so far and whose track it carries. */
export interface ReceivedTrack {
  readonly key: string;
  readonly kind: Kind;
  readonly packetsReceived: number;
  readonly publisher: string | undefined;
}

/** `field` summed over the stats of type `type` werift reports for `pc`. */
async function statsSum(pc: RTCPeerConnection, type: string, field: string): Promise<number> {
  let sum = 0;
  for (const stat of (await pc.getStats()).values()) {
    const s = stat as unknown as { type?: string } & Record<string, unknown>;
    const value = s[field];
    if (s.type === type && typeof value === "number") sum += value;
  }
  return sum;
}

/**
 * A LiveKit participant over werift without a codec: it sends a pre-encoded Opus loop and counts
 * what it receives (sequence numbers, RTP timestamps, sizes) without decoding. Signalling is
 * LiveKit's own over a WebSocket; one werift PeerConnection publishes, one subscribes, as the
 * server expects of protocol 16 clients. docs in packages/lean/README.md.
 */
export class LeanParticipant extends LeanConnection {
  private lastSampleMs: number;

  private constructor(options: LeanParticipantOptions, joinStartMs: number) {
    super(options, joinStartMs);
    this.lastSampleMs = joinStartMs;
  }

  /** Joins, publishes the audio and video loops if given, and resolves once media can flow. */
  static async join(options: LeanParticipantOptions): Promise<LeanParticipant> {
    restrictHostCandidates(options.hostAddress);
    noFallbackStun();
    const p = new LeanParticipant(options, Date.now());
    try {
      await p.establish(options.timeoutMs ?? 15_000);
      p.joined = true;
      p.emit({ type: "joined", joinS: (Date.now() - p.joinStartMs) / 1000, ...p.placement() });
      const primary = p.primary();
      p.transport.note(selectedPair(primary.pc), primary.ice.seconds);
    } catch (err) {
      const error = err instanceof LeanError ? err : new LeanError("negotiation", messageOf(err));
      p.emit({ type: "join-failed", reason: error.reason, message: error.message });
      await p.leave();
      throw error;
    }
    return p;
  }

  /** Cumulative counters of every received stream, by key (video streams with frames and keyframes). */
  inboundTotals(): Map<string, InboundTotals | VideoTotals> {
    return this.subscribed.streams.totals();
  }

  /**
   * What the published video loop sent and what feedback (NACK, PLI, FIR) it got since joining;
   * undefined without video. A full rejoin's republished loop adds to it, as audio's counters carry on.
   */
  get videoTotals(): VideoSentTotals | undefined {
    return this.local.videoTotals;
  }

  /** Asks every received video stream's sender for a keyframe (a PLI each). */
  requestKeyframes(): void {
    this.subscribed.requestKeyframes();
  }

  /**
   * Asks the server for `quality` of every received track (UpdateTrackSettings, as a client SDK's
   * setVideoQuality): LiveKit then forwards that simulcast layer, or the nearest one published.
   */
  setVideoQuality(quality: VideoQuality): void {
    const offer = this.subscriber.pc.remoteDescription?.sdp;
    if (offer === undefined) return;
    this.signal?.updateTrackSettings(
      new UpdateTrackSettings({ trackSids: subscribedTrackSids(offer), quality }),
    );
  }

  /**
   * Packets received so far by each stream of the current session, with the identity of the
   * participant whose track it carries (undefined until the signalling named that publisher).
   */
  receivedTracks(): ReceivedTrack[] {
    return this.subscribed.counts().map(({ ids, ...count }) => ({
      ...count,
      publisher: this.remotes.publisherOf(ids),
    }));
  }

  /** The identities of the other participants in the room, as the signalling last told them, sorted. */
  get peers(): string[] {
    return this.remotes.identities();
  }

  /**
   * The server's ICE keepalive requests answered past werift's STUN stack, per PeerConnection,
   * across sessions: in JavaScript (binding.ts) or by the native media thread (native-keepalives.ts).
   */
  get keepalivesAnswered(): { publisher: number; subscriber: number } {
    return {
      publisher: this.keepalives.publisher.answered + this.local.audioNative.keepalives,
      subscriber: this.keepalives.subscriber.answered + (this.headerOnly.keepalives ?? 0),
    };
  }

  /** ICE consent checks on the process's one clock (consent.ts), per PeerConnection, across sessions. */
  get consentChecks(): Record<"publisher" | "subscriber", Readonly<ConsentCount>> {
    return { publisher: { ...this.consent.publisher }, subscriber: { ...this.consent.subscriber } };
  }

  /** Received Opus packets read header-only (not authenticated or decrypted), across sessions. */
  get headerOnlyPackets(): number {
    return this.headerOnly.packets;
  }

  /** Of those, the packets counted before werift saw them (header-only.ts). */
  get bypassedPackets(): number {
    return this.headerOnly.bypassed;
  }

  /** Of those, the packets taken as the UDP socket delivered them. */
  get bypassedAtSocket(): number {
    return this.headerOnly.atSocket;
  }

  /** Of those, the packets the native media path's thread read (LKSWARM_LEAN_NATIVE=1), and why none when it refused. */
  get nativeReceived(): {
    readonly packets: number;
    readonly refused: string | undefined;
    readonly reportsRefused: string | undefined;
    /** The server's keepalives the thread answered on the subscriber's socket. */
    readonly keepalives: number;
  } {
    return {
      packets: this.headerOnly.native ?? 0,
      refused: this.headerOnly.nativeRefused,
      reportsRefused: this.headerOnly.nativeReportsRefused,
      keepalives: this.headerOnly.keepalives ?? 0,
    };
  }

  /** Datagrams with one of its streams' SSRCs from another address than the server's, dropped (header-only.ts). */
  get foreignDropped(): number {
    return this.headerOnly.foreign;
  }

  /**
   * Where the subscriber PeerConnection receives: its selected pair's local port and its inbound
   * streams' SSRCs; undefined before ICE selected a pair. For a test sending what is not the server's.
   */
  async subscriberReceivePath(): Promise<{ port: number; ssrcs: number[] } | undefined> {
    const connection = this.subscriber.pc.iceTransports[0]?.connection as
      { nominated?: { localCandidate: { port: number } } } | undefined;
    const port = connection?.nominated?.localCandidate.port;
    if (port === undefined) return undefined;
    const ssrcs: number[] = [];
    for (const stat of (await this.subscriber.pc.getStats()).values()) {
      const s = stat as unknown as { type?: string; ssrc?: unknown };
      if (s.type === "inbound-rtp" && typeof s.ssrc === "number") ssrcs.push(s.ssrc);
    }
    return { port, ssrcs };
  }

  /** Received video packets counted before werift saw them, their payloads' first bytes decrypted (video-bypass.ts). */
  get videoBypassed(): { packets: number; atSocket: number } {
    return { packets: this.headerOnly.video, atSocket: this.headerOnly.videoAtSocket };
  }

  /**
   * Packets werift's receivers counted on the subscriber PeerConnection, from which it writes the
   * RTCP receiver reports LiveKit reads: bypassed packets must be in it (header-only.ts).
   */
  async receiverReportPackets(): Promise<number> {
    return statsSum(this.subscriber.pc, "inbound-rtp", "packetsReceived");
  }

  /** Whether the native media path (LKSWARM_LEAN_NATIVE=1) carries the audio now, and why not (native-audio.ts). */
  get nativeAudio(): NativeAudioUse {
    return this.local.audioNative;
  }

  /** Packets written past werift's sender, and why not when they are not (direct-send.ts). */
  get directSent(): { readonly audio: DirectSendCount; readonly video: DirectSendCount | undefined } {
    return this.local.direct;
  }

  /**
   * Packets werift's senders count on the publisher PeerConnection, which its RTCP sender reports
   * carry: direct writes must be in it (direct-send.ts).
   */
  async senderReportPackets(): Promise<number> {
    return this.publisher === undefined ? 0 : statsSum(this.publisher.pc, "outbound-rtp", "packetsSent");
  }

  /** Packets received on a payload type other than Opus (RTX, RED): not counted as media. */
  get otherPackets(): number {
    return this.subscribed.otherPackets;
  }

  /** Packets and payload bytes sent since joining. */
  get outboundTotals(): { readonly packets: number; readonly bytes: number } {
    return this.local.audioTotals;
  }

  /** What this participant sent and received since the previous call, in the engines' shape. */
  /**
   * The PeerConnection whose path we report: the subscriber's (the server offers it at every join
   * that may subscribe), else the publisher's. Lean sends and receives on two, as LiveKit's
   * dual-PeerConnection protocol does, and both take the same path from one host address.
   */
  private primary(): Negotiated {
    return this.subscribes || this.publisher === undefined ? this.subscriber : this.publisher;
  }

  sample(worker: number): WindowSample {
    this.transport.note(selectedPair(this.primary().pc));
    const transport = this.transport.current();
    const now = Date.now();
    const durationMs = now - this.lastSampleMs;
    this.lastSampleMs = now;
    const latencyS = windowLatency(this.subscribed.streams.takeLatencies());
    const data = this.data;
    this.data = { sent: 0, received: 0 };
    return {
      t: now,
      durationMs,
      room: this.options.room,
      participant: this.options.identity,
      role: this.options.role,
      worker,
      inbound: this.subscribed.streams.windows(),
      outbound: this.local.windows(),
      // both PeerConnections' pairs time the one path: their median, as the native engine's
      rttS: windowRoundTrip(
        [pairRoundTrip(this.subscriber.pc), this.publisher && pairRoundTrip(this.publisher.pc)].filter(
          (r): r is number => r !== undefined,
        ),
      ),
      dataSent: data.sent,
      dataReceived: data.received,
      ...(latencyS === undefined ? {} : { latencyS }),
      ...(transport === undefined ? {} : { transport }),
    };
  }

  /**
   * Publishes `payload` as a reliable user packet (topic "lkswarm", as the native engine's
   * publishData), counted as sent once handed to the open channel. A channel still opening (its
   * SCTP association comes up after DTLS, and the join waits for ICE and DTLS only) is waited for,
   * as rtc-node's publishData waits for its own. Rejects without one: joined without `data`,
   * nothing published, or the channel closed (or not open within the join timeout).
   */
  async sendData(payload: Uint8Array): Promise<void> {
    const channel = this.dataChannel;
    if (channel === undefined)
      throw new LeanError("closed", "no data channel: join with data and a track to publish");
    await opened(channel, this.options.timeoutMs ?? 15_000);
    channel.send(Buffer.from(userPacket(payload)));
    this.data.sent++;
  }

  /**
   * Acts out a drill's client.simulate scenario (src/simulate.ts): asks the server, then drops the
   * socket where the scenario says so. Refused before the join finished, after the session ended
   * and while a reconnect is under way, with the reason.
   */
  async simulate(name: LeanSimulation): Promise<void> {
    const signal = this.signal;
    if (!this.joined || this.over() || signal === undefined)
      throw new LeanError("closed", "not connected to the room");
    if (this.reconnection.busy) throw new LeanError("closed", "a reconnect is under way");
    const { ask, then } = simulationSteps(name);
    if (ask !== undefined) await signal.simulate(ask);
    if (then === "lose-signal") signal.lose("signal-closed");
    else if (then === "full-reconnect") this.lost("full-reconnect-asked");
  }

  /** Drops the signalling socket as a network cut would (tests, client-side chaos): the participant resumes. */
  dropSignal(): void {
    this.signal?.lose("signal-closed");
  }
}
