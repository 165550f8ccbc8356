import { describe, expect, it } from "vitest";
import {
  GenericNack,
  RTCRtpSender,
  RtcpTransportLayerFeedback,
  RtpHeader,
  RtpPacket,
  type RTCDtlsTransport,
} from "werift";
import { SendHistory } from "./send-history.js";

function packet(sequenceNumber: number, payloadBytes: number, marker = false): RtpPacket {
  const payload = Buffer.alloc(payloadBytes);
  for (let i = 0; i < payloadBytes; i++) payload[i] = (sequenceNumber + i) & 0xff;
  const header = new RtpHeader({
    payloadType: 96,
    ssrc: 0x11223344,
    sequenceNumber,
    timestamp: 90_000 + sequenceNumber * 3000,
    marker,
    extensions: [
      { id: 4, payload: Buffer.from("0") },
      { id: 9, payload: Buffer.alloc(8, sequenceNumber & 0xff) },
    ],
  });
  return new RtpPacket(header, payload);
}

/** Keeps `rtp` as the direct writer does: its header bytes as sent and its payload. */
function keep(history: SendHistory, rtp: RtpPacket): void {
  const header = rtp.header.serialize(rtp.header.serializeSize);
  history.keep(rtp.header.sequenceNumber, header, rtp.payload);
}

describe("SendHistory", () => {
  it("gives back each kept packet byte for byte, header extensions, marker and all, as a copy of its own", () => {
    const history = new SendHistory(128);
    const sent = [packet(65_530, 1200), packet(65_535, 17, true), packet(0, 0), packet(1, 1400, true)];
    for (const rtp of sent) keep(history, rtp);
    for (const rtp of sent) {
      const back = history.packet(rtp.header.sequenceNumber);
      expect(back?.serialize().toString("hex")).toBe(rtp.serialize().toString("hex"));
      expect(back?.header.marker).toBe(rtp.header.marker);
      expect(back?.header.extensions.map((e) => [e.id, e.payload.toString("hex")])).toEqual(
        rtp.header.extensions.map((e) => [e.id, e.payload.toString("hex")]),
      );
    }
    // a packet given out stays what it was when its slot is written again
    const before = history.packet(1);
    keep(history, packet(129, 1400));
    expect(before?.payload.toString("hex")).toBe(packet(1, 1400).payload.toString("hex"));
    expect(history.packet(1)).toBeUndefined();
    expect(history.packet(129)?.serialize().toString("hex")).toBe(
      packet(129, 1400).serialize().toString("hex"),
    );
  });

  it("keeps the last `slots` sequence numbers: an older one, one never kept, or a cleared one is gone", () => {
    const history = new SendHistory(128);
    expect(history.packet(5)).toBeUndefined();
    expect(history.packetAt(5)).toBeUndefined();
    for (let seq = 0; seq < 300; seq++) keep(history, packet(seq, 100));
    expect(history.packet(171)).toBeUndefined(); // 299 - 128
    expect(history.packet(172)?.header.sequenceNumber).toBe(172);
    expect(history.packet(299)?.header.sequenceNumber).toBe(299);
    // a larger packet in a slot, then a small one in the same slot
    keep(history, packet(300, 3000));
    expect(history.packet(300)?.payload.length).toBe(3000);
    keep(history, packet(428, 10));
    expect(history.packet(428)?.serialize().toString("hex")).toBe(
      packet(428, 10).serialize().toString("hex"),
    );
    history.clear();
    expect(history.packet(428)).toBeUndefined();
    expect(history.packet(299)).toBeUndefined();
  });

  it("keeps what werift writes into the view, and werift's own NACK handling resends from it on RTX", async () => {
    const history = new SendHistory(128);
    const sender = new RTCRtpSender("video");
    const sent: { payload: Buffer; header: RtpHeader }[] = [];
    const internals = sender as unknown as {
      rtpCache: unknown[];
      rtxPayloadType: number | undefined;
      rtxSequenceNumber: number;
      dtlsTransport: Partial<RTCDtlsTransport>;
    };
    internals.rtpCache = history.asWeriftCache();
    internals.rtxPayloadType = 97;
    internals.rtxSequenceNumber = 7;
    internals.dtlsTransport = {
      sendRtp: (payload: Buffer, header: RtpHeader) => {
        sent.push({ payload, header });
        return Promise.resolve(payload.length);
      },
    };
    // werift's sendRtp writes rtpCache[seq % 128] = rtp
    internals.rtpCache[500 % 128] = packet(500, 300, true);
    keep(history, packet(501, 1200));
    expect(internals.rtpCache.length).toBe(0); // every other property is a plain array's
    expect((internals.rtpCache[501 % 128] as RtpPacket).header.sequenceNumber).toBe(501);

    sender.handleRtcpPacket(
      new RtcpTransportLayerFeedback({
        feedback: new GenericNack({ senderSsrc: 1, mediaSourceSsrc: sender.ssrc, lost: [500, 501, 502] }),
      }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    // 502 was never sent: nothing for it
    expect(
      sent.map((s) => [s.header.payloadType, s.header.sequenceNumber, s.payload.readUInt16BE(0)]),
    ).toEqual([
      [97, 7, 500],
      [97, 8, 501],
    ]);
    expect(sent[0]?.payload.subarray(2).toString("hex")).toBe(packet(500, 300).payload.toString("hex"));
    expect(sent[0]?.header.marker).toBe(true);
    expect(sent[1]?.header.extensions.map((e) => e.id)).toEqual([4, 9]);
  });
});
