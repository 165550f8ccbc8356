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

/**
 * The id the first m-section of `kind` gives a header extension, if it negotiates it there. Read per
 * section, not from the whole SDP: another section can give the same extension another id, and
 * a packet of this kind must carry the one its own section negotiated.
 */
export function extmapId(sdp: string, uri: string, kind: Kind): number | undefined {
  const sections = sdp.split(/\r?\n(?=m=)/);
  const section = sections.find((s) => s.startsWith(`m=${kind} `));
  if (section === undefined) return undefined;
  const escaped = uri.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const match = new RegExp(`^a=extmap:(\\d+)(?:/\\w+)? ${escaped}\\s*$`, "m").exec(section);
  return match === null ? undefined : Number(match[1]);
}

/**
 * One id per header extension across every kind, in order of first appearance, written onto the
 * parameters themselves. werift numbers its audio and video lists as one run (audio's mid 1,
 * video's mid 2), but a BUNDLE group's m-sections are one RTP session, where an id names one
 * extension (RFC 8843's rules for header extensions in a BUNDLE group): pion, reading the offer, kept both ids for
 * the mid and looked up one of the two at random for each simulcast SSRC it probed, and dropped
 * the layers whose probe read the other (livekit-server v1.13.5: "incoming SSRC failed Simulcast
 * probing", about a quarter of the layers).
 */
export function bundleExtensionIds(
  lists: readonly (readonly { uri: string; id: number }[] | undefined)[],
): void {
  const ids = new Map<string, number>();
  for (const list of lists)
    for (const extension of list ?? []) {
      const id = ids.get(extension.uri) ?? ids.size + 1;
      ids.set(extension.uri, id);
      extension.id = id;
    }
}
