import {
  RtcpPacketConverter,
  RtcpRrPacket,
  RtcpSourceDescriptionPacket,
  RtcpSrPacket,
  compactNtp as weriftCompactNtp,
} from "werift";
import { describe, expect, it } from "vitest";
import {
  REPORT_MIN_MS,
  REPORT_SPREAD_MS,
  ReportClock,
  TICK_MS,
  compactNtp,
  receiverReport,
  senderReport,
  type ClockDeps,
  type ReceiverReporting,
  type SenderReporting,
} from "./report-clock.js";

/** A clock whose time, chance and interval the test moves. */
function fakeClock(randoms: number[] = [0.5]): {
  deps: ClockDeps;
  advance(ms: number): void;
  intervals(): number;
} {
  let now = 0;
  let fn: (() => void) | undefined;
  let started = 0;
  let r = 0;
  const deps: ClockDeps = {
    now: () => now,
    random: () => randoms[r++ % randoms.length] ?? 0,
    every: (f, ms) => {
      expect(ms).toBe(TICK_MS);
      fn = f;
      started++;
      return {
        cancel: () => {
          fn = undefined;
        },
      };
    },
  };
  return {
    deps,
    advance(ms) {
      for (let t = 0; t < ms; t += TICK_MS) {
        now += TICK_MS;
        fn?.();
      }
    },
    intervals: () => (fn === undefined ? 0 : started),
  };
}

describe("ReportClock", () => {
  it("sends each reporter's report 0.5-1.5 s after its last, as werift's loops space them, at most a tick late", () => {
    const clock = fakeClock([0, 1, 0.5]);
    const c = new ReportClock(clock.deps);
    const at: Record<string, number[]> = { a: [], b: [] };
    let now = 0;
    for (const name of ["a", "b"] as const)
      c.add(
        { name },
        {
          live: () => true,
          report: () => at[name]?.push(now),
        },
      );
    for (let i = 0; i < 100; i++) {
      now += TICK_MS;
      clock.advance(TICK_MS);
    }
    for (const times of Object.values(at)) {
      expect(times.length).toBeGreaterThanOrEqual(
        Math.floor(10_000 / (REPORT_MIN_MS + REPORT_SPREAD_MS + TICK_MS)),
      );
      const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
      for (const gap of gaps) {
        expect(gap).toBeGreaterThanOrEqual(REPORT_MIN_MS);
        expect(gap).toBeLessThanOrEqual(REPORT_MIN_MS + REPORT_SPREAD_MS + TICK_MS);
      }
    }
    expect(c.reports).toBe((at.a?.length ?? 0) + (at.b?.length ?? 0));
    // one interval for both
    expect(clock.intervals()).toBe(1);
  });

  it("drops a reporter werift stopped without reporting it again, and stops ticking when nobody is left", () => {
    const clock = fakeClock();
    const c = new ReportClock(clock.deps);
    let live = true;
    let reports = 0;
    const owner = {};
    c.add(owner, { live: () => live, report: () => reports++ });
    clock.advance(3000);
    const before = reports;
    expect(before).toBeGreaterThanOrEqual(2);
    live = false;
    clock.advance(3000);
    expect(reports).toBe(before);
    expect(c.size).toBe(0);
    expect(clock.intervals()).toBe(0);
    // a new reporter starts it again
    c.add({}, { live: () => true, report: () => reports++ });
    expect(clock.intervals()).toBe(2);
  });

  it("starts an owner once: a second runRtcp of the same receiver adds no second report stream", () => {
    const clock = fakeClock();
    const c = new ReportClock(clock.deps);
    const owner = {};
    let reports = 0;
    c.add(owner, { live: () => true, report: () => reports++ });
    c.add(owner, { live: () => true, report: () => reports++ });
    expect(c.size).toBe(1);
    clock.advance(10_000);
    // one report a second, give or take the spread (random 0.5 here: every 1 s, up to a tick late)
    expect(reports).toBeGreaterThanOrEqual(9);
    expect(reports).toBeLessThanOrEqual(10);
  });
});

describe("the reports werift's loops built", () => {
  it("compactNtp is werift's: the middle 32 bits", () => {
    for (const ntp of [0n, 1n, 0xffff_ffff_ffff_ffffn, 0xe9a1_2345_6789_abcdn, 0x0000_ffff_ffff_0000n])
      expect(compactNtp(ntp), ntp.toString(16)).toBe(weriftCompactNtp(ntp));
  });

  it("a receiver report: one block per received stream, with LSR and DLSR (1/65536 s) from the last SR", () => {
    const r = {
      rtcpSsrc: 1111,
      remoteStreams: {
        "2222": { fraction_lost: 12, packets_lost: 34, max_seq: 65_600, jitter: 56 },
        "3333": { fraction_lost: 0, packets_lost: 0, max_seq: 7, jitter: 0 },
      },
      lastSRtimestamp: { "2222": 0xabcd_1234 },
      receiveLastSRTimestamp: { "2222": 1000 },
    } as unknown as ReceiverReporting;
    const rr = receiverReport(r, 1000.25);
    // read back from the wire bytes, as LiveKit would read them
    const [parsed, ...more] = RtcpPacketConverter.deSerialize(rr.serialize());
    expect(more).toEqual([]);
    if (!(parsed instanceof RtcpRrPacket))
      throw new Error(`not a receiver report: ${parsed?.constructor.name ?? "nothing"}`);
    expect(parsed.ssrc).toBe(1111);
    expect(
      parsed.reports.map((b) => ({
        ssrc: b.ssrc,
        fractionLost: b.fractionLost,
        packetsLost: b.packetsLost,
        highestSequence: b.highestSequence,
        jitter: b.jitter,
        lsr: b.lsr,
        dlsr: b.dlsr,
      })),
    ).toEqual([
      {
        ssrc: 2222,
        fractionLost: 12,
        packetsLost: 34,
        highestSequence: 65_600,
        jitter: 56,
        lsr: 0xabcd_1234,
        dlsr: 0.25 * 65536,
      },
      { ssrc: 3333, fractionLost: 0, packetsLost: 0, highestSequence: 7, jitter: 0, lsr: 0, dlsr: 0 },
    ]);
  });

  it("a sender report with werift's counts and the NTP time it keeps, the CNAME in an SDES, and what RTT needs noted", () => {
    const ntp = 0xe9a1_2345_6789_abcdn;
    const s = {
      ssrc: 4444,
      ntpTimestamp: ntp,
      rtpTimestamp: 90_000,
      packetCount: 500,
      octetCount: 600_000,
      cname: "lean-cname",
      lastSRtimestamp: 0,
      lastSentSRTimestamp: 0,
    } as unknown as SenderReporting;
    const [sr, sdes, ...rest] = senderReport(s, 1234.5);
    expect(rest).toEqual([]);
    expect(sr).toBeInstanceOf(RtcpSrPacket);
    const info = (sr as RtcpSrPacket).senderInfo;
    expect({
      ntpTimestamp: info.ntpTimestamp,
      rtpTimestamp: info.rtpTimestamp,
      packetCount: info.packetCount,
      octetCount: info.octetCount,
    }).toEqual({
      ntpTimestamp: ntp,
      rtpTimestamp: 90_000,
      packetCount: 500,
      octetCount: 600_000,
    });
    expect(sdes).toBeInstanceOf(RtcpSourceDescriptionPacket);
    expect((sdes as RtcpSourceDescriptionPacket).chunks[0]?.items[0]?.text).toBe("lean-cname");
    expect(s.lastSRtimestamp).toBe(weriftCompactNtp(ntp));
    expect(s.lastSentSRTimestamp).toBe(1234.5);
    expect(senderReport({ ...s, cname: undefined }, 1).length).toBe(1);
  });
});
