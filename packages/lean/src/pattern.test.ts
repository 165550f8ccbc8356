import { describe, expect, it } from "vitest";
import { TestPattern } from "./pattern.js";
import { readStamp } from "./stamp.js";

describe("the moving test pattern", () => {
  it("each pattern frame is a fresh I420 buffer carrying its stamp", () => {
    const pattern = new TestPattern({ width: 640, height: 360 }, 15, 3);
    const a = pattern.next(1000);
    const b = pattern.next(1066);
    expect(a.length).toBe(640 * 360 * 1.5);
    expect(a.buffer).not.toBe(b.buffer);
    expect(readStamp(a, 640, 360)).toEqual({ captureTimeMs: 1000, frame: 0 });
    expect(readStamp(b, 640, 360)).toEqual({ captureTimeMs: 1066, frame: 1 });
  });
});
