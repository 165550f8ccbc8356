import type { InboundCounter, InboundPacket, InboundState, InboundStream } from "./inbound.js";
import { copySlot, forgetTurn, turnCopy, twoFields } from "./slot-reading.js";
import type { ReceiverStreamStatistics } from "./stream-statistics.js";

/**
 * A received audio stream counted by the native media thread (lean-media.c's RS_* slot) while it
 * reads the stream's socket: the stream's InboundStream and werift's receiver statistics hand their
 * state to the slot, the thread counts each packet into it with the same arithmetic (no record, no
 * JavaScript call per packet), and JavaScript reads the slot when a figure is wanted (a stats
 * window, werift's receiver report) and takes the state back when the socket is released. A packet
 * JavaScript still takes (padding werift decrypts, a packet from another socket) is counted into
 * the slot through the addon, so the two never diverge. inbound.ts and stream-statistics.ts stay
 * the TypeScript path and the oracle: native-counts.test.ts feeds both the same packets.
 */

/** The slot's fields, lean-media.c's RS_* order. */
export const COUNTS = {
  gen: 0,
  inStarted: 1,
  inBase: 2,
  inMax: 3,
  inCycles: 4,
  inExpectedBefore: 5,
  inRestartAt: 6,
  inReceived: 7,
  inBytes: 8,
  inHeaderBytes: 9,
  inJitter: 10,
  inLastTransit: 11,
  inLastTimestamp: 12,
  inFirstMs: 13,
  inRate: 14,
  wBase: 15,
  wMax: 16,
  wCycles: 17,
  wPackets: 18,
  wBytes: 19,
  wHeaderBytes: 20,
  wLastReceived: 21,
  wRate: 22,
  wJitterQ4: 23,
  wLastArrival: 24,
  wLastTimestamp: 25,
  offset: 26,
  origin: 27,
  threadPackets: 28,
  threadWireBytes: 29,
  /**
   * The stream's block of a receiver report the thread builds (lean-media.c receiver_report):
   * werift's fraction-lost priors, and the last sender report's LSR and its arrival on nowMs()'s
   * clock (werift's, or one the thread took itself, take_rtcp).
   */
  wExpectedPrior: 30,
  wReceivedPrior: 31,
  wLsr: 32,
  wSrArrivalMs: 33,
} as const;
export const COUNTS_FIELDS = 34;

/** Which counters a packet JavaScript took goes into (lean-media.c's COUNT_*). */
export const COUNT_INBOUND = 1;
export const COUNT_WERIFT = 2;

/** werift's statistics fields the slot holds while the thread counts (the rest stay werift's). */
const WERIFT_FIELDS = {
  base_seq: COUNTS.wBase,
  max_seq: COUNTS.wMax,
  cycles: COUNTS.wCycles,
  packets_received: COUNTS.wPackets,
  bytesReceived: COUNTS.wBytes,
  headerBytesReceived: COUNTS.wHeaderBytes,
  lastPacketReceivedTimestamp: COUNTS.wLastReceived,
  jitter_q4: COUNTS.wJitterQ4,
  last_arrival: COUNTS.wLastArrival,
  last_timestamp: COUNTS.wLastTimestamp,
} as const satisfies Partial<Record<keyof ReceiverStreamStatistics, number>>;

type WeriftField = keyof typeof WERIFT_FIELDS;

/** The packet werift's StreamStatistics.add takes (what of it is read). */
interface WeriftPacket {
  readonly header: {
    readonly sequenceNumber: number;
    readonly timestamp: number;
    readonly serializeSize: number;
  };
  readonly payload: { readonly length: number };
}

type Add = (packet: WeriftPacket, now?: number) => void;

/** A packet JavaScript took, by its fields: `arrivalMs` on the performance clock (InboundStream's), `nowS` werift's arrival. */
export type ReceivedPacket = [
  sequenceNumber: number,
  timestamp: number,
  headerBytes: number,
  payloadBytes: number,
  arrivalMs: number,
  nowS: number,
];

/** Counts a packet JavaScript took into the slot (the addon's countReceived for this stream); false when the thread no longer counts it. */
export type CountReceived = (parts: number, ...packet: ReceivedPacket) => boolean;

/** werift tests `== undefined`: a null is undefined too. */
const orNaN = (v: number | null | undefined): number => v ?? Number.NaN;
const orUndefined = (v: number): number | undefined => (Number.isNaN(v) ? undefined : v);

/** One stream's counters while the native thread counts it. */
export class NativeStreamCounts implements InboundCounter {
  readonly slot = new Float64Array(COUNTS_FIELDS);
  private handed = false;
  /** The thread's own packets and wire bytes already folded into the caller's counts. */
  private folded = { packets: 0, wireBytes: 0 };
  /** threadCounted's reading of the two counts. */
  private readonly pair = new Float64Array(2);

  /**
   * `clockOffset` is performance.now() minus the addon's nowMs(): the slot's arrivals are on the
   * performance clock, as InboundStream's are.
   */
  constructor(
    readonly inbound: InboundStream,
    readonly statistics: ReceiverStreamStatistics,
    clockOffset: number,
  ) {
    const s = inbound.state();
    const w = statistics;
    const slot = this.slot;
    slot[COUNTS.inStarted] = s.started ? 1 : 0;
    slot[COUNTS.inBase] = s.baseSeq;
    slot[COUNTS.inMax] = s.maxSeq;
    slot[COUNTS.inCycles] = s.cycles;
    slot[COUNTS.inExpectedBefore] = s.expectedBefore;
    slot[COUNTS.inRestartAt] = orNaN(s.restartAt);
    slot[COUNTS.inReceived] = s.received;
    slot[COUNTS.inBytes] = s.bytes;
    slot[COUNTS.inHeaderBytes] = orNaN(s.headerBytes);
    slot[COUNTS.inJitter] = s.jitter;
    slot[COUNTS.inLastTransit] = orNaN(s.lastTransit);
    slot[COUNTS.inLastTimestamp] = s.lastTimestamp;
    slot[COUNTS.inFirstMs] = orNaN(s.firstPacketMs);
    slot[COUNTS.inRate] = inbound.clockRate;
    for (const name of Object.keys(WERIFT_FIELDS) as WeriftField[])
      slot[WERIFT_FIELDS[name]] = orNaN(w[name]);
    slot[COUNTS.wRate] = w.clockRate;
    slot[COUNTS.offset] = clockOffset;
    slot[COUNTS.origin] = performance.timeOrigin;
  }

  /**
   * The thread counts from here (call once the addon holds the slot): InboundStream's packets and
   * figures and werift's statistics go to the slot, `count` takes the packets JavaScript still gets.
   */
  handOver(count: CountReceived): void {
    if (this.handed) return;
    this.handed = true;
    this.count = count;
    this.inbound.handOver(this);
    const statistics = this.statistics as unknown as Record<string, unknown>;
    for (const [name, at] of Object.entries(WERIFT_FIELDS))
      Object.defineProperty(statistics, name, {
        configurable: true,
        enumerable: true,
        get: () => orUndefined(this.read()[at] ?? Number.NaN),
        set: () => {
          throw new Error(
            `werift's receiver statistics ${name} is the native media thread's while it counts the stream`,
          );
        },
      });
    const add: Add = (packet, now = Date.now() / 1000) => {
      forgetTurn(this.slot);
      const { header } = packet;
      const counted = this.count(
        COUNT_WERIFT,
        header.sequenceNumber,
        header.timestamp,
        header.serializeSize,
        packet.payload.length,
        0,
        now,
      );
      if (counted) return;
      this.handBack();
      (this.statistics as unknown as { add: Add }).add(packet, now);
    };
    statistics.add = add;
  }

  /**
   * The state is JavaScript's again (call once the thread no longer writes the slot: the addon's
   * removeReceiver returned): werift's statistics and the InboundStream hold what the thread counted.
   */
  handBack(): void {
    if (!this.handed) return;
    this.handed = false;
    const at = this.read();
    const statistics = this.statistics as unknown as Record<string, unknown>;
    for (const [name, field] of Object.entries(WERIFT_FIELDS)) {
      Reflect.deleteProperty(statistics, name);
      statistics[name] = orUndefined(at[field] ?? Number.NaN);
    }
    Reflect.deleteProperty(statistics, "add");
    this.inbound.handOver(undefined);
  }

  /**
   * The thread's packets and wire bytes since the last call (the caller's transport and test
   * counts), read afresh: the thread may have counted since this turn's reading (a release waits
   * for its tick).
   */
  threadCounted(): { packets: number; wireBytes: number } {
    forgetTurn(this.slot);
    const now = twoFields(this.slot, COUNTS.threadPackets, COUNTS.threadWireBytes, this.pair);
    const packets = now[0] ?? 0;
    const wireBytes = now[1] ?? 0;
    const delta = { packets: packets - this.folded.packets, wireBytes: wireBytes - this.folded.wireBytes };
    this.folded = { packets, wireBytes };
    return delta;
  }

  /** werift's fraction-lost priors as the thread's receiver reports moved them (native-reports.ts), read afresh. */
  priors(): { expected: number; received: number } {
    forgetTurn(this.slot);
    const at = this.read();
    return { expected: at[COUNTS.wExpectedPrior] ?? 0, received: at[COUNTS.wReceivedPrior] ?? 0 };
  }

  /**
   * The last sender report of the stream the slot knows (the thread took it, or werift and
   * setLastSr): its LSR (0: none) and arrival on nowMs()'s clock, read afresh.
   */
  lastSr(): { lsr: number; arrivalMs: number } {
    forgetTurn(this.slot);
    const at = this.read();
    return { lsr: at[COUNTS.wLsr] ?? 0, arrivalMs: at[COUNTS.wSrArrivalMs] ?? 0 };
  }

  private count: CountReceived = () => false;

  /**
   * A packet taken in JavaScript for both counters (the bypass's own, header-only.ts), counted into
   * the slot; false when the thread does not count the stream (any more): the caller counts it.
   */
  packet(...packet: ReceivedPacket): boolean {
    if (!this.handed) return false;
    forgetTurn(this.slot);
    const counted = this.count(COUNT_INBOUND | COUNT_WERIFT, ...packet);
    if (!counted) this.handBack();
    return counted;
  }

  /** InboundCounter: a packet the InboundStream was given. */
  onPacket(...packet: InboundPacket): void {
    const [sequenceNumber, rtpTimestamp, payloadBytes, arrivalMs, headerBytes] = packet;
    forgetTurn(this.slot);
    const counted = this.count(
      COUNT_INBOUND,
      sequenceNumber,
      rtpTimestamp,
      headerBytes ?? Number.NaN,
      payloadBytes,
      arrivalMs,
      0,
    );
    if (counted) return;
    this.handBack();
    this.inbound.onPacket(...packet);
  }

  /** InboundCounter: the InboundStream's state as the slot holds it. */
  state(): InboundState {
    const at = this.read();
    const f = (i: number): number => at[i] ?? Number.NaN;
    return {
      started: f(COUNTS.inStarted) === 1,
      baseSeq: f(COUNTS.inBase),
      maxSeq: f(COUNTS.inMax),
      cycles: f(COUNTS.inCycles),
      expectedBefore: f(COUNTS.inExpectedBefore),
      restartAt: orUndefined(f(COUNTS.inRestartAt)),
      received: f(COUNTS.inReceived),
      bytes: f(COUNTS.inBytes),
      headerBytes: orUndefined(f(COUNTS.inHeaderBytes)),
      jitter: f(COUNTS.inJitter),
      lastTransit: orUndefined(f(COUNTS.inLastTransit)),
      lastTimestamp: f(COUNTS.inLastTimestamp),
      firstPacketMs: orUndefined(f(COUNTS.inFirstMs)),
    };
  }

  /**
   * The slot as of one moment (the thread writes it under a sequence lock), read once per
   * JavaScript turn while the thread counts: every figure werift reads for one receiver report is
   * of the same moment.
   */
  private read(): Float64Array {
    return this.handed ? turnCopy(this.slot) : copySlot(this.slot);
  }
}
