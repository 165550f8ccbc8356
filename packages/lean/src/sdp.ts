import type { Kind } from "@livekit-swarm/schema";

/**
 * werift's offer carries no `a=msid`, and LiveKit then pairs the media with "the first pending
 * track of that kind". Naming each AddTrackRequest's cid as the msid track id of its kind's
 * m-section makes the match explicit. An SDP that already has msids is left alone.
 */
export function withMsid(sdp: string, streamId: string, trackIds: Partial<Record<Kind, string>>): string {
  if (/^a=msid:/m.test(sdp)) return sdp;
  let kind: string | undefined;
  return sdp
    .split("\r\n")
    .flatMap((line) => {
      const media = /^m=(\w+) /.exec(line);
      if (media !== null) kind = media[1];
      const trackId = kind === "audio" || kind === "video" ? trackIds[kind] : undefined;
      return line.startsWith("a=mid:") && trackId !== undefined
        ? [line, `a=msid:${streamId} ${trackId}`]
        : [line];
    })
    .join("\r\n");
}

/** The id an SDP gives a header extension, if it negotiates it at all. */
export function extmapId(sdp: string, uri: string): number | undefined {
  const escaped = uri.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const match = new RegExp(`^a=extmap:(\\d+)(?:/\\w+)? ${escaped}\\s*$`, "m").exec(sdp);
  return match === null ? undefined : Number(match[1]);
}
