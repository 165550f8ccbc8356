import { describe, expect, it } from "vitest";
import { VideoFirsts } from "./first-media.js";

describe("a probe's first video packet is never later than its first frame", () => {
  it("records the first packet at the first frame when the poll has not seen it yet, and not again after", () => {
    const firsts = new VideoFirsts();
    expect(firsts.frameDecoded()).toBe(true);
    // the poll then finds that stream's packets: already recorded
    expect(firsts.packetSeen()).toBe(false);
  });

  it("leaves a first packet the poll saw before the frame as it is", () => {
    const firsts = new VideoFirsts();
    expect(firsts.packetSeen()).toBe(true);
    expect(firsts.frameDecoded()).toBe(false);
  });

  it("with two tracks, implies only the packets the poll has not recorded", () => {
    const firsts = new VideoFirsts();
    expect(firsts.packetSeen()).toBe(true); // track A seen by the poll
    expect(firsts.frameDecoded()).toBe(false); // A's frame
    expect(firsts.frameDecoded()).toBe(true); // B's frame before the poll saw B
    expect(firsts.packetSeen()).toBe(false); // B found by the poll
    // a third stream (a re-created one, say) is a first packet of its own
    expect(firsts.packetSeen()).toBe(true);
  });
});
