import { InboundStream } from "../src/inbound.js";
import { NativeStreamCounts } from "../src/native-counts.js";
import type { NativeReceiving } from "../src/native-receive.js";
import { addToStatistics } from "../src/stream-statistics.js";
import { StreamStatistics } from "./werift-statistics.js";

/**
 * An Opus stream whose first packet (`seq`, `ts`: 12 header and 80 payload bytes) JavaScript
 * counted, as werift and the tap do before the bypass, then handed to the native thread reading
 * socket `id`: its InboundStream, werift's statistics and the counts the thread now keeps.
 */
export function countedStream(receiving: NativeReceiving, id: number, ssrc: number, seq: number, ts: number) {
  const inbound = new InboundStream("s", "audio", 48_000);
  const werift = new StreamStatistics(48_000);
  inbound.onPacket(seq, ts, 80, performance.now(), 12);
  addToStatistics(werift, seq, ts, 12, 80);
  const counts = new NativeStreamCounts(inbound, werift, receiving.clockOffset);
  const why = receiving.stream(id, ssrc, 16, counts.slot);
  if (why !== undefined) throw new Error(why);
  counts.handOver(receiving.counter(id, ssrc));
  return { inbound, werift, counts };
}
