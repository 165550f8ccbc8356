import { describe, expect, it } from "vitest";
import { dueThisTick, floorOptions } from "./dgram-floor.js";

describe("dgram-floor", () => {
  it("paces a rate that is not whole per tick exactly on average, one datagram at a time", () => {
    let credit = 0;
    const dues: number[] = [];
    for (let tick = 0; tick < 50; tick++) {
      const next = dueThisTick(credit, 46);
      credit = next.credit;
      dues.push(next.due);
    }
    // 50 ticks of 20 ms are a second: 46 datagrams, never two in one tick
    expect(dues.reduce((a, b) => a + b, 0)).toBe(46);
    expect(Math.max(...dues)).toBe(1);
    expect(dueThisTick(0, 250).due).toBe(5);
  });

  it("sends every whole rate from 1 to 10,000 a second exactly in a second's 50 ticks", () => {
    const off: string[] = [];
    for (let rate = 1; rate <= 10_000; rate++) {
      let credit = 0;
      let sent = 0;
      for (let tick = 0; tick < 50; tick++) {
        const next = dueThisTick(credit, rate);
        credit = next.credit;
        sent += next.due;
      }
      if (sent !== rate) off.push(`${rate}: ${sent}`);
    }
    expect(off).toEqual([]);
  });

  it("takes the workload's counts, participants defaulting to the sockets, and refuses what is out of range", () => {
    expect(floorOptions(["--receivers", "64", "--senders", "16", "--participants", "80"])).toEqual({
      receivers: 64,
      senders: 16,
      rate: 46,
      size: 1200,
      warmupS: 5,
      seconds: 30,
      participants: 80,
    });
    expect(floorOptions([]).participants).toBe(20);
    expect(() => floorOptions(["--rate", "fast"])).toThrow(
      "dgram-floor: --rate fast: expected a number from 1 to 10000",
    );
  });
});
