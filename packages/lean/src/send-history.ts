import { RtpPacket } from "werift";

/**
 * The packets a video sender answers NACKs from, as plain bytes in one buffer allocated once.
 * werift's sender keeps each packet it sends as an `RtpPacket` (a header object, its extension list,
 * the payload) in a 128-slot array, so every packet of a video stream lives about 2.8 s at 360p:
 * long enough to outlive two young-generation collections and be promoted, and then to die in the
 * old generation. At 16 rooms of 360p that kept a lean worker's old generation collecting every
 * 2-3 s, about a fifth of the worker's CPU (bench/results.md, 2026-11-25 22:02 UTC). Here each
 * slot holds a copy of the packet's bytes (RTP header as sent, before SRTP, and payload), and an
 * `RtpPacket` is built only for a packet that is asked for again.
 */

/** Bytes a slot holds in the shared buffer; a larger packet gets a buffer of its own. */
const SLOT_BYTES = 1500;

export class SendHistory {
  private readonly store: Buffer;
  /** The sequence number kept in each slot, -1 for none. */
  private readonly sequenceNumbers: Int32Array;
  private readonly lengths: Uint16Array;
  /** Packets larger than a slot, by slot. */
  private readonly large: (Buffer | undefined)[];

  /** `slots`: how many packets are kept, the last `slots` sequence numbers (werift's is 128). */
  constructor(readonly slots: number) {
    this.store = Buffer.allocUnsafeSlow(slots * SLOT_BYTES);
    this.sequenceNumbers = new Int32Array(slots).fill(-1);
    this.lengths = new Uint16Array(slots);
    this.large = new Array<Buffer | undefined>(slots);
  }

  /** Keeps a copy of one packet: its RTP header as sent (SRTP not applied) and its payload. */
  keep(sequenceNumber: number, header: Uint8Array, payload: Uint8Array): void {
    const slot = sequenceNumber % this.slots;
    const length = header.length + payload.length;
    this.sequenceNumbers[slot] = sequenceNumber;
    if (length > SLOT_BYTES) {
      this.large[slot] = Buffer.concat([header, payload], length);
      return;
    }
    this.large[slot] = undefined;
    this.lengths[slot] = length;
    const at = slot * SLOT_BYTES;
    this.store.set(header, at);
    this.store.set(payload, at + header.length);
  }

  /** Keeps a packet werift serialises itself (its own sends). */
  keepPacket(rtp: RtpPacket): void {
    const bytes = rtp.serialize();
    const headerBytes = rtp.header.serializeSize;
    this.keep(rtp.header.sequenceNumber, bytes.subarray(0, headerBytes), bytes.subarray(headerBytes));
  }

  /**
   * The packet in `slot` (sequence number modulo `slots`), a copy of its own, whichever sequence
   * number it has (werift checks it); undefined for an empty slot.
   */
  packetAt(slot: number): RtpPacket | undefined {
    if ((this.sequenceNumbers[slot] ?? -1) < 0) return undefined;
    const large = this.large[slot];
    const at = slot * SLOT_BYTES;
    const bytes = Buffer.from(large ?? this.store.subarray(at, at + (this.lengths[slot] ?? 0)));
    return RtpPacket.deSerialize(bytes);
  }

  /** The packet kept for `sequenceNumber`, a copy; undefined when it has gone or was never kept. */
  packet(sequenceNumber: number): RtpPacket | undefined {
    const slot = sequenceNumber % this.slots;
    return this.sequenceNumbers[slot] === sequenceNumber ? this.packetAt(slot) : undefined;
  }

  /** Forgets every packet. */
  clear(): void {
    this.sequenceNumbers.fill(-1);
    this.large.fill(undefined);
  }

  /**
   * An array for werift's sender to use as its `rtpCache`: reading index i gives `packetAt(i)`,
   * writing an RtpPacket at any index keeps it (werift writes its own sends there). Every other
   * property is a plain array's.
   */
  asWeriftCache(): RtpPacket[] {
    return new Proxy<RtpPacket[]>([], {
      get: (target, key, receiver) => {
        const slot = slotOf(key, this.slots);
        return slot === undefined ? (Reflect.get(target, key, receiver) as unknown) : this.packetAt(slot);
      },
      set: (target, key, value, receiver) => {
        if (slotOf(key, this.slots) === undefined || !(value instanceof RtpPacket))
          return Reflect.set(target, key, value, receiver);
        this.keepPacket(value);
        return true;
      },
    });
  }
}

/** The slot a property key names: an index below `slots`, else undefined. */
function slotOf(key: string | symbol, slots: number): number | undefined {
  if (typeof key !== "string" || !/^(0|[1-9][0-9]*)$/.test(key)) return undefined;
  const n = Number(key);
  return n < slots ? n : undefined;
}
