/**
 * Adapter for a browser's `RTCPeerConnection.getStats()`: W3C webrtc-stats dictionaries, flat, with
 * `type` naming the kind and `timestamp` in milliseconds. Each is nested into rtc-node's shape
 * (snapshot.ts), so that one reader (and its runtime type checks) serves both engines.
 */
import { fromRtcNodeStats, type Milliseconds, type RtcNodeStats, type Snapshot } from "./snapshot.js";
import { PAIR_SUCCEEDED, toNumber } from "./values.js";

/** One W3C `RTCStats` dictionary as a page serialises it. */
export type WebrtcStatsEntry = Readonly<Record<string, unknown>>;

const W3C_CASE: Readonly<Record<string, string>> = {
  "inbound-rtp": "inboundRtp",
  "outbound-rtp": "outboundRtp",
  "remote-inbound-rtp": "remoteInboundRtp",
  "candidate-pair": "candidatePair",
  "local-candidate": "localCandidate",
  "remote-candidate": "remoteCandidate",
  transport: "transport",
};

/** W3C `RTCStatsIceCandidatePairState` to rtc-node's enum (only `succeeded` is read). */
function pairState(v: unknown): number | undefined {
  return v === "succeeded" ? PAIR_SUCCEEDED : undefined;
}

function nested(entry: WebrtcStatsEntry): RtcNodeStats {
  const type = typeof entry.type === "string" ? W3C_CASE[entry.type] : undefined;
  if (type === undefined) return {};
  const timestamp = toNumber(entry.timestamp);
  const rtc = { id: entry.id, timestamp: timestamp === undefined ? undefined : timestamp * 1000 };
  const stream = { ssrc: entry.ssrc, kind: entry.kind };
  const received = {
    packetsReceived: entry.packetsReceived,
    packetsLost: entry.packetsLost,
    jitter: entry.jitter,
  };
  const value: Record<string, unknown> = { rtc, stream };
  switch (type) {
    case "inboundRtp":
      // W3C names the freeze total `totalFreezesDuration`, rtc-node's proto `totalFreezeDuration`
      Object.assign(value, {
        received,
        inbound: { ...entry, totalFreezeDuration: entry.totalFreezesDuration },
      });
      break;
    case "outboundRtp":
      Object.assign(value, {
        sent: { packetsSent: entry.packetsSent, bytesSent: entry.bytesSent },
        outbound: entry,
      });
      break;
    case "remoteInboundRtp":
      Object.assign(value, { received, remoteInbound: entry });
      break;
    case "candidatePair":
      Object.assign(value, { candidatePair: { ...entry, state: pairState(entry.state) } });
      break;
    case "localCandidate":
    case "remoteCandidate":
      // W3C spells the type and relay protocol as strings ("relay", "tls"), which the reader takes
      Object.assign(value, { candidate: entry });
      break;
    default:
      Object.assign(value, { transport: entry });
  }
  return { stats: { case: type, value } };
}

/** Normalizes a browser's getStats() entries (every peer connection's, in any order). */
export function fromWebrtcStats(entries: readonly WebrtcStatsEntry[], nowMs: Milliseconds): Snapshot {
  return fromRtcNodeStats(entries.map(nested), [], nowMs);
}
