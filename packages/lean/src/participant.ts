import { SignalTarget } from "@livekit/protocol";
import type { ParticipantEvent, Role, WindowSample } from "@livekit-swarm/schema";
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
import { InboundStream, type InboundTotals } from "./inbound.js";
import type { VideoTotals } from "./video-inbound.js";
import { SAMPLES_PER_PACKET, type OpusLoop } from "./media.js";
import { restrictHostCandidates } from "./network.js";
import { processPacer, type Pacer } from "./pacer.js";
import { extmapId, withMsid } from "./sdp.js";
import { SignalConnection, type CandidateInit } from "./signal.js";
import type { VideoLoop } from "./video-media.js";
import { ABS_CAPTURE_TIME_URI, type VideoSent } from "./video-send.js";
import { cameraTrackRequest, microphoneTrackRequest } from "./track-requests.js";
import { videoCodecs, videoHeaderExtensions, VideoPublication, VideoReceiving } from "./video-track.js";

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
}

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
export class LeanParticipant {
  private signal: SignalConnection | undefined;
  private readonly subscriber: Negotiated;
  private publisher: Negotiated | undefined;
  private subscriberChain: Promise<void> = Promise.resolve();
  private readonly published = new Map<string, () => void>();
  private readonly streams = new Map<number, InboundStream>();
  private readonly tapped = new WeakSet<MediaStreamTrack>();
  private stopPacing: (() => void) | undefined;
  private videoPublication: VideoPublication | undefined;
  private readonly videoReceiving: VideoReceiving[] = [];
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

  private constructor(
    private readonly options: LeanParticipantOptions,
    private readonly joinStartMs: number,
  ) {
    this.lastSampleMs = joinStartMs;
    this.subscriber = {
      pc: this.peerConnection(SignalTarget.SUBSCRIBER),
      target: SignalTarget.SUBSCRIBER,
      pending: [],
    };
    this.subscriber.pc.onTrack.subscribe((track) => {
      this.onTrack(track);
    });
  }

  /** Joins, publishes the audio and video loops if given, and resolves once media can flow. */
  static async join(options: LeanParticipantOptions): Promise<LeanParticipant> {
    restrictHostCandidates(options.hostAddress);
    const p = new LeanParticipant(options, Date.now());
    try {
      await p.connect();
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

  private async connect(): Promise<void> {
    const timeoutMs = this.options.timeoutMs ?? 15_000;
    const signal = await SignalConnection.connect(
      this.options.url,
      this.options.token,
      this.options.subscribe,
      {
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
          void this.addRemoteCandidate(target, candidate);
        },
        trackPublished: (cid) => {
          this.published.get(cid)?.();
        },
        closed: (reason) => {
          this.ended(reason);
        },
      },
      timeoutMs,
    );
    this.signal = signal;
    this.sid = signal.join.participant?.sid ?? "";
    this.emit({ type: "session", sid: this.sid });
    signal.start();
    // the server offers the subscriber PeerConnection at join (its data channels at least), but
    // none to a token that cannot subscribe (a swarm's publishers)
    if (signal.join.participant?.permission?.canSubscribe !== false)
      await connected(this.subscriber.pc, timeoutMs, "subscriber");
    await this.publish(timeoutMs);
    this.emit({
      type: "joined",
      joinS: (Date.now() - this.joinStartMs) / 1000,
      // the JoinResponse names the room instance and the node that answered
      roomSid: signal.join.room?.sid || undefined,
      nodeId: signal.join.serverInfo?.nodeId || undefined,
    });
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
      let stream = this.streams.get(header.ssrc);
      if (stream === undefined) {
        stream = new InboundStream(`ssrc:${header.ssrc}`, "audio", OPUS_CLOCK);
        this.streams.set(header.ssrc, stream);
        this.emit({
          type: "first-packet",
          kind: "audio",
          afterJoinStartS: (Date.now() - this.joinStartMs) / 1000,
        });
      }
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
    this.videoReceiving.push(
      new VideoReceiving(
        receiver,
        track,
        {
          firstPacket: () => {
            this.emit({ type: "first-packet", kind: "video", afterJoinStartS: since() });
          },
          firstFrame: () => {
            this.emit({ type: "first-frame", kind: "video", afterJoinStartS: since(), exact: true });
          },
        },
        this.options.videoReceiveLossEvery,
      ),
    );
  }

  /** Cumulative counters of every received stream, by key (video streams with frames and keyframes). */
  inboundTotals(): Map<string, InboundTotals | VideoTotals> {
    return new Map([
      ...[...this.streams.values()].map((s): [string, InboundTotals] => [s.key, s.totals()]),
      ...this.videoReceiving.map((v): [string, VideoTotals] => [v.inbound.key, v.totals()]),
    ]);
  }

  /** What the published video loop sent and what feedback (NACK, PLI, FIR) it got; undefined without video. */
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
    const latencies = this.videoReceiving.flatMap((v) => v.inbound.takeLatencies()).sort((a, b) => a - b);
    return {
      t: now,
      durationMs,
      room: this.options.room,
      participant: this.options.identity,
      role: this.options.role,
      worker,
      inbound: [
        ...[...this.streams.values()].map((s) => s.window()),
        ...this.videoReceiving.map((v) => v.window()),
      ],
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
    this.stopPacing?.();
    this.videoPublication?.stop();
    await this.signal?.leave();
    await Promise.allSettled([this.subscriber.pc.close(), this.publisher?.pc.close()]);
  }

  /** A negotiation step failed: the session cannot carry media as asked, so it ends. */
  private broken(step: string, err: unknown): void {
    this.ended(`${step} failed: ${err instanceof Error ? err.message : String(err)}`);
    void this.signal?.leave();
  }

  /** The session ended without our leave: say so once and stop sending; `leave()` still cleans up. */
  private ended(reason: string): void {
    if (this.left || this.gone) return;
    this.gone = true;
    this.stopPacing?.();
    this.videoPublication?.stop();
    this.emit({ type: "disconnected", reason });
  }

  private emit(event: ParticipantEvent): void {
    this.options.onEvent?.(event);
  }
}

/** The window's latencies, sorted: median and maximum as the native engine reports them. */
function latencySummary(sorted: readonly number[]): { p50: number; max: number; n: number } {
  return {
    p50: sorted[Math.ceil(sorted.length / 2) - 1] ?? 0,
    max: sorted[sorted.length - 1] ?? 0,
    n: sorted.length,
  };
}

async function connected(pc: RTCPeerConnection, timeoutMs: number, name: string): Promise<void> {
  if (pc.connectionState === "connected") return;
  await within(
    new Promise<void>((resolve, reject) => {
      const { unSubscribe } = pc.connectionStateChange.subscribe((state) => {
        if (state === "connected") {
          unSubscribe();
          resolve();
        } else if (state === "failed" || state === "closed") {
          unSubscribe();
          reject(new LeanError("negotiation", `the ${name} PeerConnection ${state}`));
        }
      });
    }),
    timeoutMs,
    `the ${name} PeerConnection did not connect (ICE/DTLS) - is UDP to the server's rtc port reachable?`,
  );
}

async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new LeanError("timeout", `${what} within ${timeoutMs} ms`));
        }, timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
