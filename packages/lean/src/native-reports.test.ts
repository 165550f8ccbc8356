import type { Socket } from "node:dgram";
import { describe, expect, it } from "vitest";
import {
  RtcpPacketConverter,
  RtcpReceiverInfo,
  RtcpRrPacket,
  RtcpSenderInfo,
  RtcpSourceDescriptionPacket,
  RtcpSrPacket,
  SourceDescriptionChunk,
  SourceDescriptionItem,
} from "werift";
import { nativeAddon } from "../test/native-addon.js";
import { countedStream } from "../test/counted.js";
import { loopbackSockets, opusDatagram } from "../test/udp.js";
import { srtcpPair, srtcpTransport } from "../test/srtp.js";
import { StreamStatistics } from "../test/werift-statistics.js";
import { InboundStream } from "./inbound.js";
import { NativeStreamCounts } from "./native-counts.js";
import { nativeReceiving } from "./native-receive.js";
import { NativeReports } from "./native-reports.js";
import { TAKE_PUBLISHER_FEEDBACK, takeRtcp } from "./native-srtcp.js";
import { compactNtp, nativelyReported } from "./report-clock.js";
import { addToStatistics } from "./stream-statistics.js";

const native = nativeAddon();

const bound = loopbackSockets();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** werift's RTCRtpReceiver as far as its reports go: a sender report sets LSR and its arrival as werift's handleRtcpPacket does. */
class Receiver {
  readonly lastSRtimestamp: Record<string, number> = {};
  readonly receiveLastSRTimestamp: Record<string, number> = {};
  readonly remoteStreams: Record<string, InstanceType<typeof StreamStatistics>> = {};
  handled = 0;
  constructor(readonly rtcpSsrc: number) {}
  handleRtcpPacket(packet: { type: number; ssrc: number; senderInfo?: { ntpTimestamp: bigint } }): void {
    this.handled++;
    if (packet.type !== 200 || packet.senderInfo === undefined) return;
    this.lastSRtimestamp[packet.ssrc] = compactNtp(packet.senderInfo.ntpTimestamp);
    this.receiveLastSRTimestamp[packet.ssrc] = Date.now() / 1000;
  }
}

const GCM = 0x0007;

/** A loopback socket the native thread reads (Opus header-only), and the server's socket it counts from. */
async function takenSocket() {
  const socket = await bound();
  const server = await bound();
  const receiving = nativeReceiving(native());
  const id = receiving.take(socket, ["127.0.0.1", server.address().port], { rtp: () => undefined });
  if (typeof id !== "number") throw new Error(id);
  receiving.payloadTypes(id, [111]);
  return { socket, server, receiving, id };
}

describe("receiver reports sent by the native thread (native-reports.ts)", () => {
  it("sends werift's report for a counted stream, sealed under werift's next SRTCP index, and gives werift the index and priors back", async () => {
    const { socket, server, receiving, id } = await takenSocket();
    const ssrc = 0x0badcafe;
    let seq = 1000;
    let ts = 5000;
    const { werift, counts } = countedStream(receiving, id, ssrc, seq, ts);
    const receiver = new Receiver(0x5eed);
    receiver.remoteStreams[ssrc] = werift;
    const { sender, receiver: server_ } = srtcpPair(GCM);
    const local = (
      sender as unknown as { localContext: { getSrtcpSsrcState(s: number): { srtcpIndex: number } } }
    ).localContext;
    local.getSrtcpSsrcState(receiver.rtcpSsrc).srtcpIndex = 41;
    const transport = srtcpTransport(sender);
    const reports = new NativeReports(native(), id, transport, receiving.clockOffset);
    // 40 packets, every tenth lost
    for (let i = 0; i < 40; i++) {
      seq++;
      ts += 960;
      if (i % 10 === 9) continue;
      server.send(opusDatagram(seq, ts, ssrc), socket.address().port, "127.0.0.1");
      if (i % 10 === 0) await sleep(20);
    }
    await sleep(100);
    expect(werift.packets_received).toBe(37);
    const received: Buffer[] = [];
    server.on("message", (m: Buffer) => received.push(m));
    expect(reports.take(receiver, new Map([[ssrc, counts]]))).toBeUndefined();
    expect(nativelyReported.has(receiver)).toBe(true);
    expect(reports.take(receiver, new Map([[ssrc, counts]]))).toBeUndefined();
    // the server's sender report, taken by werift (its LSR and arrival go to the slot)
    const ntp = 0x1234_5678_9abc_def0n;
    receiver.handleRtcpPacket({ type: 200, ssrc, senderInfo: { ntpTimestamp: ntp } });
    expect(receiver.handled).toBe(1);
    const srAt = Date.now();
    // the first report 0.5-1.5 s from the take
    const deadline = Date.now() + 3000;
    while (received.length === 0 && Date.now() < deadline) await sleep(20);
    const reportAt = Date.now();
    expect(received.length).toBe(1);
    const sealed = received[0] ?? Buffer.alloc(0);
    expect(sealed.readUInt32BE(sealed.length - 4)).toBe(0x8000_0000 + 42);
    const [rr] = RtcpPacketConverter.deSerialize(server_.decrypt(sealed));
    expect(rr).toBeInstanceOf(RtcpRrPacket);
    if (!(rr instanceof RtcpRrPacket)) return;
    expect(rr.ssrc).toBe(receiver.rtcpSsrc);
    expect(rr.reports).toHaveLength(1);
    const block = rr.reports[0];
    // the first packet and 39 after it up to the last that came, 3 of them lost: werift's figures, its first fraction
    expect(block?.ssrc).toBe(ssrc);
    expect(block?.highestSequence).toBe(werift.max_seq);
    expect(block?.packetsLost).toBe(3);
    expect(block?.fractionLost).toBe(Math.floor((3 << 8) / 40));
    expect(block?.jitter).toBe(werift.jitter);
    expect(block?.lsr).toBe(compactNtp(ntp));
    const dlsrMs = ((block?.dlsr ?? 0) / 65536) * 1000;
    expect(dlsrMs).toBeGreaterThan(400);
    expect(dlsrMs).toBeLessThanOrEqual(reportAt - srAt + 30);
    expect(native().stats().reports).toBeGreaterThanOrEqual(1);

    // werift reports again: the index the thread reached, the priors its report moved
    reports.give(ssrc);
    expect(nativelyReported.has(receiver)).toBe(false);
    expect(local.getSrtcpSsrcState(receiver.rtcpSsrc).srtcpIndex).toBe(41 + received.length);
    expect(werift.expected_prior).toBe(40);
    expect(werift.received_prior).toBe(37);
    // the thread's reports in werift's transport counts, as werift's own sends are
    expect(transport.packetsSent).toBe(received.length);
    expect(transport.bytesSent).toBe(received.length * (8 + 24 + 16 + 4));
    expect(Object.hasOwn(receiver, "handleRtcpPacket")).toBe(false);
    const after = received.length;
    await sleep(1600);
    expect(received.length).toBe(after);
    // werift's next report seals under the next index, which the server opens
    const next = sender.encrypt(new RtcpRrPacket({ ssrc: receiver.rtcpSsrc, reports: [] }).serialize());
    expect(next.readUInt32BE(next.length - 4)).toBe(0x8000_0000 + 42 + after);
    expect(server_.decrypt(next).length).toBe(8);
    receiving.release(id);
    counts.handBack();
  });

  it("refuses a transport that is not AES-128-GCM, and leaves a receiver with a stream not counted here to werift", async () => {
    const socket = await bound();
    const receiving = nativeReceiving(native());
    const id = receiving.take(socket, ["127.0.0.1", 9], { rtp: () => undefined });
    if (typeof id !== "number") throw new Error(id);
    const inbound = new InboundStream("s", "audio", 48_000);
    const werift = new StreamStatistics(48_000);
    addToStatistics(werift, 1, 0, 12, 80);
    const counts = new NativeStreamCounts(inbound, werift, receiving.clockOffset);
    expect(receiving.stream(id, 7, 16, counts.slot)).toBeUndefined();
    counts.handOver(receiving.counter(id, 7));
    const receiver = new Receiver(1);
    receiver.remoteStreams[7] = werift;
    receiver.remoteStreams[8] = new StreamStatistics(48_000);
    const { sender } = srtcpPair(GCM);
    const gcm = srtcpTransport(sender);
    const cm = srtcpTransport(sender, 0x0001);
    expect(
      new NativeReports(native(), id, cm, receiving.clockOffset).take(receiver, new Map([[7, counts]])),
    ).toMatch(/not AES-128-GCM/);
    // a stream of it not counted here: werift's still, until the next stream's handover asks again
    expect(
      new NativeReports(native(), id, gcm, receiving.clockOffset).take(receiver, new Map([[7, counts]])),
    ).toBeUndefined();
    expect(nativelyReported.has(receiver)).toBe(false);
    receiving.release(id);
    counts.handBack();
  });
});

describe("a receiver whose streams change while the thread reports it", () => {
  it("is taken again with a block for each stream, the SRTCP index going on", async () => {
    const { server, receiving, id } = await takenSocket();
    const first = countedStream(receiving, id, 7, 100, 0);
    const receiver = new Receiver(0x77);
    receiver.remoteStreams[7] = first.werift;
    const { sender, receiver: opener } = srtcpPair(GCM);
    const transport = srtcpTransport(sender);
    const reports = new NativeReports(native(), id, transport, receiving.clockOffset);
    expect(reports.take(receiver, new Map([[7, first.counts]]))).toBeUndefined();
    expect(reports.reports(7)).toBe(true);
    // a second stream comes to the same receiver, and is counted here too
    const second = countedStream(receiving, id, 9, 500, 0);
    receiver.remoteStreams[9] = second.werift;
    const counted = new Map([
      [7, first.counts],
      [9, second.counts],
    ]);
    expect(reports.take(receiver, counted)).toBeUndefined();
    expect(reports.reports(9)).toBe(true);
    expect(nativelyReported.has(receiver)).toBe(true);
    const received: Buffer[] = [];
    server.on("message", (m: Buffer) => received.push(m));
    const deadline = Date.now() + 3000;
    while (received.length === 0 && Date.now() < deadline) await sleep(20);
    const sealed = received[0] ?? Buffer.alloc(4);
    const [rr] = RtcpPacketConverter.deSerialize(opener.decrypt(sealed));
    expect(rr instanceof RtcpRrPacket ? rr.reports.map((b) => b.ssrc) : []).toEqual([7, 9]);
    // werift's index was 0: the first report of either take is sealed under 1
    expect(sealed.readUInt32BE(sealed.length - 4)).toBe(0x8000_0000 + 1);
    reports.give();
    expect(nativelyReported.has(receiver)).toBe(false);
    receiving.release(id);
    first.counts.handBack();
    second.counts.handBack();
  });
});

/** A compound RTCP packet of `packets`, as the server sends one. */
function compound(...packets: { serialize(): Buffer }[]): Buffer {
  return Buffer.concat(packets.map((p) => p.serialize()));
}

/** The server's sender report of `ssrc` at `ntp`, with no report blocks. */
function senderReport(ssrc: number, ntp: bigint): RtcpSrPacket {
  return new RtcpSrPacket({
    ssrc,
    senderInfo: new RtcpSenderInfo({ ntpTimestamp: ntp, rtpTimestamp: 1, packetCount: 2, octetCount: 3 }),
  });
}

/**
 * The server's side of a socket the thread reads: `send` seals a plain compound with the server's
 * SRTCP key (`tamper`: one byte of it flipped) and waits for the thread's tick; `handed` is what
 * came on to the socket's listeners. `sender`: the transport's side of the SRTCP session.
 */
function serverRtcp(socket: Socket, server: Socket) {
  const { sender, receiver: opener } = srtcpPair(GCM);
  const handed: Buffer[] = [];
  socket.on("message", (m: Buffer) => handed.push(m));
  const send = async (plain: Buffer, tamper = false): Promise<void> => {
    const sealed = opener.encrypt(plain);
    if (tamper) sealed[10] = (sealed[10] ?? 0) ^ 1;
    server.send(sealed, socket.address().port, "127.0.0.1");
    await sleep(80);
  };
  return { sender, handed, send };
}

/** A socket the thread reads with one counted stream `ssrc`, whose werift receiver the thread reports. */
async function reportedStream(ssrc: number, rtcpSsrc: number) {
  const taken = await takenSocket();
  const { werift, counts } = countedStream(taken.receiving, taken.id, ssrc, 10, 0);
  const receiver = new Receiver(rtcpSsrc);
  receiver.remoteStreams[ssrc] = werift;
  const server = serverRtcp(taken.socket, taken.server);
  const reports = new NativeReports(
    native(),
    taken.id,
    srtcpTransport(server.sender),
    taken.receiving.clockOffset,
  );
  expect(reports.take(receiver, new Map([[ssrc, counts]]))).toBeUndefined();
  return { ...taken, ...server, counts, receiver, reports };
}

describe("the server's RTCP taken by the native thread (lean-media.c take_rtcp)", () => {
  it("takes a sender report of a reported stream into its slot, hands on what it may not take, and werift learns the last at hand-back", async () => {
    const ssrc = 0x5151;
    const { receiving, id, counts, receiver, reports, handed, send } = await reportedStream(ssrc, 0x99);
    const sdes = (of: number) =>
      new RtcpSourceDescriptionPacket({
        chunks: [
          new SourceDescriptionChunk({
            source: of,
            items: [new SourceDescriptionItem({ type: 1, text: "cname" })],
          }),
        ],
      });
    const takenBefore = native().stats().rtcpTaken;
    const srsBefore = native().stats().rtcpTakenSenderReports;
    const ntp = 0x0102_0304_0506_0708n;
    const before = native().nowMs();
    await send(compound(senderReport(ssrc, ntp), sdes(ssrc)));
    const after = native().nowMs();
    // taken: nothing handed on, werift never saw it, the slot has its LSR and arrival
    expect(handed).toHaveLength(0);
    expect(native().stats().rtcpTaken).toBe(takenBefore + 1);
    expect(native().stats().rtcpTakenSenderReports).toBe(srsBefore + 1);
    const last = counts.lastSr();
    expect(last.lsr).toBe(compactNtp(ntp));
    expect(last.arrivalMs).toBeGreaterThanOrEqual(before);
    expect(last.arrivalMs).toBeLessThanOrEqual(after);
    // handed on: a stream the thread does not report, a receiver report (not a publisher's
    // socket), a compound with anything else in it, a packet that does not open with the key
    await send(compound(senderReport(0x7777, ntp)));
    await send(compound(new RtcpRrPacket({ ssrc: 0x1, reports: [] })));
    await send(compound(senderReport(ssrc, ntp), new RtcpRrPacket({ ssrc: 0x1, reports: [] })));
    await send(compound(senderReport(ssrc, ntp + 1n)), true);
    expect(handed).toHaveLength(4);
    expect(native().stats().rtcpTaken).toBe(takenBefore + 1);
    expect(counts.lastSr().lsr).toBe(compactNtp(ntp));
    // werift reports again: it gets the last sender report the thread took
    const later = 0x0a0b_0c0d_0e0f_1011n;
    await send(compound(senderReport(ssrc, later)));
    expect(handed).toHaveLength(4);
    expect(native().stats().rtcpTakenSenderReports).toBe(srsBefore + 2);
    reports.give(ssrc);
    expect(receiver.lastSRtimestamp[ssrc]).toBe(compactNtp(later));
    expect(Math.abs((receiver.receiveLastSRTimestamp[ssrc] ?? 0) * 1000 - Date.now())).toBeLessThan(500);
    // and takes the next one itself: the thread no longer reports the stream
    await send(compound(senderReport(ssrc, later + 1n)));
    expect(handed).toHaveLength(5);
    receiving.release(id);
    counts.handBack();
  });

  it("leaves werift's sender report at hand-back when werift's came after the thread's", async () => {
    const ssrc = 0x6161;
    const { receiving, id, counts, receiver, reports, send } = await reportedStream(ssrc, 0x98);
    await send(senderReport(ssrc, 0x1111_2222_3333_4444n).serialize());
    expect(counts.lastSr().lsr).toBe(compactNtp(0x1111_2222_3333_4444n));
    // werift's own, later than the thread's (as if it came through werift after)
    receiver.lastSRtimestamp[ssrc] = 0x5555_6666;
    receiver.receiveLastSRTimestamp[ssrc] = Date.now() / 1000 + 5;
    reports.give(ssrc);
    expect(receiver.lastSRtimestamp[ssrc]).toBe(0x5555_6666);
    receiving.release(id);
    counts.handBack();
  });

  it("takes the server's receiver reports and XR on a publisher's socket, and nothing once told to stop", async () => {
    const { socket, server, receiving, id } = await takenSocket();
    const { sender, handed, send } = serverRtcp(socket, server);
    expect(takeRtcp(native(), id, srtcpTransport(sender), TAKE_PUBLISHER_FEEDBACK)).toBe(true);
    const rr = new RtcpRrPacket({
      ssrc: 0x1,
      reports: [
        new RtcpReceiverInfo({
          ssrc: 0x2,
          fractionLost: 0,
          packetsLost: 0,
          highestSequence: 9,
          jitter: 1,
          lsr: 0,
          dlsr: 0,
        }),
      ],
    });
    // an XR (RFC 3611): a receiver reference time block, as LiveKit sends its publishers
    const xr = Buffer.from([0x80, 207, 0, 4, 0, 0, 0, 1, 4, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4]);
    const takenBefore = native().stats().rtcpTaken;
    await send(Buffer.concat([rr.serialize(), xr]));
    expect(handed).toHaveLength(0);
    expect(native().stats().rtcpTaken).toBe(takenBefore + 1);
    // a PLI beside it (payload-specific feedback): werift's
    const pli = Buffer.from([0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]);
    await send(Buffer.concat([rr.serialize(), pli]));
    // a sender report: not taken on this socket
    await send(senderReport(3, 1n).serialize());
    expect(handed).toHaveLength(2);
    native().takeRtcp(id, 0);
    await send(rr.serialize());
    expect(handed).toHaveLength(3);
    expect(native().stats().rtcpTaken).toBe(takenBefore + 1);
    // a transport whose SRTCP is not AES-128-GCM: nothing taken
    const cm = srtcpTransport(sender, 0x0001);
    expect(takeRtcp(native(), id, cm, TAKE_PUBLISHER_FEEDBACK)).toBe(false);
    await send(rr.serialize());
    expect(handed).toHaveLength(4);
    receiving.release(id);
  });
});
