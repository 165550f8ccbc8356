/**
 * werift's per-SSRC receiver statistics (lib/webrtc/src/media/receiver/statistics.js), the state
 * its RTCP receiver reports and getStats() read, as the fields a bypassed packet updates. A
 * packet that never enters werift is added here from its header's fields alone.
 */
export interface ReceiverStreamStatistics {
  base_seq: number | undefined;
  max_seq: number | undefined;
  cycles: number;
  packets_received: number;
  bytesReceived: number;
  headerBytesReceived: number;
  lastPacketReceivedTimestamp: number | undefined;
  readonly clockRate: number;
  jitter_q4: number;
  last_arrival: number | undefined;
  last_timestamp: number | undefined;
}

/** werift's uint16Gt: `a` after `b` in sequence-number order (RFC 3550's serial arithmetic). */
function uint16After(a: number, b: number): boolean {
  return (a < b && b - a > 0x8000) || (a > b && a - b < 0x8000);
}

/**
 * A packet's kernel arrival (the performance clock's ms, as the native thread read it) in the
 * clock werift's statistics keep: epoch seconds. Undefined (no kernel arrival: the TypeScript
 * path) leaves werift's own clock, as werift takes it.
 */
export function arrivalSeconds(kernelArrivalMs: number | undefined): number | undefined {
  return kernelArrivalMs === undefined ? undefined : (performance.timeOrigin + kernelArrivalMs) / 1000;
}

/**
 * StreamStatistics.add for a packet given by its fields, with the same arithmetic, without an
 * RtpPacket to fill: `nowS` is the arrival in seconds (werift's default is Date.now() / 1000).
 * werift's `int` is Number.parseInt of the number's decimal string; Math.trunc is the same for
 * every finite value from 1e-6 to 1e21, and an arrival times a clock rate is ~1e14.
 */
export function addToStatistics(
  s: ReceiverStreamStatistics,
  sequenceNumber: number,
  timestamp: number,
  headerBytes: number,
  payloadBytes: number,
  nowS: number = Date.now() / 1000,
): void {
  // werift tests `== undefined`, which a null would pass too
  const maxSeq = s.max_seq ?? undefined;
  const inOrder = maxSeq === undefined || uint16After(sequenceNumber, maxSeq);
  s.packets_received++;
  s.bytesReceived += payloadBytes;
  s.headerBytesReceived += headerBytes;
  s.lastPacketReceivedTimestamp = performance.timeOrigin + performance.now();
  s.base_seq ??= sequenceNumber;
  if (!inOrder) return;
  const arrival = Math.trunc(nowS * s.clockRate);
  if (maxSeq !== undefined && sequenceNumber < maxSeq) s.cycles += 1 << 16;
  s.max_seq = sequenceNumber;
  if (timestamp !== s.last_timestamp && s.packets_received > 1) {
    const diff = Math.abs(arrival - (s.last_arrival ?? 0) - (timestamp - (s.last_timestamp ?? 0)));
    s.jitter_q4 += diff - ((s.jitter_q4 + 8) >> 4);
  }
  s.last_arrival = arrival;
  s.last_timestamp = timestamp;
}
