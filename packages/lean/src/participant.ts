import { SignalTarget, UpdateTrackSettings, type VideoQuality } from "@livekit/protocol";
import {
  TransportWatch,
  messageOf,
  type Kind,
  type ParticipantEvent,
  type Role,
  type RoomPlacement,
  type WindowSample,
} from "@livekit-swarm/schema";
import { windowLatency, windowRoundTrip } from "@livekit-swarm/stats";
import type { RTCDataChannel, RTCPeerConnection } from "werift";
import type { DirectSendCount } from "./direct-send.js";
import { LeanError } from "./errors.js";
import { answerKeepalives, type BindingCount } from "./binding.js";
import { checkConsentOnOneClock, type ConsentCount } from "./consent.js";
import { readOpusHeadersOnly, type HeaderOnlyCount } from "./header-only.js";
import { LocalTracks, type VideoSentTotals } from "./local-tracks.js";
import type { InboundTotals } from "./inbound.js";
import type { OpusLoop } from "./media.js";
import { noFallbackStun, restrictHostCandidates } from "./network.js";
import { processPacer, type Pacer } from "./pacer.js";
import {
  acceptChecksAfterRestart,
  addRemoteCandidate,
  drainCandidates,
  leanPeerConnection,
  negotiated,
  selectedPair,
  pairRoundTrip,
  type Negotiated,
} from "./peer.js";
import {
  disconnectReason,
  leaveAction,
  reconnectReason,
  type EpisodeOutcome,
  type ReconnectCause,
  type ReconnectPolicy,
  type Reconnectable,
} from "./reconnect.js";
import { Reconnection } from "./reconnection.js";
import { reportOnOneClock } from "./report-clock.js";
import { freshDtlsResends } from "./dtls-resend.js";
import { keepEarlyClientHellos } from "./early-dtls.js";
import { pingUntilNominatedEverywhere } from "./nomination.js";
import { RemotePublishers } from "./remote.js";
import { publisherHeld, resumeSyncState, subscribedTrackSids } from "./resume.js";
import { SignalConnection, ownQuality, type CandidateInit, type SignalHandlers } from "./signal.js";
import { simulationSteps, type LeanSimulation } from "./simulate.js";
import { SubscribedTracks } from "./subscribed.js";
import type { VideoTotals } from "./video-inbound.js";
import type { LeanVideoCodec } from "./video-format.js";
import type { VideoLoop } from "./video-media.js";
import { connected, iceConnected, opened, until } from "./wait.js";
import { RELIABLE_LABEL, isUserPacket, userPacket } from "./data.js";

/** One received stream for a drill's watch: its packets so far and whose track it carries. */
export interface ReceivedTrack {
  readonly key: string;
  readonly kind: Kind;
  readonly packetsReceived: number;
  readonly publisher: string | undefined;
}

export interface LeanParticipantOptions {
  /** ws(s):// or http(s):// of the LiveKit server. */
  readonly url: string;
  readonly token: string;
  readonly room: string;
  readonly identity: string;
  readonly role: Role;
  /** Publish the Opus loop as a microphone track. */
  readonly audio?: OpusLoop | undefined;
  /** Publish the VP8 or H.264 loop as a camera track. */
  readonly video?: VideoLoop | undefined;
  /** Simulcast: the loops of the layers under `video`, smallest first (`simulcastLoops`); none or empty: one layer. */
  readonly videoLayers?: readonly VideoLoop[] | undefined;
  /** Drop every Nth received original video packet before the stack sees it: simulated loss (drills, tests). */
  readonly videoReceiveLossEvery?: number | undefined;
  /**
   * Withhold every Nth video packet written past werift's sender (kept for NACKs all the same):
   * simulated loss on the way to the server, which its NACKs repair (tests).
   */
  readonly videoSendLossEvery?: number | undefined;
  /**
   * Drop the server's trickled candidates for the subscriber PeerConnection after its first
   * answer, as when a resume goes through a node that never relays them: the server's checks after
   * an ICE restart then come from an address werift does not know (tests).
   */
  readonly withholdLaterSubscriberCandidates?: boolean | undefined;
  /** Join with auto_subscribe, receiving every published track. */
  readonly subscribe: boolean;
  /**
   * Open the reliable data channel on the publisher PeerConnection (with the tracks' offer), so
   * `sendData` can publish user packets; a participant without tracks to publish opens none.
   */
  readonly data?: boolean | undefined;
  /**
   * The local address that reaches the server (`sourceAddressFor`): the only host candidate, though
   * not the only address media may come from (leanPeerConnection: peer-reflexive).
   */
  readonly hostAddress: string;
  readonly pacer?: Pacer;
  readonly onEvent?: (event: ParticipantEvent) => void;
  /** Join, publish and connect timeout, ms. */
  readonly timeoutMs?: number;
  /** Attempts, bounds and backoff of a reconnect (DEFAULT_RECONNECT_POLICY: the Rust SDK's). */
  readonly reconnect?: ReconnectPolicy;
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
export class LeanParticipant implements Reconnectable {
  private signal: SignalConnection | undefined;
  private subscriber: Negotiated;
  private readonly headerOnly: HeaderOnlyCount = {
    packets: 0,
    bypassed: 0,
    atSocket: 0,
    video: 0,
    videoAtSocket: 0,
    foreign: 0,
  };
  /** Per PeerConnection: the server controls the subscriber one's ICE and is controlled on the publisher one. */
  private readonly keepalives: Record<"publisher" | "subscriber", BindingCount> = {
    publisher: { answered: 0 },
    subscriber: { answered: 0 },
  };
  /** Per PeerConnection: ICE consent checked on the process's one clock (consent.ts). */
  private readonly consent: Record<"publisher" | "subscriber", ConsentCount> = {
    publisher: { requests: 0, answers: 0, expired: 0, onWerift: 0 },
    subscriber: { requests: 0, answers: 0, expired: 0, onWerift: 0 },
  };
  private publisher: Negotiated | undefined;
  /** The publisher PeerConnection's reliable data channel (options.data), replaced with it on a full rejoin. */
  private dataChannel: RTCDataChannel | undefined;
  /** User packets sent and received since the last sample. */
  private data = { sent: 0, received: 0 };
  private subscriberChain: Promise<void> = Promise.resolve();
  private readonly local: LocalTracks;
  private readonly subscribed: SubscribedTracks;
  private readonly remotes: RemotePublishers;
  private readonly reconnection: Reconnection;
  /** The latest token: the server's `refreshToken` replaces it, the next reconnect uses it. */
  private token: string;
  /** The joined session's ping cadence; a ReconnectResponse carries none. */
  private ping: SignalConnection["ping"] | undefined;
  private joined = false;
  /** Subscriber offers answered: a resume waits for the server's ICE-restart offer. */
  private offersAnswered = 0;
  /** Subscriber ICE restarts whose server checks `acceptChecksAfterRestart` let through. */
  restartsOpened = 0;
  private roomSid: string | undefined;
  /** Whether the session's token may subscribe: the server negotiates no subscriber PeerConnection otherwise. */
  private subscribes = true;
  private nodeId: string | undefined;
  private lastSampleMs: number;
  private left = false;
  /** The server or the network ended the session. */
  private gone = false;
  private readonly transport = new TransportWatch((e) => {
    this.emit(e);
  });
  /** Addresses of the ICE candidates this participant offered, for checking what it exposes. */
  readonly offeredAddresses = new Set<string>();
  sid = "";

  private constructor(
    private readonly options: LeanParticipantOptions,
    private readonly joinStartMs: number,
  ) {
    this.lastSampleMs = joinStartMs;
    this.token = options.token;
    // werift's RTCP report loops, one per receiver and sender, become one clock (report-clock.ts)
    reportOnOneClock();
    // werift's DTLS client resends a flight under the record numbers pion has seen (dtls-resend.ts)
    freshDtlsResends();
    // werift, controlled, waits for LiveKit's nomination without pinging as libwebrtc does (nomination.ts)
    pingUntilNominatedEverywhere();
    // werift's DTLS server, made after LiveKit's ClientHello came, never saw it (early-dtls.ts)
    keepEarlyClientHellos();
    this.local = new LocalTracks(options, options.identity, options.pacer ?? processPacer);
    this.remotes = new RemotePublishers(options.identity);
    this.subscribed = new SubscribedTracks(
      (e) => {
        this.emit(e);
      },
      joinStartMs,
      options.videoReceiveLossEvery,
      (ids) => this.remotes.publisherOf(ids),
    );
    this.reconnection = new Reconnection(
      this,
      {
        joined: () => this.joined,
        ended: (reason) => {
          this.ended(reason);
        },
        closeSignal: () => {
          this.signal?.drop();
        },
        gaveUp: () => {
          if (this.left) return;
          this.gone = true;
          this.stopSending();
        },
      },
      options.reconnect,
    );
    this.subscriber = this.subscriberPeerConnection();
  }

  private subscriberPeerConnection(): Negotiated {
    const pc = this.peerConnection(SignalTarget.SUBSCRIBER);
    readOpusHeadersOnly(pc, this.headerOnly);
    pc.onTrack.subscribe((track) => {
      // the current subscriber's transceivers: a track of one a full rejoin replaced is not tapped
      this.subscribed.onTrack(track, this.subscriber.pc);
    });
    return negotiated(pc, SignalTarget.SUBSCRIBER);
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

  /** Joins as a new session: signalling, the subscriber PeerConnection, the audio and video tracks if any. */
  private async establish(timeoutMs: number): Promise<void> {
    const signal = await SignalConnection.connect(
      this.options.url,
      this.token,
      { autoSubscribe: this.options.subscribe, timeoutMs },
      this.signalHandlers(),
    );
    if (this.left) {
      signal.drop();
      throw new LeanError("closed", "the participant left while joining");
    }
    this.signal = signal;
    this.ping = signal.ping;
    this.sid = signal.join?.participant?.sid ?? "";
    // the JoinResponse names the room instance and the node that answered
    this.roomSid = signal.join?.room?.sid || undefined;
    this.nodeId = signal.nodeId;
    this.remotes.joined(signal.join?.otherParticipants ?? []);
    this.emit({ type: "session", sid: this.sid, ...this.placement() });
    signal.start();
    // the server offers the subscriber PeerConnection at join (its data channels at least), but
    // none to a token that cannot subscribe (a swarm's publishers)
    this.subscribes = signal.join?.participant?.permission?.canSubscribe !== false;
    if (this.subscribes) await connected(this.subscriber.pc, timeoutMs, "subscriber");
    await this.publish(timeoutMs);
  }

  /** For reconnectEpisode; also the joined and session events: where the current session is. */
  placement(): RoomPlacement {
    return {
      ...(this.roomSid === undefined ? {} : { roomSid: this.roomSid }),
      ...(this.nodeId === undefined ? {} : { nodeId: this.nodeId }),
    };
  }

  private signalHandlers(): SignalHandlers {
    return {
      offer: (sdp) => {
        this.subscriberChain = this.subscriberChain
          .then(() => this.answerOffer(sdp))
          .catch((err: unknown) => {
            this.broken("subscriber offer", err);
          });
      },
      answer: (sdp) => {
        this.applyAnswer(sdp).catch((err: unknown) => {
          this.broken("publisher answer", err);
        });
      },
      trickle: (target, candidate) => {
        if (target === SignalTarget.SUBSCRIBER) {
          // after the offer before it: werift's ICE restart (a new ufrag in the offer) clears the
          // remote candidates, so a candidate of the new generation added ahead of it was lost
          this.subscriberChain = this.subscriberChain.then(() => this.addRemoteCandidate(target, candidate));
        } else {
          void this.addRemoteCandidate(target, candidate);
        }
      },
      trackPublished: (cid, track) => {
        this.local.trackPublished(cid, track);
      },
      subscribedQualities: (update) => {
        this.local.subscribedQualities(update);
      },
      participants: (infos) => {
        this.remotes.updated(infos);
      },
      refreshToken: (token) => {
        this.token = token;
      },
      connectionQuality: (updates) => {
        const quality = ownQuality(updates, this.sid);
        if (quality !== undefined) this.emit({ type: "quality", quality });
      },
      leave: (leave) => {
        const action = leaveAction(leave);
        if (action.stay) this.ended(disconnectReason(leave.reason));
        else this.lost(action.cause);
      },
      lost: (cause) => {
        this.lost(cause);
      },
    };
  }

  private peerConnection(
    target: SignalTarget,
    video?: readonly LeanVideoCodec[],
    simulcast = false,
  ): RTCPeerConnection {
    const cause: ReconnectCause =
      target === SignalTarget.PUBLISHER ? "publisher-ice-failed" : "subscriber-ice-failed";
    const pc = leanPeerConnection(
      {
        // a PeerConnection a full rejoin already replaced fails or closes on its way out
        lost: (pc) => {
          if (pc === this.subscriber.pc || pc === this.publisher?.pc) this.lost(cause);
        },
        candidate: (candidate, address) => {
          if (address !== undefined) this.offeredAddresses.add(address);
          this.signal?.sendTrickle(target, candidate);
        },
      },
      video,
      simulcast,
    );
    const side = target === SignalTarget.PUBLISHER ? "publisher" : "subscriber";
    // the server forwards other participants' user packets on the channels it opens here
    if (target === SignalTarget.SUBSCRIBER)
      pc.onDataChannel.subscribe((channel) => {
        channel.onMessage.subscribe((message) => {
          if (isUserPacket(message)) this.data.received++;
        });
      });
    answerKeepalives(pc, this.keepalives[side]);
    checkConsentOnOneClock(pc, this.consent[side]);
    return pc;
  }

  private async answerOffer(sdp: string): Promise<void> {
    const { pc } = this.subscriber;
    await pc.setRemoteDescription({ type: "offer", sdp });
    this.subscriber.ice.started();
    await drainCandidates(this.subscriber);
    await pc.setLocalDescription(await pc.createAnswer());
    const local = pc.localDescription;
    if (local !== null) this.signal?.sendAnswer(local.sdp);
    // an offer that restarted ICE: werift starts no checks of its own while DTLS is up
    this.restartsOpened += acceptChecksAfterRestart(pc);
    this.offersAnswered++;
  }

  private async applyAnswer(sdp: string): Promise<void> {
    const negotiated = this.publisher;
    if (negotiated === undefined) return;
    await negotiated.pc.setRemoteDescription({ type: "answer", sdp });
    negotiated.ice.started();
    await drainCandidates(negotiated);
  }

  private async addRemoteCandidate(target: SignalTarget, candidate: CandidateInit): Promise<void> {
    if (
      target === SignalTarget.SUBSCRIBER &&
      this.options.withholdLaterSubscriberCandidates === true &&
      this.offersAnswered > 0
    )
      return;
    const negotiated = target === SignalTarget.SUBSCRIBER ? this.subscriber : this.publisher;
    if (negotiated !== undefined) await addRemoteCandidate(negotiated, candidate);
  }

  /** Announces each track, waits for the server to accept them, then offers them in one go. */
  private async publish(timeoutMs: number): Promise<void> {
    const signal = this.signal;
    if (signal === undefined || !this.local.any) return;
    await this.local.announce(signal, timeoutMs);
    if (this.left) throw new LeanError("closed", "the participant left while publishing");
    // the publisher offers its loop's codec alone, so the server cannot pick another
    const codec = this.options.video?.codec;
    const pc = this.peerConnection(
      SignalTarget.PUBLISHER,
      codec === undefined ? undefined : [codec],
      this.local.simulcast,
    );
    this.publisher = negotiated(pc, SignalTarget.PUBLISHER);
    // before the offer, so it carries the m=application section the channel needs
    this.dataChannel =
      this.options.data === true ? pc.createDataChannel(RELIABLE_LABEL, { ordered: true }) : undefined;
    await this.local.offer(pc, signal, timeoutMs);
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

  /** The server's ICE keepalive requests answered past werift's STUN stack (binding.ts), per PeerConnection, across sessions. */
  get keepalivesAnswered(): { publisher: number; subscriber: number } {
    return { publisher: this.keepalives.publisher.answered, subscriber: this.keepalives.subscriber.answered };
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

  /** Stops sending, says leave, closes both PeerConnections. Safe to call twice. */
  async leave(): Promise<void> {
    if (this.left) return;
    this.left = true;
    this.stopSending();
    await this.signal?.leave();
    await Promise.allSettled([this.subscriber.pc.close(), this.publisher?.pc.close()]);
  }

  /** A negotiation step failed: the session cannot carry media as asked; a joined one reconnects. */
  private broken(step: string, err: unknown): void {
    // a reconnect in progress fails its own wait for this step and tries again
    if (this.reconnection.busy) return;
    if (!this.joined) {
      this.ended(`${step} failed: ${messageOf(err)}`);
      void this.signal?.leave();
      return;
    }
    this.lost(step === "publisher answer" ? "publisher-ice-failed" : "subscriber-ice-failed");
  }

  private stopSending(): void {
    this.local.stop();
  }

  /** The session ended without our leave: say so once and stop sending; `leave()` still cleans up. */
  private ended(reason: string): void {
    if (this.left || this.gone) return;
    this.gone = true;
    this.stopSending();
    this.emit({ type: "disconnected", reason });
  }

  /** Signalling or media went: one reconnect episode at a time (src/reconnection.ts). */
  private lost(cause: ReconnectCause): void {
    if (this.left || this.gone) return;
    this.reconnection.lost(cause);
  }

  /** How the last reconnect episode went: its path, attempts and each failed attempt's message. */
  get lastReconnect(): EpisodeOutcome | undefined {
    return this.reconnection.last;
  }

  /** For reconnectEpisode: the participant left, or the server told it to stay away. */
  over(): boolean {
    return this.left || this.gone;
  }

  /**
   * Resume (`reconnect=1` with our sid): same PeerConnections, counters carry on. Sends SyncState
   * (published tracks, subscriptions); the server restarts the subscriber's ICE with an offer of
   * its own. Throws when refused, not done in time, or when the publisher lost its media.
   */
  async resume(cause: ReconnectCause, timeoutMs: number): Promise<void> {
    this.reconnection.attemptStarts();
    const deadline = Date.now() + timeoutMs;
    const remaining = (): number => Math.max(1, deadline - Date.now());
    const offersBefore = this.offersAnswered;
    const signal = await SignalConnection.connect(
      this.options.url,
      this.token,
      {
        autoSubscribe: this.options.subscribe,
        resume: { sid: this.sid, reason: reconnectReason(cause) },
        ping: this.ping,
        timeoutMs: Math.min(5000, timeoutMs),
      },
      this.signalHandlers(),
    );
    if (this.over()) {
      signal.drop();
      return;
    }
    this.signal = signal;
    // a resume keeps the room; the ReconnectResponse names the node that took it back
    this.nodeId = signal.nodeId ?? this.nodeId;
    signal.start();
    const { localDescription, remoteDescription } = this.subscriber.pc;
    signal.syncState(
      resumeSyncState(
        { answer: localDescription?.sdp ?? null, offer: remoteDescription?.sdp ?? null },
        this.local.confirmed,
      ),
    );
    publisherHeld(this.publisher?.pc.connectionState);
    // the server answers on the new socket once it is done with the resume: a socket it closes at
    // the end (disconnect-signal-on-resume) fails this resume instead of the next moment
    const answered = signal.probe();
    await until(
      () => answered() || this.reconnection.lostDuringAttempt,
      remaining(),
      "the server's answer on the resumed socket",
    );
    this.reconnection.attemptHeld("resume");
    if (this.subscribes) {
      // a socket the server closes before its offer (disconnect-signal-on-resume) fails the resume
      // now, not when the wait for an offer that cannot come runs out
      await until(
        () => this.offersAnswered > offersBefore || this.reconnection.lostDuringAttempt,
        remaining(),
        "the server's ICE-restart offer",
      );
      this.reconnection.attemptHeld("resume");
      await iceConnected(this.subscriber.pc, remaining(), "subscriber");
    }
    this.reconnection.attemptHeld("resume");
  }

  /**
   * Full rejoin: a new session with new PeerConnections, the audio and video tracks published again. Sent and
   * received counters carry on (the received streams of the old session end, see ReceivedStreams).
   */
  async rejoin(timeoutMs: number): Promise<void> {
    this.reconnection.attemptStarts();
    this.signal?.drop();
    this.signal = undefined;
    this.local.endSession();
    const old = [this.subscriber.pc, this.publisher?.pc];
    this.publisher = undefined;
    this.subscriber = this.subscriberPeerConnection();
    this.subscriberChain = Promise.resolve();
    this.subscribed.endSession();
    await Promise.allSettled(old.filter((pc) => pc !== undefined).map((pc) => pc.close()));
    await this.establish(timeoutMs);
    this.reconnection.attemptHeld("full rejoin");
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

  /** For reconnectEpisode; also every event this participant reports. */
  emit(event: ParticipantEvent): void {
    // a reconnect selects a pair anew: the next sample tells it
    if (event.type === "reconnected") this.transport.reselect();
    this.options.onEvent?.(event);
  }
}
