import { describe, expect, it } from "vitest";
import { InboundStream } from "./inbound.js";

/** Feeds packets 20 ms apart with timestamps 960 apart (Opus at 48 kHz), skipping `drop`. */
function feed(
  stream: InboundStream,
  firstSeq: number,
  count: number,
  drop: ReadonlySet<number> = new Set(),
): void {
  for (let i = 0; i < count; i++) {
    if (drop.has(i)) continue;
    stream.onPacket((firstSeq + i) % 65536, (1000 + i * 960) >>> 0, 80, i * 20);
  }
}

describe("InboundStream", () => {
  it("counts a clean stream with no loss and no jitter", () => {
    const s = new InboundStream("a", "audio", 48000);
    feed(s, 100, 50);
    expect(s.totals()).toEqual({
      received: 50,
      expected: 50,
      lost: 0,
      bytes: 4000,
      jitterS: 0,
      firstPacketMs: 0,
    });
  });

  it("counts sequence gaps as lost, across a sequence wrap", () => {
    const s = new InboundStream("a", "audio", 48000);
    feed(s, 65530, 20, new Set([3, 8, 9]));
    const t = s.totals();
    expect(t).toMatchObject({ received: 17, expected: 20, lost: 3 });
  });

  it("lets a late packet fill its gap, and a duplicate makes lost negative", () => {
    const s = new InboundStream("a", "audio", 48000);
    s.onPacket(1, 0, 10, 0);
    s.onPacket(3, 1920, 10, 40);
    expect(s.totals().lost).toBe(1);
    s.onPacket(2, 960, 10, 45); // late original (or its unwrapped retransmission)
    expect(s.totals()).toMatchObject({ received: 3, expected: 3, lost: 0 });
    s.onPacket(3, 1920, 10, 50);
    expect(s.totals().lost).toBe(-1);
  });

  /** `count` packets from `firstSeq`, 20 ms apart from `atMs`, timestamps from `rtpBase`. */
  function run(s: InboundStream, firstSeq: number, count: number, atMs: number, rtpBase: number): void {
    for (let i = 0; i < count; i++)
      s.onPacket((firstSeq + i) % 65536, (rtpBase + i * 960) >>> 0, 80, atMs + i * 20);
  }

  it.each([
    ["below half the sequence space ahead (once read as 18,900 lost)", 20_000],
    ["past half the sequence space (once read as nothing expected)", 40_000],
    ["across the wrap, the restart's first packet at 65535", 65_535],
  ])(
    "a stream that starts again on the same SSRC from a new sequence base is a new sequence space, not loss: %s",
    (_name, newBase) => {
      const s = new InboundStream("v", "video", 48000);
      run(s, 1000, 100, 0, 5000);
      // a minute without packets, then the new space (its RTP timestamps elsewhere too)
      run(s, newBase, 100, 62_000, 3_000_000_000);
      expect(s.totals()).toMatchObject({ received: 200, expected: 200, lost: 0 });
      // loss in the new space is counted as loss, and jitter did not jump with the new base
      run(s, (newBase + 101) % 65536, 50, 64_020, 3_000_000_000 + 101 * 960);
      const t = s.totals();
      expect(t).toMatchObject({ received: 250, expected: 251, lost: 1 });
      expect(t.jitterS).toBe(0);
    },
  );

  it("counts a run of lost packets under RFC 3550's dropout limit (3000) as loss", () => {
    const s = new InboundStream("v", "video", 48000);
    run(s, 1000, 100, 0, 0);
    // 2998 lost: the next packet is 2999 ahead, the largest step RFC 3550 A.1 takes in order
    run(s, 1100 + 2998, 100, 60_000, (100 + 2998) * 960);
    expect(s.totals()).toMatchObject({ received: 200, expected: 3198, lost: 2998 });
  });

  it("a stray packet far ahead, not followed by its next, reads as a duplicate and moves nothing", () => {
    const s = new InboundStream("v", "video", 48000);
    run(s, 1000, 50, 0, 0);
    s.onPacket(30_000, 123_456_789, 80, 1000);
    run(s, 1050, 50, 1000, 50 * 960);
    expect(s.totals()).toMatchObject({ received: 101, expected: 100, lost: -1, jitterS: 0 });
  });

  it("a packet late by more than 100 (and under 3000) still fills its gap", () => {
    const s = new InboundStream("v", "video", 48000);
    run(s, 1000, 10, 0, 0);
    run(s, 1011, 300, 220, 11 * 960);
    expect(s.totals().lost).toBe(1);
    s.onPacket(1010, 10 * 960, 80, 7000);
    expect(s.totals()).toMatchObject({ received: 311, expected: 311, lost: 0 });
  });

  it("computes RFC 3550 jitter: one packet 16 ms late moves J by D/16 twice", () => {
    const s = new InboundStream("a", "audio", 48000);
    s.onPacket(0, 0, 10, 0);
    s.onPacket(1, 960, 10, 36); // 16 ms late: D = 768 RTP units
    // J1 = 768/16 = 48; the next packet is on time again: D = 768, J2 = 48 + (768-48)/16 = 93
    s.onPacket(2, 1920, 10, 40);
    expect(s.totals().jitterS).toBeCloseTo(93 / 48000, 9);
  });

  it("jitter moves once a frame, as libwebrtc's: at a new RTP timestamp, against the packet before it", () => {
    // 90 kHz video, a frame every 3000 ticks (33.3 ms) in 3 packets 1 ms apart: the first packet of
    // each frame comes 31.3 ms after the previous frame's last, D = 2 ms = 180 ticks every frame
    const s = new InboundStream("v", "video", 90_000);
    let seq = 0;
    for (let frame = 0; frame < 200; frame++)
      for (let k = 0; k < 3; k++) s.onPacket(seq++, frame * 3000, 1000, (frame * 1000) / 30 + k);
    expect(s.totals().jitterS).toBeCloseTo(0.002, 6);
    // every packet read alike (RFC 3550 literally) would have read about a third of it: D of 1, 1, 2 ms
  });

  it("a duplicate and a late packet move neither the jitter nor its reference", () => {
    const s = new InboundStream("a", "audio", 48000);
    s.onPacket(0, 0, 10, 0);
    s.onPacket(2, 1920, 10, 40);
    s.onPacket(2, 1920, 10, 75); // a duplicate, 35 ms late
    s.onPacket(1, 960, 10, 80); // the gap filled, 60 ms late
    expect(s.totals().jitterS).toBeCloseTo(0, 9);
    s.onPacket(3, 2880, 10, 60); // on time against packet 2 at 40 ms
    expect(s.totals()).toMatchObject({ jitterS: 0, lost: -1 });
  });

  it("handles RTP timestamp wrap without a jitter spike", () => {
    const s = new InboundStream("a", "audio", 48000);
    s.onPacket(0, 0xffff_ffff - 959, 10, 0);
    s.onPacket(1, 0, 10, 20);
    s.onPacket(2, 960, 10, 40);
    expect(s.totals().jitterS).toBeCloseTo(0, 9);
  });

  it("windows: counts since the previous window; loss never negative; duplicates do not hide later loss", () => {
    const s = new InboundStream("k", "audio", 48000);
    expect(s.window()).toMatchObject({ received: 0, expected: 0, lost: 0, jitterS: undefined });
    s.onPacket(10, 0, 50, 0);
    s.onPacket(11, 960, 50, 20);
    s.onPacket(11, 960, 50, 21); // duplicate
    const w1 = s.window();
    expect(w1).toMatchObject({ key: "k", kind: "audio", received: 3, lost: 0, expected: 3, bytes: 150 });
    s.onPacket(13, 2880, 50, 60); // 12 missing
    // raw totals went from lost -1 (the duplicate) to 0: the window shows the one real loss, not
    // a clamped 0 hidden by the earlier duplicate
    expect(s.window()).toMatchObject({ received: 1, lost: 1, expected: 2 });
    expect(s.totals().lost).toBe(0);
  });

  it("adds up RTP header bytes per window for the wire bitrate, and reports none once a packet came without its size", () => {
    const s = new InboundStream("a", "audio", 48000);
    for (let i = 0; i < 3; i++) s.onPacket(100 + i, i * 960, 80, i * 20, 12 + 8);
    expect(s.window()).toMatchObject({ received: 3, bytes: 240, headerBytes: 60 });
    s.onPacket(103, 3 * 960, 80, 60, 12);
    expect(s.window()).toMatchObject({ received: 1, bytes: 80, headerBytes: 12 });
    s.onPacket(104, 4 * 960, 80, 80);
    // unknown, never a low count: the wire bitrate is then not reported rather than under-read
    expect(s.window().headerBytes).toBeUndefined();
    expect(new InboundStream("b", "audio", 48000).window().headerBytes).toBe(0);
  });
});
