import { randomInt } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { StreamStatistics, weriftPacket as packet, weriftState as state } from "../test/werift-statistics.js";
import { addToStatistics, arrivalSeconds } from "./stream-statistics.js";

describe("werift's receiver statistics, added to from a packet's fields", () => {
  it("match werift's own add packet by packet: gaps, reordering, duplicates, sequence and timestamp wraps, jittered arrivals", () => {
    for (let run = 0; run < 100; run++) {
      const clockRate = run % 2 === 0 ? 48_000 : 90_000;
      const theirs = new StreamStatistics(clockRate);
      const ours = new StreamStatistics(clockRate);
      let seq = run % 5 === 0 ? 65_500 + randomInt(36) : randomInt(0x1_0000);
      let ts = run % 7 === 0 ? 0xffff_f000 : randomInt(0x1_0000_0000);
      let now = 1_764_000_000 + randomInt(1_000_000) + Math.random();
      for (let i = 0; i < 400; i++) {
        const roll = randomInt(100);
        // mostly the next packet; some lost, some from the past (late or duplicated), some repeat a timestamp
        const at = roll < 5 ? (seq - randomInt(1, 200) + 0x1_0000) & 0xffff : seq;
        if (roll >= 5) seq = (seq + (roll < 12 ? randomInt(2, 30) : 1)) & 0xffff;
        if (roll % 9 !== 0) ts = (ts + 960 * (roll < 12 ? randomInt(1, 30) : 1)) >>> 0;
        now += 0.02 + (Math.random() - 0.5) * 0.03;
        const header = 12 + 4 * randomInt(6);
        const payload = randomInt(1_300);
        theirs.add(packet(at, ts, header, payload), now);
        const stampedFrom = performance.timeOrigin + performance.now();
        addToStatistics(ours, at, ts, header, payload, now);
        // werift's stats timestamp: its performance clock at the packet, not Date.now()
        const stamped = ours.lastPacketReceivedTimestamp ?? NaN;
        if (!(stamped >= stampedFrom && stamped <= performance.timeOrigin + performance.now()))
          expect(stamped, "lastPacketReceivedTimestamp").toBeGreaterThanOrEqual(stampedFrom);
        const [a, b] = [JSON.stringify(state(ours)), JSON.stringify(state(theirs))];
        if (a !== b) expect(a, `run ${String(run)}, packet ${String(i)}`).toBe(b);
      }
    }
  });

  it("takes the arrival from Date.now() when it is given none, as werift does", () => {
    const now = vi.spyOn(Date, "now");
    try {
      const theirs = new StreamStatistics(48_000);
      const ours = new StreamStatistics(48_000);
      for (const [i, ms] of [1_764_000_000_000, 1_764_000_000_023, 1_764_000_000_031].entries()) {
        now.mockReturnValue(ms);
        theirs.add(packet(10 + i, 960 * i, 12, 100));
        addToStatistics(ours, 10 + i, 960 * i, 12, 100);
      }
      expect(state(ours)).toEqual(state(theirs));
      expect(ours.jitter_q4).toBeGreaterThan(0);
    } finally {
      now.mockRestore();
    }
  });

  it("reads a kernel arrival on the performance clock as werift's epoch seconds, and none as none", () => {
    const ms = performance.now();
    expect(arrivalSeconds(ms)).toBeCloseTo((performance.timeOrigin + ms) / 1000, 9);
    // the same instant as Date.now(), within the clocks' drift since the process began
    expect(Math.abs((arrivalSeconds(performance.now()) ?? 0) - Date.now() / 1000)).toBeLessThan(0.1);
    expect(arrivalSeconds(undefined)).toBeUndefined();
  });
});
