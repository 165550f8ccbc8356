import type { ParticipantEvent, WindowSample } from "@livekit-swarm/schema";
import type { Room } from "@livekit/rtc-node";
import { fromRtcNodeStats, type InboundStreamSample } from "@livekit-swarm/stats";
import { setTimeout as delay } from "node:timers/promises";
import { leftovers, waitFor } from "@livekit-swarm/test-kit";
import { Testbed } from "@livekit-swarm/testbed";
import { afterAll, beforeAll, expect } from "vitest";
import {
  LeanParticipant,
  readStamp,
  sourceAddressFor,
  type OpusLoop,
  type Stamp,
  type VideoLoop,
  type VideoTotals,
} from "../src/index.js";
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
  options: { readonly withholdLaterSubscriberCandidates?: boolean } = {},
): Promise<LeanParticipant> {
  return LeanParticipant.join({
    ...options,
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

/**
 * No packet lost on a native subscriber's inbound stream. libwebrtc's packetsLost is expected minus
 * received (RFC 3550's cumulative count, signed): a packet received twice, or one older than the
 * first it saw, takes it below zero, and a CI run under load once read -1 here with no NACK, no
 * retransmission and every frame decoded. A loss reads above zero; a publisher repeating packets
 * would read far below -2.
 */
export function expectNoNativeLoss(inbound: InboundStreamSample | undefined, context: string): void {
  expect(inbound, context).toBeDefined();
  expect(inbound?.packetsLost, context).toBeLessThanOrEqual(0);
  expect(inbound?.packetsLost, context).toBeGreaterThanOrEqual(-2);
}

/** What a native subscriber decoded of the video tracks it subscribed to: each frame's stamp, if it reads. */
export interface NativeVideoReader {
  readonly stamps: (Stamp | undefined)[];
  /** The last decoded frame's size, `WxH`. */
  readonly size: () => string;
  /** The subscribed track's mime type, as the server announced it. */
  readonly mimeType: () => string;
  /** Resolves once the decoding loop ended (after the room disconnected). */
  readonly done: () => Promise<void>;
}

/** Decodes every video track `native` subscribes to (rtc-node's VideoStream, I420) and reads the pattern's stamp of each frame. */
export function readNativeVideo(rtc: typeof import("@livekit/rtc-node"), native: Room): NativeVideoReader {
  const stamps: (Stamp | undefined)[] = [];
  let size = "";
  let mime = "";
  let reading: Promise<void> | undefined;
  native.on(rtc.RoomEvent.TrackSubscribed, (track, publication) => {
    if (track.kind !== rtc.TrackKind.KIND_VIDEO) return;
    mime = publication.mimeType ?? "";
    reading = (async () => {
      for await (const { frame } of new rtc.VideoStream(track)) {
        const i420 =
          frame.type === rtc.VideoBufferType.I420 ? frame : frame.convert(rtc.VideoBufferType.I420);
        size = `${i420.width}x${i420.height}`;
        stamps.push(readStamp(i420.data, i420.width, i420.height));
      }
    })().catch(() => undefined);
  });
  return { stamps, size: () => size, mimeType: () => mime, done: async () => reading };
}

/**
 * Connects `native` to `room` as a subscriber (auto-subscribe, no dynacast) and waits until it
 * decoded a frame and the lean subscriber `lean` assembled one.
 */
export async function firstFramesBeside(
  bed: Testbed,
  room: string,
  native: Room,
  stamps: readonly (Stamp | undefined)[],
  lean: LeanParticipant,
): Promise<void> {
  await native.connect(bed.url, await token(bed, room, "native", false), {
    autoSubscribe: true,
    dynacast: false,
  });
  // the first decoded frame takes well under a second on loopback; 15 s covers a shared machine
  await waitFor(
    async () => Promise.resolve(stamps.length > 0 && videoTotals(lean)?.firstFrameMs !== undefined),
    {
      timeoutMs: 15_000,
      debugName: () =>
        `a first frame decoded natively (${stamps.length}) and assembled by lean (${JSON.stringify(videoTotals(lean))})`,
    },
  );
}

/**
 * Asserts that decoded stamps are a lean loop's (frame k at k * 50 ms at 20 fps, frame number k mod
 * 256), read from more than 95% of the frames, with frame numbers advancing one by one.
 */
export function expectLoopStamps(stamps: readonly (Stamp | undefined)[], context: string): void {
  const read = stamps.filter((s): s is Stamp => s !== undefined);
  expect(read.length / stamps.length, `share of frames whose stamp reads back, ${context}`).toBeGreaterThan(
    0.95,
  );
  for (const s of read) {
    expect(s.captureTimeMs, context).toBe(s.frame * 50);
    expect(s.frame, context).toBeLessThan(200);
  }
  const steps = read.slice(1).map((s, i) => (s.frame - (read[i]?.frame ?? 0) + 256) % 256);
  const forward = steps.filter((d) => d === 1).length;
  expect(forward / steps.length, `frame numbers advancing one by one, ${context}`).toBeGreaterThan(0.9);
}

/** The participant's received video stream's totals (the first, as these tests receive one). */
export function videoTotals(p: LeanParticipant): VideoTotals | undefined {
  const [totals] = [...p.inboundTotals().values()].filter((t): t is VideoTotals => "frames" in t);
  return totals;
}

/**
 * A lean video participant on a bed: a publisher sends the bed's loop (and `audio`, if given) and subscribes to nothing, a
 * subscriber receives everything; pushed onto `participants` so the bed makes it leave.
 */
export async function joinVideo(
  bed: LeanBed<VideoLoop> | (Omit<LeanBed<unknown>, "loop"> & { readonly loop: VideoLoop }),
  participants: LeanParticipant[],
  who: { readonly room: string; readonly identity: string; readonly publish: boolean },
  options: {
    readonly onEvent?: (event: ParticipantEvent) => void;
    readonly videoReceiveLossEvery?: number | undefined;
    readonly videoSendLossEvery?: number | undefined;
    /** A publisher's simulcast layers under the bed's loop, smallest first. */
    readonly videoLayers?: readonly VideoLoop[] | undefined;
    /** An Opus loop a publisher sends beside its video. */
    readonly audio?: OpusLoop | undefined;
  } = {},
): Promise<LeanParticipant> {
  const { room, identity, publish } = who;
  const p = await LeanParticipant.join({
    url: bed.testbed.url,
    token: await token(bed.testbed, room, identity, publish),
    room,
    identity,
    role: publish ? "publisher" : "subscriber",
    audio: publish ? options.audio : undefined,
    video: publish ? bed.loop : undefined,
    videoLayers: publish ? options.videoLayers : undefined,
    subscribe: !publish,
    hostAddress: bed.hostAddress,
    onEvent: options.onEvent,
    videoReceiveLossEvery: options.videoReceiveLossEvery,
    videoSendLossEvery: options.videoSendLossEvery,
  });
  participants.push(p);
  return p;
}

/**
 * How many times LiveKit has observed the jitter its subscribers' RTCP receiver reports give for
 * its outgoing `type` tracks (`livekit_jitter_us_count{direction="outgoing"}` on the node's
 * /metrics): it moves only when a subscriber's reports reach LiveKit and decrypt (with lean's
 * reports withheld, a 15 s run of 2 rooms left it where it was; with them, 5-7 more).
 */
export async function reportedJitterObservations(bed: Testbed, type: "AUDIO" | "VIDEO"): Promise<number> {
  const url = bed.nodes[0]?.metricsUrl;
  if (url === undefined) throw new Error("the testbed has no node");
  const text = await (await fetch(url)).text();
  let sum = 0;
  for (const line of text.split("\n"))
    if (
      line.startsWith("livekit_jitter_us_count{") &&
      line.includes('direction="outgoing"') &&
      line.includes(`type="${type}"`)
    )
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  return sum;
}
