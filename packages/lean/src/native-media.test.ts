import { randomBytes, randomInt } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { describe, expect, it, onTestFinished } from "vitest";
import { nativeAddon } from "../test/native-addon.js";
import { loopbackSockets, waitUntil } from "../test/udp.js";
import { srtcpPair, srtcpTransport, srtpPair } from "../test/srtp.js";
import type { RTCRtpSender } from "werift";
import {
  Message,
  RtcpPacketConverter,
  RtcpSourceDescriptionPacket,
  RtcpSrPacket,
  classes,
  methods,
} from "werift";
import {
  NOT_SENDING_NOW,
  ntpTimestamp,
  rtpHeader,
  rtpHeaderTemplate,
  type DirectRtpWriter,
  type NativeHandoff,
} from "./direct-send.js";
import { NativeAudioStream, type NativeStart, type PublisherSocketCount } from "./native-audio.js";
import {
  buildLeanMedia,
  ipv4Number,
  newSlot,
  readSlot,
  SLOT,
  turnSlot,
  directSends,
  sendsDirect,
  socketFd,
} from "./native-media.js";
import { GcmRtpSealer, rolloverCounter, srtpContextOf, type SrtpContext } from "./srtp-gcm.js";
import { rtpHeaderSize } from "./header-only.js";
import {
  compactNtp,
  nativelyReported,
  reportOnOneClock,
  sdesPacket,
  senderReport,
  type SenderReporting,
} from "./report-clock.js";
import { datagramArrivalMs, nativeArrivalMs, nativeReceiving } from "./native-receive.js";

const GCM = 0x0007;
const SSRC = 0x1234abcd;

const native = nativeAddon();
const bound = loopbackSockets();

describe("the native media path's build", () => {
  it("says why when there is no source to build from", async () => {
    expect(await buildLeanMedia("")).toMatch(/no tools\/lean-media\/lean-media.c/);
  });
  it("reads dotted IPv4 addresses and nothing else", () => {
    expect(ipv4Number("127.0.0.1")).toBe(0x7f000001);
    expect(ipv4Number("255.255.255.255")).toBe(0xffffffff);
    expect(ipv4Number("10.0.0.1")).toBe(0x0a000001);
    for (const bad of ["::1", "1.2.3", "1.2.3.256", "a.b.c.d", "1.2.3.4.5", "", "010.0.0.1", "1.2.3.04"])
      expect(ipv4Number(bad), bad).toBeUndefined();
  });
});

describe("a native stream's slot read in JavaScript", () => {
  it("reads as of one moment for a whole turn with turnSlot (one sender report's fields), afresh with readSlot", async () => {
    const slot = newSlot();
    slot[SLOT.packets] = 5;
    slot[SLOT.timestamp] = 4800;
    expect(turnSlot(slot)).toMatchObject({ packets: 5, timestamp: 4800 });
    // the thread writes a packet under its sequence lock
    slot[SLOT.gen] = 2;
    slot[SLOT.packets] = 6;
    slot[SLOT.timestamp] = 5760;
    expect(turnSlot(slot)).toMatchObject({ packets: 5, timestamp: 4800 });
    expect(readSlot(slot)).toMatchObject({ gen: 2, packets: 6, timestamp: 5760 });
    await Promise.resolve();
    expect(turnSlot(slot)).toMatchObject({ packets: 6, timestamp: 5760 });
  });
});

describe("native sealing against the TypeScript path (the oracle)", () => {
  it("seals every packet to GcmRtpSealer's bytes: random keys, headers with extensions, rollover counters and payloads", () => {
    for (let i = 0; i < 300; i++) {
      const key = randomBytes(16);
      const salt = randomBytes(14);
      const extensions =
        i % 3 === 0
          ? []
          : [
              { id: 1 + (i % 13), payload: randomBytes(1 + (i % 16)) },
              { id: 14, payload: randomBytes(2) },
            ].filter((e, at, all) => all.findIndex((x) => x.id === e.id) === at);
      const template = rtpHeaderTemplate(111, randomInt(0x1_0000_0000), extensions);
      const header = rtpHeader(template, randomInt(0x1_0000), randomInt(0x1_0000_0000), i % 2 === 0);
      const payload = randomBytes(i % 7 === 0 ? 0 : randomInt(1, 1400));
      const roc = [0, 1, 0xffff, 0xffffffff][i % 4] ?? 0;
      const [sealed, tag] = new GcmRtpSealer(key, salt).seal(header, payload, roc);
      expect(native().seal(key, salt, header, payload, roc).toString("hex"), `case ${i}`).toBe(
        Buffer.concat([sealed, tag]).toString("hex"),
      );
    }
  });

  it("refuses a key, salt or header of the wrong size", () => {
    const h = Buffer.alloc(12);
    expect(() => native().seal(Buffer.alloc(15), Buffer.alloc(12), h, Buffer.alloc(1), 0)).toThrow(
      /seal\(key/,
    );
    expect(() => native().seal(Buffer.alloc(16), Buffer.alloc(11), h, Buffer.alloc(1), 0)).toThrow(
      /seal\(key/,
    );
    expect(() =>
      native().seal(Buffer.alloc(16), Buffer.alloc(12), Buffer.alloc(11), Buffer.alloc(1), 0),
    ).toThrow(/seal\(key/);
  });
});

describe("native SRTCP sealing against werift's (the oracle)", () => {
  it("seals receiver reports and compounds to werift's bytes for the same index, across the index's wrap; werift opens each", () => {
    for (let i = 0; i < 200; i++) {
      const { sender, receiver } = srtcpPair(GCM);
      const local = (sender as unknown as { localContext: SrtcpContextFields }).localContext;
      const ssrc = randomInt(0x1_0000_0000);
      // a receiver report with 0-3 blocks, now and then with an SDES after it (a compound)
      const blocks = i % 4;
      const rr = Buffer.alloc(8 + 24 * blocks);
      rr.writeUInt8(0x80 | blocks, 0);
      rr.writeUInt8(201, 1);
      rr.writeUInt16BE(rr.length / 4 - 1, 2);
      rr.writeUInt32BE(ssrc, 4);
      randomBytes(24 * blocks).copy(rr, 8);
      const packet =
        i % 5 === 0 ? Buffer.concat([rr, Buffer.from("81ca000300000001010100", "hex"), Buffer.alloc(1)]) : rr;
      // werift moves the SSRC's index on before sealing: index - 1 before it gives index
      const index = [1, 2, 0x7fff_fffe, 0x7fff_ffff, randomInt(1, 0x7fff_ffff)][i % 5] ?? 1;
      local.setIndex(ssrc, index - 1);
      const werift = sender.encrypt(packet);
      const sealed = native().sealRtcp(local.srtcpSessionKey, local.srtcpSessionSalt, packet, index);
      expect(sealed.toString("hex"), `case ${String(i)}`).toBe(werift.toString("hex"));
      expect(receiver.decrypt(sealed).toString("hex")).toBe(packet.toString("hex"));
    }
    // after 2^31 - 1 werift's next index is 0 (setIndex takes the index modulo 2^31 - 1, so the
    // state is set directly), which seals too
    const { sender } = srtcpPair(GCM);
    const local = (sender as unknown as { localContext: SrtcpContextFields }).localContext;
    const rr = Buffer.from("80c9000100000007", "hex");
    local.getSrtcpSsrcState(7).srtcpIndex = 0x7fff_ffff;
    expect(native().sealRtcp(local.srtcpSessionKey, local.srtcpSessionSalt, rr, 0).toString("hex")).toBe(
      sender.encrypt(rr).toString("hex"),
    );
  });

  it("refuses a key, salt, packet or index out of range", () => {
    const rr = Buffer.from("80c9000100000007", "hex");
    const key = Buffer.alloc(16);
    const salt = Buffer.alloc(12);
    expect(() => native().sealRtcp(Buffer.alloc(15), salt, rr, 1)).toThrow(/sealRtcp\(key/);
    expect(() => native().sealRtcp(key, Buffer.alloc(11), rr, 1)).toThrow(/sealRtcp\(key/);
    expect(() => native().sealRtcp(key, salt, rr.subarray(0, 7), 1)).toThrow(/sealRtcp\(key/);
    expect(() => native().sealRtcp(key, salt, rr, 0x8000_0000)).toThrow(/sealRtcp\(key/);
  });
});

/** What of werift's SRTCP context the tests read and set. */
interface SrtcpContextFields {
  readonly srtcpSessionKey: Buffer;
  readonly srtcpSessionSalt: Buffer;
  setIndex(ssrc: number, index: number): void;
  getSrtcpSsrcState(ssrc: number): { srtcpIndex: number };
}

describe("a native audio sender on loopback", () => {
  it("sends one packet per tick, each the TypeScript path's bytes for its sequence number, timestamp and rollover counter, across a sequence wrap; werift decrypts every one; the slot counts what went", async () => {
    const { sender, receiver } = srtpPair(GCM);
    const context = srtpContextOf(sender, "local");
    if (context === undefined) throw new Error("no local context");
    const into = createSocket("udp4");
    const from = createSocket("udp4");
    into.bind(0, "127.0.0.1");
    from.bind(0, "127.0.0.1");
    await Promise.all([once(into, "listening"), once(from, "listening")]);
    const got: Buffer[] = [];
    into.on("message", (data: Buffer) => got.push(data));

    const loop = [0, 1, 2, 3, 4].map((i) => randomBytes(60 + 20 * i));
    const template = rtpHeaderTemplate(111, SSRC, [{ id: 4, payload: Buffer.from("0") }]);
    const firstSeq = 65530;
    const timestampBase = 0xfffff000;
    const m = native();
    const slot = newSlot();
    const id = m.addSender(
      {
        fd: socketFd(from) ?? -1,
        address: ipv4Number("127.0.0.1") ?? 0,
        port: into.address().port,
        header: template,
        seq: firstSeq,
        timestamp: timestampBase,
        timestampStep: 960,
        tick: 0,
        roc: 0,
        lastSeq: 0,
        rocProcessed: 0,
        key: context.srtpSessionKey,
        salt: context.srtpSessionSalt,
        loop: m.addLoop(loop),
      },
      slot,
    );
    m.start();
    const deadline = Date.now() + 10_000;
    while (got.length < 15 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    m.removeSender(id);
    const reading = readSlot(slot);
    await new Promise((r) => setTimeout(r, 50));
    into.close();
    from.close();

    expect(got.length).toBeGreaterThanOrEqual(15);
    expect(reading.packets).toBe(got.length);
    expect(reading.dropped).toBe(0);
    const oracle = new GcmRtpSealer(context.srtpSessionKey, context.srtpSessionSalt);
    let octets = 0;
    got.forEach((packet, i) => {
      const seq = (firstSeq + i) & 0xffff;
      // a tick the thread skipped after a stall moves the timestamp on, not the sequence number
      const n = ((packet.readUInt32BE(4) - timestampBase) >>> 0) / 960;
      expect(Number.isInteger(n), `packet ${i}`).toBe(true);
      const payload = loop[n % loop.length] ?? Buffer.alloc(0);
      const header = rtpHeader(template, seq, (timestampBase + n * 960) >>> 0, n === 0);
      const [sealed, tag] = oracle.seal(header, payload, rolloverCounter(context, SSRC, seq));
      expect(packet.toString("hex"), `packet ${i} (seq ${seq})`).toBe(
        Buffer.concat([header, sealed, tag]).toString("hex"),
      );
      const clear = receiver.decrypt(packet);
      expect(clear.subarray(clear.length - payload.length).equals(payload), `packet ${i} decrypts`).toBe(
        true,
      );
      octets += payload.length;
    });
    expect(reading.octets).toBe(octets);
    expect(reading.seq).toBe((firstSeq + got.length - 1) & 0xffff);
    // past the wrap: the counter went to 1, as werift's own state for the SSRC did
    expect(reading.roc).toBe(context.getSrtpSsrcState(SSRC).rolloverCounter);
    expect(reading.roc).toBe(1);
    expect(m.stats().wakes).toBeGreaterThan(0);
    // the ticks that sent this stream's packets are in the lateness buckets, on time or not; only
    // ticks with a stream to send are (the buckets first: the thread goes on ticking, and both
    // counts move under one lock)
    const late = m.lateness().reduce((a, b) => a + b, 0);
    const after = m.stats();
    expect(m.lateness()).toHaveLength(101);
    expect(late).toBeGreaterThan(0);
    expect(late).toBeLessThanOrEqual(after.ticks + after.skipped);
    // and its own send jitter: an average of differences between two ticks' lateness, so no more
    // than the latest tick counted (the highest bucket with ticks, whole ms, is that tick's floor)
    const buckets = m.lateness();
    const latest = buckets.reduce((top, n, ms) => (n > 0 ? ms : top), 0);
    const jitter = m.sendJitter();
    expect(jitter).toBeTypeOf("number");
    expect(jitter ?? -1).toBeGreaterThanOrEqual(0);
    expect(jitter ?? Infinity).toBeLessThan(latest + 1);
  }, 20_000);

  it("refuses an fd that is not a UDP socket", () => {
    const m = native();
    expect(() =>
      m.addSender(
        {
          fd: 1,
          address: 0x7f000001,
          port: 9,
          header: Buffer.alloc(12),
          seq: 0,
          timestamp: 0,
          timestampStep: 960,
          tick: 0,
          roc: 0,
          lastSeq: 0,
          rocProcessed: 0,
          key: Buffer.alloc(16),
          salt: Buffer.alloc(12),
          loop: m.addLoop([Buffer.alloc(10)]),
        },
        newSlot(),
      ),
    ).toThrow(/not a UDP socket/);
  });
});

describe("what JavaScript sends on a socket of the native path", () => {
  /** Two bound loopback sockets; `b` records what it receives. */
  const pair = async () => {
    const a = createSocket("udp4");
    const b = createSocket("udp4");
    a.bind(0, "127.0.0.1");
    b.bind(0, "127.0.0.1");
    await Promise.all([once(a, "listening"), once(b, "listening")]);
    const got: { data: Buffer; port: number }[] = [];
    b.on("message", (data, from) => got.push({ data, port: from.port }));
    const close = (): void => {
      for (const s of [a, b]) {
        try {
          s.close();
        } catch {
          // closed already
        }
      }
    };
    return { a, b, to: b.address().port, got, close };
  };

  it("goes out through sendTo in werift's form, byte for byte; dgram's other forms are dgram's; a closed socket throws as dgram does", async () => {
    const { a, to, got, close } = await pair();
    sendsDirect(a, native());
    sendsDirect(a, native()); // a second call changes nothing
    const sent = [randomBytes(1), randomBytes(1200), Buffer.alloc(0), randomBytes(48)];
    const before = { ...directSends };

    for (const data of sent) a.send(data, to, "127.0.0.1");
    expect(directSends.sent - before.sent).toBe(sent.length);
    // dgram's forms with a callback, an offset or a name to resolve are dgram's
    const viaDgram = randomBytes(20);
    await new Promise<void>((resolve, reject) => {
      a.send(viaDgram, to, "127.0.0.1", (err) => {
        if (err) reject(err);
        else resolve();
      });
    });
    a.send(viaDgram, 0, 10, to, "127.0.0.1");
    a.send(viaDgram, to, "localhost");
    a.send(viaDgram.subarray(0, 3), to, "127.0.0.1", undefined); // dgram's "no callback"
    expect(directSends.sent - before.sent).toBe(sent.length);
    await expect.poll(() => got.length, { timeout: 5_000 }).toBe(sent.length + 4);
    expect(got.slice(0, sent.length).map((g) => g.data)).toEqual(sent);
    expect(got.every((g) => g.port === a.address().port)).toBe(true);
    // in dgram's own order: the name's lookup may finish after the later literal's
    expect(
      got
        .slice(sent.length)
        .map((g) => g.data.length)
        .sort((x, y) => x - y),
    ).toEqual([3, 10, 20, 20]);
    // once dgram's sends have completed, werift's form goes direct again
    a.send(randomBytes(5), to, "127.0.0.1");
    expect(directSends.sent - before.sent).toBe(sent.length + 1);

    close();
    expect(() => {
      a.send(randomBytes(8), to, "127.0.0.1");
    }).toThrow(expect.objectContaining({ code: "ERR_SOCKET_DGRAM_NOT_RUNNING" }) as Error);
    expect(directSends.sent - before.sent).toBe(sent.length + 1);
    expect(() => native().sendTo(1, Buffer.alloc(1), 0x7f000001, 0)).toThrow(/port: 1-65535/);
  });

  it("sends nothing ahead of a datagram the kernel refused: it goes to dgram, and so does every send until dgram has sent it", async () => {
    const { a, to, got, close } = await pair();
    let refuse = 1;
    sendsDirect(a, {
      sendTo: (fd, data, address, port) => (refuse-- > 0 ? -11 : native().sendTo(fd, data, address, port)),
    });
    const before = { ...directSends };
    const order = ["refused", "next", "after"].map((word) => Buffer.from(word));
    for (const data of order) a.send(data, to, "127.0.0.1");
    expect(directSends.handedToDgram - before.handedToDgram).toBe(1);
    // dgram holds the refused one for its address lookup: sent direct, the others would arrive first
    expect(directSends.sent - before.sent).toBe(0);
    await expect.poll(() => got.length, { timeout: 5_000 }).toBe(3);
    expect(got.map((g) => g.data.toString())).toEqual(["refused", "next", "after"]);
    a.send(Buffer.from("direct"), to, "127.0.0.1");
    expect(directSends.sent - before.sent).toBe(1);
    await expect.poll(() => got.length, { timeout: 5_000 }).toBe(4);
    close();
  });

  it("reports errors as dgram does: a refused send with no callback is silent, a failed lookup is the socket's error", async () => {
    const direct = await pair();
    const plain = await pair();
    sendsDirect(direct.a, native());
    const errors: Record<"direct" | "plain", string[]> = { direct: [], plain: [] };
    direct.a.on("error", (err: NodeJS.ErrnoException) =>
      errors.direct.push(`${err.syscall ?? ""} ${err.code ?? ""}`),
    );
    plain.a.on("error", (err: NodeJS.ErrnoException) =>
      errors.plain.push(`${err.syscall ?? ""} ${err.code ?? ""}`),
    );
    const before = { ...directSends };
    // the kernel refuses a broadcast without SO_BROADCAST (EACCES)
    direct.a.send(randomBytes(8), direct.to, "255.255.255.255");
    plain.a.send(randomBytes(8), plain.to, "255.255.255.255");
    expect(directSends.handedToDgram - before.handedToDgram).toBe(1);
    // a name that cannot resolve (RFC 6761's .invalid)
    direct.a.send(randomBytes(8), direct.to, "no-such-host.invalid");
    plain.a.send(randomBytes(8), plain.to, "no-such-host.invalid");
    await expect.poll(() => errors.plain.length, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => errors.direct.length, { timeout: 10_000 }).toBe(1);
    expect(errors.direct).toEqual(errors.plain);
    expect(errors.direct[0]).toMatch(/^getaddrinfo /);
    direct.close();
    plain.close();
  }, 20_000);
});

describe("a subscriber socket read by the native thread", () => {
  it("hands each registered stream's packet over as the TypeScript path reads its header, and gives every other datagram (a registered stream's from elsewhere too) to the socket's listeners with its arrival time; the socket goes back to libuv on release", async () => {
    const m = native();
    const receiving = nativeReceiving(m);
    const into = createSocket("udp4");
    const server = createSocket("udp4");
    const stranger = createSocket("udp4");
    for (const s of [into, server, stranger]) s.bind(0, "127.0.0.1");
    await Promise.all([into, server, stranger].map((s) => once(s, "listening")));
    const raw: { data: Buffer; port: number; arrivalMs: number; kernel: boolean }[] = [];
    into.on("message", (data: Buffer, from: { port: number }) =>
      raw.push({
        data,
        port: from.port,
        arrivalMs: datagramArrivalMs(),
        kernel: nativeArrivalMs() !== undefined,
      }),
    );
    const rtp: {
      ssrc: number;
      seq: number;
      ts: number;
      header: number;
      payload: number;
      wire: number;
      arrivalMs: number;
    }[] = [];
    const id = receiving.take(into, ["127.0.0.1", server.address().port], {
      rtp(ssrc, seq, ts, header, payload, wire, arrivalMs) {
        rtp.push({ ssrc, seq, ts, header, payload, wire, arrivalMs });
      },
    });
    if (typeof id === "string") throw new Error(id);
    receiving.payloadTypes(id, [111]);
    expect(receiving.stream(id, SSRC, 16)).toBeUndefined();
    // the kernel turns receive timestamps on for the whole stack a moment after the first socket
    // asks (a static key, flipped from a work queue); until then a datagram is stamped when read
    await new Promise((r) => setTimeout(r, 100));

    // the oracle: what the TypeScript path reads of each packet (header-only.ts)
    const packets: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const extensions = i % 3 === 0 ? [] : [{ id: 1 + (i % 14), payload: randomBytes(1 + (i % 16)) }];
      const header = rtpHeader(rtpHeaderTemplate(111, SSRC, extensions), 65500 + i, 1000 + 960 * i, i === 0);
      packets.push(Buffer.concat([header, randomBytes(20 + i), randomBytes(16)]));
    }
    const padded = Buffer.from(packets[1] ?? Buffer.alloc(0));
    padded[0] = (padded[0] ?? 0) | 0x20;
    const otherType = rtpHeader(rtpHeaderTemplate(96, SSRC, []), 7, 7, false);
    const otherSsrc = rtpHeader(rtpHeaderTemplate(111, 0x0bad0bad, []), 8, 8, false);
    const rtcp = Buffer.from([0x81, 0xc9, 0x00, 0x01, 0, 0, 0, 1]);
    const stun = Buffer.concat([
      Buffer.from([0x01, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]),
      randomBytes(12),
    ]);
    const serverPort = server.address().port;
    const strangerPort = stranger.address().port;
    const before = performance.now();
    const send = (s: typeof server, data: Buffer) =>
      new Promise<void>((resolve, reject) => {
        s.send(data, into.address().port, "127.0.0.1", (err) => {
          if (err) reject(err);
          else resolve();
        });
      });
    for (const p of packets) await send(server, p);
    for (const p of [padded, otherType, otherSsrc, rtcp, stun]) await send(server, p);
    await send(stranger, packets[2] ?? Buffer.alloc(0));
    const deadline = Date.now() + 5000;
    while ((rtp.length < 40 || raw.length < 6) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const after = performance.now();
    receiving.release(id);
    // back on libuv: a datagram now reaches the listener at once, with no native arrival
    await send(server, stun);
    await new Promise((r) => setTimeout(r, 50));
    for (const s of [into, server, stranger]) s.close();

    expect(rtp.map((r) => [r.ssrc, r.seq, r.ts, r.header, r.payload, r.wire])).toEqual(
      packets.map((p) => {
        const header = rtpHeaderSize(p);
        return [SSRC, p.readUInt16BE(2), p.readUInt32BE(4), header, p.length - 16 - header, p.length];
      }),
    );
    // the stranger's copy of a registered stream's packet is the socket listeners' to judge
    expect(raw.slice(0, 6).map((r) => r.data.toString("hex"))).toEqual(
      [padded, otherType, otherSsrc, rtcp, stun, packets[2] ?? Buffer.alloc(0)].map((p) => p.toString("hex")),
    );
    expect(raw.map((r) => r.port)).toEqual([
      ...raw.slice(0, 5).map(() => serverPort),
      strangerPort,
      serverPort,
    ]);
    expect(raw.map((r) => r.kernel)).toEqual([true, true, true, true, true, true, false]);
    expect(raw).toHaveLength(7);
    // arrival: the kernel's, between the first send and the read, in order; after the release
    // the listener's own time
    expect(raw[6]?.arrivalMs ?? 0).toBeGreaterThan(after);
    for (const r of [...rtp, ...raw.slice(0, 6)]) {
      expect(r.arrivalMs).toBeGreaterThanOrEqual(before - 1);
      expect(r.arrivalMs).toBeLessThanOrEqual(after);
    }
    const arrivals = rtp.map((r) => r.arrivalMs);
    expect(arrivals).toEqual([...arrivals].sort((a, b) => a - b));
  }, 20_000);
});

describe("a native audio stream held to werift's state", () => {
  // the thread sends a sender's reports only where werift's run on the process's report clock (a
  // lean participant installs it when it connects)
  reportOnOneClock();

  /**
   * A stream on the native path whose writer's handoff is `handoff()` at each check and whose werift
   * sender is `werift`, from packet 1 at timestamp 0 unless `start` says otherwise.
   */
  const startStream = (
    handoff: () => NativeHandoff | string,
    werift: object,
    {
      loop = [randomBytes(30)],
      start = { sequenceNumber: 1, timestampBase: 0, timestampStep: 960, tick: 0 },
      count,
    }: { loop?: readonly Buffer[]; start?: NativeStart; count?: PublisherSocketCount } = {},
  ): NativeAudioStream => {
    const stream = NativeAudioStream.start(
      native(),
      fakeWriter(handoff),
      werift as unknown as RTCRtpSender,
      loop,
      start,
      count,
    );
    if (typeof stream === "string") throw new Error(stream);
    return stream;
  };

  /** werift's sender as the stream reads it, nothing sent yet, with `more`. */
  const weriftSender = <T extends object>(more: T) => ({
    ssrc: SSRC,
    packetCount: 0,
    octetCount: 0,
    headerBytesSent: 0,
    rtpTimestamp: 0,
    ...more,
  });
  /** A werift AES-GCM SRTP session: the sender's local context (its keys, its SSRCs' counters) and the receiving end. */
  const gcmSession = () => {
    const { sender, receiver } = srtpPair(GCM);
    const context = srtpContextOf(sender, "local");
    if (context === undefined) throw new Error("no local context");
    return { context, receiver };
  };
  /** A DirectRtpWriter as NativeAudioStream reads it: `handoff` is what it says now. */
  const fakeWriter = (handoff: () => NativeHandoff | string) =>
    ({ nativeHandoff: handoff }) as unknown as DirectRtpWriter;
  /** A handoff of an SSRC's first packet on `pair`: sent on `from` to `to`, sealed under `context`'s keys. */
  const handoffOf = (context: SrtpContext, from: Socket, to: Socket, pair: object): NativeHandoff => ({
    pair,
    socket: from,
    remote: ["127.0.0.1", to.address().port],
    header: rtpHeaderTemplate(111, SSRC, []),
    key: context.srtpSessionKey,
    salt: context.srtpSessionSalt,
    context,
    roc: 0,
    lastSeq: 0,
    rocProcessed: false,
    seqOffset: 0,
    timestampOffset: 0,
  });

  it("moves to a new pair past a sequence wrap with the rollover counter it reached (werift decrypts every packet on both sockets), keeps werift's sender counts, and goes back to the TypeScript path when the pair is no longer UDP", async () => {
    const { context, receiver } = gcmSession();
    const sockets = [0, 1, 2, 3].map(() => createSocket("udp4"));
    for (const s of sockets) s.bind(0, "127.0.0.1");
    await Promise.all(sockets.map((s) => once(s, "listening")));
    const [intoA, intoB, fromA, fromB] = sockets;
    if (intoA === undefined || intoB === undefined || fromA === undefined || fromB === undefined) return;
    const got: { on: "A" | "B"; data: Buffer }[] = [];
    intoA.on("message", (data: Buffer) => got.push({ on: "A", data }));
    intoB.on("message", (data: Buffer) => got.push({ on: "B", data }));
    const handoff = (from: Socket, to: Socket, pair: object) => handoffOf(context, from, to, pair);
    let now: NativeHandoff | string = handoff(fromA, intoA, {});
    const werift = weriftSender({});
    const loop = [randomBytes(50), randomBytes(70)];
    const stream = startStream(() => now, werift, {
      loop,
      start: { sequenceNumber: 65530, timestampBase: 5000, timestampStep: 960, tick: 0 },
    });
    // not asked to read the publisher's socket (no count given): libuv reads it
    expect(stream.readsSocket).toBe(false);
    const wait = (n: number) => waitUntil(() => got.length >= n, 5000);
    await wait(12); // past the wrap on A
    now = handoff(fromB, intoB, {});
    stream.check();
    const movedAt = got.length;
    await wait(movedAt + 8);
    let resumed: { sequenceNumber: number; tick: number } | undefined;
    stream.onGiveUp = (next) => {
      resumed = next;
    };
    now = "the pair is not a UDP socket";
    // werift read the sender's fields earlier in this turn (a sender report, getStats) and the
    // thread sent on since: what werift gets back is the thread's last packet, not that reading
    const readEarlier = werift.packetCount;
    const until = performance.now() + 70;
    while (performance.now() < until); // the thread's ticks, not this turn's
    stream.check();
    expect(werift.packetCount).toBeGreaterThan(readEarlier);
    await new Promise((r) => setTimeout(r, 60));
    for (const s of sockets) s.close();

    // in the order the thread sent them (packet n carries timestamp 5000 + 960 n): a datagram it
    // sent on A just before the move can reach its listener after the move (a clean-clone run beside
    // two busy cores had A's 13th packet arrive after the check that counted 12)
    const nth = (g: { data: Buffer }) => ((g.data.readUInt32BE(4) - 5000) >>> 0) / 960;
    const sent = [...got].sort((x, y) => nth(x) - nth(y));
    const onB = sent.filter((g) => g.on === "B");
    expect(onB.length).toBeGreaterThanOrEqual(8);
    // every packet, on either socket, in sequence, decrypts with werift's own session (its
    // rollover counter followed from the packets): after the move too
    sent.forEach((g, i) => {
      expect(g.data.readUInt16BE(2), `packet ${i}`).toBe((65530 + i) & 0xffff);
      let clear: Buffer | undefined;
      expect(() => (clear = receiver.decrypt(g.data)), `packet ${i} on ${g.on}`).not.toThrow();
      // packet n carries the loop's payload n, after the 12-byte header
      const n = ((g.data.readUInt32BE(4) - 5000) >>> 0) / 960;
      expect(clear?.subarray(12).toString("hex"), `packet ${i}`).toBe(loop[n % 2]?.toString("hex"));
    });
    // A until the check moved it, B from then on: none on B before it, every one after it
    const firstB = sent.findIndex((g) => g.on === "B");
    expect(firstB).toBeGreaterThanOrEqual(movedAt);
    expect(sent.map((g) => g.on)).toEqual(sent.map((_, i) => (i < firstB ? "A" : "B")));
    expect(sent.slice(firstB).some((g) => g.data.readUInt16BE(2) > 100)).toBe(false);
    // werift's sender counted every packet, and has plain fields and the SSRC's counter back
    expect(werift.packetCount).toBe(got.length);
    expect(Object.getOwnPropertyDescriptor(werift, "packetCount")?.writable).toBe(true);
    expect(context.getSrtpSsrcState(SSRC).rolloverCounter).toBe(1);
    // the TypeScript path takes the stream on from the next packet
    const last = sent[sent.length - 1]?.data;
    expect(resumed?.sequenceNumber).toBe(((last?.readUInt16BE(2) ?? 0) + 1) & 0xffff);
    expect(resumed?.tick).toBe((((last?.readUInt32BE(4) ?? 0) - 5000) >>> 0) / 960 + 1);
  }, 20_000);

  it("reads the publisher's socket when asked: the server's datagrams reach werift's listeners with the kernel's arrival, its keepalives are answered by the thread into the pair's counts, and libuv reads the socket again on a move, a pause and the stop", async () => {
    const m = native();
    const { context } = gcmSession();
    const [pubA, serverA, pubB, serverB] = await Promise.all([bound(), bound(), bound(), bound()]);
    const started: { stream?: NativeAudioStream } = {};
    // on a failed expectation too: nothing left taken (the sockets close after each test)
    onTestFinished(() => started.stream?.stop());
    // what the publisher's listeners (werift's) get, and whether the thread read it (its arrival)
    const heard: { on: "A" | "B"; text: string; native: boolean }[] = [];
    pubA.on("message", (data: Buffer) =>
      heard.push({ on: "A", text: data.toString(), native: nativeArrivalMs() !== undefined }),
    );
    pubB.on("message", (data: Buffer) =>
      heard.push({ on: "B", text: data.toString(), native: nativeArrivalMs() !== undefined }),
    );
    const answers: Buffer[] = [];
    for (const server of [serverA, serverB])
      server.on("message", (data: Buffer) => {
        if (data[0] === 0x01 && data[1] === 0x01) answers.push(data);
      });
    const connection = {
      localUsername: "pUbA",
      localPassword: "publisher-password-0123",
      iceControlling: true,
    };
    const pairA = { requestsReceived: 0, responsesSent: 0 };
    const pairB = { requestsReceived: 0, responsesSent: 0 };
    const handoff = (from: Socket, to: Socket, pair: object) => handoffOf(context, from, to, pair);
    let now: NativeHandoff | string = handoff(pubA, serverA, pairA);
    const werift = weriftSender({ dtlsTransport: { iceTransport: { connection } } });
    const count: PublisherSocketCount = {};
    const stream = startStream(() => now, werift, { loop: [randomBytes(40)], count });
    started.stream = stream;
    const say = async (from: typeof pubA, to: typeof pubA, text: string) => {
      from.send(text, to.address().port, "127.0.0.1");
      await waitUntil(() => heard.some((h) => h.text === text), 3000);
      return heard.find((h) => h.text === text);
    };
    // the server's keepalive on the selected pair, as LiveKit's controlled agent signs it
    const keepalive = (): Buffer => {
      const request = new Message(methods.BINDING, classes.REQUEST, randomBytes(12));
      request.setAttribute("USERNAME", `${connection.localUsername}:srv1`);
      request.setAttribute("ICE-CONTROLLED", 5n);
      return request.addMessageIntegrity(Buffer.from(connection.localPassword, "utf8")).addFingerprint()
        .bytes;
    };

    expect(stream.readsSocket).toBe(true);
    expect(await say(serverA, pubA, "rr-1")).toEqual({ on: "A", text: "rr-1", native: true });
    serverA.send(keepalive(), pubA.address().port, "127.0.0.1");
    await waitUntil(() => answers.length > 0, 3000);
    stream.check();
    // answered by the thread with binding.ts's 64 bytes (native-keepalives.test.ts), never heard by werift
    expect(answers.map((a) => a.length)).toEqual([64]);
    expect(heard.map((h) => h.text)).toEqual(["rr-1"]);
    expect(count.keepalives).toBe(1);
    expect(pairA).toEqual({ requestsReceived: 1, responsesSent: 1 });
    // one reader a socket: a second taker is refused
    expect(
      nativeReceiving(m).take(pubA, ["127.0.0.1", serverA.address().port], { rtp: () => undefined }),
    ).toBe("the thread reads the socket already");

    // a new pair: the thread reads its socket; libuv the old one again
    now = handoff(pubB, serverB, pairB);
    stream.check();
    expect(await say(serverB, pubB, "rr-2")).toEqual({ on: "B", text: "rr-2", native: true });
    expect(await say(serverA, pubA, "old-1")).toEqual({ on: "A", text: "old-1", native: false });
    // new credentials (werift's, after an ICE restart): the thread answers with them from the next check
    connection.localUsername = "pUbB";
    connection.localPassword = "restarted-password-4567";
    stream.check();
    serverB.send(keepalive(), pubB.address().port, "127.0.0.1");
    await waitUntil(() => answers.length > 1, 3000);
    stream.check();
    expect(answers.map((a) => a.length)).toEqual([64, 64]);
    expect(pairB).toEqual({ requestsReceived: 1, responsesSent: 1 });
    // werift may not send now: libuv reads, and the thread again once it may
    now = NOT_SENDING_NOW;
    stream.check();
    expect(stream.readsSocket).toBe(false);
    expect(await say(serverB, pubB, "paused-1")).toEqual({ on: "B", text: "paused-1", native: false });
    now = handoff(pubB, serverB, pairB);
    stream.check();
    expect(await say(serverB, pubB, "resumed-1")).toEqual({ on: "B", text: "resumed-1", native: true });
    // the pair no longer a UDP one: the stream gives up (and stops), and libuv reads the socket
    now = "the pair is not a UDP socket";
    stream.check();
    expect(stream.readsSocket).toBe(false);
    expect(await say(serverB, pubB, "gave-up-1")).toEqual({ on: "B", text: "gave-up-1", native: false });
    expect(count).toEqual({ taken: 3, keepalives: 2 });
    expect(heard.filter((h) => h.text.startsWith("\u0000"))).toEqual([]);
  }, 20_000);

  it("sends werift's sender reports from the thread: the counts and timestamp of the packets before each, its NTP time, the CNAME; werift gets the SRTCP index, the last report and its send counts back", async () => {
    const m = native();
    const { context, receiver: opener } = gcmSession();
    const { sender: srtcp, receiver: srtcpOpener } = srtcpPair(GCM);
    const [from, into] = await Promise.all([bound(), bound()]);
    const got: Buffer[] = [];
    into.on("message", (data: Buffer) => got.push(data));
    const transport = srtcpTransport(srtcp);
    transport.packetsSent = 3;
    transport.bytesSent = 300;
    // werift's counts when the stream was handed over: the reports count on from them
    const werift = {
      ssrc: SSRC,
      packetCount: 7,
      octetCount: 700,
      headerBytesSent: 84,
      rtpTimestamp: 0,
      cname: "lean-cname-é",
      rtcpRunning: true,
      stopped: false,
      lastSRtimestamp: 0,
      lastSentSRTimestamp: 0,
      dtlsTransport: transport,
    };
    // werift's SRTCP index for the SSRC when the thread takes the reports over
    srtcp.localContext.getSrtcpSsrcState(SSRC).srtcpIndex = 41;
    const loop = [randomBytes(30), randomBytes(45), randomBytes(60)];
    const startedMs = Date.now();
    // one pair throughout: the 250 ms check would move the stream to a new one
    const handoff = handoffOf(context, from, into, {});
    const stream = startStream(() => handoff, werift, {
      loop,
      start: { sequenceNumber: 100, timestampBase: 9000, timestampStep: 960, tick: 0 },
    });
    onTestFinished(() => {
      stream.stop();
    });
    expect(stream.reportsRefused).toBeUndefined();
    expect(nativelyReported.has(werift)).toBe(true);
    const sentBefore = m.stats().senderReports;
    const isReport = (d: Buffer) => d[1] === 200;
    await waitUntil(() => got.filter(isReport).length >= 2, 6000);
    // meanwhile werift reads the thread's last report (its round trip would, from a server receiver report)
    const live = { lsr: werift.lastSRtimestamp, sentS: werift.lastSentSRTimestamp, at: Date.now() };
    stream.stop();
    await new Promise((r) => setTimeout(r, 30)); // a report sent just before the stop, still on its way
    expect(nativelyReported.has(werift)).toBe(false);
    const reports = got.filter(isReport);
    expect(reports.length).toBeGreaterThanOrEqual(2);
    const ntps: bigint[] = [];
    reports.forEach((datagram, k) => {
      // sealed under the SSRC's next index after werift's, E flag set
      expect(datagram.readUInt32BE(datagram.length - 4), `report ${k}`).toBe((0x8000_0000 | (42 + k)) >>> 0);
      const plain = srtcpOpener.decrypt(datagram);
      const [sr, sdes, ...rest] = RtcpPacketConverter.deSerialize(plain);
      expect(rest).toEqual([]);
      if (!(sr instanceof RtcpSrPacket) || !(sdes instanceof RtcpSourceDescriptionPacket))
        throw new Error(`report ${k} is not an SR and an SDES`);
      expect(sr.ssrc).toBe(SSRC);
      expect(sr.reports).toEqual([]);
      expect(sdes.chunks[0]?.source).toBe(SSRC);
      expect(sdes.chunks[0]?.items[0]?.text).toBe("lean-cname-é");
      // the packets the thread sent before it on the same socket, in order
      const before = got.slice(0, got.indexOf(datagram)).filter((d) => !isReport(d));
      const payloads = before.map((d) => opener.decrypt(d).subarray(12).length);
      expect(sr.senderInfo.packetCount, `report ${k}`).toBe(7 + before.length);
      expect(sr.senderInfo.octetCount, `report ${k}`).toBe(700 + payloads.reduce((a, b) => a + b, 0));
      expect(sr.senderInfo.rtpTimestamp, `report ${k}`).toBe(before[before.length - 1]?.readUInt32BE(4));
      // the last packet's send time, as werift's NTP clock reads it: within the test's time
      const ntp = sr.senderInfo.ntpTimestamp;
      const unixMs = (Number(ntp >> 32n) + Number(ntp & 0xffff_ffffn) / 2 ** 32) * 1000 - 2_208_988_800_000;
      expect(unixMs).toBeGreaterThanOrEqual(startedMs - 5);
      expect(unixMs).toBeLessThanOrEqual(Date.now() + 5);
      ntps.push(ntp);
    });
    // werift goes on from the thread's last report: index, LSR, its time; its transport counts them
    expect(srtcp.localContext.getSrtcpSsrcState(SSRC).srtcpIndex).toBe(41 + reports.length);
    expect(werift.lastSRtimestamp).toBe(compactNtp(ntps[ntps.length - 1] ?? 0n));
    expect(Math.abs(werift.lastSentSRTimestamp * 1000 - Date.now())).toBeLessThan(3000);
    expect(transport.packetsSent).toBe(3 + reports.length);
    expect(transport.bytesSent).toBe(300 + reports.reduce((n, d) => n + d.length, 0));
    // the thread's counts in the addon's stats: these reports and no others
    expect(m.stats().senderReports - sentBefore).toBe(reports.length);
    // what werift read while the thread reported was one of its reports, the last one then
    expect(ntps.map(compactNtp)).toContain(live.lsr);
    expect(Math.abs(live.sentS * 1000 - live.at)).toBeLessThan(1600);
  }, 20_000);

  it("sends the sender reports on across a move to a new pair (the SRTCP index going on) and a new DTLS handshake (the new key, its context's index)", async () => {
    const first = gcmSession();
    const second = gcmSession();
    const keys = [srtcpPair(GCM), srtcpPair(GCM)];
    const [fromA, intoA, fromB, intoB] = await Promise.all([bound(), bound(), bound(), bound()]);
    const got: { on: "A" | "B"; data: Buffer }[] = [];
    intoA.on("message", (data: Buffer) => got.push({ on: "A", data }));
    intoB.on("message", (data: Buffer) => got.push({ on: "B", data }));
    const transport = srtcpTransport(keys[0]?.sender);
    const werift = weriftSender({
      rtcpRunning: true,
      stopped: false,
      lastSRtimestamp: 0,
      lastSentSRTimestamp: 0,
      dtlsTransport: transport,
    });
    const onA = handoffOf(first.context, fromA, intoA, {});
    let now: NativeHandoff | string = onA;
    const stream = startStream(() => now, werift);
    onTestFinished(() => {
      stream.stop();
    });
    const reports = (on: "A" | "B") => got.filter((g) => g.on === on && g.data[1] === 200).map((g) => g.data);
    await waitUntil(() => reports("A").length >= 1, 6000);
    // werift may not send (DTLS down, no consent): neither packets nor reports for longer than
    // the reports' widest spacing
    now = NOT_SENDING_NOW;
    stream.check();
    await new Promise((r) => setTimeout(r, 60));
    const pausedAt = got.length;
    await new Promise((r) => setTimeout(r, 1600));
    expect(got.slice(pausedAt), "sent while paused").toEqual([]);
    now = onA;
    stream.check();
    // a new selected pair: the stream and its reports move to socket B, the index going on
    const onB = handoffOf(first.context, fromB, intoB, {});
    now = onB;
    stream.check();
    const reportsOnA = reports("A").length;
    await waitUntil(() => reports("B").length >= 1, 6000);
    // a new DTLS handshake: new SRTP and SRTCP keys, the new SRTCP context's index from 0
    (transport as { srtcp: unknown }).srtcp = keys[1]?.sender;
    now = {
      ...onB,
      context: second.context,
      key: second.context.srtpSessionKey,
      salt: second.context.srtpSessionSalt,
    };
    stream.check();
    const beforeRekey = reports("B").length;
    await waitUntil(() => reports("B").length >= beforeRekey + 1, 6000);
    stream.stop();
    const a = reports("A");
    const b = reports("B");
    expect(a.length, "reports on A").toBeGreaterThanOrEqual(1);
    expect(b.length, "reports on B").toBeGreaterThanOrEqual(beforeRekey + 1);
    // none on A after the move (one in flight at the move may still land)
    expect(a.length).toBeLessThanOrEqual(reportsOnA + 1);
    const index = (d: Buffer) => d.readUInt32BE(d.length - 4) & 0x7fff_ffff;
    // on A and on B before the re-key: the first handshake's key, indices 1, 2, ... without a gap or a repeat
    const firstKey = [...a, ...b.slice(0, beforeRekey)];
    expect(firstKey.map(index)).toEqual(firstKey.map((_, i) => i + 1));
    for (const d of firstKey) expect(() => keys[0]?.receiver.decrypt(d)).not.toThrow();
    // after it: the new key, its context's indices from 1
    const secondKey = b.slice(beforeRekey);
    expect(secondKey.map(index)).toEqual(secondKey.map((_, i) => i + 1));
    for (const d of secondKey) {
      expect(() => keys[1]?.receiver.decrypt(d)).not.toThrow();
      expect(() => keys[0]?.receiver.decrypt(d)).toThrow();
    }
    // werift's new context goes on from the thread's last index; the old one kept what it reached
    expect(keys[1]?.sender.localContext.getSrtcpSsrcState(SSRC).srtcpIndex).toBe(secondKey.length);
    expect(keys[0]?.sender.localContext.getSrtcpSsrcState(SSRC).srtcpIndex).toBe(firstKey.length);
  }, 30_000);

  it("leaves the sender reports to werift where its reports have not started or the SRTCP is not AES-128-GCM", async () => {
    const { context } = gcmSession();
    const [from, into] = await Promise.all([bound(), bound()]);
    const start = (rtcpRunning: boolean, profile: number) => {
      const werift = weriftSender({
        rtcpRunning,
        stopped: false,
        dtlsTransport: srtcpTransport(srtcpPair(GCM).sender, profile),
      });
      const handoff = handoffOf(context, from, into, {});
      const stream = startStream(() => handoff, werift);
      const reported = nativelyReported.has(werift);
      // werift's reports start with its first packet: the next check hands them to the thread
      werift.rtcpRunning = true;
      stream.check();
      const later = nativelyReported.has(werift);
      stream.stop();
      return { refused: stream.reportsRefused, reported, later };
    };
    expect(start(false, GCM)).toEqual({ refused: undefined, reported: false, later: true });
    expect(start(true, 0x0001)).toEqual({
      refused: "sender reports: the transport's SRTCP is not AES-128-GCM",
      reported: false,
      later: false,
    });
    expect(start(true, GCM)).toEqual({ refused: undefined, reported: true, later: true });
  });
});

describe("werift's sender report built by the native thread against report-clock.ts's (the oracle)", () => {
  it("is werift's bytes for random counts, timestamps, send times and CNAMEs", () => {
    const m = native();
    for (let i = 0; i < 300; i++) {
      const ssrc = randomInt(0, 2 ** 32);
      const sentMs = Math.random() * 1e9;
      const epochMs = 1.7e12 + Math.random() * 1e11;
      const timestamp = randomInt(0, 2 ** 32);
      const packets = i % 10 === 0 ? 2 ** 32 - 1 : randomInt(0, 2 ** 32);
      const octets = randomInt(0, 2 ** 32);
      const cname =
        i % 7 === 0 ? undefined : randomBytes(randomInt(1, 40)).toString("base64").slice(0, randomInt(1, 50));
      const werift = {
        ssrc,
        ntpTimestamp: ntpTimestamp(sentMs + epochMs),
        rtpTimestamp: timestamp,
        packetCount: packets,
        octetCount: octets,
        cname,
        lastSRtimestamp: 0,
        lastSentSRTimestamp: 0,
      };
      const expected = Buffer.concat(
        senderReport(werift as unknown as SenderReporting, 0).map((p) => p.serialize()),
      );
      const sdes = cname === undefined ? Buffer.alloc(0) : sdesPacket(ssrc, cname).serialize();
      const built = m.senderReport(ssrc, sentMs, epochMs, timestamp, packets, octets, sdes);
      expect(built.toString("hex"), `case ${i}`).toBe(expected.toString("hex"));
    }
  });
});
