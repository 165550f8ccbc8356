import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { RtpHeader, RtpPacket, type SrtpSession } from "werift";
import { srtpPair } from "../test/srtp.js";
import { rtpHeader, rtpHeaderTemplate } from "./direct-send.js";
import {
  GcmPayloadOpener,
  GcmRtpSealer,
  OPEN_PREFIX_BYTES,
  rolloverCounter,
  rolloverMatters,
  srtpContextOf,
} from "./srtp-gcm.js";

const GCM = 0x0007;

interface Cipher {
  encryptRtp(header: RtpHeader, payload: Buffer, rolloverCounter: number): Buffer;
}
interface Context {
  srtpSessionKey: Buffer;
  srtpSessionSalt: Buffer;
  cipher: Cipher;
}
const contextOf = (session: SrtpSession): Context =>
  (session as unknown as { localContext: Context }).localContext;

describe("GcmRtpSealer", () => {
  it("seals a packet to the bytes werift's AES-GCM cipher writes, at any rollover counter", () => {
    const { sender } = srtpPair(GCM);
    const context = contextOf(sender);
    const sealer = new GcmRtpSealer(context.srtpSessionKey, context.srtpSessionSalt);
    const mid = [{ id: 1, payload: Buffer.from("0") }];
    const template = rtpHeaderTemplate(111, 0x12345678, mid);
    for (const [sequenceNumber, roc, size] of [
      [0, 0, 1],
      [65535, 0, 83],
      [17, 1, 160],
      [40000, 0xffffffff, 300],
    ] as const) {
      const payload = randomBytes(size);
      const header = rtpHeader(template, sequenceNumber, 123456, sequenceNumber === 0);
      const [sealed, tag] = sealer.seal(header, payload, roc);
      const theirs = context.cipher.encryptRtp(
        new RtpHeader({
          payloadType: 111,
          ssrc: 0x12345678,
          sequenceNumber,
          timestamp: 123456,
          marker: sequenceNumber === 0,
          extensions: [...mid],
        }),
        payload,
        roc,
      );
      expect(Buffer.concat([header, sealed, tag]).toString("hex"), `seq ${sequenceNumber} roc ${roc}`).toBe(
        theirs.toString("hex"),
      );
    }
  });

  it("writes what the other side's werift session authenticates and decrypts", () => {
    const { sender, receiver } = srtpPair(GCM);
    const context = contextOf(sender);
    const sealer = new GcmRtpSealer(context.srtpSessionKey, context.srtpSessionSalt);
    const template = rtpHeaderTemplate(111, 99, []);
    const payload = randomBytes(120);
    const header = rtpHeader(template, 500, 48_000, false);
    const [sealed, tag] = sealer.seal(header, payload, 0);
    const packet = RtpPacket.deSerialize(receiver.decrypt(Buffer.concat([header, sealed, tag])));
    expect(packet.header.sequenceNumber).toBe(500);
    expect(packet.payload.equals(payload)).toBe(true);
    // a byte flipped in the header fails authentication
    const forged = Buffer.concat([header, sealed, tag]);
    forged[5] = (forged[5] ?? 0) ^ 1;
    expect(() => receiver.decrypt(forged)).toThrow();
  });

  it("takes werift's 14-byte session salt and wants 16-byte keys", () => {
    expect(() => new GcmRtpSealer(randomBytes(16), randomBytes(14))).not.toThrow();
    expect(() => new GcmRtpSealer(randomBytes(32), randomBytes(12))).toThrow(/16-byte key/);
    expect(() => new GcmRtpSealer(randomBytes(16), randomBytes(11))).toThrow(/12-byte salt/);
  });
});

describe("GcmPayloadOpener", () => {
  /** A packet werift's sender side seals: header with a one-byte extension, `size` random payload bytes. */
  function sealed(size: number, sequenceNumber: number, roc: number) {
    const { sender, receiver } = srtpPair(GCM);
    const header = new RtpHeader({
      payloadType: 96,
      ssrc: 0xdeadbeef,
      sequenceNumber,
      timestamp: 90_000,
      marker: true,
      extensions: [{ id: 4, payload: Buffer.from("01", "hex") }],
    });
    const payload = randomBytes(size);
    const packet = contextOf(sender).cipher.encryptRtp(header, payload, roc);
    const remote = srtpContextOf(receiver, "remote");
    if (remote === undefined) throw new Error("werift's session has no remote context");
    const opener = new GcmPayloadOpener(remote.srtpSessionKey, remote.srtpSessionSalt);
    return { packet, payload, headerBytes: header.serializeSize, opener };
  }

  it("decrypts any prefix of a payload werift's AES-GCM sealed, at any rollover counter", () => {
    for (const [size, seq, roc] of [
      [1, 0, 0],
      [15, 65535, 0],
      [16, 1, 1],
      [17, 2, 7],
      [OPEN_PREFIX_BYTES, 40000, 0xffffffff],
      [1100, 12, 3],
    ] as const) {
      const { packet, payload, headerBytes, opener } = sealed(size, seq, roc);
      for (const bytes of new Set([
        0,
        1,
        2,
        15,
        16,
        17,
        32,
        OPEN_PREFIX_BYTES,
        OPEN_PREFIX_BYTES + 1,
        size,
      ])) {
        if (bytes > size) continue;
        const clear = opener.open(packet, headerBytes, bytes, roc);
        expect(clear.toString("hex"), `size ${size} seq ${seq} roc ${roc} bytes ${bytes}`).toBe(
          payload.subarray(0, bytes).toString("hex"),
        );
      }
    }
  });

  it("reads garbage under the wrong rollover counter (the IV carries it)", () => {
    const { packet, payload, headerBytes, opener } = sealed(32, 7, 1);
    expect(opener.open(packet, headerBytes, 32, 0).equals(payload)).toBe(false);
    expect(opener.open(packet, headerBytes, 32, 1).equals(payload)).toBe(true);
  });

  it("checks its keys as the sealer does", () => {
    expect(() => new GcmPayloadOpener(randomBytes(16), randomBytes(14))).not.toThrow();
    expect(() => new GcmPayloadOpener(randomBytes(16), randomBytes(11))).toThrow(/12-byte salt/);
  });
});

describe("rolloverCounter", () => {
  it("advances werift's per-SSRC state as werift's decryption does: up across a wrap, back for a late packet", () => {
    const { receiver } = srtpPair(GCM);
    const context = srtpContextOf(receiver, "remote");
    if (context === undefined) throw new Error("no remote context");
    expect([65530, 65535, 3, 65534, 10].map((seq) => rolloverCounter(context, 42, seq))).toEqual([
      0, 0, 1, 0, 1,
    ]);
  });
});

describe("rolloverMatters", () => {
  it("keeps werift's counter where feeding it every packet would, over wraps, loss and reordering", () => {
    // a deterministic stream: 300,000 packets from a start near a wrap, 3% lost, 1% swapped with
    // their neighbour; at every packet, what werift would take for the counter if it decrypted
    // that packet itself (on a copy of its state: the check must not feed the sparse state)
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const full = srtpContextOf(srtpPair(GCM).receiver, "remote");
    const sparse = srtpContextOf(srtpPair(GCM).receiver, "remote");
    if (full === undefined || sparse === undefined) throw new Error("no remote context");
    const peek = (seq: number): number => {
      const copy = { ...sparse.getSrtpSsrcState(1) };
      sparse.updateRolloverCount(seq, copy);
      return copy.rolloverCounter;
    };
    const sequence: number[] = [];
    for (let i = 0; i < 300_000; i++) if (random() > 0.03) sequence.push((65_000 + i) & 0xffff);
    for (let i = 1; i < sequence.length; i++)
      if (random() < 0.01) [sequence[i - 1], sequence[i]] = [sequence[i] ?? 0, sequence[i - 1] ?? 0];
    const wrong: string[] = [];
    for (const seq of sequence) {
      const expected = rolloverCounter(full, 1, seq);
      const got = peek(seq);
      if (got !== expected && wrong.length < 5) wrong.push(`seq ${seq}: ${got}, not ${expected}`);
      if (rolloverMatters(seq)) rolloverCounter(sparse, 1, seq);
    }
    expect(wrong).toEqual([]);
    expect(rolloverCounter(full, 1, 5)).toBe(5); // four wraps and the first: the stream did wrap
    // about one packet in 50 goes to werift
    expect(sequence.filter(rolloverMatters).length / sequence.length).toBeLessThan(0.03);
  });
});
