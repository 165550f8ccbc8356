import {
  SessionDescription,
  SignalTarget,
  SyncState,
  TrackPublishedResponse,
  UpdateSubscription,
  type TrackInfo,
} from "@livekit/protocol";
import type {
  OutboundTrackSample,
  ParticipantEvent,
  Role,
  RoomPlacement,
  WindowSample,
} from "@livekit-swarm/schema";
import {
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtpHeader,
  RtpPacket,
  useSdesMid,
  type RTCRtpSender,
} from "werift";
import { LeanError } from "./errors.js";
import type { InboundTotals } from "./inbound.js";
import type { VideoTotals } from "./video-inbound.js";
import { SAMPLES_PER_PACKET, type OpusLoop } from "./media.js";
import { restrictHostCandidates } from "./network.js";
import { processPacer, type Pacer } from "./pacer.js";
import { ReceivedStreams } from "./received.js";
import {
  DEFAULT_RECONNECT_POLICY,
  disconnectReason,
  leaveAction,
  reconnectEpisode,
  reconnectReason,
  type EpisodeOutcome,
  type ReconnectCause,
  type ReconnectPolicy,
  type Reconnectable,
} from "./reconnect.js";
import { extmapId, withMsid } from "./sdp.js";
import { SignalConnection, type CandidateInit, type SignalHandlers } from "./signal.js";
import type { VideoLoop } from "./video-media.js";
import { ABS_CAPTURE_TIME_URI, type VideoSent } from "./video-send.js";
import { cameraTrackRequest, microphoneTrackRequest } from "./track-requests.js";
import { videoCodecs, videoHeaderExtensions, VideoPublication, VideoReceiving } from "./video-track.js";
import { connected, iceConnected, until, within } from "./wait.js";

const OPUS_PT = 111;
const OPUS_CLOCK = 48_000;
/** The client track ids of our tracks, matched by the server to their AddTrackRequests. */
const AUDIO_CID = "lean-mic";
const VIDEO_CID = "lean-camera";

export interface LeanParticipantOptions {
  /** ws(s):// or http(s):// of the LiveKit server. */
  readonly url: string;
  readonly token: string;
  readonly room: string;
  readonly identity: string;
  readonly role: Role;
  /** Publish the Opus loop as a microphone track. */
  readonly audio?: OpusLoop | undefined;
  /** Publish the VP8 loop as a camera track. */
  readonly video?: VideoLoop | undefined;
  /** Drop every Nth received original video packet before the stack sees it: simulated loss (drills, tests). */
  readonly videoReceiveLossEvery?: number | undefined;
  /** Join with auto_subscribe, receiving every published track. */
  readonly subscribe: boolean;
  /** The local address that reaches the server (`sourceAddressFor`); the only host candidate. */
  readonly hostAddress: string;
  readonly pacer?: Pacer;
  readonly onEvent?: (event: ParticipantEvent) => void;
  /** Join, publish and connect timeout, ms. */
  readonly timeoutMs?: number;
  /** Attempts, bounds and backoff of a reconnect (DEFAULT_RECONNECT_POLICY: the Rust SDK's). */
  readonly reconnect?: ReconnectPolicy;
}

/** An ICE `disconnected` that lasts this long is a loss; shorter ones recover by themselves. */
const ICE_DISCONNECTED_GRACE_MS = 3000;

interface Negotiated {
  readonly pc: RTCPeerConnection;
  readonly target: SignalTarget;
  /** Remote candidates that arrived before the remote description. */
  pending: CandidateInit[];
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
  private publisher: Negotiated | undefined;
  private subscriberChain: Promise<void> = Promise.resolve();
  private readonly published = new Map<string, () => void>();
  /** What the server made of our tracks, by cid: a resume's SyncState names them. */
  private readonly publishedTracks = new Map<string, TrackInfo>();
  private readonly received = new ReceivedStreams();
  private readonly tapped = new WeakSet<MediaStreamTrack>();
  /** The latest token: the server's `refreshToken` replaces it, the next reconnect uses it. */
  private token: string;
  /** The joined session's ping cadence; a ReconnectResponse carries none. */
  private ping: SignalConnection["ping"] | undefined;
  private joined = false;
  private reconnecting = false;
  /** A loss seen while an attempt ran (its new socket closed, a leave asking again): the attempt failed. */
  private lossDuringAttempt: ReconnectCause | undefined;
  /** Subscriber offers answered: a resume waits for the server's ICE-restart offer. */
  private offersAnswered = 0;
  private stopPacing: (() => void) | undefined;
  private roomSid: string | undefined;
  /** Whether the session's token may subscribe: the server negotiates no subscriber PeerConnection otherwise. */
  private subscribes = true;
  private nodeId: string | undefined;
  private videoPublication: VideoPublication | undefined;
  /** The current session's received video tracks (a full rejoin replaces them): keyframe requests. */
  private videoReceiving: VideoReceiving[] = [];
  /** The last window of a publication a full rejoin ended, reported once by the next sample. */
  private readonly videoSentBeforeRejoin: OutboundTrackSample[] = [];
  private readonly tappedReceivers = new WeakSet<object>();
  private sent = { packets: 0, bytes: 0 };
  private sentAtLastSample = { packets: 0, bytes: 0 };
  private lastSampleMs: number;
  private left = false;
  /** The server or the network ended the session. */
  private gone = false;
  /** Addresses of the ICE candidates this participant offered, for checking what it exposes. */
  readonly offeredAddresses = new Set<string>();
  /** Packets received on a payload type other than Opus (RTX, RED): not counted as media. */
  otherPackets = 0;
  sid = "";
  /** How the last reconnect episode went: its path, attempts and each failed attempt's message. */
  lastReconnect: EpisodeOutcome | undefined;

  private constructor(
    private readonly options: LeanParticipantOptions,
    private readonly joinStartMs: number,
  ) {
    this.lastSampleMs = joinStartMs;
    this.token = options.token;
    this.subscriber = this.subscriberPeerConnection();
  }

  private subscriberPeerConnection(): Negotiated {
    const pc = this.peerConnection(SignalTarget.SUBSCRIBER);
    pc.onTrack.subscribe((track) => {
      this.onTrack(track);
    });
    return { pc, target: SignalTarget.SUBSCRIBER, pending: [] };
  }

  /** Joins, publishes the audio and video loops if given, and resolves once media can flow. */
  static async join(options: LeanParticipantOptions): Promise<LeanParticipant> {
    restrictHostCandidates(options.hostAddress);
    const p = new LeanParticipant(options, Date.now());
    try {
      await p.establish(options.timeoutMs ?? 15_000);
      p.joined = true;
      p.emit({ type: "joined", joinS: (Date.now() - p.joinStartMs) / 1000, ...p.placement() });
    } catch (err) {
      const error =
        err instanceof LeanError
          ? err
          : new LeanError("negotiation", err instanceof Error ? err.message : String(err));
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
        if (track !== undefined) this.publishedTracks.set(cid, track);
        this.published.get(cid)?.();
      },
      refreshToken: (token) => {
        this.token = token;
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

  private peerConnection(target: SignalTarget): RTCPeerConnection {
    const pc = new RTCPeerConnection({
      // werift defaults to a public STUN server; a load generator never asks the internet
      iceServers: [],
      iceUseIpv6: false,
      iceInterfaceAddresses: { udp4: this.options.hostAddress },
      bundlePolicy: "max-bundle",
      codecs: {
        audio: [
          new RTCRtpCodecParameters({
            mimeType: "audio/opus",
            clockRate: OPUS_CLOCK,
            channels: 2,
            payloadType: OPUS_PT,
            parameters: "minptime=10;useinbandfec=1",
          }),
        ],
        video: videoCodecs(),
      },
      headerExtensions: { audio: [useSdesMid()], video: videoHeaderExtensions() },
    });
    let disconnectedTimer: NodeJS.Timeout | undefined;
    const lossCause: ReconnectCause =
      target === SignalTarget.PUBLISHER ? "publisher-ice-failed" : "subscriber-ice-failed";
    pc.connectionStateChange.subscribe((state) => {
      clearTimeout(disconnectedTimer);
      if (state === "failed") this.lostMedia(pc, lossCause);
      else if (state === "disconnected")
        disconnectedTimer = setTimeout(() => {
          if (pc.connectionState === "disconnected") this.lostMedia(pc, lossCause);
        }, ICE_DISCONNECTED_GRACE_MS);
    });
    pc.onIceCandidate.subscribe((candidate) => {
      if (candidate === undefined) return;
      // candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>
      const address = candidate.candidate.split(" ")[4];
      if (address !== undefined) this.offeredAddresses.add(address);
      this.signal?.sendTrickle(target, candidate.toJSON());
    });
    return pc;
  }

  private async answerOffer(sdp: string): Promise<void> {
    const { pc } = this.subscriber;
    await pc.setRemoteDescription({ type: "offer", sdp });
    await this.drainCandidates(this.subscriber);
    await pc.setLocalDescription(await pc.createAnswer());
    const local = pc.localDescription;
    if (local !== null) this.signal?.sendAnswer(local.sdp);
    this.offersAnswered++;
  }

  private async applyAnswer(sdp: string): Promise<void> {
    const negotiated = this.publisher;
    if (negotiated === undefined) return;
    await negotiated.pc.setRemoteDescription({ type: "answer", sdp });
    await this.drainCandidates(negotiated);
  }

  private async addRemoteCandidate(target: SignalTarget, candidate: CandidateInit): Promise<void> {
    const negotiated = target === SignalTarget.SUBSCRIBER ? this.subscriber : this.publisher;
    if (negotiated === undefined) return;
    if (negotiated.pc.remoteDescription === null) {
      negotiated.pending.push(candidate);
      return;
    }
    await negotiated.pc.addIceCandidate(candidate).catch(() => undefined);
  }

  private async drainCandidates(negotiated: Negotiated): Promise<void> {
    const pending = negotiated.pending;
    negotiated.pending = [];
    for (const candidate of pending) await negotiated.pc.addIceCandidate(candidate).catch(() => undefined);
  }

  /** Announces each track, waits for the server to accept them, then offers them in one go. */
  private async publish(timeoutMs: number): Promise<void> {
    const { audio, video } = this.options;
    const signal = this.signal;
    if (signal === undefined || (audio === undefined && video === undefined)) return;
    const requests = [
      ...(audio === undefined ? [] : [microphoneTrackRequest(AUDIO_CID)]),
      ...(video === undefined ? [] : [cameraTrackRequest(VIDEO_CID, video)]),
    ];
    const published = requests.map((r) => new Promise<void>((resolve) => this.published.set(r.cid, resolve)));
    for (const r of requests) signal.addTrack(r);
    await within(
      Promise.all(published),
      timeoutMs,
      "the server did not confirm every track (trackPublished)",
    );

    if (this.left) throw new LeanError("closed", "the participant left while publishing");
    const pc = this.peerConnection(SignalTarget.PUBLISHER);
    this.publisher = { pc, target: SignalTarget.PUBLISHER, pending: [] };
    const transceiver = (kind: "audio" | "video"): RTCRtpSender =>
      pc.addTransceiver(new MediaStreamTrack({ kind }), { direction: "sendonly" }).sender;
    const audioSender = audio === undefined ? undefined : transceiver("audio");
    const videoSender = video === undefined ? undefined : transceiver("video");
    await pc.setLocalDescription(await pc.createOffer());
    const local = pc.localDescription;
    if (local === null) throw new LeanError("negotiation", "werift produced no publisher offer");
    signal.sendOffer(withMsid(local.sdp, this.options.identity, { audio: AUDIO_CID, video: VIDEO_CID }));
    await connected(pc, timeoutMs, "publisher");
    const pacer = this.options.pacer ?? processPacer;
    if (audioSender !== undefined && audio !== undefined) this.startSending(audioSender, audio);
    if (videoSender !== undefined && video !== undefined) {
      // written only when the server's answer takes the extension, under the id it answered with
      const captureId = extmapId(pc.remoteDescription?.sdp ?? "", ABS_CAPTURE_TIME_URI);
      this.videoPublication = new VideoPublication(videoSender, video, pacer, captureId);
    }
  }

  private startSending(sender: RTCRtpSender, loop: OpusLoop): void {
    const pacer = this.options.pacer ?? processPacer;
    // anchored on the first tick this handler sees: the pacer restarts its count when it idles
    let first: number | undefined;
    // random bases, as RFC 3550 asks; werift adds its own offsets on top
    let sequenceNumber = Math.floor(Math.random() * 0x1_0000);
    const timestampBase = Math.floor(Math.random() * 0x1_0000_0000);
    const { packets } = loop;
    this.stopPacing = pacer.add((tick) => {
      first ??= tick;
      const n = tick - first;
      const payload = packets[n % packets.length];
      if (payload === undefined) return;
      const header = new RtpHeader({
        payloadType: OPUS_PT,
        sequenceNumber,
        timestamp: (timestampBase + n * SAMPLES_PER_PACKET) >>> 0,
        marker: n === 0,
      });
      sequenceNumber = (sequenceNumber + 1) & 0xffff;
      this.sent.packets++;
      this.sent.bytes += payload.length;
      sender.sendRtp(new RtpPacket(header, payload)).catch(() => undefined);
    });
  }

  private onTrack(track: MediaStreamTrack): void {
    const afterJoinStartS = (Date.now() - this.joinStartMs) / 1000;
    // werift fires onTrack again, with the same track, at every server re-offer that still sends
    // on the transceiver: tapping it twice counted every packet twice
    if (this.tapped.has(track)) return;
    if (track.kind === "video") {
      this.onVideoTrack(track, afterJoinStartS);
      return;
    }
    if (track.kind !== "audio") return;
    this.tapped.add(track);
    this.emit({ type: "track-subscribed", kind: "audio", afterJoinStartS });
    track.onReceiveRtp.subscribe((rtp) => {
      const { header } = rtp;
      if (header.payloadType !== OPUS_PT) {
        this.otherPackets++;
        return;
      }
      const now = performance.now();
      const { stream, fresh } = this.received.stream(header.ssrc, "audio", OPUS_CLOCK);
      if (fresh)
        this.emit({
          type: "first-packet",
          kind: "audio",
          afterJoinStartS: (Date.now() - this.joinStartMs) / 1000,
        });
      stream.onPacket(header.sequenceNumber, header.timestamp, rtp.payload.length, now);
    });
  }

  private onVideoTrack(track: MediaStreamTrack, afterJoinStartS: number): void {
    const receiver = this.subscriber.pc
      .getTransceivers()
      .find((t) => t.receiver.tracks.includes(track))?.receiver;
    if (receiver === undefined || this.tappedReceivers.has(receiver)) return;
    this.tapped.add(track);
    this.tappedReceivers.add(receiver);
    this.emit({ type: "track-subscribed", kind: "video", afterJoinStartS });
    const since = (): number => (Date.now() - this.joinStartMs) / 1000;
    const { stream, fresh } = this.received.video(track.ssrc);
    this.videoReceiving.push(
      new VideoReceiving(
        receiver,
        track,
        stream,
        {
          firstPacket: () => {
            if (fresh) this.emit({ type: "first-packet", kind: "video", afterJoinStartS: since() });
          },
          firstFrame: () => {
            if (fresh)
              this.emit({ type: "first-frame", kind: "video", afterJoinStartS: since(), exact: true });
          },
        },
        this.options.videoReceiveLossEvery,
      ),
    );
  }

  /** Cumulative counters of every received stream, by key (video streams with frames and keyframes). */
  inboundTotals(): Map<string, InboundTotals | VideoTotals> {
    return this.received.totals();
  }

  /**
   * What the published video loop sent and what feedback (NACK, PLI, FIR) it got; undefined without
   * video. After a full rejoin: the republished loop's, from zero.
   */
  get videoTotals(): (VideoSent & { nack: number; pli: number; fir: number }) | undefined {
    return this.videoPublication?.totals;
  }

  /** Asks every received video stream's sender for a keyframe (a PLI each). */
  requestKeyframes(): void {
    for (const v of this.videoReceiving) v.requestKeyframe();
  }

  /** Packets and payload bytes sent since joining. */
  get outboundTotals(): { readonly packets: number; readonly bytes: number } {
    return { ...this.sent };
  }

  /** What this participant sent and received since the previous call, in the engines' shape. */
  sample(worker: number): WindowSample {
    const now = Date.now();
    const packets = this.sent.packets - this.sentAtLastSample.packets;
    const bytes = this.sent.bytes - this.sentAtLastSample.bytes;
    this.sentAtLastSample = { ...this.sent };
    const durationMs = now - this.lastSampleMs;
    this.lastSampleMs = now;
    const latencies = this.received.takeLatencies().sort((a, b) => a - b);
    return {
      t: now,
      durationMs,
      room: this.options.room,
      participant: this.options.identity,
      role: this.options.role,
      worker,
      inbound: this.received.windows(),
      outbound: [
        ...(this.options.audio === undefined
          ? []
          : [
              {
                kind: "audio" as const,
                packets,
                bytes,
                nack: 0,
                pli: 0,
                fir: 0,
                qualityLimitation: undefined,
              },
            ]),
        ...this.videoSentBeforeRejoin.splice(0),
        ...(this.videoPublication === undefined ? [] : [this.videoPublication.window()]),
      ],
      rttS: undefined,
      dataSent: 0,
      dataReceived: 0,
      ...(latencies.length > 0 ? { latencyS: latencySummary(latencies) } : {}),
    };
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
    if (this.reconnecting) return;
    if (!this.joined) {
      this.ended(`${step} failed: ${err instanceof Error ? err.message : String(err)}`);
      void this.signal?.leave();
      return;
    }
    this.lost(step === "publisher answer" ? "publisher-ice-failed" : "subscriber-ice-failed");
  }

  private stopSending(): void {
    this.stopPacing?.();
    this.videoPublication?.stop();
  }

  /** The session ended without our leave: say so once and stop sending; `leave()` still cleans up. */
  private ended(reason: string): void {
    if (this.left || this.gone) return;
    this.gone = true;
    this.stopSending();
    this.emit({ type: "disconnected", reason });
  }

  private lostMedia(pc: RTCPeerConnection, cause: ReconnectCause): void {
    // a PeerConnection a full rejoin already replaced fails or closes on its way out
    if (pc === this.subscriber.pc || pc === this.publisher?.pc) this.lost(cause);
  }

  /** Signalling or media went: one reconnect episode at a time (src/reconnect.ts). */
  private lost(cause: ReconnectCause): void {
    if (this.left || this.gone) return;
    if (this.reconnecting) {
      this.lossDuringAttempt ??= cause;
      return;
    }
    if (!this.joined) {
      // the join's own waits fail and report it; a closed socket is the only thing to say here
      if (cause === "signal-closed" || cause === "ping-timeout")
        this.ended(`signalling lost (${cause}) while joining`);
      return;
    }
    this.reconnecting = true;
    this.signal?.drop();
    void reconnectEpisode(this, cause, this.options.reconnect ?? DEFAULT_RECONNECT_POLICY).then((outcome) => {
      this.reconnecting = false;
      this.lastReconnect = outcome;
      const again = this.lossDuringAttempt;
      this.lossDuringAttempt = undefined;
      if (outcome.path === undefined && !this.left) {
        // the episode said `disconnected`: nothing more will come from this participant
        this.gone = true;
        this.stopSending();
      } else if (again !== undefined) {
        // lost again between the attempt's last look and the episode's end
        this.lost(again);
      }
    });
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
    this.lossDuringAttempt = undefined;
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
    const answer = this.subscriber.pc.localDescription;
    const offer = this.subscriber.pc.remoteDescription;
    signal.syncState(
      new SyncState({
        answer: answer === null ? undefined : new SessionDescription({ type: "answer", sdp: answer.sdp }),
        subscription: new UpdateSubscription({
          trackSids: offer === null ? [] : subscribedTrackSids(offer.sdp),
          subscribe: true,
        }),
        publishTracks: [...this.publishedTracks].map(
          ([cid, track]) => new TrackPublishedResponse({ cid, track }),
        ),
      }),
    );
    // no ICE restart of ours on the publisher: werift's left the SFU receiving nothing from it
    // after 2 of 5 resumes (measured rule in the README); a publisher that lost its media goes
    // through a full rejoin instead
    const publisher = this.publisher?.pc;
    if (publisher !== undefined && publisher.connectionState !== "connected")
      throw new LeanError(
        "negotiation",
        `the publisher PeerConnection is ${publisher.connectionState}: a full rejoin brings it back`,
      );
    if (this.subscribes) {
      await until(() => this.offersAnswered > offersBefore, remaining(), "the server's ICE-restart offer");
      await iceConnected(this.subscriber.pc, remaining(), "subscriber");
    }
    this.attemptHeld("resume");
  }

  /** Throws when something was lost while the attempt ran: it did not bring the session back. */
  private attemptHeld(path: string): void {
    const loss = this.lossDuringAttempt;
    this.lossDuringAttempt = undefined;
    if (loss !== undefined) throw new LeanError("closed", `lost again during the ${path} (${loss})`);
  }

  /**
   * Full rejoin: a new session with new PeerConnections, the audio and video tracks published again. Sent and
   * received counters carry on (the received streams of the old session end, see ReceivedStreams).
   */
  async rejoin(timeoutMs: number): Promise<void> {
    this.lossDuringAttempt = undefined;
    this.signal?.drop();
    this.signal = undefined;
    const publication = this.videoPublication;
    this.stopSending();
    this.stopPacing = undefined;
    this.videoPublication = undefined;
    if (publication !== undefined) this.videoSentBeforeRejoin.push(publication.window());
    this.videoReceiving = [];
    const old = [this.subscriber.pc, this.publisher?.pc];
    this.publisher = undefined;
    this.subscriber = this.subscriberPeerConnection();
    this.subscriberChain = Promise.resolve();
    this.published.clear();
    this.publishedTracks.clear();
    this.received.endSession();
    await Promise.allSettled(old.filter((pc) => pc !== undefined).map((pc) => pc.close()));
    await this.establish(timeoutMs);
    this.attemptHeld("full rejoin");
  }

  /** Drops the signalling socket as a network cut would (tests, client-side chaos): the participant resumes. */
  dropSignal(): void {
    this.signal?.lose("signal-closed");
  }

  /** For reconnectEpisode; also every event this participant reports. */
  emit(event: ParticipantEvent): void {
    this.options.onEvent?.(event);
  }
}
/**
 * The tracks a subscriber offer carries: LiveKit names each as `a=msid:<publisher sid>|<track sid>
 * <track sid>`. Not the `trackSubscribed` message, which tells a publisher that someone subscribed
 * to its own track: resubscribing to those subscribed a publisher to itself after a resume.
 */
export function subscribedTrackSids(sdp: string): string[] {
  const sids = new Set<string>();
  for (const match of sdp.matchAll(/^a=msid:\S*\|(\S+) /gm)) if (match[1] !== undefined) sids.add(match[1]);
  return [...sids];
}

/** The window's latencies, sorted: median and maximum as the native engine reports them. */
function latencySummary(sorted: readonly number[]): { p50: number; max: number; n: number } {
  return {
    p50: sorted[Math.ceil(sorted.length / 2) - 1] ?? 0,
    max: sorted[sorted.length - 1] ?? 0,
    n: sorted.length,
  };
}
