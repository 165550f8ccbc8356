import type { ParticipantEvent } from "@livekit-swarm/schema";
import { waitFor } from "@livekit-swarm/test-kit";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { h264Loop, TestPattern, type LeanParticipant } from "../src/index.js";
import {
  expectLoopStamps,
  expectNoNativeLoss,
  firstFramesBeside,
  joinVideo,
  leanBed,
  measureWindow,
  nativeInbound,
  readNativeVideo,
  videoTotals,
} from "./join.js";
import { token } from "./token.js";

const unique = (tag: string): string => `e2e-lean-h264-${tag}-${process.pid}-${Date.now().toString(36)}`;

describe("lean H.264 on a real livekit-server", () => {
  const participants: LeanParticipant[] = [];
  // rtc-node's FFI serves no Room after dispose(): one dispose, after every test of the file
  let rtc: typeof import("@livekit/rtc-node") | undefined;
  async function rtcNode(): Promise<typeof import("@livekit/rtc-node")> {
    process.env.NODE_ENV = "production"; // rtc-node's logger is quiet only then, and vitest sets "test"
    rtc ??= await import("@livekit/rtc-node");
    return rtc;
  }
  afterAll(async () => {
    await rtc?.dispose();
  });
  const setup = leanBed(unique("one"), () => h264Loop({ width: 640, height: 360, fps: 20 }), participants);

  function join(
    room: string,
    identity: string,
    publish: boolean,
    events?: ParticipantEvent[],
  ): Promise<LeanParticipant> {
    return joinVideo(setup(), participants, { room, identity, publish }, { onEvent: (e) => events?.push(e) });
  }

  it("a lean H.264 publisher is decoded by a native subscriber (stamps read back) and timed by a lean one", async () => {
    const { testbed: bed } = setup();
    const room = "h264-lean-pub";
    const publisher = await join(room, "pub", true);
    const events: ParticipantEvent[] = [];
    const lean = await join(room, "lean-sub", false, events);

    const rtc = await rtcNode();
    const native = new rtc.Room();
    const video = readNativeVideo(rtc, native);
    const { stamps } = video;
    try {
      await firstFramesBeside(bed, room, native, stamps, lean);
      const { windows, sent, elapsedS } = await measureWindow(publisher, [lean], 5000);
      const inbound = await nativeInbound(native, "video");
      const w = windows[0]?.inbound.find((t) => t.kind === "video");
      const context = JSON.stringify({
        inbound,
        mime: video.mimeType(),
        decoded: stamps.length,
        size: video.size(),
        sent: publisher.videoTotals,
        lean: { window: w, totals: videoTotals(lean), latency: windows[0]?.latencyS },
      });
      console.log(
        `lean H.264 publisher: native decoded ${stamps.length} frames ${video.size()}, stamps read ${stamps.filter((x) => x !== undefined).length}, lost ${inbound[0]?.packetsLost}; ` +
          `lean subscriber ${w?.framesDecoded} frames in ${elapsedS.toFixed(1)} s, ${w?.width}x${w?.height}, latency p50 ${windows[0]?.latencyS?.p50} s over ${windows[0]?.latencyS?.n}`,
      );
      // the server forwards what the publisher offered: H.264 alone
      expect(video.mimeType().toLowerCase(), context).toBe("video/h264");
      expect(inbound.length, context).toBe(1);
      expectNoNativeLoss(inbound[0], context);
      expect(video.size(), context).toBe("640x360");
      expect(stamps.length, context).toBeGreaterThan(80);
      expectLoopStamps(stamps, context);

      // the lean subscriber: IDR found, size from the SPS, frames from marker bits, latency from abs-capture-time
      if (w === undefined) throw new Error(`no lean video stream: ${context}`);
      expect(w.lost, context).toBe(0);
      expect({ width: w.width, height: w.height }, context).toEqual({ width: 640, height: 360 });
      expect(w.framesDecoded / elapsedS, `frames/s, ${context}`).toBeGreaterThan(16);
      expect(w.framesDecoded / elapsedS, `frames/s, ${context}`).toBeLessThan(24);
      expect(windows[0]?.latencyS?.n, context).toBeGreaterThan(50);
      expect(windows[0]?.latencyS?.max, context).toBeLessThan(5);
      expect(
        events.filter((e) => e.type === "first-frame"),
        context,
      ).toEqual([expect.objectContaining({ kind: "video", exact: true })]);
      expect(sent.outbound.find((o) => o.kind === "video")?.packets, context).toBeGreaterThan(0);
    } finally {
      await native.disconnect();
      await video.done();
    }
    await Promise.all(participants.splice(0).map((p) => p.leave()));
  });

  it("a native H.264 publisher (libwebrtc encoding the pattern) is received by a lean subscriber: first frame, size, frames", async () => {
    const { testbed: bed } = setup();
    const room = "h264-native-pub";
    const lk = await rtcNode();
    const native = new lk.Room();
    const pattern = new TestPattern({ width: 640, height: 360 }, 20);
    const source = new lk.VideoSource(640, 360);
    // 20 frames per second of the native engine's pattern, as its publishers feed rtc-node
    const feeding = setInterval(() => {
      try {
        source.captureFrame(new lk.VideoFrame(pattern.next(Date.now()), 640, 360, lk.VideoBufferType.I420));
      } catch {
        // closed while ticking
      }
    }, 50);
    try {
      await native.connect(bed.url, await token(bed, room, "native-pub", true), {
        autoSubscribe: false,
        dynacast: false,
      });
      await native.localParticipant?.publishTrack(
        lk.LocalVideoTrack.createVideoTrack("pattern", source),
        new lk.TrackPublishOptions({
          source: lk.TrackSource.SOURCE_CAMERA,
          videoCodec: lk.VideoCodec.H264,
          simulcast: false,
          videoEncoding: { maxBitrate: 450_000n, maxFramerate: 20 },
        }),
      );
      const events: ParticipantEvent[] = [];
      const lean = await join(room, "lean-sub", false, events);
      // the first keyframe follows the subscription's PLI; 15 s covers a shared machine
      await waitFor(async () => Promise.resolve(videoTotals(lean)?.firstFrameMs !== undefined), {
        timeoutMs: 15_000,
        debugName: () => `the lean subscriber's first frame (${JSON.stringify(videoTotals(lean))})`,
      });
      lean.sample(0);
      const startedMs = Date.now();
      await delay(5000);
      const w = lean.sample(0).inbound.find((t) => t.kind === "video");
      const elapsedS = (Date.now() - startedMs) / 1000;
      const listed = await bed.roomService().listParticipants(room);
      const track = listed.find((p) => p.identity === "native-pub")?.tracks[0];
      const context = JSON.stringify({ window: w, totals: videoTotals(lean), events, elapsedS, track });
      console.log(
        `native H.264 publisher: lean subscriber ${w?.framesDecoded} frames in ${elapsedS.toFixed(1)} s, ${w?.width}x${w?.height}, keyframes ${videoTotals(lean)?.keyframes}, lost ${w?.lost}, first frame ${JSON.stringify(events.find((e) => e.type === "first-frame"))}`,
      );
      expect(track?.mimeType.toLowerCase(), context).toBe("video/h264");
      if (w === undefined) throw new Error(`no video stream: ${context}`);
      expect(w.lost, context).toBe(0);
      // libwebrtc may start smaller and scale up: the size is what its last keyframe's SPS said
      expect(w.width, context).toBeGreaterThan(0);
      expect(w.height, context).toBeGreaterThan(0);
      expect((w.width ?? 0) / (w.height ?? 1), context).toBeCloseTo(16 / 9, 1);
      expect(w.framesDecoded / elapsedS, `frames/s, ${context}`).toBeGreaterThan(10);
      expect(videoTotals(lean)?.keyframes, context).toBeGreaterThan(0);
      // libwebrtc's H.264 (parameter sets and IDR in packets of their own) read past werift after
      // the stream's first packet: every packet's NAL header opened (video-bypass.ts)
      expect(lean.videoBypassed.packets, context).toBeGreaterThan(w.received / 2);
      const mine = events.map((e) => e.type);
      expect(mine, context).toEqual(
        expect.arrayContaining(["track-subscribed", "first-packet", "first-frame"]),
      );
      const first = events.find((e) => e.type === "first-frame");
      expect(first, context).toMatchObject({ kind: "video", exact: true });
    } finally {
      clearInterval(feeding);
      await native.disconnect();
    }
    await Promise.all(participants.splice(0).map((p) => p.leave()));
  });
});
