import type { ParticipantEvent } from "@livekit-swarm/schema";
import { waitFor } from "@livekit-swarm/test-kit";
import { describe, expect, it } from "vitest";
import {
  loopKbps,
  videoLoop,
  type LeanParticipant,
  type LeanVideoCodec,
  type VideoLoop,
} from "../src/index.js";
import { joinVideo, leanBed, measureWindow, videoTotals } from "./join.js";

const unique = (tag: string): string => `e2e-lean-720p-${tag}-${process.pid}-${Date.now().toString(36)}`;

/** The sizes the lean engine sends above 360p: 720p in both codecs, 1080p in VP8 (H.264's level 3.1 stops at 720p). */
const CASES = [
  { codec: "vp8", width: 1280, height: 720 },
  { codec: "h264", width: 1280, height: 720 },
  { codec: "vp8", width: 1920, height: 1080 },
] as const satisfies readonly { codec: LeanVideoCodec; width: number; height: number }[];
const key = (c: (typeof CASES)[number]): string => `${String(c.height)}p-${c.codec}`;

describe("lean 720p and 1080p loops through a real livekit-server", () => {
  const participants: LeanParticipant[] = [];
  const setup = leanBed(
    unique("one"),
    async (): Promise<Record<string, VideoLoop>> => {
      const loops: Record<string, VideoLoop> = {};
      for (const c of CASES) loops[key(c)] = await videoLoop({ ...c, fps: 20 });
      return loops;
    },
    participants,
  );

  it.each(CASES)(
    "a $codec publisher at $width x $height reaches a lean subscriber at that size, the source frame rate and the loop's bitrate, no loss",
    async (c) => {
      const { codec, width, height } = c;
      const bed = setup();
      const loop = bed.loop[key(c)];
      if (loop === undefined) throw new Error(`no ${key(c)} loop`);
      const room = key(c);
      const publisher = await joinVideo({ ...bed, loop }, participants, {
        room,
        identity: "pub",
        publish: true,
      });
      const events: ParticipantEvent[] = [];
      const subscriber = await joinVideo(
        { ...bed, loop },
        participants,
        { room, identity: "sub", publish: false },
        { onEvent: (e) => events.push(e) },
      );
      // the first keyframe follows the subscription's PLI; 15 s covers a shared machine
      await waitFor(async () => Promise.resolve(videoTotals(subscriber)?.firstFrameMs !== undefined), {
        timeoutMs: 15_000,
        debugName: () => `the first ${codec} frame (${JSON.stringify(videoTotals(subscriber))})`,
      });
      const { windows, sent, elapsedS } = await measureWindow(publisher, [subscriber], 5000);
      const w = windows[0]?.inbound.find((t) => t.kind === "video");
      const listed = await bed.testbed.roomService().listParticipants(room);
      const track = listed.find((p) => p.identity === "pub")?.tracks[0];
      const kbps = ((w?.bytes ?? 0) * 8) / elapsedS / 1000;
      // the loop's mean payload rate over the whole file: what a subscriber should see, give or take
      // where in the loop the window falls
      const loopRate = loopKbps(loop);
      const context = JSON.stringify({
        window: w,
        sent: sent.outbound,
        elapsedS,
        kbps,
        track,
        loop: loop.file,
      });
      console.log(
        `${key(c)}: loop ${loopRate.toFixed(0)} kb/s (preset ${loop.bitrateKbps}); ${w?.framesDecoded} frames in ${elapsedS.toFixed(1)} s, ${w?.width}x${w?.height}, ${kbps.toFixed(0)} kb/s, ` +
          `${w?.received} packets, lost ${w?.lost}, latency p50 ${windows[0]?.latencyS?.p50} s`,
      );
      if (w === undefined) throw new Error(`no video stream: ${context}`);
      expect(w.lost, context).toBe(0);
      expect({ width: w.width, height: w.height }, context).toEqual({ width, height });
      expect(track, context).toMatchObject({ width, height });
      expect(track?.mimeType.toLowerCase(), context).toBe(codec === "vp8" ? "video/vp8" : "video/h264");
      expect(w.framesDecoded / elapsedS, `frames/s, ${context}`).toBeGreaterThan(16);
      expect(w.framesDecoded / elapsedS, `frames/s, ${context}`).toBeLessThan(24);
      expect(
        kbps / loopRate,
        `received over the loop's ${loopRate.toFixed(0)} kb/s, ${context}`,
      ).toBeGreaterThan(0.67);
      expect(
        kbps / loopRate,
        `received over the loop's ${loopRate.toFixed(0)} kb/s, ${context}`,
      ).toBeLessThan(1.5);
      expect(
        events.filter((e) => e.type === "first-frame"),
        context,
      ).toEqual([expect.objectContaining({ kind: "video", exact: true })]);
      await Promise.all(participants.splice(0).map((p) => p.leave()));
    },
  );
});
