/**
 * The path a participant's media takes: the ICE candidate pair its transport selected. An SRE asks
 * "did the clients behind a UDP-blocking firewall get in, and over what": the pair's candidate types
 * and protocols answer it, and the transport class sums them up in few enough values to be a metric
 * label (five, never per participant).
 */

export type CandidateType = "host" | "srflx" | "prflx" | "relay";
export type IceProtocol = "udp" | "tcp";
/** How a relay candidate reaches its TURN server (W3C `relayProtocol`). */
export type RelayProtocol = "udp" | "tcp" | "tls";

export interface SelectedPair {
  /** Our candidate's type: `relay` means the media goes through a TURN server. */
  readonly local: CandidateType;
  readonly remote: CandidateType;
  /** The protocol between the pair's candidates (for a relay candidate: between TURN and the SFU side). */
  readonly protocol: IceProtocol;
  /** For a local relay candidate: how we reach the TURN server. */
  readonly relayProtocol?: RelayProtocol;
}

export const transportClasses = ["udp", "tcp", "turn-udp", "turn-tcp", "turn-tls"] as const;
/** A selected pair summed up: direct UDP, direct ICE/TCP, or TURN over UDP, TCP or TLS. */
export type TransportClass = (typeof transportClasses)[number];

/**
 * The class of a selected pair. Either end being a relay candidate means TURN carries the media;
 * when only the remote end is (the SFU does not relay, but a peer could), the local protocol to it
 * is what a firewall sees, so it is classed by that.
 */
export function transportClass(pair: SelectedPair): TransportClass {
  if (pair.local === "relay") return `turn-${pair.relayProtocol ?? "udp"}`;
  return pair.protocol;
}

/**
 * The ICE candidate pair the participant's transport selected (a ParticipantEvent): after joining,
 * and whenever the selection changes (an ICE restart, a reconnect). `iceS` is how long ICE took,
 * where the engine can time it (from the remote description to the ICE transport connected);
 * absent: unknown.
 */
export type TransportEvent = {
  readonly type: "transport";
  readonly transport: TransportClass;
  readonly iceS?: number;
} & SelectedPair;

/**
 * The candidate pair a participant's transport selected, told once per selection: a `transport`
 * event after the join, again after every reconnect (`reselect`: a resume or a rejoin selects anew,
 * perhaps through another node's TURN, even when the pair's kind is the same), and when ICE moves
 * the media to another kind of pair. Every engine feeds it what its stats say; its samples carry
 * `current()`.
 */
export class TransportWatch {
  private last: SelectedPair | undefined;
  /** Set by reselect: the next pair is told whatever it is. */
  private anew = false;

  constructor(private readonly emit: (event: TransportEvent) => void) {}

  /** `iceS` rides on the first event only: a later selection is not a join's ICE. */
  note(pair: SelectedPair | undefined, iceS?: number): void {
    if (pair === undefined) return;
    if (!this.anew && this.last !== undefined && samePair(this.last, pair)) return;
    const first = this.last === undefined;
    this.anew = false;
    this.last = pair;
    this.emit({
      type: "transport",
      transport: transportClass(pair),
      ...pair,
      ...(first && iceS !== undefined ? { iceS } : {}),
    });
  }

  /** After a reconnect: the next pair noted is told even if of the same kind as the last. */
  reselect(): void {
    this.anew = true;
  }

  current(): TransportClass | undefined {
    return this.last === undefined ? undefined : transportClass(this.last);
  }
}

function samePair(a: SelectedPair, b: SelectedPair): boolean {
  return (
    a.local === b.local &&
    a.remote === b.remote &&
    a.protocol === b.protocol &&
    a.relayProtocol === b.relayProtocol
  );
}
