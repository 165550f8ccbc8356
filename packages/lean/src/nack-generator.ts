import { GenericNack, RtcpTransportLayerFeedback, type RTCRtpReceiver } from "werift";

/**
 * A lean subscriber's NACKs for received video, in place of werift's generator.
 *
 * werift's (`NackHandler`, werift 0.24.4) differs from a browser's in two ways that change what a
 * run measures. It resends every outstanding NACK every 5 ms, 10 times: a loss is given up 50 ms
 * after it is seen, before a retransmission can arrive on any path with more than ~50 ms of round
 * trip, and the SFU gets ten NACKs per lost packet where libwebrtc sends one per round trip. And
 * it compares sequence numbers without unwrapping them: when the packet at a wrap (65535) is
 * lost, every later packet compares as old and the stream sends no NACK for a whole cycle of
 * 65,536 packets (22 minutes of 360p, 7 of 720p).
 *
 * Here, like libwebrtc's NACK module with no round-trip estimate: a gap is NACKed on the packet
 * that reveals it, an unrepaired loss again every `NACK_RESEND_MS`, at most `NACK_MAX_TRIES`
 * times; a loss more than `NACK_MAX_AGE` packets behind the newest is given up, at most
 * `NACK_MAX_MISSING` are kept (the oldest go first), and a gap wider than that is not NACKed at all
 * (it clears the list). Sequence numbers are unwrapped against the newest seen; a packet of another
 * SSRC starts the count anew. One timer per receiver, armed only while a loss is outstanding.
 */
export const NACK_RESEND_MS = 100;
export const NACK_MAX_TRIES = 10;
export const NACK_MAX_MISSING = 1000;
export const NACK_MAX_AGE = 10_000;

/** What the generator needs of the world: a way to send a NACK, a clock, a timer. */
export interface NackIo {
  /** Sends one NACK for `lost` (16-bit sequence numbers, oldest first) of `mediaSsrc`. */
  send(mediaSsrc: number, lost: readonly number[]): void;
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
}

interface Missing {
  lastSentMs: number;
  tries: number;
}

export class NackGenerator {
  /** The newest sequence number seen, unwrapped (undefined before the first packet). */
  private newest: number | undefined;
  /** Outstanding losses by unwrapped sequence number, oldest first (inserted in order). */
  private readonly missing = new Map<number, Missing>();
  private mediaSsrc = 0;
  private timer: unknown;
  private closed = false;

  constructor(private readonly io: NackIo) {}

  /** werift's shape: its receiver and our bypass call this for every original packet and every repair. */
  addPacket(packet: { readonly header: { readonly sequenceNumber: number; readonly ssrc: number } }): void {
    if (this.closed) return;
    const { sequenceNumber, ssrc } = packet.header;
    if (ssrc !== this.mediaSsrc) {
      // another stream on the receiver (LiveKit gave the transceiver the next publication of its
      // kind: a new SSRC and sequence base): nothing of the old one is missing from it, and a base
      // below the old stream's newest would read as late packets, not NACKed until it passed it
      this.mediaSsrc = ssrc;
      this.newest = undefined;
      this.missing.clear();
    }
    if (this.newest === undefined) {
      this.newest = sequenceNumber;
      return;
    }
    const seq = this.newest + (((sequenceNumber - this.newest + 0x8000) & 0xffff) - 0x8000);
    if (seq <= this.newest) {
      // a repair, or a late or repeated packet
      this.missing.delete(seq);
      return;
    }
    const from = this.newest + 1;
    this.newest = seq;
    if (from === seq) return;
    if (seq - from > NACK_MAX_MISSING) {
      // more missing than are ever kept: not a loss to repair packet by packet (a stream that
      // jumped, or a long cut), so nothing is NACKed and what was outstanding is dropped, as
      // libwebrtc does (it asks for a keyframe instead; a lean subscriber decodes nothing)
      this.missing.clear();
      return;
    }
    const now = this.io.now();
    const fresh: number[] = [];
    for (let s = from; s < seq; s++) {
      this.missing.set(s, { lastSentMs: now, tries: 1 });
      fresh.push(s & 0xffff);
    }
    this.prune();
    this.io.send(this.mediaSsrc, fresh);
    this.arm();
  }

  /** How many losses are outstanding (for tests and diagnostics). */
  get outstanding(): number {
    return this.missing.size;
  }

  close(): void {
    this.closed = true;
    this.missing.clear();
    if (this.timer !== undefined) this.io.clearTimer(this.timer);
    this.timer = undefined;
  }

  private prune(): void {
    const newest = this.newest ?? 0;
    for (const seq of this.missing.keys()) {
      if (seq >= newest - NACK_MAX_AGE && this.missing.size <= NACK_MAX_MISSING) break;
      this.missing.delete(seq);
    }
  }

  private arm(): void {
    if (this.timer !== undefined || this.missing.size === 0 || this.closed) return;
    let due = Infinity;
    for (const m of this.missing.values()) due = Math.min(due, m.lastSentMs + NACK_RESEND_MS);
    this.timer = this.io.setTimer(
      () => {
        this.resend();
      },
      Math.max(1, due - this.io.now()),
    );
  }

  private resend(): void {
    this.timer = undefined;
    if (this.closed) return;
    const now = this.io.now();
    const lost: number[] = [];
    for (const [seq, m] of this.missing) {
      if (now - m.lastSentMs < NACK_RESEND_MS) continue;
      if (m.tries >= NACK_MAX_TRIES) {
        this.missing.delete(seq);
        continue;
      }
      m.tries++;
      m.lastSentMs = now;
      lost.push(seq & 0xffff);
    }
    if (lost.length > 0) this.io.send(this.mediaSsrc, lost);
    this.arm();
  }
}

/** The parts of werift's receiver the generator replaces or uses (private in its types). */
interface ReceiverInternals {
  nack: { addPacket(packet: unknown): void; close(): void } | undefined;
  readonly rtcpSsrc: number;
  readonly onPacketLost: { execute(nack: GenericNack): void };
}

/**
 * Puts a NackGenerator in place of werift's on `receiver`: werift's receive path and the video
 * bypass feed it as they fed werift's, its NACKs go out on the receiver's transport and are told
 * through the receiver's `onPacketLost` (which is what counts them), and stopping the receiver
 * closes it. Installed as the receiver's video is taken up: a loss werift's generator held then is
 * dropped with it (werift sends no NACK before a track's first packet binds its SSRC).
 */
export function installNackGenerator(receiver: RTCRtpReceiver): NackGenerator {
  const internals = receiver as unknown as ReceiverInternals;
  if (typeof internals.nack?.close !== "function")
    throw new Error(
      "werift's receiver has no NACK generator where lean replaces it (receiver.nack): werift changed; check packages/lean's pinned werift version",
    );
  internals.nack.close();
  const generator = new NackGenerator({
    send: (mediaSsrc, lost) => {
      const nack = new GenericNack({
        senderSsrc: internals.rtcpSsrc,
        mediaSourceSsrc: mediaSsrc,
        lost: [...lost],
      });
      receiver.dtlsTransport.sendRtcp([new RtcpTransportLayerFeedback({ feedback: nack })]).catch(() => {
        // the transport is closing: the loss goes unrepaired, as on any dead path
      });
      internals.onPacketLost.execute(nack);
    },
    now: () => performance.now(),
    // a NACK's retry never holds the process open
    setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
    clearTimer: (timer) => {
      clearTimeout(timer as NodeJS.Timeout);
    },
  });
  internals.nack = generator;
  return generator;
}
