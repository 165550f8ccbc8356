/**
 * What a user-space delay did to the RTP it released (`lkswarm-delay --truth`), and the figures a
 * receiver on the far side should report from it: the interarrival jitter per stream, from the
 * release times and RTP timestamps, as libwebrtc computes it. No clock, no I/O.
 */

/** One RTP packet as the delayer released it. */
export interface ReleasedPacket {
  readonly kind: "rtp";
  /** When it left the queue, microseconds on the wall clock (CLOCK_REALTIME). */
  readonly releaseUs: number;
  /** How long it was held, microseconds. */
  readonly holdUs: number;
  readonly dport: number;
  readonly ssrc: number;
  readonly seq: number;
  readonly rtpTimestamp: number;
  readonly payloadType: number;
  readonly marker: boolean;
}

/** One STUN message as the delayer released it (`type` 0x0101 is a binding success response). */
export interface ReleasedStun {
  readonly kind: "stun";
  readonly releaseUs: number;
  readonly holdUs: number;
  readonly dport: number;
  readonly type: number;
  /** The transaction ID in hex: a request and its answer share it. */
  readonly transaction: string;
  /** Whether it came in through the device (a queue holding both ways), else it left. */
  readonly incoming: boolean;
}

export const STUN_BINDING_REQUEST = 0x0001;
export const STUN_BINDING_SUCCESS = 0x0101;

/**
 * What each check sent to the node took there, in seconds: from its binding request reaching the
 * delayer (coming in) to the success answer with its transaction leaving it, both holds included.
 * Needs a queue holding both ways (UserDelay's `incoming`); a request without an answer is left out.
 */
export function answeredChecks(stun: readonly ReleasedStun[]): number[] {
  const asked = new Map<string, number>();
  for (const m of stun)
    if (m.incoming && m.type === STUN_BINDING_REQUEST) asked.set(m.transaction, m.releaseUs - m.holdUs);
  const took: number[] = [];
  for (const m of stun) {
    const from = m.incoming || m.type !== STUN_BINDING_SUCCESS ? undefined : asked.get(m.transaction);
    if (from !== undefined && m.releaseUs >= from) took.push((m.releaseUs - from) / 1e6);
  }
  return took;
}

/**
 * The delayer's truth file: "r release_us hold_us dport ssrc seq ts pt m" per RTP packet and
 * "s release_us hold_us dport type txid in|out" per STUN message; other lines are skipped.
 */
export function parseReleased(text: string): { rtp: ReleasedPacket[]; stun: ReleasedStun[] } {
  const rtp: ReleasedPacket[] = [];
  const stun: ReleasedStun[] = [];
  for (const line of text.split("\n")) {
    const [tag, ...rest] = line.trim().split(" ");
    const way = tag === "s" ? rest.pop() : undefined;
    const transaction = tag === "s" ? (rest.pop() ?? "") : "";
    if (tag === "s" && (!/^[0-9a-f]{24}$/.test(transaction) || (way !== "in" && way !== "out"))) continue;
    const f = rest.map(Number);
    if (f.some((n) => !Number.isFinite(n))) continue;
    if (tag === "r" && f.length === 8) {
      const [releaseUs, holdUs, dport, ssrc, seq, rtpTimestamp, payloadType, marker] = f as [
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      rtp.push({
        kind: "rtp",
        releaseUs,
        holdUs,
        dport,
        ssrc,
        seq,
        rtpTimestamp,
        payloadType,
        marker: marker === 1,
      });
    } else if (tag === "s" && f.length === 4) {
      const [releaseUs, holdUs, dport, type] = f as [number, number, number, number];
      stun.push({ kind: "stun", releaseUs, holdUs, dport, type, transaction, incoming: way === "in" });
    }
  }
  return { rtp, stun };
}

/** A stream's jitter estimate after each of its packets. */
export interface JitterSeries {
  readonly ssrc: number;
  readonly payloadType: number;
  readonly points: readonly { readonly releaseUs: number; readonly jitterS: number }[];
}

/**
 * RFC 3550 A.8 over each SSRC's packets in release order, updated as libwebrtc (and LiveKit) update
 * it: J += (|D| - J) / 16 once per frame, at the first packet with a new RTP timestamp, D the change
 * in transit time (release minus RTP timestamp, in the payload type's clock) since the packet before
 * it. Streams whose payload type has no clock rate in `clockRates` (RTX, say) are left out, as
 * receivers leave retransmissions out of their jitter. The delayer keeps packets in order, so every
 * packet is in order here.
 */
export function jitterSeries(
  packets: readonly ReleasedPacket[],
  clockRates: Readonly<Record<number, number>>,
): JitterSeries[] {
  const streams = new Map<
    number,
    {
      payloadType: number;
      rate: number;
      lastTransit: number | undefined;
      lastTimestamp: number;
      jitter: number;
      points: JitterSeries["points"][number][];
    }
  >();
  for (const p of packets) {
    const rate = clockRates[p.payloadType];
    if (rate === undefined) continue;
    let s = streams.get(p.ssrc);
    if (s === undefined) {
      s = {
        payloadType: p.payloadType,
        rate,
        lastTransit: undefined,
        lastTimestamp: 0,
        jitter: 0,
        points: [],
      };
      streams.set(p.ssrc, s);
    }
    const arrival = (p.releaseUs / 1e6) * s.rate;
    const transit = arrival - p.rtpTimestamp;
    if (s.lastTransit !== undefined && p.rtpTimestamp !== s.lastTimestamp) {
      // 32-bit RTP timestamps wrap: the change in transit is taken on the circle
      let d = Math.abs(transit - s.lastTransit) % 2 ** 32;
      if (d > 2 ** 31) d = 2 ** 32 - d;
      s.jitter += (d - s.jitter) / 16;
      s.points.push({ releaseUs: p.releaseUs, jitterS: s.jitter / s.rate });
    }
    s.lastTransit = transit;
    s.lastTimestamp = p.rtpTimestamp;
  }
  return [...streams].map(([ssrc, s]) => ({ ssrc, payloadType: s.payloadType, points: s.points }));
}

/**
 * The estimate in force at `atUs`: the last point at or before it, if it is at most `maxAgeUs` old
 * (a stream that stopped, such as the previous run's, has no figure now); undefined otherwise.
 */
export function jitterAt(series: JitterSeries, atUs: number, maxAgeUs = Infinity): number | undefined {
  const points = series.points;
  let lo = 0;
  let hi = points.length - 1;
  let found: JitterSeries["points"][number] | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const point = points[mid];
    if (point === undefined) break;
    if (point.releaseUs <= atUs) {
      found = point;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found !== undefined && atUs - found.releaseUs <= maxAgeUs ? found.jitterS : undefined;
}
