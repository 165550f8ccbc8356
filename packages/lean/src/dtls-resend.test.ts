import { describe, expect, it } from "vitest";
import { freshRecords, SentRecords, type RecordHeader, type Reseal } from "./dtls-resend.js";

/** A DTLS 1.2 record: type, version 0xfefd, epoch, 48-bit sequence number, length, body. */
function record(type: number, epoch: number, sequenceNumber: number, body: Buffer): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt8(type, 0);
  header.writeUInt16BE(0xfefd, 1);
  header.writeUInt16BE(epoch, 3);
  header.writeUIntBE(sequenceNumber, 5, 6);
  header.writeUInt16BE(body.length, 11);
  return Buffer.concat([header, body]);
}

/** Each record of a datagram as [type, epoch, sequence number, body]. */
function parse(datagram: Buffer): [number, number, number, string][] {
  const out: [number, number, number, string][] = [];
  for (let at = 0; at < datagram.length;) {
    const length = datagram.readUInt16BE(at + 11);
    out.push([
      datagram.readUInt8(at),
      datagram.readUInt16BE(at + 3),
      datagram.readUIntBE(at + 5, 6),
      datagram.subarray(at + 13, at + 13 + length).toString(),
    ]);
    at += 13 + length;
  }
  return out;
}

/** A stand-in AEAD: the body tagged with the sequence number it is sealed under. */
const sealedUnder = (seq: number, text: string): Buffer => Buffer.from(`${seq}:${text}`);
const reseal: Reseal = (body: Buffer, was: RecordHeader, now: RecordHeader) => {
  const [seq, text] = body.toString().split(":");
  if (Number(seq) !== was.sequenceNumber) throw new Error("opened under the wrong header");
  return sealedUnder(now.sequenceNumber, text ?? "");
};

describe("freshRecords: a resent DTLS record gets a number its epoch has not carried", () => {
  it("a datagram sent once goes out as it is, the same buffer", () => {
    const sent = new SentRecords();
    const hello = record(22, 0, 1, Buffer.from("ClientHello"));
    expect(freshRecords(hello, sent, { epoch: 0, recordSequenceNumber: 1 }, reseal)).toBe(hello);
  });

  it("a resent ClientHello takes the next number, and werift's counter moves past it for its next flight", () => {
    const sent = new SentRecords();
    const counter = { epoch: 0, recordSequenceNumber: 1 };
    const hello = record(22, 0, 1, Buffer.from("ClientHello"));
    freshRecords(hello, sent, counter, reseal);
    const again = freshRecords(hello, sent, counter, reseal);
    expect(parse(again)).toEqual([[22, 0, 2, "ClientHello"]]);
    expect(counter.recordSequenceNumber).toBe(2);
    // the bytes besides the number are the record's own
    expect(Buffer.concat([again.subarray(0, 5), again.subarray(11)])).toEqual(
      Buffer.concat([hello.subarray(0, 5), hello.subarray(11)]),
    );
    expect(parse(freshRecords(hello, sent, counter, reseal))).toEqual([[22, 0, 3, "ClientHello"]]);
    // werift's next flight numbers from its counter: 4, which was never sent
    const next = record(22, 0, ++counter.recordSequenceNumber, Buffer.from("ClientHello+cookie"));
    expect(freshRecords(next, sent, counter, reseal)).toBe(next);
  });

  it("flight 5 resent after werift moved to epoch 1: epoch-0 records above the highest sent, the Finished sealed again", () => {
    const sent = new SentRecords();
    // werift: Certificate 3 .. ChangeCipherSpec 6 in epoch 0, Finished in epoch 1 numbered 7 from the
    // epoch-0 counter, which it then resets to 0 for epoch 1
    const flight = [
      record(22, 0, 3, Buffer.from("Certificate")),
      record(22, 0, 4, Buffer.from("ClientKeyExchange")),
      record(20, 0, 5, Buffer.from("ChangeCipherSpec")),
      record(22, 1, 7, sealedUnder(7, "Finished")),
    ];
    const counter = { epoch: 1, recordSequenceNumber: 0 };
    for (const d of flight) expect(freshRecords(d, sent, counter, reseal)).toBe(d);
    const resent = flight.map((d) => parse(freshRecords(d, sent, counter, reseal))[0]);
    expect(resent).toEqual([
      [22, 0, 6, "Certificate"],
      [22, 0, 7, "ClientKeyExchange"],
      [20, 0, 8, "ChangeCipherSpec"],
      [22, 1, 8, "8:Finished"],
    ]);
    expect(counter.recordSequenceNumber).toBe(8);
    expect(parse(freshRecords(flight[3] ?? Buffer.alloc(0), sent, counter, reseal))).toEqual([
      [22, 1, 9, "9:Finished"],
    ]);
  });

  it("several records in one datagram: only those sent before change; a Finished that cannot be sealed again goes as it was", () => {
    const sent = new SentRecords();
    const counter = { epoch: 0, recordSequenceNumber: 2 };
    const a = record(22, 0, 1, Buffer.from("a"));
    freshRecords(a, sent, counter, reseal);
    const both = Buffer.concat([a, record(22, 0, 2, Buffer.from("b"))]);
    expect(parse(freshRecords(both, sent, counter, reseal))).toEqual([
      [22, 0, 3, "a"],
      [22, 0, 2, "b"],
    ]);
    const finished = record(22, 1, 5, sealedUnder(5, "Finished"));
    freshRecords(finished, sent, counter, reseal);
    const refused: Reseal = () => {
      throw new Error("no cipher");
    };
    expect(freshRecords(finished, sent, counter, refused)).toEqual(finished);
  });

  it("what does not parse as DTLS records goes out untouched", () => {
    const sent = new SentRecords();
    const counter = { epoch: 0, recordSequenceNumber: 0 };
    const short = Buffer.from([22, 0xfe, 0xfd, 0, 0]);
    expect(freshRecords(short, sent, counter, reseal)).toBe(short);
    const overlong = record(22, 0, 1, Buffer.from("x"));
    overlong.writeUInt16BE(500, 11);
    expect(freshRecords(overlong, sent, counter, reseal)).toBe(overlong);
  });
});
