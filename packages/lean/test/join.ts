import type { ParticipantEvent, WindowSample } from "@livekit-swarm/schema";
import type { Room } from "@livekit/rtc-node";
import { fromRtcNodeStats, type InboundStreamSample } from "@livekit-swarm/stats";
import { setTimeout as delay } from "node:timers/promises";
import { leftovers } from "@livekit-swarm/test-kit";
import { Testbed } from "@livekit-swarm/testbed";
import { afterAll, beforeAll, expect } from "vitest";
import { LeanParticipant, sourceAddressFor, type OpusLoop, type VideoLoop } from "../src/index.js";
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

/** What the tests of a describe block of lean participants share. */
export interface LeanBed<Loop> {
  readonly testbed: Testbed;
  /** The media loop the publishers send. */
  readonly loop: Loop;
  /** The one address the participants offer in their candidates. */
  readonly hostAddress: string;
}

/**
 * Before the calling describe block's tests: a one-node testbed named `name` and the media loop.
 * After them: every participant in `participants` leaves, the testbed stops and must have left
 * nothing running. Call the returned function in a test; it throws when the set-up failed.
 */
export function leanBed<Loop>(
  name: string,
  makeLoop: () => Promise<Loop>,
  participants: LeanParticipant[],
): () => LeanBed<Loop> {
  let bed: LeanBed<Loop> | undefined;
  let tb: Testbed | undefined;
  beforeAll(async () => {
    const loop = await makeLoop();
    tb = await Testbed.start({ name });
    bed = { testbed: tb, loop, hostAddress: await sourceAddressFor(new URL(tb.url).hostname) };
  });
  afterAll(async () => {
    await Promise.allSettled(participants.map((p) => p.leave()));
    await tb?.stop();
    if (tb !== undefined) expect(leftovers(tb.runDir)).toEqual([]);
  });
  return () => {
    if (bed === undefined) throw new Error("no testbed");
    return bed;
  };
}

/** A native (rtc-node) room's inbound streams of `kind`, from libwebrtc's stats now. */
export async function nativeInbound(native: Room, kind: "audio" | "video"): Promise<InboundStreamSample[]> {
  const stats = await native.getRtcStats();
  const snapshot = fromRtcNodeStats(stats.publisherStats, stats.subscriberStats, Date.now());
  return [...snapshot.inbound.values()].filter((s) => s.kind === kind);
}
