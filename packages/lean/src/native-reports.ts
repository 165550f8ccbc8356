import { RtcpSrPacket, type RTCDtlsTransport } from "werift";
import type { NativeStreamCounts } from "./native-counts.js";
import type { LeanMediaAddon } from "./native-media.js";
import { nativeArrivalMs } from "./native-receive.js";
import { nativelyReported, type ReceiverReporting } from "./report-clock.js";
import { TAKE_SENDER_REPORTS, takeRtcp } from "./native-srtcp.js";
import { PROFILE_AEAD_AES_128_GCM } from "./srtp-gcm.js";
import type { ReceiverStreamStatistics } from "./stream-statistics.js";

/**
 * Receiver reports of werift's receivers sent by the native media thread (issue 51): for a
 * receiver whose every stream the thread counts on its socket, the thread builds the report from
 * the streams' slots (werift's arithmetic, lean-media.c receiver_report), seals it with the
 * transport's local SRTCP key under the receiver's next SRTCP index, and sends it from the tick it
 * is due in, 0.5-1.5 s apart as werift spaces them. The report clock (report-clock.ts) skips the
 * receiver meanwhile. The server's sender reports of the receiver's streams are the thread's too
 * (lean-media.c take_rtcp): it opens them with the transport's remote SRTCP key and puts each one's
 * LSR and arrival in the stream's slot. A compound it cannot open or does not take whole (one that
 * carries a video stream's sender report beside the audio's, as LiveKit's does for a subscriber of
 * both) comes to werift, whose LSR and arrival go to the slot as well. When the thread lets go
 * (the stream handed back, the socket released), werift gets the index the thread reached, the
 * fraction-lost priors its reports moved and the last sender report the slot knows, and reports
 * again on the clock.
 */

/** What of werift's receiver the thread's reports need (private in its types). */
type Receiver = Pick<ReceiverReporting, "rtcpSsrc" | "lastSRtimestamp" | "receiveLastSRTimestamp"> & {
  readonly remoteStreams: Record<string, PriorStatistics>;
  handleRtcpPacket: (this: Receiver, packet: { readonly type: number; readonly ssrc?: number }) => void;
};

/** werift's receiver statistics with the priors its fraction_lost getter moves on. */
type PriorStatistics = ReceiverStreamStatistics & { expected_prior: number; received_prior: number };

/** werift's SRTCP context for the local side: its session key and salt, and each SSRC's index. */
export interface SrtcpLocal {
  readonly srtcpSessionKey: Buffer;
  readonly srtcpSessionSalt: Buffer;
  getSrtcpSsrcState(ssrc: number): { srtcpIndex: number };
}

/** The GCM tag and the E flag with the SRTCP index after a sealed report. */
export const SRTCP_TRAILER_BYTES = 16 + 4;

/** The transport's local SRTCP context when its profile is AES-128-GCM (the only one the thread seals). */
export function srtcpLocal(transport: RTCDtlsTransport): SrtcpLocal | undefined {
  if (!transport.srtpStarted || transport.srtp.config.profile !== PROFILE_AEAD_AES_128_GCM) return undefined;
  const context = (transport.srtcp as unknown as { localContext?: SrtcpLocal } | undefined)?.localContext;
  return context?.srtcpSessionKey.length === 16 && context.srtcpSessionSalt.length >= 12
    ? context
    : undefined;
}

/** One receiver the thread reports for. */
interface Reported {
  readonly receiver: Receiver;
  readonly ssrcs: readonly number[];
  readonly counts: readonly NativeStreamCounts[];
  readonly local: SrtcpLocal;
  /** werift's SRTCP index for the receiver when the thread took it. */
  readonly startIndex: number;
  /** Puts werift's own handleRtcpPacket back on the receiver. */
  readonly restoreHandler: () => void;
}

/** The receivers whose reports the thread sends, of one socket it reads (`id`). */
export class NativeReports {
  private readonly reported = new Map<object, Reported>();

  /** `clockOffset`: performance.now() minus the addon's nowMs() (NativeReceiving's). */
  constructor(
    private readonly addon: LeanMediaAddon,
    private readonly id: number,
    private readonly transport: RTCDtlsTransport,
    private readonly clockOffset: number,
  ) {}

  /**
   * The thread sends `receiver`'s reports from now on when every stream of it is counted here
   * (`counted`, by SSRC) and the transport seals with AES-128-GCM; a string says why not. A
   * receiver with a stream not counted yet stays werift's for now (undefined): the next stream's
   * handover asks again.
   */
  take(receiver: object, counted: ReadonlyMap<number, NativeStreamCounts>): string | undefined {
    const r = receiver as Receiver;
    // werift's order: its remoteStreams' keys, integer-like, ascending
    const ssrcs = Object.keys(r.remoteStreams).map(Number);
    const reported = this.reported.get(receiver);
    if (reported !== undefined) {
      if (reported.ssrcs.join() === ssrcs.join()) return undefined;
      // a stream came to the receiver since: its reports carry a block for each, as werift's do
      this.giveBack(receiver, reported);
    }
    const local = srtcpLocal(this.transport);
    if (local === undefined) return "receiver reports: the transport's SRTCP is not AES-128-GCM";
    const counts = ssrcs.map((ssrc) => counted.get(ssrc));
    if (ssrcs.length > 4) return "receiver reports: a receiver of more than 4 streams";
    if (ssrcs.length === 0 || counts.some((c) => c === undefined)) return undefined;
    const nowMs = this.addon.nowMs();
    const initial = ssrcs.flatMap((ssrc) => {
      const s = r.remoteStreams[String(ssrc)];
      return [
        s?.expected_prior ?? 0,
        s?.received_prior ?? 0,
        r.lastSRtimestamp[String(ssrc)] ?? 0,
        arrivalMs(r.receiveLastSRTimestamp[String(ssrc)], nowMs),
      ];
    });
    const startIndex = local.getSrtcpSsrcState(r.rtcpSsrc).srtcpIndex;
    try {
      this.addon.addReporter(
        this.id,
        r.rtcpSsrc,
        ssrcs,
        local.srtcpSessionKey,
        local.srtcpSessionSalt,
        startIndex,
        initial,
      );
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
    // the server's sender reports for it: opened with the remote key as it stands now (a new DTLS
    // handshake's reports do not open with it and come to werift)
    takeRtcp(this.addon, this.id, this.transport, TAKE_SENDER_REPORTS);
    const own = Object.getOwnPropertyDescriptor(r, "handleRtcpPacket");
    const handle = r.handleRtcpPacket;
    const { addon, id, clockOffset } = this;
    // a sender report the thread leaves to werift (one it did not take whole, lean-media.c
    // take_rtcp): its LSR and arrival go to the slot. The arrival is the kernel's when the thread
    // read the datagram (werift stamps it when it handles it, up to a tick later, which would make
    // LiveKit's round trip for the subscriber read high by as much)
    r.handleRtcpPacket = function (this: Receiver, packet) {
      handle.call(this, packet);
      const ssrc = packet.ssrc;
      if (packet.type !== RtcpSrPacket.type || ssrc === undefined || !ssrcs.includes(ssrc)) return;
      const lsr = r.lastSRtimestamp[String(ssrc)] ?? 0;
      const kernel = nativeArrivalMs();
      const at =
        kernel !== undefined
          ? kernel - clockOffset
          : arrivalMs(r.receiveLastSRTimestamp[String(ssrc)], addon.nowMs());
      addon.setLastSr(id, ssrc, lsr, at);
    };
    const restoreHandler =
      own === undefined
        ? () => Reflect.deleteProperty(r, "handleRtcpPacket")
        : () => Object.defineProperty(r, "handleRtcpPacket", own);
    this.reported.set(receiver, {
      receiver: r,
      ssrcs,
      counts: counts as NativeStreamCounts[],
      local,
      startIndex,
      restoreHandler,
    });
    nativelyReported.add(receiver);
    return undefined;
  }

  /** Whether the thread sends any report of a receiver with `ssrc` among its streams. */
  reports(ssrc: number): boolean {
    for (const r of this.reported.values()) if (r.ssrcs.includes(ssrc)) return true;
    return false;
  }

  /**
   * werift reports again for every receiver with `ssrc` among its streams (every receiver when
   * undefined): the thread stops, and werift gets the SRTCP index it reached, the priors its
   * reports moved and the last sender report the thread took, when newer than werift's. Call
   * before the streams' counts are handed back and the socket released.
   */
  give(ssrc?: number): void {
    for (const [receiver, r] of this.reported)
      if (ssrc === undefined || r.ssrcs.includes(ssrc)) this.giveBack(receiver, r);
  }

  private giveBack(receiver: object, r: Reported): void {
    this.reported.delete(receiver);
    const index = this.addon.removeReporter(this.id, r.receiver.rtcpSsrc);
    if (index >= 0) {
      r.local.getSrtcpSsrcState(r.receiver.rtcpSsrc).srtcpIndex = index;
      // the reports the thread sent, in werift's transport counts as its own sends are
      const reports = (index - r.startIndex + 0x8000_0000) % 0x8000_0000;
      const bytes = 8 + 24 * r.ssrcs.length + SRTCP_TRAILER_BYTES;
      this.transport.packetsSent += reports;
      this.transport.bytesSent += reports * bytes;
    }
    const nowMs = this.addon.nowMs();
    r.ssrcs.forEach((s, i) => {
      // the last sender report the slot knows, when the thread took one after werift's last
      const last = r.counts[i]?.lastSr();
      if (
        last !== undefined &&
        last.lsr !== 0 &&
        last.arrivalMs > arrivalMs(r.receiver.receiveLastSRTimestamp[String(s)], nowMs)
      ) {
        r.receiver.lastSRtimestamp[String(s)] = last.lsr;
        r.receiver.receiveLastSRTimestamp[String(s)] = receivedS(last.arrivalMs, nowMs);
      }
      const statistics = r.receiver.remoteStreams[String(s)];
      const priors = r.counts[i]?.priors();
      if (statistics === undefined || priors === undefined) return;
      statistics.expected_prior = priors.expected;
      statistics.received_prior = priors.received;
    });
    r.restoreHandler();
    nativelyReported.delete(receiver);
  }
}

/** werift's arrival of a sender report (epoch seconds, Date.now()'s) on nowMs()'s clock, `nowMs` being now; 0 when none. */
function arrivalMs(receivedS: number | undefined, nowMs: number): number {
  return receivedS === undefined ? 0 : nowMs - (Date.now() - receivedS * 1000);
}

/** The other way: an arrival on nowMs()'s clock as werift keeps it (epoch seconds), `nowMs` being now. */
function receivedS(arrivalMs: number, nowMs: number): number {
  return (Date.now() - (nowMs - arrivalMs)) / 1000;
}
