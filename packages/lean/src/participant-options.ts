/** What a LeanParticipant joins with: where, as whom, what it publishes, and the losses tests simulate. */
import type { ParticipantEvent, Role } from "@livekit-swarm/schema";
import type { OpusLoop } from "./media.js";
import type { Pacer } from "./pacer.js";
import type { ReconnectPolicy } from "./reconnect.js";
import type { VideoLoop } from "./video-media.js";

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
