/**
 * A lean participant's connection to its room, across sessions: LiveKit's signalling, the publisher
 * and subscriber PeerConnections and their negotiation, and the reconnects (resume, full rejoin).
 */
import { SignalTarget } from "@livekit/protocol";
import { TransportWatch, messageOf, type ParticipantEvent, type RoomPlacement } from "@livekit-swarm/schema";
import type { RTCDataChannel, RTCPeerConnection } from "werift";
import { LeanError } from "./errors.js";
import { answerKeepalives, type BindingCount } from "./binding.js";
import { checkConsentOnOneClock, type ConsentCount } from "./consent.js";
import { readOpusHeadersOnly, type HeaderOnlyCount } from "./header-only.js";
import { LocalTracks } from "./local-tracks.js";
import { processPacer } from "./pacer.js";
import type { LeanParticipantOptions } from "./participant-options.js";
import {
  acceptChecksAfterRestart,
  addRemoteCandidate,
  drainCandidates,
  leanPeerConnection,
  negotiated,
  type Negotiated,
} from "./peer.js";
import {
  disconnectReason,
  leaveAction,
  reconnectReason,
  type EpisodeOutcome,
  type ReconnectCause,
  type Reconnectable,
} from "./reconnect.js";
import { Reconnection } from "./reconnection.js";
import { reportOnOneClock } from "./report-clock.js";
import { freshDtlsResends } from "./dtls-resend.js";
import { keepEarlyClientHellos } from "./early-dtls.js";
import { pingUntilNominatedEverywhere } from "./nomination.js";
import { RemotePublishers } from "./remote.js";
import { publisherHeld, resumeSyncState } from "./resume.js";
import { SignalConnection, ownQuality, type CandidateInit, type SignalHandlers } from "./signal.js";
import { SubscribedTracks } from "./subscribed.js";
import type { LeanVideoCodec } from "./video-format.js";
import { connected, iceConnected, until } from "./wait.js";
import { RELIABLE_LABEL, isUserPacket } from "./data.js";

/**
 * What every LeanParticipant holds and does to stay in its room: the state of its sessions and the
 * steps that join, negotiate, resume and rejoin. LeanParticipant adds what the engine reads and asks.
 */
export abstract class LeanConnection implements Reconnectable {
  protected signal: SignalConnection | undefined;
  protected subscriber: Negotiated;
  protected readonly headerOnly: HeaderOnlyCount = {
    packets: 0,
    bypassed: 0,
    atSocket: 0,
    video: 0,
    videoAtSocket: 0,
    foreign: 0,
  };
  /** Per PeerConnection: the server controls the subscriber one's ICE and is controlled on the publisher one. */
  protected readonly keepalives: Record<"publisher" | "subscriber", BindingCount> = {
    publisher: { answered: 0 },
    subscriber: { answered: 0 },
  };
  /** Per PeerConnection: ICE consent checked on the process's one clock (consent.ts). */
  protected readonly consent: Record<"publisher" | "subscriber", ConsentCount> = {
    publisher: { requests: 0, answers: 0, expired: 0, onWerift: 0 },
    subscriber: { requests: 0, answers: 0, expired: 0, onWerift: 0 },
  };
  protected publisher: Negotiated | undefined;
  /** The publisher PeerConnection's reliable data channel (options.data), replaced with it on a full rejoin. */
  protected dataChannel: RTCDataChannel | undefined;
  /** User packets sent and received since the last sample. */
  protected data = { sent: 0, received: 0 };
  private subscriberChain: Promise<void> = Promise.resolve();
  protected readonly local: LocalTracks;
  protected readonly subscribed: SubscribedTracks;
  protected readonly remotes: RemotePublishers;
  protected readonly reconnection: Reconnection;
  /** The latest token: the server's `refreshToken` replaces it, the next reconnect uses it. */
  private token: string;
  /** The joined session's ping cadence; a ReconnectResponse carries none. */
  private ping: SignalConnection["ping"] | undefined;
  protected joined = false;
  /** Subscriber offers answered: a resume waits for the server's ICE-restart offer. */
  private offersAnswered = 0;
  /** Subscriber ICE restarts whose server checks `acceptChecksAfterRestart` let through. */
  restartsOpened = 0;
  private roomSid: string | undefined;
  /** Whether the session's token may subscribe: the server negotiates no subscriber PeerConnection otherwise. */
  protected subscribes = true;
  private nodeId: string | undefined;
  private left = false;
  /** The server or the network ended the session. */
  private gone = false;
  protected readonly transport = new TransportWatch((e) => {
    this.emit(e);
  });
  /** Addresses of the ICE candidates this participant offered, for checking what it exposes. */
  readonly offeredAddresses = new Set<string>();
  sid = "";

  protected constructor(
    protected readonly options: LeanParticipantOptions,
    protected readonly joinStartMs: number,
  ) {
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

  /** Joins as a new session: signalling, the subscriber PeerConnection, the audio and video tracks if any. */
  protected async establish(timeoutMs: number): Promise<void> {
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
  protected lost(cause: ReconnectCause): void {
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

  /** For reconnectEpisode; also every event this participant reports. */
  emit(event: ParticipantEvent): void {
    // a reconnect selects a pair anew: the next sample tells it
    if (event.type === "reconnected") this.transport.reselect();
    this.options.onEvent?.(event);
  }
}
