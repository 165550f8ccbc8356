import type { ParticipantEvent } from "@livekit-swarm/schema";
import type { Testbed } from "@livekit-swarm/testbed";
import { LeanParticipant, type OpusLoop, type VideoLoop } from "../src/index.js";
import { token } from "./token.js";

/**
 * A lean participant in a room, shaped like the swarm's: a publisher sends the Opus loop (and the
 * VP8 loop, if given) and subscribes to nothing, a subscriber (auto_subscribe) receives every published track.
 */
export async function joinRoom(
  bed: Testbed,
  room: string,
  identity: string,
  publish: boolean,
  media: { readonly loop: OpusLoop; readonly video?: VideoLoop | undefined; readonly hostAddress: string },
  onEvent?: (event: ParticipantEvent) => void,
): Promise<LeanParticipant> {
  return LeanParticipant.join({
    url: bed.url,
    token: await token(bed, room, identity, publish),
    room,
    identity,
    role: publish ? "publisher" : "subscriber",
    audio: publish ? media.loop : undefined,
    video: publish ? media.video : undefined,
    subscribe: !publish,
    hostAddress: media.hostAddress,
    onEvent,
  });
}
