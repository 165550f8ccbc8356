import type { ParticipantEvent } from "@livekit-swarm/schema";
import type { Testbed } from "@livekit-swarm/testbed";
import { AccessToken } from "livekit-server-sdk";
import { LeanParticipant, type OpusLoop } from "../src/index.js";

/** A token for one identity in one room of the testbed, publishing or not. */
export async function token(bed: Testbed, room: string, identity: string, publish: boolean): Promise<string> {
  const at = new AccessToken(bed.apiKey, bed.apiSecret, { identity, ttl: "1h" });
  at.addGrant({ roomJoin: true, room, canPublish: publish, canSubscribe: true });
  return at.toJwt();
}

/**
 * A lean participant in a room, shaped like the swarm's: a publisher sends the Opus loop and
 * subscribes to nothing, a subscriber (auto_subscribe) receives every published track.
 */
export async function joinRoom(
  bed: Testbed,
  room: string,
  identity: string,
  publish: boolean,
  media: { readonly loop: OpusLoop; readonly hostAddress: string },
  onEvent?: (event: ParticipantEvent) => void,
): Promise<LeanParticipant> {
  return LeanParticipant.join({
    url: bed.url,
    token: await token(bed, room, identity, publish),
    room,
    identity,
    role: publish ? "publisher" : "subscriber",
    audio: publish ? media.loop : undefined,
    subscribe: !publish,
    hostAddress: media.hostAddress,
    onEvent,
  });
}
