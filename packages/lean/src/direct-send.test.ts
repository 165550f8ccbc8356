import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { RtpHeader, RtpPacket, type SrtpSession, type RTCRtpSender } from "werift";
import { srtpPair } from "../test/srtp.js";
import { GcmRtpSealer, ntpTimestamp, rtpHeader, rtpHeaderTemplate, staysOnWerift } from "./direct-send.js";

const GCM = 0x0007;

/** werift's own serialization of the same header, the reference (its sender sorts extensions by id first). */
function weriftHeader(fields: {
  payloadType: number;
  ssrc: number;
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
  extensions: { id: number; payload: Buffer }[];
}): Buffer {
  const header = new RtpHeader({ ...fields, extensions: [...fields.extensions].sort((a, b) => a.id - b.id) });
  return header.serialize(header.serializeSize);
}

describe("rtpHeader", () => {
  const cases = [
    { extensions: [] },
    { extensions: [{ id: 1, payload: Buffer.from("0") }] },
    { extensions: [{ id: 2, payload: Buffer.from("12") }] },
    // out of order in, sorted by id out, as werift writes them; 1 + 3 + 1 + 8 bytes pad to 16
    {
      extensions: [
        { id: 9, payload: Buffer.alloc(8, 0xab) },
        { id: 1, payload: Buffer.from("abc") },
      ],
    },
  ];
  it.each(cases)("writes the bytes werift's RtpHeader does (extensions %j)", ({ extensions }) => {
    const template = rtpHeaderTemplate(111, 0xdeadbeef, extensions);
    for (const [sequenceNumber, timestamp, marker] of [
      [0, 0, false],
      [65535, 0xffffffff, true],
      [4242, 960 * 7, false],
    ] as const) {
      const ours = rtpHeader(template, sequenceNumber, timestamp, marker);
      const theirs = weriftHeader({
        payloadType: 111,
        ssrc: 0xdeadbeef,
        sequenceNumber,
        timestamp,
        marker,
        extensions,
      });
      expect(ours.toString("hex"), `${sequenceNumber} ${timestamp} ${marker}`).toBe(theirs.toString("hex"));
    }
    // the template itself is never written to
    expect(rtpHeader(template, 1, 2, true)).not.toBe(template);
    expect(template[1]).toBe(111);
  });

  it("refuses an extension the one-byte form cannot carry", () => {
    expect(() => rtpHeaderTemplate(111, 1, [{ id: 15, payload: Buffer.from("x") }])).toThrow(/one-byte/);
    expect(() => rtpHeaderTemplate(111, 1, [{ id: 3, payload: Buffer.alloc(17) }])).toThrow(/one-byte/);
    expect(() => rtpHeaderTemplate(111, 1, [{ id: 3, payload: Buffer.alloc(0) }])).toThrow(/one-byte/);
  });
});

describe("GcmRtpSealer", () => {
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

describe("ntpTimestamp", () => {
  it("is seconds since 1900 and a binary fraction (RFC 5905)", () => {
    expect(ntpTimestamp(0)).toBe(2_208_988_800n << 32n);
    expect(ntpTimestamp(1500)).toBe((2_208_988_801n << 32n) | 0x8000_0000n);
    expect(ntpTimestamp(250.25) >> 32n).toBe(2_208_988_800n);
    // 2026-11-25: the fraction is the fraction of a second, not its decimal digits
    const at = Date.UTC(2026, 10, 25, 6, 0, 0, 125);
    const ntp = ntpTimestamp(at);
    expect(Number(ntp & 0xffff_ffffn) / 2 ** 32).toBeCloseTo(0.125, 6);
    expect(Number(ntp >> 32n)).toBe(Math.floor(at / 1000) + 2_208_988_800);
  });
});

describe("staysOnWerift", () => {
  /** The fields of werift's sender staysOnWerift reads (a plain object: this is pure logic). */
  const sender = (over: Record<string, unknown> = {}, srtp: { profile: number } | null = { profile: GCM }) =>
    ({
      codec: { payloadType: 111 },
      sequenceNumber: 1,
      headerExtensions: [{ id: 1, uri: "urn:ietf:params:rtp-hdrext:sdes:mid" }],
      dtlsTransport: { srtpStarted: srtp !== null, srtp: { localContext: srtp } },
      ...over,
    }) as unknown as RTCRtpSender;

  it("lets a GCM stream with only the MID extension leave werift once werift has sent", () => {
    expect(staysOnWerift(sender())).toBeUndefined();
    expect(staysOnWerift(sender({ sequenceNumber: undefined }))).toMatch(/sent nothing yet/);
  });

  it("keeps on werift what werift writes per packet or seals another way", () => {
    expect(staysOnWerift(sender({ redRedundantPayloadType: 63 }))).toBe("RED");
    const twcc = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
    expect(staysOnWerift(sender({ headerExtensions: [{ id: 3, uri: twcc }] }))).toMatch(/transport-wide/);
    expect(staysOnWerift(sender({}, { profile: 0x0001 }))).toMatch(/SRTP profile 1/);
    expect(staysOnWerift(sender({}, null))).toMatch(/no SRTP session/);
  });
});
