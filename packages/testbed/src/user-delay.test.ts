import { describe, expect, it } from "vitest";
import { parseDelayRules, parseDelaySummary } from "./user-delay.js";

/** What iptables v1.8.9 (nf_tables) listed in a node's namespace with one delay rule of ours. */
const LISTING = `-P POSTROUTING ACCEPT
-A POSTROUTING -o eth9 -j MARK --set-xmark 0x1/0xffffffff
-A POSTROUTING -o lksabh0 -m comment --comment "lkswarm_delay_d1_node1" -j NFQUEUE --queue-num 2 --queue-bypass
-A POSTROUTING -o lksabh0 -m comment --comment "someone_else" -j NFQUEUE --queue-num 3 --queue-bypass
-A PREROUTING -i lksabh0 -m comment --comment "lkswarm_delay_d1_node1" -j NFQUEUE --queue-num 2 --queue-bypass
-A OUTPUT -o lksabh0 -m comment --comment "lkswarm_delay_d1_node1" -j NFQUEUE --queue-num 2 --queue-bypass
`;

describe("parseDelayRules", () => {
  it("finds our NFQUEUE rules by their comment in POSTROUTING and PREROUTING, with the words that delete them", () => {
    expect(parseDelayRules(LISTING)).toEqual([
      {
        comment: "lkswarm_delay_d1_node1",
        queue: 2,
        chain: "POSTROUTING",
        words: [
          "-o",
          "lksabh0",
          "-m",
          "comment",
          "--comment",
          "lkswarm_delay_d1_node1",
          "-j",
          "NFQUEUE",
          "--queue-num",
          "2",
          "--queue-bypass",
        ],
      },
      {
        comment: "lkswarm_delay_d1_node1",
        queue: 2,
        chain: "PREROUTING",
        words: [
          "-i",
          "lksabh0",
          "-m",
          "comment",
          "--comment",
          "lkswarm_delay_d1_node1",
          "-j",
          "NFQUEUE",
          "--queue-num",
          "2",
          "--queue-bypass",
        ],
      },
    ]);
    expect(parseDelayRules("-P POSTROUTING ACCEPT\n")).toEqual([]);
  });
});

describe("parseDelaySummary", () => {
  it("reads the delayer's closing line, and nothing from output without one", () => {
    const out =
      'ready\n{"packets":10,"rtp":8,"holdMeanMs":50.1,"holdMinMs":49.9,"holdMaxMs":52,"releasedEarly":0,"lostMessages":0,"verdictErrors":0}\n';
    expect(parseDelaySummary(out)).toEqual({
      packets: 10,
      rtp: 8,
      holdMeanMs: 50.1,
      holdMinMs: 49.9,
      holdMaxMs: 52,
      releasedEarly: 0,
      lostMessages: 0,
      verdictErrors: 0,
    });
    expect(parseDelaySummary("ready\n")).toBeUndefined();
    expect(parseDelaySummary("ready\n{broken\n")).toBeUndefined();
  });
});
