import { describe, expect, it } from "vitest";
import { NftFault, PacketLoss, readTally } from "./faults.js";

/** What nft 1.0.6 listed for a 10% egress drop tallying audio and video, after some traffic. */
const LISTING = `table inet lkswarm_t {
	chain loss_output {
		type filter hook output priority filter; policy accept;
		meta l4proto udp jump loss_output_sample
	}

	chain loss_output_sample {
		@th,64,8 & 0xc0 == 0x80 @th,72,8 & 0x7f == { 63, 111 } counter packets 12813 bytes 1537560 comment "seen audio"
		@th,64,8 & 0xc0 == 0x80 @th,72,8 & 0x7f == 0x60 counter packets 13286 bytes 11957400 comment "seen video"
		numgen random mod 1000 < 100 jump loss_output_drop
	}

	chain loss_output_drop {
		@th,64,8 & 0xc0 == 0x80 @th,72,8 & 0x7f == { 63, 111 } counter packets 1272 bytes 152640 comment "dropped audio"
		@th,64,8 & 0xc0 == 0x80 @th,72,8 & 0x7f == 0x60 counter packets 1367 bytes 1230300 comment "dropped video"
		counter packets 2920 bytes 1600000 drop
	}
}
`;

describe("PacketLoss tallies", () => {
  it("reads what the rule saw and dropped per kind, and nothing for a kind it never saw", () => {
    expect(readTally(LISTING, ["audio", "video", "rtx"])).toEqual({
      audio: { seen: 12813, dropped: 1272, ratio: 1272 / 12813 },
      video: { seen: 13286, dropped: 1367, ratio: 1367 / 13286 },
      rtx: { seen: 0, dropped: 0, ratio: undefined },
    });
  });

  it("sums a kind over both hooks", () => {
    const both = LISTING.replace(/}\n$/, "") + LISTING.split("\n").slice(1).join("\n");
    expect(readTally(both, ["video"]).video).toEqual({ seen: 26572, dropped: 2734, ratio: 2734 / 26572 });
  });

  it("counts only the dropping rule as dropped packets, not the tallies", () => {
    class Listed extends NftFault {
      constructor() {
        super("ns", "t");
      }
      override listing(): string {
        return LISTING;
      }
    }
    expect(new Listed().droppedPackets()).toBe(2920);
  });

  it("refuses a host table whose name is not ours (lkswarm_) or would not be one word of an nft script", () => {
    const chains = "  chain out {\n    type filter hook output priority 0; policy accept;\n  }";
    for (const table of [
      "",
      "lkswarm_",
      "fault",
      "lkswarm_a b",
      "lkswarm_x; flush ruleset",
      `lkswarm_${"a".repeat(49)}`,
    ])
      expect(() => NftFault.applyOnHost(table, chains), table).toThrow(/expected lkswarm_ and then 1-48/);
  });

  it("refuses tally names nftables comments or our parser cannot carry, and RTCP's payload-type range", () => {
    const inject = (tally: Record<string, number[]>): PacketLoss =>
      PacketLoss.inject("lkswarm_no_such_ns", 0.1, "egress", undefined, { tally });
    expect(() => inject({ 'a" drop': [96] })).toThrow(/tally name/);
    expect(() => inject({ Video: [96] })).toThrow(/tally name/);
    expect(() => inject({ video: [] })).toThrow(/payload types in 0-63 or 96-127/);
    expect(() => inject({ rtcp: [72] })).toThrow(/64-95 would count RTCP/);
    expect(() => inject({ big: [128] })).toThrow(/payload types/);
  });
});
