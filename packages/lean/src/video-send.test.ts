import type { RtpPacket } from "werift";
import { describe, expect, it } from "vitest";
import type { VideoLoop } from "./video-media.js";
import { absCaptureTime, absCaptureTimeMs, VideoSender } from "./video-send.js";
import { annexBFrame, h264StartsKeyframe } from "./h264.js";
import { startsKeyframe, vp8Descriptor } from "./vp8.js";

const key = (n: number): Buffer =>
  Buffer.concat([Buffer.from([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a]), Buffer.alloc(n, 1)]);
const inter = (n: number): Buffer => Buffer.alloc(n, 0x11);

function loop(fps: number, frames: Buffer[]): VideoLoop {
  return { codec: "vp8", width: 640, height: 360, fps, bitrateKbps: 450, frames, sha256: "", file: "" };
}

function sender(fps: number, frames: Buffer[], absCaptureTimeId?: number) {
  const sent: RtpPacket[] = [];
  const s = new VideoSender(
    loop(fps, frames),
    { payloadType: 96, absCaptureTimeId, now: () => 1_700_000_000_123 },
    (p) => sent.push(p),
  );
  return { s, sent };
}

describe("VideoSender", () => {
  it("sends a 20 fps loop every 50 ms on the 20 ms grid, marker on each frame's last packet, timestamps of the tick", () => {
    const { s, sent } = sender(20, [key(2500), inter(100), inter(100)]);
    for (let tick = 100; tick < 110; tick++) s.onTick(tick); // 0..180 ms: frames due at 0, 50, 100, 150
    const frames = sent.filter((p) => p.header.marker);
    expect(frames).toHaveLength(4);
    const t0 = sent[0]?.header.timestamp ?? 0;
    // due at 0, 50, 100, 150 ms: sent at the ticks of 0, 60, 100, 160 ms
    expect(frames.map((p) => (p.header.timestamp - t0) / 90)).toEqual([0, 60, 100, 160]);
    // the keyframe takes 3 packets, the others one each; sequence numbers run on without a gap
    expect(sent).toHaveLength(8);
    expect(
      sent.map((p) => (p.header.sequenceNumber - (sent[0]?.header.sequenceNumber ?? 0)) & 0xffff),
    ).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(startsKeyframe(sent[0]?.payload ?? Buffer.alloc(0))).toBe(true);
    // the loop goes round: the fourth frame is the keyframe again
    expect(startsKeyframe(sent[5]?.payload ?? Buffer.alloc(0))).toBe(true);
    expect(s.totals).toMatchObject({ frames: 4, keyframes: 2, packets: 8, restarts: 0 });
  });

  it("restarts the loop at its keyframe at the next frame after a keyframe request, picture ids running on", () => {
    const { s, sent } = sender(25, [key(10), inter(10), inter(10), inter(10)]);
    for (let tick = 0; tick < 6; tick++) s.onTick(tick); // frames 0, 1, 2 (one every 2 ticks)
    s.requestKeyframe();
    s.requestKeyframe(); // two requests before the next frame: one restart
    for (let tick = 6; tick < 10; tick++) s.onTick(tick);
    expect(sent.map((p) => startsKeyframe(p.payload))).toEqual([true, false, false, true, false]);
    const ids = sent.map((p) => vp8Descriptor(p.payload)?.pictureId ?? -1);
    expect(ids.map((id) => (id - (ids[0] ?? 0) + 0x8000) % 0x8000)).toEqual([0, 1, 2, 3, 4]);
    expect(s.totals.restarts).toBe(1);
  });

  it("paused by dynacast sends nothing; resumed, starts again at the keyframe, timestamps of the time, no PLI restart counted", () => {
    const { s, sent } = sender(25, [key(10), inter(10), inter(10), inter(10)]);
    for (let tick = 0; tick < 4; tick++) s.onTick(tick); // frames 0 and 1
    s.setActive(false);
    s.setActive(false);
    expect(s.active).toBe(false);
    for (let tick = 4; tick < 54; tick++) s.onTick(tick); // a second of nothing
    expect(sent).toHaveLength(2);
    s.setActive(true);
    for (let tick = 54; tick < 58; tick++) s.onTick(tick);
    expect(sent.map((p) => startsKeyframe(p.payload))).toEqual([true, false, true, false]);
    const t0 = sent[0]?.header.timestamp ?? 0;
    // the frame after the pause carries the tick's time (1.08 s in), not the next one of the loop's grid
    expect(((sent[2]?.header.timestamp ?? 0) - t0) / 90).toBe(1080);
    expect(s.totals).toMatchObject({ frames: 4, restarts: 0 });
    expect(s.resumes).toBe(1);
  });

  it("after a stall resumes one frame per due time instead of rushing the backlog", () => {
    const { s, sent } = sender(25, [key(10), inter(10)]);
    s.onTick(0);
    s.onTick(50); // a second later: 24 frames late
    s.onTick(51);
    s.onTick(52);
    expect(sent).toHaveLength(3); // ticks 0, 50, 52
  });

  it("writes abs-capture-time on every packet when negotiated, nothing otherwise", () => {
    const withExt = sender(20, [key(2500)], 5);
    withExt.s.onTick(0);
    expect(withExt.sent.map((p) => p.header.extensions.map((e) => e.id))).toEqual([[5], [5], [5]]);
    const payload = withExt.sent[0]?.header.extensions[0]?.payload ?? Buffer.alloc(0);
    expect(absCaptureTimeMs(payload, 1_700_000_000_000)).toBeCloseTo(1_700_000_000_123, 3);
    const without = sender(20, [key(10)]);
    without.s.onTick(0);
    expect(without.sent[0]?.header.extensions).toEqual([]);
  });
});

describe("abs-capture-time", () => {
  it("is NTP 32.32 seconds since 1900, read back to the millisecond", () => {
    const buf = absCaptureTime(0);
    expect(buf.readUInt32BE(0)).toBe(2_208_988_800);
    expect(buf.readUInt32BE(4)).toBe(0);
    expect(absCaptureTime(1500).readUInt32BE(4)).toBe(0x8000_0000);
    const now = Date.UTC(2026, 10, 23, 3, 0, 0, 250);
    expect(absCaptureTimeMs(absCaptureTime(now - 40), now)).toBeCloseTo(now - 40, 3);
  });

  it("survives the NTP era wrap of 2036", () => {
    const after = Date.UTC(2036, 1, 7, 6, 28, 20); // just past 2^32 NTP seconds
    expect(absCaptureTimeMs(absCaptureTime(after), after + 5)).toBeCloseTo(after, 3);
    expect(absCaptureTimeMs(Buffer.alloc(7), 0)).toBeUndefined();
  });
});

describe("VideoSender with an H.264 loop", () => {
  it("sends the SPS and PPS in a STAP-A before the IDR's fragments, counts the keyframe, marker on the last", () => {
    const sps = Buffer.from("6742c01fda05067e7c04400000030040000000a23c60ca80", "hex");
    const pps = Buffer.from("68ce3c80", "hex");
    const idr = Buffer.concat([Buffer.from([0x65]), Buffer.alloc(2999, 0x88)]);
    const p = Buffer.concat([Buffer.from([0x41]), Buffer.alloc(99, 0x88)]);
    const frames = [annexBFrame([sps, pps, idr]), annexBFrame([p])];
    const sent: RtpPacket[] = [];
    const s = new VideoSender(
      { ...loop(20, frames), codec: "h264" },
      { payloadType: 102, absCaptureTimeId: undefined },
      (x) => sent.push(x),
    );
    s.onTick(0);
    s.onTick(3); // 60 ms: the second frame
    expect(sent.map((x) => (x.payload[0] ?? 0) & 0x1f)).toEqual([24, 28, 28, 28, 1]);
    expect(sent.map((x) => x.header.marker)).toEqual([false, false, false, true, true]);
    expect(sent.map((x) => h264StartsKeyframe(x.payload))).toEqual([false, true, false, false, false]);
    expect(s.totals).toMatchObject({ frames: 2, keyframes: 1, packets: 5 });
  });
});
