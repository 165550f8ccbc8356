import { randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import { nativeAddon } from "../test/native-addon.js";
import { countedStream } from "../test/counted.js";
import { loopbackSockets, opusDatagram } from "../test/udp.js";
import { StreamStatistics, weriftPacket, weriftState } from "../test/werift-statistics.js";
import { InboundStream } from "./inbound.js";
import { COUNT_INBOUND, COUNT_WERIFT, COUNTS, COUNTS_FIELDS, NativeStreamCounts } from "./native-counts.js";
import { socketFd } from "./native-media.js";
import { nativeReceiving } from "./native-receive.js";
import { receiverReport, type ReceiverReporting } from "./report-clock.js";
import { rolloverMatters } from "./srtp-gcm.js";
import { addToStatistics } from "./stream-statistics.js";

const native = nativeAddon();

const bound = loopbackSockets();

interface Packet {
  readonly seq: number;
  readonly ts: number;
  readonly header: number;
  readonly payload: number;
  readonly arrivalMs: number;
  readonly nowS: number;
}

/**
 * A random stream: mostly the next packet, some lost, some late or duplicated, repeated timestamps,
 * jittered arrivals, a sequence wrap on some runs and a restart of the sequence space (a jump of
 * more than 3000 followed by its next) on others.
 */
function randomStream(run: number, count: number): Packet[] {
  let seq = run % 3 === 0 ? 65_400 + randomInt(100) : randomInt(0x1_0000);
  let ts = run % 4 === 0 ? 0xffff_f000 : randomInt(0x1_0000_0000);
  let arrivalMs = 1000 + Math.random() * 1e6;
  const packets: Packet[] = [];
  for (let i = 0; i < count; i++) {
    const roll = randomInt(100);
    if (run % 5 === 1 && i === count >> 1) seq = (seq + 10_000) & 0xffff;
    const at = roll < 5 ? (seq - randomInt(1, 200) + 0x1_0000) & 0xffff : seq;
    if (roll >= 5) seq = (seq + (roll < 12 ? randomInt(2, 30) : 1)) & 0xffff;
    if (roll % 9 !== 0) ts = (ts + 960 * (roll < 12 ? randomInt(1, 30) : 1)) >>> 0;
    arrivalMs += 20 + (Math.random() - 0.5) * 30;
    packets.push({
      seq: at,
      ts,
      header: 12 + 4 * randomInt(6),
      payload: randomInt(1_300),
      arrivalMs,
      nowS: (performance.timeOrigin + arrivalMs) / 1000,
    });
  }
  return packets;
}

describe("a received stream counted by the native thread, against the TypeScript path (the oracle)", () => {
  it("gives InboundStream's and werift's figures to the bit, handed over mid-stream and back: loss, reordering, duplicates, wraps, a sequence restart, jittered arrivals", async () => {
    const socket = await bound();
    const fd = socketFd(socket);
    expect(fd).toBeDefined();
    const receiving = nativeReceiving(native());
    for (let run = 0; run < 60; run++) {
      const clockRate = run % 2 === 0 ? 48_000 : 90_000;
      const oracle = {
        inbound: new InboundStream("o", "audio", clockRate),
        werift: new StreamStatistics(clockRate),
      };
      const ours = {
        inbound: new InboundStream("n", "audio", clockRate),
        werift: new StreamStatistics(clockRate),
      };
      const packets = randomStream(run, 600);
      const handAt = 1 + randomInt(200);
      const backAt = 400 + randomInt(150);
      const id = native().addReceiver(fd ?? -1, 0x7f000001, 9);
      let counts: NativeStreamCounts | undefined;
      const ssrc = 1000 + run;
      for (const [i, p] of packets.entries()) {
        if (i === handAt) {
          counts = new NativeStreamCounts(ours.inbound, ours.werift, receiving.clockOffset);
          expect(receiving.stream(id, ssrc, 16, counts.slot)).toBeUndefined();
          counts.handOver(receiving.counter(id, ssrc));
        }
        if (i === backAt) {
          native().removeReceiver(id);
          counts?.handBack();
        }
        addToStatistics(oracle.werift, p.seq, p.ts, p.header, p.payload, p.nowS);
        oracle.inbound.onPacket(p.seq, p.ts, p.payload, p.arrivalMs, p.header);
        // while handed over, the bypass's own packets go in one call, and werift's and the
        // stream's (padding werift decrypted) one each, as they come in a run
        if (counts !== undefined && i > handAt && i < backAt && i % 2 === 0) {
          expect(counts.packet(p.seq, p.ts, p.header, p.payload, p.arrivalMs, p.nowS)).toBe(true);
        } else {
          ours.werift.add(weriftPacket(p.seq, p.ts, p.header, p.payload), p.nowS);
          ours.inbound.onPacket(p.seq, p.ts, p.payload, p.arrivalMs, p.header);
        }
        // read mid-stream as a stats window and a receiver report would
        if (i % 97 === 0 || i === backAt - 1) {
          const where = `run ${String(run)}, packet ${String(i)} (handed ${String(handAt)}-${String(backAt)})`;
          expect(ours.inbound.totals(), where).toEqual(oracle.inbound.totals());
          expect(weriftState(ours.werift), where).toEqual(weriftState(oracle.werift));
        }
      }
      expect(ours.inbound.window()).toEqual({ ...oracle.inbound.window(), key: "n" });
      expect(weriftState(ours.werift)).toEqual(weriftState(oracle.werift));
      // handed back: werift's fields are plain again
      expect(Object.getOwnPropertyDescriptor(ours.werift, "packets_received")?.writable).toBe(true);
    }
  });

  it("counts packets read from the socket on the thread: no record but the rollover's, every packet in both counters, the wire bytes folded once", async () => {
    const socket = await bound();
    const from = await bound();
    const fromPort = from.address().port;
    const receiving = nativeReceiving(native());
    const rollovers: number[] = [];
    const records: number[] = [];
    const id = receiving.take(socket, ["127.0.0.1", fromPort], {
      rtp(_ssrc, seq, _ts, _hb, _pb, _wire, _at, counted) {
        if (counted) rollovers.push(seq);
        else records.push(seq);
      },
    });
    expect(typeof id).toBe("number");
    if (typeof id !== "number") return;
    receiving.payloadTypes(id, [111]);
    const ssrc = 0x0badcafe;
    // the stream's first packet, as werift and the tap counted it before the bypass
    let seq = 65_500;
    let ts = 1_000_000;
    const { inbound, werift, counts } = countedStream(receiving, id, ssrc, seq, ts);
    const sent: number[] = [];
    for (let i = 0; i < 120; i++) {
      seq = (seq + 1) & 0xffff;
      ts = (ts + 960) >>> 0;
      // every tenth lost on the way
      if (i % 10 === 9) continue;
      from.send(opusDatagram(seq, ts, ssrc), socket.address().port, "127.0.0.1");
      sent.push(seq);
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 25));
    }
    const expectedSeen = sent.length + 1;
    const deadline = Date.now() + 5000;
    while (inbound.totals().received < expectedSeen && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const counted = inbound.totals();
    expect(counted.received).toBe(expectedSeen);
    // after the first, 119 up to the last that arrived, every tenth of them lost: 11
    expect(counted.expected).toBe(120);
    expect(counted.lost).toBe(11);
    expect(counted.bytes).toBe(80 * expectedSeen);
    expect(counted.headerBytes).toBe(12 * expectedSeen);
    expect(werift.packets_received).toBe(expectedSeen);
    expect(werift.cycles).toBe(65_536);
    expect(werift.max_seq).toBe(sent.at(-1));
    expect(werift.packets_lost).toBe(11);
    expect(records).toEqual([]);
    expect(rollovers).toEqual(sent.filter(rolloverMatters));
    expect(counts.threadCounted()).toEqual({ packets: sent.length, wireBytes: 108 * sent.length });
    expect(counts.threadCounted()).toEqual({ packets: 0, wireBytes: 0 });
    // five more, read by the thread after this turn's reading of the slot (a stats window's): the
    // fold reads afresh, as a release that waited for the thread's tick must
    for (let i = 0; i < 5; i++) {
      seq = (seq + 1) & 0xffff;
      ts = (ts + 960) >>> 0;
      await new Promise((r) => {
        from.send(opusDatagram(seq, ts, ssrc), socket.address().port, "127.0.0.1", r);
      });
    }
    inbound.totals();
    const until = performance.now() + 100;
    while (performance.now() < until); // the thread's ticks, not this turn's
    expect(counts.threadCounted()).toEqual({ packets: 5, wireBytes: 108 * 5 });
    const totals = inbound.totals();
    expect(totals.received).toBe(expectedSeen + 5);
    receiving.release(id);
    counts.handBack();
    expect(inbound.totals()).toEqual(totals);
    expect(werift.packets_received).toBe(expectedSeen + 5);
    // JavaScript counts again
    inbound.onPacket((seq + 1) & 0xffff, ts + 960, 80, performance.now(), 12);
    expect(inbound.totals().received).toBe(expectedSeen + 6);
  });

  it("gives a packet back to JavaScript's counting when the thread no longer counts the stream", async () => {
    const socket = await bound();
    const receiving = nativeReceiving(native());
    const id = native().addReceiver(socketFd(socket) ?? -1, 0x7f000001, 9);
    const inbound = new InboundStream("s", "audio", 48_000);
    const werift = new StreamStatistics(48_000);
    inbound.onPacket(10, 0, 80, 0, 12);
    const counts = new NativeStreamCounts(inbound, werift, receiving.clockOffset);
    expect(receiving.stream(id, 7, 16, counts.slot)).toBeUndefined();
    counts.handOver(receiving.counter(id, 7));
    expect(COUNT_INBOUND | COUNT_WERIFT).toBe(3);
    // a figure no counter could take is refused, not counted
    expect(() => native().countReceived(id, 7, 3, 11, 960, 12, 80, Number.NaN, 0)).toThrow(/countReceived/);
    inbound.onPacket(11, 960, 80, 20, 12);
    expect(inbound.totals().received).toBe(2);
    native().removeReceiver(id);
    // the addon says it no longer counts: the packet is JavaScript's, and so is the state
    inbound.onPacket(12, 1920, 80, 40, 12);
    expect(inbound.totals()).toMatchObject({ received: 3, expected: 3, lost: 0 });
    expect(Object.getOwnPropertyDescriptor(werift, "packets_received")?.writable).toBe(true);
  });
});

describe("the thread's receiver report against werift's (report-clock.ts receiverReport, the oracle)", () => {
  it("builds werift's bytes from the streams' slots: fraction and cumulative lost, highest sequence, jitter, LSR and DLSR, report after report", () => {
    for (let run = 0; run < 40; run++) {
      // one to three streams a receiver reports on, in werift's order (its remoteStreams' keys, ascending)
      const ssrcs = [
        ...new Set(Array.from({ length: 1 + (run % 3) }, () => randomInt(0x1_0000_0000 - 1))),
      ].sort((a, b) => a - b);
      const streams = ssrcs.map((ssrc, i) => ({
        ssrc,
        packets: randomStream(run + i, 600),
        werift: new StreamStatistics(48_000),
        slot: new Float64Array(COUNTS_FIELDS),
      }));
      const reporting = {
        rtcpSsrc: randomInt(0x1_0000_0000),
        remoteStreams: {} as Record<string, InstanceType<typeof StreamStatistics>>,
        lastSRtimestamp: {} as Record<string, number>,
        receiveLastSRTimestamp: {} as Record<string, number>,
      };
      for (let i = 0; i < 600; i++) {
        for (const s of streams) {
          const p = s.packets[i];
          if (p === undefined) continue;
          s.werift.add(weriftPacket(p.seq, p.ts, p.header, p.payload), p.nowS);
          reporting.remoteStreams[String(s.ssrc)] = s.werift;
        }
        if (i % 53 !== 52 && i !== 599) continue;
        const nowMs = (streams[0]?.packets[i]?.arrivalMs ?? 0) + randomInt(0, 3000);
        for (const s of streams) {
          // the werift fields the thread counts, as they stand (the priors stay the slot's)
          s.slot[COUNTS.wBase] = s.werift.base_seq ?? Number.NaN;
          s.slot[COUNTS.wMax] = s.werift.max_seq ?? Number.NaN;
          s.slot[COUNTS.wCycles] = s.werift.cycles;
          s.slot[COUNTS.wPackets] = s.werift.packets_received;
          s.slot[COUNTS.wJitterQ4] = s.werift.jitter_q4;
          // now and then a sender report: none yet, an LSR of 0 (none to werift), one just in, one long ago, one ahead
          const sr = randomInt(6);
          if (sr > 0) {
            const lsr = sr === 1 ? 0 : randomInt(0x1_0000_0000);
            const arrivalMs = nowMs - ([0, 0, 1, 850, 70_000_000, -5][sr] ?? 0);
            reporting.lastSRtimestamp[String(s.ssrc)] = lsr;
            reporting.receiveLastSRTimestamp[String(s.ssrc)] = arrivalMs / 1000;
            s.slot[COUNTS.wLsr] = lsr;
            s.slot[COUNTS.wSrArrivalMs] = arrivalMs;
          }
        }
        const ours = native().receiverReport(
          reporting.rtcpSsrc,
          streams.map((s) => s.ssrc),
          streams.map((s) => s.slot),
          nowMs,
        );
        const werift = receiverReport(reporting as unknown as ReceiverReporting, nowMs / 1000).serialize();
        expect(ours.toString("hex"), `run ${String(run)}, packet ${String(i)}`).toBe(werift.toString("hex"));
        for (const s of streams) {
          expect(s.slot[COUNTS.wExpectedPrior]).toBe(s.werift.expected_prior);
          expect(s.slot[COUNTS.wReceivedPrior]).toBe(s.werift.received_prior);
        }
      }
    }
  });
});
