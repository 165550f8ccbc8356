import { describe, expect, it } from "vitest";
import { joinFailureReason } from "./participant.js";

describe("joinFailureReason", () => {
  it("names a join whose ICE found no path no_transport, not a timeout", () => {
    // rtc-node 1.1's words when signalling answered and the peer connection never connected
    expect(joinFailureReason("engine: connection error: wait_pc_connection timed out")).toBe("no_transport");
    expect(joinFailureReason("signal timed out")).toBe("timeout");
    expect(joinFailureReason("connect ECONNREFUSED 127.0.0.1:7880")).toBe("unreachable");
    expect(joinFailureReason("401 unauthorized")).toBe("unauthorized");
  });
});
