import type { ParticipantEvent, WindowSample } from "@livekit-swarm/schema";
import { setTimeout as delay } from "node:timers/promises";
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
  media: {
    readonly loop: OpusLoop | undefined;
    readonly video?: VideoLoop | undefined;
    readonly hostAddress: string;
  },
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

/**
 * What a publisher and its subscribers sent and received over `ms` of wall clock, each window
 * opened by a sample just before (`baseline`, the subscribers' opening samples).
 */
export async function measureWindow(
  publisher: LeanParticipant,
  subscribers: readonly LeanParticipant[],
  ms: number,
): Promise<{ baseline: WindowSample[]; windows: WindowSample[]; sent: WindowSample; elapsedS: number }> {
  const baseline = subscribers.map((s) => s.sample(0));
  publisher.sample(0);
  const startedMs = Date.now();
  await delay(ms);
  const windows = subscribers.map((s) => s.sample(0));
  const elapsedS = (Date.now() - startedMs) / 1000;
  return { baseline, windows, sent: publisher.sample(0), elapsedS };
}
