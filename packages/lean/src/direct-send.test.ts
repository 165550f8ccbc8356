import { describe, expect, it } from "vitest";
import { RtpHeader, type RTCRtpSender } from "werift";
import { ntpTimestamp, rtpHeader, rtpHeaderTemplate, staysOnWerift } from "./direct-send.js";

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
