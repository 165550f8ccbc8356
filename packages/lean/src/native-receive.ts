import type { RemoteInfo, Socket } from "node:dgram";
import { NativeConsent } from "./native-consent.js";
import type { CountReceived } from "./native-counts.js";
import { ipv4Number, socketFd, udpHandle, type LeanMediaAddon } from "./native-media.js";

/**
 * A subscriber socket (or an audio-only publisher's, native-audio.ts) read by the native media
 * path's thread (lean-media.c receive()) instead of libuv: once per 20 ms tick, every datagram
 * waiting on every taken socket of the process is read with recvmmsg, and the tick's records come
 * to JavaScript in one call. An Opus packet of a
 * registered stream from the selected pair's remote arrives as its header's fields (`rtp`), with
 * no Buffer and no per-datagram wake; everything else (STUN, DTLS, RTCP, other streams, and a
 * registered SSRC from another address, which header-only.ts's tap drops or takes by the pair it
 * follows live) is handed to the socket's listeners as libuv would have (through socket-tap.ts's
 * tap and then werift). Each record carries the kernel's arrival
 * time, so the tick's wait is in no jitter or round trip: `datagramArrivalMs` gives a listener the
 * arrival of the datagram it is handed.
 */

/** What a taken socket's owner does with its records. */
export interface ReceiverHandler {
  /**
   * An RTP packet of a registered SSRC from the selected pair's remote, reduced to its header.
   * `counted`: the thread counted it into the stream's counts (native-counts.ts), and it comes
   * only for werift's rollover state (one packet in about 50, srtp-gcm.ts rolloverMatters).
   */
  rtp(
    ssrc: number,
    sequenceNumber: number,
    timestamp: number,
    headerBytes: number,
    payloadBytes: number,
    wireBytes: number,
    arrivalMs: number,
    counted: boolean,
  ): void;
}

const RECORD_RTP = 1;
const RECORD_RAW = 2;
const RTP_RECORD_BYTES = 32;
/** How long a released socket's handler still takes the records read before its release. */
const RELEASED_MS = 1000;
const RAW_RECORD_BYTES = 24;

/** The arrival of the datagram being handed to a socket's listeners now, if the native thread read it. */
let arrival: number | undefined;

/** The kernel's arrival time of the datagram a socket listener is handling, when the native thread read it. */
export function nativeArrivalMs(): number | undefined {
  return arrival;
}

/** When the datagram a socket listener is handling arrived (performance.now()'s clock): the kernel's time when the native thread read it, else now. */
export function datagramArrivalMs(): number {
  return arrival ?? performance.now();
}

/** One socket the native thread reads. */
interface Taken {
  readonly socket: Socket;
  readonly handler: ReceiverHandler;
}

/** The process's native receiving: one per addon. */
export class NativeReceiving {
  private readonly taken = new Map<number, Taken>();
  /** The sockets the thread reads now (`taken` keeps a released one a while longer). */
  private readonly reading = new Map<Socket, number>();
  /** performance.now() minus the addon's clock. */
  readonly clockOffset: number;

  constructor(private readonly addon: LeanMediaAddon) {
    this.clockOffset = performance.now() - addon.nowMs();
    addon.onReceived((batch) => {
      this.deliver(batch);
    });
  }

  /**
   * Has the native thread read `socket` from the next tick, counting what comes from `remote`;
   * a string says why not (the socket is not a bound UDP one, the remote not IPv4, the thread
   * reads it already: two readers would split its datagrams).
   */
  take(socket: Socket, remote: readonly [string, number], handler: ReceiverHandler): number | string {
    const address = ipv4Number(remote[0]);
    if (address === undefined) return `the remote ${remote[0]} is not an IPv4 address`;
    // two readers of one socket would split its datagrams between them
    if (this.reading.has(socket)) return "the thread reads the socket already";
    const fd = socketFd(socket);
    const handle = udpHandle(socket);
    if (fd === undefined || handle?.recvStop === undefined) return "the socket has no fd";
    let id: number;
    try {
      id = this.addon.addReceiver(fd, address, remote[1]);
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
    // libuv stops reading; what waits in the socket is the native thread's from its next tick
    handle.recvStop();
    this.taken.set(id, { socket, handler });
    this.reading.set(socket, id);
    this.addon.start();
    return id;
  }

  /** The thread's consent checks on `socket` (native-consent.ts), while the thread reads it. */
  consentOn(socket: Socket): NativeConsent | undefined {
    const id = this.reading.get(socket);
    if (id === undefined) return undefined;
    return new NativeConsent(this.addon, id, this.clockOffset, () => this.reading.get(socket) === id);
  }

  /** The selected pair's remote moved: only it is counted. */
  remote(id: number, remote: readonly [string, number]): boolean {
    const address = ipv4Number(remote[0]);
    if (address === undefined) return false;
    this.addon.setReceiverRemote(id, address, remote[1]);
    return true;
  }

  payloadTypes(id: number, types: Iterable<number>): void {
    this.addon.setReceiverPayloadTypes(id, [...types]);
  }

  /**
   * The thread reads the SSRC's packets on the socket `id`, counting them into `counts` when given
   * (native-counts.ts), else handing each on; a string says why not.
   */
  stream(id: number, ssrc: number, tagBytes: number, counts?: Float64Array): string | undefined {
    try {
      this.addon.addReceiverSsrc(id, ssrc, tagBytes, counts);
      return undefined;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }

  /** Counts a packet of `ssrc`'s stream, which the thread counts on socket `id`, taken in JavaScript instead. */
  counter(id: number, ssrc: number): CountReceived {
    return (parts, ...packet) => this.addon.countReceived(id, ssrc, parts, ...packet);
  }

  /**
   * Gives the socket back to libuv (unless it closed): what is queued in it is libuv's to read.
   * Batches the thread read before this and JavaScript has not had yet still reach the handler
   * for a second (werift's rollover state must see their packets); ids go round, so none is reused
   * meanwhile.
   */
  release(id: number): void {
    const taken = this.taken.get(id);
    this.addon.removeReceiver(id);
    if (taken === undefined) return;
    if (this.reading.get(taken.socket) === id) this.reading.delete(taken.socket);
    setTimeout(() => {
      if (this.taken.get(id) === taken) this.taken.delete(id);
    }, RELEASED_MS).unref();
    udpHandle(taken.socket)?.recvStart?.();
  }

  private deliver(batch: Buffer): void {
    // the records' fields in the machine's byte order at their natural alignment (lean-media.c
    // writes them so, each record 8-aligned): read through typed views, one load a field, not
    // Buffer's byte-by-byte reads; a batch not 8-aligned in its memory is copied to one that is
    const bytes = batch.byteOffset % 8 === 0 ? batch : new Uint8Array(batch);
    const { buffer, byteOffset, byteLength } = bytes;
    const u16 = new Uint16Array(buffer, byteOffset, byteLength >>> 1);
    const u32 = new Uint32Array(buffer, byteOffset, byteLength >>> 2);
    const f64 = new Float64Array(buffer, byteOffset, byteLength >>> 3);
    let at = 0;
    while (at + 8 <= byteLength) {
      const type = bytes[at];
      const taken = this.taken.get(u16[(at + 2) >>> 1] ?? 0);
      if (type === RECORD_RTP) {
        if (at + RTP_RECORD_BYTES > byteLength) return;
        taken?.handler.rtp(
          u32[(at + 4) >>> 2] ?? 0,
          u16[(at + 12) >>> 1] ?? 0,
          u32[(at + 8) >>> 2] ?? 0,
          u16[(at + 14) >>> 1] ?? 0,
          u32[(at + 16) >>> 2] ?? 0,
          u32[(at + 20) >>> 2] ?? 0,
          (f64[(at + 24) >>> 3] ?? 0) + this.clockOffset,
          bytes[at + 1] === 1,
        );
        at += RTP_RECORD_BYTES;
      } else if (type === RECORD_RAW) {
        const length = u16[(at + 10) >>> 1] ?? 0;
        if (at + RAW_RECORD_BYTES + length > byteLength) return;
        if (taken !== undefined) {
          const address = u32[(at + 4) >>> 2] ?? 0;
          const from: RemoteInfo = {
            address: `${address >>> 24}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`,
            family: "IPv4",
            port: u16[(at + 8) >>> 1] ?? 0,
            size: length,
          };
          const data = Buffer.from(bytes.subarray(at + RAW_RECORD_BYTES, at + RAW_RECORD_BYTES + length));
          arrival = (f64[(at + 16) >>> 3] ?? 0) + this.clockOffset;
          try {
            taken.socket.emit("message", data, from);
          } catch (err) {
            // thrown where libuv's delivery would have thrown it, after the rest of the batch
            process.nextTick(() => {
              throw err;
            });
          } finally {
            arrival = undefined;
          }
        }
        at += RAW_RECORD_BYTES + ((length + 7) & ~7);
      } else return;
    }
  }
}

let receiving: NativeReceiving | undefined;

/** The native thread's consent checks on `socket` when the thread reads it (consent.ts hands them over). */
export function threadConsentOn(socket: Socket): NativeConsent | undefined {
  return receiving?.consentOn(socket);
}

/** The process's native receiving over `addon`. */
export function nativeReceiving(addon: LeanMediaAddon): NativeReceiving {
  receiving ??= new NativeReceiving(addon);
  return receiving;
}
