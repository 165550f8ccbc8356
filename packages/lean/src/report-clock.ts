import {
  RTCRtpReceiver,
  RTCRtpSender,
  RtcpReceiverInfo,
  RtcpRrPacket,
  RtcpSenderInfo,
  RtcpSourceDescriptionPacket,
  RtcpSrPacket,
  SourceDescriptionChunk,
  SourceDescriptionItem,
  type RTCDtlsTransport,
  type RtcpPacket,
} from "werift";

/**
 * RTCP receiver and sender reports on one process-wide clock. werift runs, for each RTCRtpReceiver
 * and RTCRtpSender, an async loop that sleeps 0.5-1.5 s on a promise timer with an abort signal,
 * then builds its report and sends it: at 16 rooms of 360p that is 80 loops, and with their timers,
 * signals and promises 7.7% of the worker (bench/results.md, 2026-11-25 22:02). Here one unref'd
 * interval walks every reporting receiver and sender and sends each one's report when it is due,
 * 0.5-1.5 s after its last as werift spaces them; the report is werift's own, built from the same
 * fields with the same packet classes and sent through the same transport, so LiveKit reads what it
 * read before. What differs: a report goes up to one tick (TICK_MS) after its time, and a report
 * whose send fails is tried again at the next time, where werift's loop waited one more interval.
 *
 * Installed on werift's prototypes (`reportOnOneClock`), as its loops start from inside werift (a
 * receiver's first packet, a sender's first send); werift's `stop()` still ends a reporter, which
 * the clock drops when its next report comes due (at most REPORT_MIN_MS + REPORT_SPREAD_MS on).
 */

/** How often the clock looks for due reports. */
export const TICK_MS = 100;
/** werift's spacing of one stream's reports: this, plus up to REPORT_SPREAD_MS at random. */
export const REPORT_MIN_MS = 500;
export const REPORT_SPREAD_MS = 1000;

/** Someone who reports on the clock: a werift receiver or sender, as the clock sees it. */
export interface Reporter {
  /** False once werift stopped it: the clock drops it. */
  live(): boolean;
  /** Sends one report now. */
  report(): void;
}

/** The clock's time and chance: a test injects them. */
export interface ClockDeps {
  now(): number;
  random(): number;
  every(fn: () => void, ms: number): { cancel(): void };
}

/**
 * The real clock of the process-wide loops (reports here, consent checks): performance.now, and an
 * interval that never holds the process open, as werift's loops did not hold it either (a
 * connected PeerConnection's sockets do).
 */
export const realClock: ClockDeps = {
  now: () => performance.now(),
  random: Math.random,
  every: (fn, ms) => {
    const timer = setInterval(fn, ms);
    timer.unref();
    return {
      cancel: () => {
        clearInterval(timer);
      },
    };
  },
};

/** One interval for every reporter of the process; runs only while someone reports. */
export class ReportClock {
  /** Each reporter and when its next report is due, keyed by whom it reports for. */
  private readonly due = new Map<object, { reporter: Reporter; at: number }>();
  private ticking: { cancel(): void } | undefined;
  /** Reports sent, over the clock's life. */
  reports = 0;

  constructor(private readonly deps: ClockDeps = realClock) {}

  /** Starts `reporter` for `owner` (once: a second start of the same owner is ignored). */
  add(owner: object, reporter: Reporter): void {
    if (this.due.has(owner)) return;
    this.due.set(owner, { reporter, at: this.nextAt() });
    this.ticking ??= this.deps.every(() => {
      this.tick();
    }, TICK_MS);
  }

  get size(): number {
    return this.due.size;
  }

  /**
   * Sends what is due, drops the stopped when they come due (a stopped reporter waits out its
   * interval, at most REPORT_MIN_MS + REPORT_SPREAD_MS, rather than every reporter being asked at
   * every tick); stops ticking when nobody is left.
   */
  tick(): void {
    const now = this.deps.now();
    for (const [owner, entry] of this.due) {
      if (entry.at > now) continue;
      if (!entry.reporter.live()) {
        this.due.delete(owner);
        continue;
      }
      entry.at = this.nextAt();
      this.reports++;
      entry.reporter.report();
    }
    if (this.due.size === 0) {
      this.ticking?.cancel();
      this.ticking = undefined;
    }
  }

  private nextAt(): number {
    return this.deps.now() + REPORT_MIN_MS + this.deps.random() * REPORT_SPREAD_MS;
  }
}

/** What werift's receiver keeps for its reports (private in its types). */
export interface ReceiverReporting {
  rtcpRunning: boolean;
  readonly stopped: boolean;
  readonly rtcpSsrc: number;
  readonly remoteStreams: Record<
    string,
    { fraction_lost: number; packets_lost: number; max_seq: number; jitter: number }
  >;
  readonly lastSRtimestamp: Record<string, number>;
  readonly receiveLastSRTimestamp: Record<string, number>;
  readonly dtlsTransport: RTCDtlsTransport;
}

/** What werift's sender keeps for its reports (private in its types). */
export interface SenderReporting {
  rtcpRunning: boolean;
  readonly stopped: boolean;
  readonly ssrc: number;
  readonly ntpTimestamp: bigint;
  readonly rtpTimestamp: number;
  readonly packetCount: number;
  readonly octetCount: number;
  readonly cname?: string;
  lastSRtimestamp: number;
  lastSentSRTimestamp: number;
  readonly dtlsTransport: RTCDtlsTransport;
}

/** The middle 32 bits of a 64-bit NTP time (RFC 3550's LSR), as werift's compactNtp. */
export function compactNtp(ntp: bigint): number {
  return Number((ntp >> 16n) & 0xffff_ffffn);
}

/** werift's receiver report, as its loop builds it: one block per stream received, LSR and DLSR from the last SR. */
export function receiverReport(r: ReceiverReporting, nowS: number): RtcpRrPacket {
  const reports = Object.entries(r.remoteStreams).map(([ssrc, stream]) => {
    let lsr = 0;
    let dlsr = 0;
    const last = r.lastSRtimestamp[ssrc];
    if (last) {
      lsr = last;
      const delayS = nowS - (r.receiveLastSRTimestamp[ssrc] ?? 0);
      if (delayS > 0 && delayS < 65536) dlsr = Math.trunc(delayS * 65536);
    }
    return new RtcpReceiverInfo({
      ssrc: Number(ssrc),
      fractionLost: stream.fraction_lost,
      packetsLost: stream.packets_lost,
      highestSequence: stream.max_seq,
      jitter: stream.jitter,
      lsr,
      dlsr,
    });
  });
  return new RtcpRrPacket({ ssrc: r.rtcpSsrc, reports });
}

/**
 * werift's sender report and SDES (its CNAME), as its loop builds them, and what its loop notes
 * for the RTT a receiver report's LSR and DLSR give.
 */
export function senderReport(s: SenderReporting, nowS: number): RtcpPacket[] {
  const packets: RtcpPacket[] = [
    new RtcpSrPacket({
      ssrc: s.ssrc,
      senderInfo: new RtcpSenderInfo({
        ntpTimestamp: s.ntpTimestamp,
        rtpTimestamp: s.rtpTimestamp,
        packetCount: s.packetCount,
        octetCount: s.octetCount,
      }),
    }),
  ];
  s.lastSRtimestamp = compactNtp(s.ntpTimestamp);
  s.lastSentSRTimestamp = nowS;
  if (s.cname) packets.push(sdesPacket(s.ssrc, s.cname));
  return packets;
}

/** werift's SDES after its sender report: one chunk, the CNAME. */
export function sdesPacket(ssrc: number, cname: string): RtcpSourceDescriptionPacket {
  return new RtcpSourceDescriptionPacket({
    chunks: [
      new SourceDescriptionChunk({
        source: ssrc,
        items: [new SourceDescriptionItem({ type: 1, text: cname })],
      }),
    ],
  });
}

function send(transport: RTCDtlsTransport, packets: RtcpPacket[]): void {
  transport.sendRtcp(packets).catch(() => {
    // a transport closing or not yet keyed: the next report is tried at its time
  });
}

/** A runRtcp that starts its receiver's or sender's reports on `clock`, as werift's starts its loop. */
function onClock<T extends { rtcpRunning: boolean; readonly stopped: boolean }>(
  clock: ReportClock,
  report: (self: T) => void,
): (this: T) => Promise<void> {
  return function (this: T): Promise<void> {
    if (this.rtcpRunning || this.stopped) return Promise.resolve();
    this.rtcpRunning = true;
    clock.add(this, {
      live: () => this.rtcpRunning && !this.stopped,
      report: () => {
        report(this);
      },
    });
    return Promise.resolve();
  };
}

/**
 * Receivers and senders whose reports the native media thread sends now (native-reports.ts,
 * native-audio.ts): the clock skips them.
 */
export const nativelyReported = new WeakSet<object>();

/** The clock every lean participant of the process reports on. */
export const sharedReportClock = new ReportClock();

let installed = false;

/** Whether werift's receivers and senders of this process report on the clock (reportOnOneClock). */
export function reportsOnOneClock(): boolean {
  return installed;
}

/**
 * Puts werift's receivers and senders of this process on `clock` in place of their own report
 * loops (see the top of this file); once per process.
 */
export function reportOnOneClock(clock: ReportClock = sharedReportClock): void {
  if (installed) return;
  const receiver = RTCRtpReceiver.prototype as unknown as { runRtcp?: unknown };
  const sender = RTCRtpSender.prototype as unknown as { runRtcp?: unknown };
  if (typeof receiver.runRtcp !== "function" || typeof sender.runRtcp !== "function")
    throw new Error(
      "werift's RTCRtpReceiver or RTCRtpSender has no runRtcp where lean replaces its report loop: werift changed; check packages/lean's pinned werift version",
    );
  installed = true;
  receiver.runRtcp = onClock<ReceiverReporting>(clock, (r) => {
    // the native media thread sends this receiver's reports now (native-reports.ts)
    if (nativelyReported.has(r)) return;
    send(r.dtlsTransport, [receiverReport(r, Date.now() / 1000)]);
  });
  sender.runRtcp = onClock<SenderReporting>(clock, (s) => {
    // the native media thread sends this sender's reports now (native-audio.ts)
    if (nativelyReported.has(s)) return;
    send(s.dtlsTransport, senderReport(s, Date.now() / 1000));
  });
}
