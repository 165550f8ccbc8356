import { describe, expect, it } from "vitest";
import { pairOf } from "./peer.js";

describe("pairOf: werift's nominated pair in the schema's words", () => {
  it("reads types and the local transport, whatever its case", () => {
    expect(pairOf({ type: "host", transport: "udp" }, { type: "host" })).toEqual({
      local: "host",
      remote: "host",
      protocol: "udp",
    });
    expect(pairOf({ type: "prflx", transport: "TCP" }, { type: "host" })).toEqual({
      local: "prflx",
      remote: "host",
      protocol: "tcp",
    });
  });

  it("says nothing without a local candidate or for a shape it does not know", () => {
    expect(pairOf(undefined, { type: "host" })).toBeUndefined();
    expect(pairOf({ type: "host", transport: "sctp" }, { type: "host" })).toBeUndefined();
    expect(pairOf({ type: "peer", transport: "udp" }, { type: "host" })).toBeUndefined();
  });
});
