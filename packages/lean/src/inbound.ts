import { inboundTrackSample, type InboundTrackSample, type Kind } from "@livekit-swarm/schema";

/** Cumulative counters of one received stream since its first packet. */
export interface InboundTotals {
  readonly received: number;
  readonly expected: number;
  /** expected - received; negative while duplicates outnumber gaps (RFC 3550 A.3). */
  readonly lost: number;
  readonly bytes: number;
  /** RTP header and padding bytes; undefined when a packet came without its header's size. */
  readonly headerBytes: number | undefined;
  /** RFC 3550 interarrival jitter, seconds; undefined before two packets. */
  readonly jitterS: number | undefined;
  /** Arrival time of the first packet, ms on the caller's clock. */
  readonly firstPacketMs: number | undefined;
}

/**
 * Everything an InboundStream counts, to hand to another counter and take back (native-counts.ts:
 * the native media thread counts a stream's packets while it reads its socket).
 */
export interface InboundState {
  readonly started: boolean;
  readonly baseSeq: number;
  readonly maxSeq: number;
  readonly cycles: number;
  readonly expectedBefore: number;
  readonly restartAt: number | undefined;
  readonly received: number;
  readonly bytes: number;
  readonly headerBytes: number | undefined;
  readonly jitter: number;
  readonly lastTransit: number | undefined;
  readonly lastTimestamp: number;
  readonly firstPacketMs: number | undefined;
}

/** A packet as InboundStream.onPacket takes it. */
export type InboundPacket = [
  sequenceNumber: number,
  rtpTimestamp: number,
  payloadBytes: number,
  arrivalMs: number,
  headerBytes?: number,
];

/** Who counts a stream's packets while it is handed over: its state, and a packet to count into it. */
export interface InboundCounter {
  state(): InboundState;
  onPacket(...packet: InboundPacket): void;
}

const SEQ_MOD = 0x1_0000;
/**
 * RFC 3550 A.1: a sequence number up to this far ahead of the highest is in order, the gap lost;
 * a larger jump is a restart of the sequence space (when the next packet follows it) or a stray.
 */
const MAX_DROPOUT = 3000;
/** RFC 3550 A.1: up to this far behind the highest, a packet is late or reordered. */
const MAX_MISORDER = 100;

/**
 * What one subscribed RTP stream looked like, without decoding it. Loss counts original packets
 * from sequence gaps: retransmissions arrive on their own RTX payload type and are not fed here,
 * and a late original that fills a gap counts as received (RFC 3550 A.1, A.3). A jump of
 * MAX_DROPOUT or more followed by the next sequence number is a new sequence space, as RFC 3550
 * A.1 restarts on it, not loss (a sender that starts its sequence again on the same SSRC). Before
 * it, a jump read as loss below half the space (31,924 packets lost of 33,178 once) and as none of
 * a minute's packets expected past it; what showed it was a new SSRC on a reused transceiver fed
 * into the old stream, which now gets a stream of its own (received.ts `retire`). Jitter is RFC
 * 3550's interarrival jitter (A.8), from the RTP timestamps and the arrival clock, updated as
 * libwebrtc updates it (and LiveKit, and so every figure a user compares ours with): once per
 * frame, at the first in-order packet with a new RTP timestamp, against the in-order packet before
 * it; a frame's further packets, duplicates and late packets move nothing. RFC 3550 read
 * literally (every packet) read a third of libwebrtc's video jitter through the same network
 * (docs/observability.md 4.4): a frame's packets leave together, and each of them pulled the
 * estimate towards 0. No clock of its own: arrival times are passed in, so every figure is
 * testable by hand.
 */
export class InboundStream {
  private baseSeq = 0;
  private maxSeq = 0;
  private cycles = 0;
  /** Packets expected in the sequence spaces before the last restart. */
  private expectedBefore = 0;
  /** RFC 3550's bad_seq: after a large jump, the sequence number that would make it a restart. */
  private restartAt: number | undefined;
  private started = false;
  private received = 0;
  private bytes = 0;
  private headerBytes: number | undefined = 0;
  private jitter = 0;
  /** The transit time and RTP timestamp of the last in-order packet (libwebrtc's reference). */
  private lastTransit: number | undefined;
  private lastTimestamp = 0;
  private firstPacketMs: number | undefined;
  private previous: InboundTotals | undefined;
  /** Who counts the stream's packets while it is handed over (see `handOver`). */
  private counter: InboundCounter | undefined;

  constructor(
    readonly key: string,
    readonly kind: Kind,
    readonly clockRate: number,
  ) {}

  /**
   * One RTP packet: its sequence number, RTP timestamp, payload size, arrival time (ms) and the size
   * of its RTP header with padding (for the wire bitrate, as libwebrtc's headerBytesReceived).
   */
  onPacket(
    sequenceNumber: number,
    rtpTimestamp: number,
    payloadBytes: number,
    arrivalMs: number,
    headerBytes?: number,
  ): void {
    if (this.counter !== undefined) {
      this.counter.onPacket(sequenceNumber, rtpTimestamp, payloadBytes, arrivalMs, headerBytes);
      return;
    }
    if (!this.started) {
      this.started = true;
      this.baseSeq = sequenceNumber;
      this.maxSeq = sequenceNumber;
      this.firstPacketMs = arrivalMs;
    } else {
      const forward = (sequenceNumber - this.maxSeq + SEQ_MOD) % SEQ_MOD;
      if (forward !== 0 && forward < MAX_DROPOUT) {
        if (sequenceNumber < this.maxSeq) this.cycles += SEQ_MOD;
        this.maxSeq = sequenceNumber;
        this.restartAt = undefined;
      } else if (forward >= MAX_DROPOUT && forward <= SEQ_MOD - MAX_MISORDER) {
        if (sequenceNumber === this.restartAt) {
          // two in a row after the jump: a new sequence space, from the packet before this one
          this.expectedBefore += this.spaceExpected();
          this.baseSeq = sequenceNumber - 1;
          this.maxSeq = sequenceNumber;
          this.cycles = 0;
          this.restartAt = undefined;
          this.lastTransit = undefined;
        } else {
          // counted as received (a late packet fills a gap, a stray reads as a duplicate), not as
          // sequence space, and kept out of the jitter: a restart's RTP timestamps start elsewhere
          this.restartAt = (sequenceNumber + 1) % SEQ_MOD;
          this.countBytes(payloadBytes, headerBytes);
          return;
        }
      } else {
        // a duplicate or a late packet: received, and out of the jitter, as libwebrtc leaves it
        this.countBytes(payloadBytes, headerBytes);
        return;
      }
    }
    this.countBytes(payloadBytes, headerBytes);
    // transit in RTP units; 32-bit timestamps wrap, so the difference is taken modulo 2^32
    const arrival = (arrivalMs * this.clockRate) / 1000;
    const transit = arrival - rtpTimestamp;
    if (this.lastTransit !== undefined && rtpTimestamp !== this.lastTimestamp) {
      let d = Math.abs(transit - this.lastTransit);
      if (d > 0x8000_0000) d = 0x1_0000_0000 - d;
      this.jitter += (d - this.jitter) / 16;
    }
    this.lastTransit = transit;
    this.lastTimestamp = rtpTimestamp;
  }

  private countBytes(payloadBytes: number, headerBytes: number | undefined): void {
    this.received++;
    this.bytes += payloadBytes;
    this.headerBytes =
      headerBytes === undefined || this.headerBytes === undefined
        ? undefined
        : this.headerBytes + headerBytes;
  }

  /** Packets expected in the current sequence space. */
  private spaceExpected(): number {
    return this.cycles + this.maxSeq - this.baseSeq + 1;
  }

  /** Everything the stream has counted, to hand over. */
  state(): InboundState {
    if (this.counter !== undefined) return this.counter.state();
    return {
      started: this.started,
      baseSeq: this.baseSeq,
      maxSeq: this.maxSeq,
      cycles: this.cycles,
      expectedBefore: this.expectedBefore,
      restartAt: this.restartAt,
      received: this.received,
      bytes: this.bytes,
      headerBytes: this.headerBytes,
      jitter: this.jitter,
      lastTransit: this.lastTransit,
      lastTimestamp: this.lastTimestamp,
      firstPacketMs: this.firstPacketMs,
    };
  }

  /**
   * `counter` counts the stream's packets from its state (every packet given here goes to it, and
   * every figure read here is its) until it is handed back with undefined: its state is the
   * stream's again.
   */
  handOver(counter: InboundCounter | undefined): void {
    const from = this.counter;
    if (from === counter) return;
    if (from !== undefined) {
      this.counter = undefined;
      this.take(from.state());
    }
    this.counter = counter;
  }

  /** InboundState's names are this class's fields: a counter's state becomes the stream's. */
  private take(state: InboundState): void {
    Object.assign(this, state);
  }

  totals(): InboundTotals {
    if (this.counter !== undefined) this.take(this.counter.state());
    const expected = this.started ? this.expectedBefore + this.spaceExpected() : 0;
    return {
      received: this.received,
      expected,
      lost: expected - this.received,
      bytes: this.bytes,
      headerBytes: this.headerBytes,
      jitterS: this.received >= 2 ? this.jitter / this.clockRate : undefined,
      firstPacketMs: this.firstPacketMs,
    };
  }

  /**
   * The stream's counts since the previous call, in the engine-wide sample shape. Loss in a window
   * is max(0, Δlost) while the next window diffs the raw totals, as stats/delta.ts does, so
   * duplicates in one window never hide loss in a later one.
   */
  window(): InboundTrackSample {
    const now = this.totals();
    const before = this.previous;
    this.previous = now;
    const received = now.received - (before?.received ?? 0);
    const lost = Math.max(0, now.lost - (before?.lost ?? 0));
    return inboundTrackSample({
      key: this.key,
      kind: this.kind,
      expected: received + lost,
      lost,
      received,
      bytes: now.bytes - (before?.bytes ?? 0),
      ...(now.headerBytes === undefined ? {} : { headerBytes: now.headerBytes - (before?.headerBytes ?? 0) }),
      jitterS: now.jitterS,
    });
  }
}
