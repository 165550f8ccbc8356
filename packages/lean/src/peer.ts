import type { SignalTarget } from "@livekit/protocol";
import { RTCPeerConnection, useSdesMid } from "werift";
import { audioCodecs } from "./audio-track.js";
import type { CandidateInit } from "./signal.js";
import { videoCodecs, videoHeaderExtensions } from "./video-track.js";

/** An ICE `disconnected` that lasts this long is a loss; shorter ones recover by themselves. */
export const ICE_DISCONNECTED_GRACE_MS = 3000;

/** A PeerConnection with its signalling target and the remote candidates it cannot take yet. */
export interface Negotiated {
  readonly pc: RTCPeerConnection;
  readonly target: SignalTarget;
  /** Remote candidates that arrived before the remote description. */
  pending: CandidateInit[];
}

export interface PeerHooks {
  /** ICE failed, or stayed disconnected for ICE_DISCONNECTED_GRACE_MS. */
  lost(pc: RTCPeerConnection): void;
  /** A local candidate to trickle; `address` is the one it offers. */
  candidate(candidate: CandidateInit, address: string | undefined): void;
}

/**
 * A werift PeerConnection as a lean participant needs it: host candidates on `hostAddress` only, no
 * STUN, max-bundle, Opus and VP8 (no congestion-control feedback).
 */
export function leanPeerConnection(hostAddress: string, hooks: PeerHooks): RTCPeerConnection {
  const pc = new RTCPeerConnection({
    // werift defaults to a public STUN server; a load generator never asks the internet
    iceServers: [],
    iceUseIpv6: false,
    iceInterfaceAddresses: { udp4: hostAddress },
    bundlePolicy: "max-bundle",
    codecs: { audio: audioCodecs(), video: videoCodecs() },
    headerExtensions: { audio: [useSdesMid()], video: videoHeaderExtensions() },
  });
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
