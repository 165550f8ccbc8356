import { describe, expect, it } from "vitest";
import { TRANSPORT_OVERHEAD_BYTES, wireBytes } from "./wire.js";

describe("wireBytes", () => {
  it("adds RTP headers and 38 bytes of IPv4, UDP and SRTP tag to every packet's payload", () => {
    expect(TRANSPORT_OVERHEAD_BYTES).toBe(38);
    // 50 Opus packets of 80 payload bytes and 24 header bytes (12 fixed + extensions)
    expect(wireBytes({ bytes: 4000, headerBytes: 1200, received: 50 })).toBe(4000 + 1200 + 50 * 38);
  });

  it("is unknown without the RTP header bytes, not the payload alone", () => {
    expect(wireBytes({ bytes: 4000, received: 50 })).toBeUndefined();
  });

  it("a window without packets took nothing on the wire", () => {
    expect(wireBytes({ bytes: 0, headerBytes: 0, received: 0 })).toBe(0);
  });
});
