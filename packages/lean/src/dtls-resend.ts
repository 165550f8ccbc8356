import { DtlsClient } from "werift";

/**
 * A lean subscriber's DTLS handshake, when a datagram of it was lost, never completed against
 * LiveKit: werift resends a flight as the very bytes it first sent, record sequence numbers
 * included, and pion (LiveKit's DTLS) discards a record whose (epoch, sequence number) it has seen
 * as a replay (RFC 6347 4.1.2.6). So when the server's HelloVerifyRequest or its last flight
 * (ChangeCipherSpec, Finished) was lost, every resend of the ClientHello or of flight 5 was
 * dropped unread, pion, which resends neither of those on its own, never answered again, and the
 * PeerConnection sat in "connecting" until the join timed out. Measured with nftables dropping the
 * node's outgoing UDP at random, before this and keepEarlyAssociation (peer.ts): 1 of 21 lean
 * participants failed to join at 10%, 4 at 25%, 8 at 50%; after both, none at 25%, 0-2 at 50% over
 * four runs. The native engine joined all 21 at 25% and at 50%. lean.e2e drops the server's
 * HelloVerifyRequest for 2 s: without this the join times out.
 *
 * The cure at the wire: while a werift DTLS client is handshaking, a record it sends again gets a
 * sequence number it has not sent in that epoch, and a record of a later epoch (the Finished,
 * encrypted under AEAD whose nonce and additional data carry the sequence number) is sealed again
 * under the new one. werift's own counter is moved past what was given, so its next records do
 * not take a number again. Once connected, the counter is moved past the epoch's highest number
 * too: werift numbers its Finished from the epoch-0 counter and then starts epoch 1 at 0, so one of
 * its first data-channel records would otherwise repeat the Finished's number, which pion's replay
 * check drops (read from werift's code; SCTP would resend it, so nothing measured showed it).
 */

/** DTLS 1.2 record header: type 1, version 2, epoch 2, sequence number 6, length 2. */
const HEADER = 13;

/** The record header fields werift's AEAD suite takes. */
export interface RecordHeader {
  type: number;
  version: number;
  epoch: number;
  sequenceNumber: number;
}

/** Seals a record body again under a new header (AEAD: its nonce and additional data). */
export type Reseal = (body: Buffer, was: RecordHeader, now: RecordHeader) => Buffer;

/** werift's counter of the records it sends: the epoch it is in and the last number it gave. */
export interface RecordCounter {
  epoch: number;
  recordSequenceNumber: number;
}

/** The record numbers a DTLS client has sent, per epoch. */
export class SentRecords {
  private readonly sent = new Map<number, Set<number>>();

  /** The highest number sent in `epoch`, or -1. */
  highest(epoch: number): number {
    let top = -1;
    for (const n of this.sent.get(epoch) ?? []) if (n > top) top = n;
    return top;
  }

  /** Notes a number sent; false when it was sent before. */
  note(epoch: number, sequenceNumber: number): boolean {
    let numbers = this.sent.get(epoch);
    if (numbers === undefined) {
      numbers = new Set();
      this.sent.set(epoch, numbers);
    }
    if (numbers.has(sequenceNumber)) return false;
    numbers.add(sequenceNumber);
    return true;
  }
}

/**
 * `datagram` as it must go out: records already sent in their epoch numbered afresh (and resealed
 * if their epoch is encrypted), the others as they are. The same buffer when nothing changed; a
 * datagram that does not parse as DTLS records goes out as it is.
 */
export function freshRecords(
  datagram: Buffer,
  sent: SentRecords,
  counter: RecordCounter,
  reseal: Reseal,
): Buffer {
  const records: Buffer[] = [];
  let changed = false;
  for (let at = 0; at < datagram.length;) {
    if (datagram.length - at < HEADER) return datagram;
    const length = datagram.readUInt16BE(at + 11);
    const end = at + HEADER + length;
    if (end > datagram.length) return datagram;
    const record = datagram.subarray(at, end);
    at = end;
    const epoch = record.readUInt16BE(3);
    const sequenceNumber = record.readUIntBE(5, 6);
    if (sent.note(epoch, sequenceNumber)) {
      records.push(record);
      continue;
    }
    const fresh =
      Math.max(sent.highest(epoch), counter.epoch === epoch ? counter.recordSequenceNumber : -1) + 1;
    if (counter.epoch === epoch) counter.recordSequenceNumber = fresh;
    sent.note(epoch, fresh);
    const was: RecordHeader = {
      type: record.readUInt8(0),
      version: record.readUInt16BE(1),
      epoch,
      sequenceNumber,
    };
    let body = record.subarray(HEADER);
    if (epoch > 0) {
      try {
        body = reseal(body, was, { ...was, sequenceNumber: fresh });
      } catch {
        records.push(record); // as werift would have sent it
        continue;
      }
    }
    const header = Buffer.from(record.subarray(0, HEADER));
    header.writeUIntBE(fresh, 5, 6);
    header.writeUInt16BE(body.length, 11);
    records.push(header, body);
    changed = true;
  }
  return changed ? Buffer.concat(records) : datagram;
}

/** What of a werift DtlsClient this reads and changes (werift keeps its types private). */
interface WeriftClient {
  readonly sessionType: number;
  readonly dtls: RecordCounter;
  readonly cipher: { cipher?: AeadSuite };
  readonly transport: { send: (buf: Buffer, addr?: unknown) => unknown };
  readonly onConnect: { once(f: () => void): void };
}

interface AeadSuite {
  encrypt(type: number, data: Buffer, header: RecordHeader): Buffer;
  decrypt(type: number, data: Buffer, header: RecordHeader): Buffer;
}

/** werift's SessionType: which side's keys seal and which open. */
const CLIENT = 1;
const SERVER = 2;

/** Numbers `client`'s resent records afresh until it connects (see the top of this file). */
export function numberResendsAfresh(client: WeriftClient): void {
  const transport = client.transport;
  const send = transport.send;
  const sent = new SentRecords();
  const reseal: Reseal = (body, was, now) => {
    const suite = client.cipher.cipher;
    if (suite === undefined) throw new Error("no cipher yet");
    // our own record: opened with our write keys (werift opens with the other side's for a type)
    const plain = suite.decrypt(client.sessionType === CLIENT ? SERVER : CLIENT, body, was);
    return suite.encrypt(client.sessionType, plain, now);
  };
  transport.send = (buf: Buffer, addr?: unknown) =>
    send.call(transport, freshRecords(buf, sent, client.dtls, reseal), addr);
  client.onConnect.once(() => {
    transport.send = send;
    const dtls = client.dtls;
    dtls.recordSequenceNumber = Math.max(dtls.recordSequenceNumber, sent.highest(dtls.epoch));
  });
}

let installed = false;

/** Every werift DTLS client of this process numbers its resent records afresh; once per process. */
export function freshDtlsResends(): void {
  if (installed) return;
  const proto = DtlsClient.prototype as unknown as { connect?: (this: WeriftClient) => Promise<void> };
  const connect = proto.connect;
  if (typeof connect !== "function")
    throw new Error(
      "werift's DtlsClient has no connect where lean numbers its resent records: werift changed; check packages/lean's pinned werift version",
    );
  installed = true;
  proto.connect = function (this: WeriftClient) {
    numberResendsAfresh(this);
    return connect.call(this);
  };
}
