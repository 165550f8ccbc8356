import type { SignalTarget } from "@livekit/protocol";
import type { CandidateType, IceProtocol, SelectedPair } from "@livekit-swarm/schema";
import { RTCPeerConnection, useRepairedRtpStreamId, useSdesMid, useSdesRTPStreamId } from "werift";
import { audioCodecs } from "./audio-track.js";
import type { CandidateInit } from "./signal.js";
import { LEAN_VIDEO_CODECS, type LeanVideoCodec } from "./video-format.js";
import { bundleExtensionIds } from "./sdp.js";
import { videoCodecs, videoHeaderExtensions } from "./video-track.js";

/** An ICE `disconnected` that lasts this long is a loss; shorter ones recover by themselves. */
export const ICE_DISCONNECTED_GRACE_MS = 3000;

/** A PeerConnection with its signalling target and the remote candidates it cannot take yet. */
export interface Negotiated {
  readonly pc: RTCPeerConnection;
  readonly target: SignalTarget;
  /** Remote candidates that arrived before the remote description. */
  pending: CandidateInit[];
  readonly ice: IceClock;
}

export function negotiated(pc: RTCPeerConnection, target: SignalTarget): Negotiated {
  return { pc, target, pending: [], ice: new IceClock(pc) };
}

/**
 * How long ICE took on one PeerConnection: from the remote description being set (both sides'
 * candidates and credentials known, checks can start) to the ICE transport connected, once.
 */
export class IceClock {
  private startMs: number | undefined;
  private took: number | undefined;

  constructor(pc: RTCPeerConnection) {
    pc.iceConnectionStateChange.subscribe((state) => {
      if ((state === "connected" || state === "completed") && this.startMs !== undefined)
        this.took ??= (Date.now() - this.startMs) / 1000;
    });
  }

  /** The remote description was set; a later (renegotiating) one does not restart the clock. */
  started(): void {
    this.startMs ??= Date.now();
  }

  /** Seconds, once connected; undefined before. */
  get seconds(): number | undefined {
    return this.took;
  }
}

const CANDIDATE_TYPES: readonly CandidateType[] = ["host", "srflx", "prflx", "relay"];

/** The pair werift's ICE nominated on `pc`, in the schema's words; undefined before one is. */
export function selectedPair(pc: RTCPeerConnection): SelectedPair | undefined {
  const pair = pc.iceTransports[0]?.connection.nominated;
  if (pair === undefined) return undefined;
  return pairOf(pair.protocol.localCandidate, pair.remoteCandidate);
}

/**
 * The round-trip time, in seconds, of the last STUN exchange on the pair werift's ICE nominated on
 * `pc`: the connectivity check that chose it, then each consent check answered (every 4-6 s, on the
 * process-wide clock, consent.ts, or werift's own loop); undefined before a pair is nominated or
 * measured. As libwebrtc's `currentRoundTripTime` (the native engine's figure) it is the latest
 * measurement, kept until the next one, and it includes how long this process took to take the
 * answer off its socket. 0 is a real reading (an answer within the clock's resolution).
 */
export function pairRoundTrip(pc: RTCPeerConnection): number | undefined {
  const rtt = pc.iceTransports[0]?.connection.nominated?.rtt;
  return rtt !== undefined && Number.isFinite(rtt) && rtt >= 0 ? rtt : undefined;
}

/** werift's candidates (type and transport as SDP spells them) as a selected pair; pure, for tests. */
export function pairOf(
  local: { readonly type: string; readonly transport: string } | undefined,
  remote: { readonly type: string },
): SelectedPair | undefined {
  const localType = CANDIDATE_TYPES.find((t) => t === local?.type);
  const remoteType = CANDIDATE_TYPES.find((t) => t === remote.type);
  const transport = local?.transport.toLowerCase();
  const protocol: IceProtocol | undefined =
    transport === "udp" || transport === "tcp" ? transport : undefined;
  if (localType === undefined || remoteType === undefined || protocol === undefined) return undefined;
  // lean gives werift no TURN server (iceServers: []), so it has no relay candidate; were it given
  // one, the relay protocol is not read here and transportClass counts it as TURN over UDP
  return { local: localType, remote: remoteType, protocol };
}

export interface PeerHooks {
  /** ICE failed, or stayed disconnected for ICE_DISCONNECTED_GRACE_MS. */
  lost(pc: RTCPeerConnection): void;
  /** A local candidate to trickle; `address` is the one it offers. */
  candidate(candidate: CandidateInit, address: string | undefined): void;
}

/**
 * A werift PeerConnection as a lean participant needs it: host candidates on the addresses
 * `restrictHostCandidates` allows (the one toward the signalling host), no STUN, max-bundle, Opus
 * and `video` codecs (no congestion-control feedback); a `simulcast` publisher also offers the rid
 * and repaired-rid extensions its layers are told apart by.
 *
 * Its sockets are bound to every local address, not to the candidate's: where the kernel reaches a
 * node's media address from another local address than the signalling host's (the chaos testbed's
 * nodes in network namespaces behind a balancer on loopback: the candidate is 127.0.0.1, the route
 * to a node leaves from its veth's host address), the checks this side sends arrive from that
 * address and LiveKit takes it as a peer-reflexive candidate (RFC 8445 7.3.1.3), as it does for a
 * client behind NAT. Bound to the candidate's address, those checks could not leave at all.
 */
export function leanPeerConnection(
  hooks: PeerHooks,
  video: readonly LeanVideoCodec[] = LEAN_VIDEO_CODECS,
  simulcast = false,
): RTCPeerConnection {
  const pc = new RTCPeerConnection({
    // werift defaults to a public STUN server; a load generator never asks the internet (and werift
    // falls back to one even so: noFallbackStun in network.ts)
    iceServers: [],
    iceUseIpv6: false,
    bundlePolicy: "max-bundle",
    codecs: { audio: audioCodecs(), video: videoCodecs(video) },
    headerExtensions: {
      audio: [useSdesMid()],
      video: [
        ...videoHeaderExtensions(),
        ...(simulcast ? [useSdesRTPStreamId(), useRepairedRtpStreamId()] : []),
      ],
    },
  });
  // before any offer: werift reads the ids off these parameters when it writes one
  bundleExtensionIds([pc.config.headerExtensions.audio, pc.config.headerExtensions.video]);
  keepEarlyAssociation(pc);
  let disconnectedTimer: NodeJS.Timeout | undefined;
  pc.connectionStateChange.subscribe((state) => {
    clearTimeout(disconnectedTimer);
    if (state === "failed") hooks.lost(pc);
    else if (state === "disconnected")
      disconnectedTimer = setTimeout(() => {
        if (pc.connectionState === "disconnected") hooks.lost(pc);
      }, ICE_DISCONNECTED_GRACE_MS);
  });
  pc.onIceCandidate.subscribe((candidate) => {
    if (candidate === undefined) return;
    // candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>
    hooks.candidate(candidate.toJSON(), candidate.candidate.split(" ")[4]);
  });
  return pc;
}

/** werift's SCTP_STATE.ESTABLISHED (its enum is not exported). */
const SCTP_ESTABLISHED = 4;

/** What of werift's private SCTP manager keepEarlyAssociation reads and changes. */
interface SctpManagerLike {
  connectSctp(): Promise<void>;
  sctpRemotePort?: number;
  sctpTransport?: {
    start(remotePort: number): Promise<void>;
    sctp: { associationState: number; started: boolean };
  };
}

/**
 * A PeerConnection whose SCTP association came up before its own DTLS handshake ended stays
 * "connecting" in werift 0.24.4. pion (LiveKit) starts SCTP as soon as it has our last flight; when
 * its own last flight is lost, werift (which already holds the keys) answers LiveKit's INIT and the
 * association is up before werift's DTLS is. werift then "starts" SCTP: its start sets the
 * association "connecting" again, and the PeerConnection waits for a "connected" that came before
 * (measured: every lean subscriber whose server Finished was lost for 2 s timed out its join with
 * the association up). Here the start of an association already up only does what it must for
 * data channels (their ids) and leaves its state alone.
 */
export function keepEarlyAssociation(pc: RTCPeerConnection): void {
  const manager = (pc as unknown as { sctpManager?: SctpManagerLike }).sctpManager;
  if (manager === undefined || typeof manager.connectSctp !== "function")
    throw new Error(
      "werift's RTCPeerConnection has no sctpManager.connectSctp where lean keeps an early SCTP association: werift changed; check packages/lean's pinned werift version",
    );
  const connectSctp = manager.connectSctp.bind(manager);
  manager.connectSctp = async () => {
    const transport = manager.sctpTransport;
    const port = manager.sctpRemotePort;
    if (transport === undefined || port === undefined || transport.sctp.associationState !== SCTP_ESTABLISHED)
      return connectSctp();
    transport.sctp.started = true; // its start() then leaves the association as it is
    await transport.start(port);
  };
}

/** Adds a remote candidate, or holds it until the remote description is set (drainCandidates). */
export async function addRemoteCandidate(negotiated: Negotiated, candidate: CandidateInit): Promise<void> {
  if (negotiated.pc.remoteDescription === null) {
    negotiated.pending.push(candidate);
    return;
  }
  await negotiated.pc.addIceCandidate(candidate).catch(() => undefined);
}

/** Adds the candidates held before the remote description. */
export async function drainCandidates(negotiated: Negotiated): Promise<void> {
  const pending = negotiated.pending;
  negotiated.pending = [];
  for (const candidate of pending) await negotiated.pc.addIceCandidate(candidate).catch(() => undefined);
}

/** What `acceptChecksAfterRestart` reaches of werift's ICE connection (private in its types). */
interface EarlyChecks {
  earlyChecksDone: boolean;
  earlyChecks: unknown[][];
  readonly remoteUsername: string;
  checkIncoming(...check: unknown[]): void;
}

/**
 * After an ICE restart werift answers with DTLS still up, it starts no ICE of its own
 * (RTCPeerConnection.connect returns early), so nothing marks the new generation's early checks
 * done: a check from the server that arrives while no server candidate is known is answered and
 * queued, never processed, and no pair is ever nominated. Seen after a resume through a live node
 * to a room on another (the server's candidates never came by trickle): 7 checks queued over 10 s,
 * the resume ran out, a full rejoin followed. This does what werift's `connect()` does first:
 * the queued checks are processed and later ones are taken as they come. Only a connection whose
 * remote credentials are set and whose early checks are pending is touched (werift's own
 * `connect()` has marked them done on a first connection). Returns how many it opened.
 */
export function acceptChecksAfterRestart(pc: RTCPeerConnection): number {
  let opened = 0;
  for (const transport of pc.iceTransports) {
    const connection = transport.connection as unknown as EarlyChecks;
    if (connection.earlyChecksDone || connection.remoteUsername === "") continue;
    connection.earlyChecksDone = true;
    for (const check of connection.earlyChecks.splice(0)) connection.checkIncoming(...check);
    opened++;
  }
  return opened;
}
