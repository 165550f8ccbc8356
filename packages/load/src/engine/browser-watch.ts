import type { PageStream } from "@livekit-swarm/browser";
import type { StreamCount } from "./watch.js";

/**
 * A page's subscribed tracks as MediaWatch's streams, named as the other engines name tracks
 * (`<publisher>/<kind>`), keyed by subscription and stats id so that a receiver created again after
 * a reconnect (its packet count starting over) is a new stream, not a stalled old one. An entry
 * without a packet count (a receiver before its first packet) is left out of the look.
 */
export function watchedStreams(streams: readonly PageStream[]): StreamCount[] {
  return streams.flatMap(({ publisher, kind, subscription, inbound }) =>
    inbound.flatMap((entry) => {
      const { id, packetsReceived } = entry;
      if (typeof id !== "string" || typeof packetsReceived !== "number" || !Number.isFinite(packetsReceived))
        return [];
      return [{ key: `${String(subscription)}:${id}`, kind, packetsReceived, track: `${publisher}/${kind}` }];
    }),
  );
}
