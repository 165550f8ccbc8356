import {
  SessionDescription,
  SyncState,
  TrackPublishedResponse,
  UpdateSubscription,
  type TrackInfo,
} from "@livekit/protocol";
import { LeanError } from "./errors.js";

/** The subscriber PeerConnection's descriptions as they stand: what a resume tells the server. */
export interface SubscriberDescriptions {
  /** Our last answer's SDP, null before the first. */
  readonly answer: string | null;
  /** The server's last offer's SDP, null before the first. */
  readonly offer: string | null;
}

/**
 * A resume's SyncState: our last subscriber answer, the tracks the last offer carried (subscribed
 * again) and what the server made of our published tracks, by client track id.
 */
export function resumeSyncState(
  subscriber: SubscriberDescriptions,
  published: ReadonlyMap<string, TrackInfo>,
): SyncState {
  return new SyncState({
    answer:
      subscriber.answer === null
        ? undefined
        : new SessionDescription({ type: "answer", sdp: subscriber.answer }),
    subscription: new UpdateSubscription({
      trackSids: subscriber.offer === null ? [] : subscribedTrackSids(subscriber.offer),
      subscribe: true,
    }),
    publishTracks: [...published].map(([cid, track]) => new TrackPublishedResponse({ cid, track })),
  });
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

/**
 * Throws when the publisher PeerConnection (if any) is not connected: a resume does not restart its
 * ICE (werift's restart left the SFU receiving nothing from it after 2 of 5 resumes, measured rule
 * in the README), so a publisher that lost its media comes back through a full rejoin.
 */
export function publisherHeld(state: string | undefined): void {
  if (state !== undefined && state !== "connected")
    throw new LeanError(
      "negotiation",
      `the publisher PeerConnection is ${state}: a full rejoin brings it back`,
    );
}
