import { describe, expect, it } from "vitest";
import { VideoInbound, KEYFRAME_WAIT_MS } from "./video-inbound.js";
import { annexBFrame, h264Payloads } from "./h264.js";
import { VIDEO_FORMATS } from "./video-format.js";
import { vp8Payloads } from "./vp8.js";

const keyframe = Buffer.concat([
  Buffer.from([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xb4, 0x00]),
  Buffer.alloc(3000, 1),
]);
const inter = Buffer.alloc(300, 0x11);

/** Feeds frames as a sender would: packets of frame i at `atMs(i)`, RTP timestamps 50 ms apart. */
class Feed {
  seq = 1000;
  pictureId = 0;
  constructor(readonly v: VideoInbound) {}
  frame(frame: Buffer, atMs: number, opts: { drop?: number[]; latencyS?: number } = {}): boolean[] {
    const ts = atMs * 90;
    const payloads = vp8Payloads(frame, this.pictureId++);
    return payloads.flatMap((p, i) => {
      const seq = this.seq++;
      if (opts.drop?.includes(i) === true) return [];
      const marker = i === payloads.length - 1;
      return [this.v.onOriginal(seq & 0xffff, ts, marker, p, atMs, marker ? opts.latencyS : undefined)];
    });
  }
}

describe("VideoInbound", () => {
  it("counts frames at marker bits and times the first frame at the end of the first keyframe", () => {
    const v = new VideoInbound("ssrc:1");
    const feed = new Feed(v);
    expect(feed.frame(inter, 0)).toEqual([false]); // joined mid-stream: not a first frame
    expect(feed.frame(keyframe, 50)).toEqual([false, false, true]);
    expect(feed.frame(inter, 100)).toEqual([false]);
    expect(v.totals()).toMatchObject({
      frames: 3,
      keyframes: 1,
      firstFrameMs: 50,
      width: 320,
      height: 180,
      lost: 0,
    });
    const w = v.window();
    expect(w).toMatchObject({
      kind: "video",
      framesDecoded: 3,
      received: 5,
      expected: 5,
      lost: 0,
      retransmitted: 0,
    });
    expect(w).toMatchObject({ width: 320, height: 180, freezes: 0, freezeS: 0 });
    expect(v.window()).toMatchObject({ framesDecoded: 0, received: 0, freezeS: undefined });
  });

  it("counts loss over originals: a retransmission is counted apart and fills no gap, but it ends its frame once", () => {
    const v = new VideoInbound("ssrc:1");
    const feed = new Feed(v);
    feed.frame(keyframe, 0, { drop: [2] }); // the keyframe's last packet is lost...
    expect(v.totals().frames).toBe(0);
    feed.frame(inter, 50);
    // ...and arrives again on RTX: the frame ends (late), loss stays on the original stream
    const [, , last] = vp8Payloads(keyframe, 0);
    expect(v.onRetransmission(0, true, last ?? Buffer.alloc(0), 70)).toBe(true);
    expect(v.onRetransmission(0, true, last ?? Buffer.alloc(0), 75)).toBe(false); // a second copy ends nothing
    const w = v.window();
    // originals: 3 of 4 arrived; received counts the 2 retransmissions too
    expect(w).toMatchObject({ lost: 1, expected: 4, received: 5, retransmitted: 2, framesDecoded: 2 });
    expect(w.received - (w.retransmitted ?? 0) + w.lost).toBe(w.expected);
  });

  it("counts a freeze by the W3C rule from frame ends", () => {
    const v = new VideoInbound("ssrc:1");
    const feed = new Feed(v);
    feed.frame(keyframe, 0);
    for (let i = 1; i <= 30; i++) feed.frame(inter, i * 50);
    feed.frame(inter, 30 * 50 + 199); // average 50 ms: a gap of 199 ms is under max(150, 200)
    feed.frame(inter, 30 * 50 + 199 + 400);
    const w = v.window();
    expect(w.freezes).toBe(1);
    expect(w.freezeS).toBeCloseTo(0.4, 9);
  });

  it("keeps the latencies of frame ends for the window", () => {
    const v = new VideoInbound("ssrc:1");
    const feed = new Feed(v);
    feed.frame(keyframe, 0, { latencyS: 0.012 });
    feed.frame(inter, 50, { latencyS: 0.009 });
    expect(v.takeLatencies()).toEqual([0.012, 0.009]);
    expect(v.takeLatencies()).toEqual([]);
  });

  it("wants a keyframe when none came within the wait, asking at most once per wait", () => {
    const v = new VideoInbound("ssrc:1");
    const feed = new Feed(v);
    feed.frame(inter, 0);
    expect(v.wantsKeyframe(KEYFRAME_WAIT_MS - 1)).toBe(false);
    expect(v.wantsKeyframe(KEYFRAME_WAIT_MS)).toBe(true);
    expect(v.wantsKeyframe(KEYFRAME_WAIT_MS + 10)).toBe(false);
    expect(v.wantsKeyframe(2 * KEYFRAME_WAIT_MS)).toBe(true);
    feed.frame(keyframe, 2100);
    expect(v.wantsKeyframe(5 * KEYFRAME_WAIT_MS)).toBe(false);
  });

  it("reports feedback sent in the window it was sent", () => {
    const v = new VideoInbound("ssrc:1");
    v.nack += 3;
    v.pli += 1;
    expect(v.window()).toMatchObject({ nack: 3, pli: 1, fir: 0 });
    expect(v.window()).toMatchObject({ nack: 0, pli: 0 });
  });

  it("counts header bytes of originals and retransmissions (with the RTX original sequence number) into one window", () => {
    const v = new VideoInbound("ssrc:1");
    v.onOriginal(1, 0, false, inter, 0, undefined, 24);
    v.onOriginal(2, 0, true, inter, 0, undefined, 24);
    v.onRetransmission(0, true, inter, 5, 24 + 2);
    expect(v.window()).toMatchObject({ received: 3, retransmitted: 1, bytes: 900, headerBytes: 74 });
    v.onOriginal(3, 90, true, inter, 50, undefined, 24);
    expect(v.window()).toMatchObject({ received: 1, retransmitted: 0, bytes: 300, headerBytes: 24 });
  });
});

describe("VideoInbound with H.264 (RFC 6184)", () => {
  // x264's 320x180 SPS and a PPS, then slices whose first byte after the header starts the picture
  const sps = Buffer.from("6742c01fda05067e7c04400000030040000000a23c60ca80", "hex");
  const pps = Buffer.from("68ce3c80", "hex");
  const idr = Buffer.concat([Buffer.from([0x65]), Buffer.alloc(2999, 0x88)]);
  const p = Buffer.concat([Buffer.from([0x41]), Buffer.alloc(299, 0x88)]);

  function send(v: VideoInbound, nals: Buffer[], seq: number, atMs: number): boolean[] {
    const payloads = h264Payloads(annexBFrame(nals));
    return payloads.map((payload, i) =>
      v.onOriginal(seq + i, atMs * 90, i === payloads.length - 1, payload, atMs),
    );
  }

  it("finds the IDR in FU-A fragments, the size in the SPS's STAP-A, frames at marker bits", () => {
    const v = new VideoInbound("ssrc:2", VIDEO_FORMATS.h264);
    expect(send(v, [p], 10, 0)).toEqual([false]); // a P frame before any keyframe
    // STAP-A (SPS, PPS), then the IDR in three FU-A fragments: the first frame ends at the last
    expect(send(v, [sps, pps, idr], 11, 50)).toEqual([false, false, false, true]);
    expect(send(v, [p], 15, 100)).toEqual([false]);
    expect(v.totals()).toMatchObject({
      frames: 3,
      keyframes: 1,
      firstFrameMs: 50,
      width: 320,
      height: 180,
      lost: 0,
    });
  });

  it("a stream of P slices alone has no first frame, and asks for a keyframe after a second", () => {
    const v = new VideoInbound("ssrc:3", VIDEO_FORMATS.h264);
    send(v, [p], 1, 0);
    send(v, [p], 2, 1200);
    expect(v.totals()).toMatchObject({ frames: 2, keyframes: 0, firstFrameMs: undefined });
    expect(v.wantsKeyframe(1200)).toBe(true);
  });
});
