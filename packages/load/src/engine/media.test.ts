import { describe, expect, it } from "vitest";
import { isTalking, parseResolution, toneFrames } from "./media.js";

describe("synthetic media", () => {
  it("tone frames loop seamlessly over one second", () => {
    const frames = toneFrames(440);
    expect(frames).toHaveLength(10);
    const first = frames[0]?.[0] ?? NaN;
    const last = frames[9]?.[4799] ?? NaN;
    // the sample after the last one is the first again: sin(2*pi*440*48000/48000) = sin(0)
    expect(Math.abs(first)).toBe(0);
    expect(Math.abs(last - Math.round(6000 * Math.sin((2 * Math.PI * 440 * 47999) / 48000)))).toBe(0);
  });

  it("talk/silence cycles", () => {
    expect(isTalking(500, 1000, 2000)).toBe(true);
    expect(isTalking(1500, 1000, 2000)).toBe(false);
    expect(isTalking(3200, 1000, 2000)).toBe(true);
    expect(isTalking(1500, undefined, undefined)).toBe(true);
  });

  it("resolutions by name or WxH, with clear errors", () => {
    expect(parseResolution("360p")).toEqual({ width: 640, height: 360 });
    expect(parseResolution("800x600")).toEqual({ width: 800, height: 600 });
    expect(() => parseResolution("4k")).toThrow(/expected one of 180p, 360p/);
    expect(() => parseResolution("641x360")).toThrow(/must be even/);
  });
});
