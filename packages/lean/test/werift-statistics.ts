import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { RtpPacket } from "werift";
import type { ReceiverStreamStatistics } from "../src/stream-statistics.js";

/** werift's own receiver statistics: what its receiver reports and getStats read. */
export type WeriftStatistics = ReceiverStreamStatistics & {
  add(p: RtpPacket, now?: number): void;
  readonly packets_lost: number;
  readonly jitter: number;
  /** What its fraction_lost getter moves on at each receiver report. */
  readonly expected_prior: number;
  readonly received_prior: number;
};

// werift's own StreamStatistics, the oracle (not among its package's exports: loaded by its path)
const require = createRequire(import.meta.url);
export const { StreamStatistics } = require(
  join(dirname(require.resolve("werift")), "media/receiver/statistics.js"),
) as { StreamStatistics: new (clockRate: number) => WeriftStatistics };

/** The packet werift's add reads, from its fields. */
export const weriftPacket = (seq: number, ts: number, headerBytes: number, payloadBytes: number): RtpPacket =>
  ({
    header: { sequenceNumber: seq, timestamp: ts, serializeSize: headerBytes },
    payload: { length: payloadBytes },
  }) as unknown as RtpPacket;

/** The fields of werift's statistics that do not read a clock of their own. */
export const weriftState = (s: WeriftStatistics) => ({
  base: s.base_seq,
  max: s.max_seq,
  cycles: s.cycles,
  received: s.packets_received,
  bytes: s.bytesReceived,
  headerBytes: s.headerBytesReceived,
  jitterQ4: s.jitter_q4,
  lastArrival: s.last_arrival,
  lastTimestamp: s.last_timestamp,
  lost: s.packets_lost,
  jitter: s.jitter,
});
