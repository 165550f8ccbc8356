import { describe, expect, it } from "vitest";
import { MIN_DECODED_SAMPLES, audioPlayout, decodesAgain } from "./audio-recovery.js";

const at = (totalSamplesReceived: number, concealedSamples: number) => ({
  totalSamplesReceived,
  concealedSamples,
});

describe("decodesAgain: a failing publisher's audio decodes again", () => {
  it("not while every sample played is concealment (frames dropped by the cryptor)", () => {
    expect(decodesAgain(at(48_000, 40_000), at(60_000, 52_000))).toBe(false);
    // as read in Chromium (a browser subscriber whose publisher ratcheted past it, 5 s windows):
    // 240,000 played and 240,000 concealed in each, for the 25 s it was watched
    expect(decodesAgain(at(633_600, 452_160), at(873_600, 692_160))).toBe(false);
    // and one that never decoded a frame (the wrong key from the start) plays nothing at all
    expect(decodesAgain(at(0, 0), at(0, 0))).toBe(false);
  });

  it("once most of what played was decoded, two frames' worth at least", () => {
    // 250 ms at 48 kHz, all decoded
    expect(decodesAgain(at(48_000, 40_000), at(60_000, 40_000))).toBe(true);
    // half decoded: the cryptor came back inside the interval
    expect(decodesAgain(at(48_000, 40_000), at(60_000, 46_000))).toBe(true);
    // a third decoded: still mostly concealment
    expect(decodesAgain(at(48_000, 40_000), at(60_000, 48_000))).toBe(false);
  });

  it("not on one stray frame, nor on nothing played", () => {
    expect(decodesAgain(at(0, 0), at(MIN_DECODED_SAMPLES - 1, 0))).toBe(false);
    expect(decodesAgain(at(0, 0), at(MIN_DECODED_SAMPLES, 0))).toBe(true);
    expect(decodesAgain(at(5_000, 100), at(5_000, 100))).toBe(false);
  });

  it("says nothing when a counter went backwards (a new receiver)", () => {
    expect(decodesAgain(at(60_000, 40_000), at(12_000, 0))).toBe(false);
    expect(decodesAgain(at(60_000, 40_000), at(72_000, 0))).toBe(false);
  });
});

describe("audioPlayout: a report's inbound-rtp audio counters", () => {
  it("sums the audio inbound-rtp entries and ignores the rest", () => {
    expect(
      audioPlayout([
        { type: "inbound-rtp", kind: "audio", totalSamplesReceived: 1000, concealedSamples: 10 },
        { type: "inbound-rtp", kind: "video", framesDecoded: 30 },
        { type: "inbound-rtp", kind: "audio", totalSamplesReceived: 500, concealedSamples: 5 },
        { type: "candidate-pair", totalSamplesReceived: 7 },
      ]),
    ).toEqual({ totalSamplesReceived: 1500, concealedSamples: 15 });
  });

  it("is undefined without a readable audio entry", () => {
    expect(audioPlayout([{ type: "inbound-rtp", kind: "audio" }])).toBeUndefined();
    expect(audioPlayout([])).toBeUndefined();
  });
});
