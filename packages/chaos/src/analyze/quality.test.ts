import type { InboundTrackSample, WindowSample } from "@livekit-swarm/schema";
import { TRANSPORT_OVERHEAD_BYTES } from "@livekit-swarm/stats";
import { inboundTrack, windowSample } from "@livekit-swarm/test-kit";
import { describe, expect, it } from "vitest";
import { qualityWindow } from "./quality.js";

const track = (
  over: Partial<InboundTrackSample> & Pick<InboundTrackSample, "key" | "kind">,
): InboundTrackSample => inboundTrack({ expected: 100, ...over });

const sample = (t: number, participant: string, inbound: InboundTrackSample[]): WindowSample =>
  windowSample({ t, room: "r", participant, inbound });

const rel = (t: number): number => t;

describe("qualityWindow: what video looked like in a drill window", () => {
  it("reads frame rate per video track and received height per track-window (medians), wire bitrate at IP level", () => {
    // two subscribers over two 5 s windows; a cap pushed one to 3 fps on the 180p layer
    const samples = [
      sample(5000, "a", [
        track({ key: "v", kind: "video", framesDecoded: 100, height: 360, bytes: 50_000, headerBytes: 1200 }),
      ]),
      sample(5000, "b", [
        track({ key: "v", kind: "video", framesDecoded: 15, height: 180, bytes: 50_000, headerBytes: 1200 }),
      ]),
      sample(10_000, "a", [
        track({ key: "v", kind: "video", framesDecoded: 100, height: 360, bytes: 50_000, headerBytes: 1200 }),
      ]),
      sample(10_000, "b", [
        track({ key: "v", kind: "video", framesDecoded: 15, height: 180, bytes: 50_000, headerBytes: 1200 }),
      ]),
    ];
    const w = qualityWindow(samples, 0, 10_000, rel);
    // fps per track: 20, 3 -> nearest-rank median 3; heights per track-window 360, 180, 360, 180 -> 180
    expect(w?.videoFpsP50).toBe(3);
    expect(w?.videoHeightP50).toBe(180);
    const wirePerWindow = ((50_000 + 1200 + 100 * TRANSPORT_OVERHEAD_BYTES) * 8) / 5;
    expect(w?.wireBitrateInBps).toBeCloseTo(wirePerWindow, 6);
    expect(w?.bitrateInBps).toBeCloseTo((50_000 * 8) / 5, 6);
  });

  it("reads rates over each subscriber's and track's own windows: a drain window of 17 ms is no rate of its own", () => {
    // 20 fps and 100 kbit/s of payload throughout; the drain's last window holds one frame in 17 ms
    const v = (framesDecoded: number, bytes: number, packets: number) =>
      track({ key: "v", kind: "video", framesDecoded, bytes, headerBytes: 0, expected: packets });
    const samples = [
      { ...sample(5000, "a", [v(100, 62_500, 100)]), durationMs: 5000 },
      { ...sample(10_000, "a", [v(100, 62_500, 100)]), durationMs: 5000 },
      { ...sample(10_017, "a", [v(1, 1_000, 1)]), durationMs: 17 },
    ];
    const w = qualityWindow(samples, 0, 10_017, rel);
    // per window the last would read 58.8 fps and 470 kbit/s, and a mean or median over windows with it
    expect(w?.videoFpsP50).toBeCloseTo(201 / 10.017, 6);
    expect(w?.bitrateInBps).toBeCloseTo((126_000 * 8) / 10.017, 6);
    expect(w?.wireBitrateInBps).toBeCloseTo(((126_000 + 201 * TRANSPORT_OVERHEAD_BYTES) * 8) / 10.017, 6);
  });

  it("says unknown (null), never 0, where no video arrived or RTP header bytes were not reported", () => {
    const samples = [sample(5000, "a", [track({ key: "a", kind: "audio", bytes: 4000 })])];
    const w = qualityWindow(samples, 0, 5000, rel);
    expect(w?.videoFpsP50).toBeNull();
    expect(w?.videoHeightP50).toBeNull();
    expect(w?.wireBitrateInBps).toBeNull();
    expect(w?.bitrateInBps).toBeCloseTo((4000 * 8) / 5, 6);
  });

  it("leaves out video tracks that received nothing in the window (a stall is not 0 fps of a layer)", () => {
    const samples = [
      sample(5000, "a", [track({ key: "v", kind: "video", framesDecoded: 100, height: 720, bytes: 1 })]),
      sample(5000, "b", [track({ key: "v", kind: "video", expected: 0, received: 0, bytes: 0 })]),
    ];
    const w = qualityWindow(samples, 0, 5000, rel);
    expect(w?.videoFpsP50).toBe(20);
    expect(w?.videoHeightP50).toBe(720);
  });

  it("takes the frame rate over decoding participants where any decodes, lean's assembled frames only where none does, and says so", () => {
    // 25% dropped: a native probe decodes 8 fps, two lean subscribers assemble 19.5
    const v = (framesDecoded: number) => track({ key: "v", kind: "video", framesDecoded, height: 360 });
    const samples = [
      sample(5000, "probe", [v(40)]),
      sample(5000, "lean-1", [v(97)]),
      sample(5000, "lean-2", [v(98)]),
    ];
    const lean = (s: WindowSample): boolean => s.participant.startsWith("lean");
    const mixed = qualityWindow(samples, 0, 5000, rel, lean);
    expect(mixed?.videoFpsP50).toBe(8);
    expect(mixed?.videoFpsAssembled).toBeUndefined();
    // the heights need no decoder: every track-window's
    expect(mixed?.videoHeightP50).toBe(360);
    const leanOnly = qualityWindow(samples.slice(1), 0, 5000, rel, lean);
    expect(leanOnly?.videoFpsP50).toBeCloseTo(19.4, 6);
    expect(leanOnly?.videoFpsAssembled).toBe(true);
    // without a word on engines every track counts as decoded, as before
    expect(qualityWindow(samples, 0, 5000, rel)?.videoFpsP50).toBeCloseTo(19.4, 6);
    // no video: nothing to say of its frames
    const audio = [sample(5000, "lean-1", [track({ key: "a", kind: "audio", bytes: 4000 })])];
    expect(qualityWindow(audio, 0, 5000, rel, lean)?.videoFpsAssembled).toBeUndefined();
  });
});
