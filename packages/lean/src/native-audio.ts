import type { Socket } from "node:dgram";
import type { RTCDtlsTransport, RTCRtpSender } from "werift";
import type { IceConnection } from "./binding.js";
import {
  NOT_SENDING_NOW,
  ntpTimestamp,
  type DirectRtpWriter,
  type NativeHandoff,
  type SenderState,
} from "./direct-send.js";
import {
  everyCheck,
  ipv4Number,
  newSlot,
  readSlot,
  turnSlot,
  sendsDirect,
  socketFd,
  type LeanMediaAddon,
  type SlotReading,
} from "./native-media.js";
import { NativeKeepalives } from "./native-keepalives.js";
import { nativeReceiving, type ReceiverHandler } from "./native-receive.js";
import { SRTCP_TRAILER_BYTES, srtcpLocal, type SrtcpLocal } from "./native-reports.js";
import { srtcpByAddon, TAKE_PUBLISHER_FEEDBACK, takeRtcp } from "./native-srtcp.js";
import { nativelyReported, reportsOnOneClock, sdesPacket, type SenderReporting } from "./report-clock.js";
import { forgetTurn } from "./slot-reading.js";

/**
 * An audio publisher's stream carried by the native media path (native-media.ts) after werift and
 * DirectRtpWriter started it: the native thread writes its packets, and werift's sender reads its
 * counts, last sequence number, RTP timestamp and send time from the stream's slot (its statistics
 * stay right). The thread sends the stream's sender reports too, werift's compound from the same
 * fields (`reportOnThread`); werift's report clock sends them again once the thread lets go. What
 * werift keeps deciding is checked for every native stream of the process on one timer
 * (native-media.ts CHECK_MS), not per stream: a sender that may not send now (DTLS down, no ICE
 * consent, stopped) is paused, a new DTLS handshake re-keys it, a new selected pair moves it.
 *
 * When asked (`socketCount` given), the thread also reads the publisher's socket
 * (native-receive.ts) while it sends: what comes there for an audio-only publisher is the server's
 * receiver reports and XR, its ICE keepalives and the answers to our consent checks (80 datagrams a
 * second at 30 rooms, each a libuv wake on this thread), and a data channel's SCTP when one is
 * open. The thread answers the keepalives itself (native-keepalives.ts), sends our consent checks
 * and takes their answers (native-consent.ts), drops the server's receiver reports and XR once they
 * open with the transport's remote SRTCP key (lean-media.c take_rtcp: werift's sender reads only
 * its round trip and the server's loss figures from them, and lean reads neither), and hands the
 * rest to the socket's listeners, werift's, once a tick with the kernel's arrival times (werift's
 * own sender round trip, from the receiver reports, is no longer kept: the thread takes those;
 * lean reports the pairs').
 * From the check that finds werift may not send (the stream paused; up to CHECK_MS after the fact)
 * libuv reads the socket again: DTLS and ICE's recovery run as they did. Not for a publisher that
 * also sends video on the connection: werift answers NACK and PLI as they come, not at the next
 * tick.
 */

/** The publisher's socket carries no stream the thread counts: nothing comes as a header. */
const NO_STREAMS: ReceiverHandler = { rtp: () => undefined };

/** What the thread's reading of publishers' sockets did, over a publisher's streams. */
export interface PublisherSocketCount {
  /** The times the thread took the publisher's socket (a stream's start, a new pair, a resume after a pause). */
  taken?: number;
  /** The server's keepalives the thread answered on the publisher's socket. */
  keepalives?: number;
  /** Why the thread does not read the socket, when it was asked to and could not. */
  refused?: string | undefined;
}

/** werift's per-sender fields the stream takes over (private in its types). */
type SenderFields = SenderState & { ntpTimestamp: bigint };

/** Where the stream stands when it is handed over: its next packet. */
export interface NativeStart {
  /** The caller's sequence number of the next packet (werift's offset not added). */
  readonly sequenceNumber: number;
  /** The caller's timestamp of packet 0 (werift's offset not added). */
  readonly timestampBase: number;
  readonly timestampStep: number;
  /** The next packet's n: its index in the loop and its count of timestamp steps. */
  readonly tick: number;
}

const loopIds = new WeakMap<readonly Buffer[], number>();

/** `values` as plain, writable fields of werift's `sender` again, in place of the native stream's accessors. */
function plainFields(sender: object, values: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(values))
    Object.defineProperty(sender, name, { configurable: true, enumerable: true, writable: true, value });
}

/** Packets and payload bytes sent, as AudioSending counts them. */
export interface SentTotals {
  readonly packets: number;
  readonly bytes: number;
}

export class NativeAudioStream {
  private id: number | undefined;
  private slot = newSlot();
  /** What earlier registrations of the stream sent (a new pair re-registers it with a fresh slot). */
  private carried = { packets: 0, octets: 0, headerBytes: 0 };
  /** werift's counts when the stream was handed over, moved by werift's own writes since. */
  private base: { packets: number; octets: number; headerBytes: number; seq: number; timestamp: number };
  private paused = false;
  private stopped = false;
  /** Ends the stream's place among the process's checks. */
  private unchecked: () => void = () => undefined;
  /** Where the stream was handed over (its timestamps run on from packet 0's). */
  private start: NativeStart | undefined;
  /** The last packet an earlier registration sent (a new pair's slot has none yet). */
  private last: { seq: number; timestamp: number; sentMs: number } | undefined;
  /** The rollover state an earlier registration left (a new pair's slot may never have been registered). */
  private lastRoc: { roc: number; lastSeq: number } | undefined;
  /** Whether werift's rollover state had seen a packet of the SSRC at the handoff. */
  private rocProcessed = false;
  /** Called when the stream cannot go on natively: where the TypeScript path takes it on. */
  onGiveUp: ((next: { sequenceNumber: number; tick: number }, why: string) => void) | undefined;
  private readonly ntpBefore: PropertyDescriptor | undefined;
  /** performance.now() minus the addon's clock (CLOCK_MONOTONIC ms). */
  private readonly clockOffset: number;
  /** Unix ms minus the addon's clock: a slot's send time as werift's NTP times read it. */
  private readonly epochMs: number;
  /** While the thread sends werift's sender reports: the local SRTCP context they are sealed with, and their SDES's bytes. */
  private reporting:
    | { readonly local: SrtcpLocal; readonly transport: RTCDtlsTransport; readonly sdesBytes: number }
    | undefined;
  /** Why the thread does not send the stream's sender reports (werift's report clock does). */
  reportsRefused: string | undefined;
  /** The publisher's socket while the thread reads it (see the top of this file). */
  private reading:
    { readonly id: number; readonly socket: Socket; readonly keepalives: NativeKeepalives } | undefined;
  /** Whether the thread is to read the publisher's socket; what it did there. */
  private socketCount: PublisherSocketCount | undefined;
  private socketRefused = false;

  /**
   * The stream on the native path from `start`, or why it stays on the TypeScript one. With
   * `socketCount`, the thread reads the publisher's socket too and counts into it.
   */
  static start(
    addon: LeanMediaAddon,
    writer: DirectRtpWriter,
    sender: RTCRtpSender,
    loop: readonly Buffer[],
    start: NativeStart,
    socketCount?: PublisherSocketCount,
  ): NativeAudioStream | string {
    const handoff = writer.nativeHandoff();
    if (typeof handoff === "string") return handoff;
    // the publisher's RTCP werift still seals and opens (its sender reports before the thread takes
    // them over, the server's reports to it): the addon's (native-srtcp.ts)
    srtcpByAddon(addon, sender.dtlsTransport);
    const stream = new NativeAudioStream(addon, writer, sender, loop, handoff);
    stream.socketCount = socketCount;
    stream.rocProcessed = handoff.rocProcessed;
    const why = stream.register(handoff, start);
    if (why !== undefined) {
      stream.restore();
      return why;
    }
    stream.unchecked = everyCheck(() => {
      stream.check();
    });
    return stream;
  }

  private constructor(
    private readonly addon: LeanMediaAddon,
    private readonly writer: DirectRtpWriter,
    private readonly sender: RTCRtpSender,
    private readonly loop: readonly Buffer[],
    private handoff: NativeHandoff,
  ) {
    const s = sender as unknown as SenderFields;
    this.base = {
      packets: s.packetCount,
      octets: s.octetCount,
      headerBytes: s.headerBytesSent,
      seq: s.sequenceNumber ?? 0,
      timestamp: s.rtpTimestamp,
    };
    this.clockOffset = performance.now() - addon.nowMs();
    this.epochMs = performance.timeOrigin + this.clockOffset;
    this.ntpBefore = Object.getOwnPropertyDescriptor(sender, "ntpTimestamp");
    this.takeOverSender();
  }

  /**
   * Registers the stream with the addon at `start`, its SSRC's rollover state `roc` (werift's at
   * the handoff, the slot's after a move); undefined when it took it, else why not.
   */
  private register(
    handoff: NativeHandoff,
    start: NativeStart,
    roc: { roc: number; lastSeq: number; processed: boolean } = {
      roc: handoff.roc,
      lastSeq: handoff.lastSeq,
      processed: handoff.rocProcessed,
    },
  ): string | undefined {
    const [host, port] = handoff.remote;
    const address = ipv4Number(host);
    if (address === undefined) return `the remote ${host} is not an IPv4 address`;
    const fd = socketFd(handoff.socket);
    if (fd === undefined) return "the pair's socket has no fd";
    let loop = loopIds.get(this.loop);
    try {
      if (loop === undefined) {
        loop = this.addon.addLoop(this.loop);
        loopIds.set(this.loop, loop);
      }
      this.id = this.addon.addSender(
        {
          fd,
          address,
          port,
          header: handoff.header,
          seq: (start.sequenceNumber + handoff.seqOffset) & 0xffff,
          timestamp: (start.timestampBase + handoff.timestampOffset) >>> 0,
          timestampStep: start.timestampStep,
          tick: start.tick,
          roc: roc.roc,
          lastSeq: roc.lastSeq,
          rocProcessed: roc.processed ? 1 : 0,
          key: handoff.key,
          salt: handoff.salt,
          loop,
        },
        this.slot,
      );
      this.addon.start();
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
    // werift's RTCP and consent on this socket go out through the addon too
    sendsDirect(handoff.socket, this.addon);
    this.handoff = handoff;
    this.start = start;
    this.paused = false;
    this.readSocket();
    this.reportOnThread();
    return undefined;
  }

  /**
   * The thread sends werift's sender reports of the stream from now on (lean-media.c
   * sender_report: the same compound werift's report clock built from the slot, SR and SDES, 0.5-1.5
   * s apart), sealed with the transport's local SRTCP key after werift's index for the SSRC; the
   * clock skips the sender meanwhile, and werift's `lastSRtimestamp` and `lastSentSRTimestamp` read
   * the thread's last report from the slot (werift's round trip, from a server receiver report
   * whose LSR is its last report's, reads them where werift still gets those reports: a publisher
   * that sends video too, whose socket the thread does not read). Only once werift's reports run
   * (its first packet starts them) on the process's report clock, and with AES-128-GCM; otherwise
   * they stay werift's.
   */
  private reportOnThread(): void {
    const s = this.sender as unknown as SenderReporting;
    if (this.id === undefined || this.reporting !== undefined || !s.rtcpRunning || s.stopped) return;
    // werift's own loop would report beside the thread, under the same SRTCP indices
    if (!reportsOnOneClock()) return;
    const transport = this.sender.dtlsTransport;
    const local = srtcpLocal(transport);
    if (local === undefined) {
      this.reportsRefused = "sender reports: the transport's SRTCP is not AES-128-GCM";
      return;
    }
    let sdesBytes: number;
    try {
      const sdes = s.cname ? sdesPacket(s.ssrc, s.cname).serialize() : Buffer.alloc(0);
      sdesBytes = sdes.length;
      this.addon.reportSender(
        this.id,
        local.srtcpSessionKey,
        local.srtcpSessionSalt,
        local.getSrtcpSsrcState(s.ssrc).srtcpIndex,
        sdes,
        this.epochMs,
        this.base.packets + this.carried.packets,
        this.base.octets + this.carried.octets,
      );
    } catch (err) {
      this.reportsRefused = `sender reports: ${err instanceof Error ? err.message : String(err)}`;
      return;
    }
    this.reportsRefused = undefined;
    this.reporting = { local, transport, sdesBytes };
    nativelyReported.add(this.sender);
    // werift's fields as they stand, until the thread's first report in this registration
    const own = { lsr: s.lastSRtimestamp, sentS: s.lastSentSRTimestamp };
    const last = () => {
      const at = turnSlot(this.slot);
      return at.srLsr !== 0 ? { lsr: at.srLsr, sentS: (at.srSentMs + this.epochMs) / 1000 } : own;
    };
    const field = (key: keyof typeof own) => ({
      configurable: true,
      enumerable: true,
      get: () => last()[key],
      set: (value: number) => {
        own[key] = value;
      },
    });
    Object.defineProperties(this.sender, {
      lastSRtimestamp: field("lsr"),
      lastSentSRTimestamp: field("sentS"),
    });
  }

  /**
   * werift's report clock sends the stream's sender reports again: it gets the SRTCP index the
   * thread reached (so none is sealed twice), the last report's compact NTP and time as plain
   * fields again, and the reports in its transport's counts, as its own sends are. Call before the
   * sender leaves the addon.
   */
  private unreport(): void {
    const reporting = this.reporting;
    if (reporting === undefined || this.id === undefined) return;
    this.reporting = undefined;
    nativelyReported.delete(this.sender);
    const back = this.addon.unreportSender(this.id);
    const s = this.sender as unknown as SenderReporting;
    // the getters' values, the thread's last report's when it sent one, become werift's plain fields
    forgetTurn(this.slot);
    plainFields(this.sender, {
      lastSRtimestamp: s.lastSRtimestamp,
      lastSentSRTimestamp: s.lastSentSRTimestamp,
    });
    if (back === undefined) return;
    reporting.local.getSrtcpSsrcState(s.ssrc).srtcpIndex = back.index;
    reporting.transport.packetsSent += back.reports;
    reporting.transport.bytesSent += back.reports * (28 + reporting.sdesBytes + SRTCP_TRAILER_BYTES);
  }

  /** The thread reads the handoff's socket from its next tick, when asked to (see the top of this file). */
  private readSocket(): void {
    const count = this.socketCount;
    // refused once, refused for the stream: the check does not ask the addon again every 250 ms
    if (count === undefined || this.reading !== undefined || this.socketRefused) return;
    const { socket, remote, pair } = this.handoff;
    const id = nativeReceiving(this.addon).take(socket, remote, NO_STREAMS);
    if (typeof id === "string") {
      count.refused = id;
      this.socketRefused = true;
      return;
    }
    const connection = this.sender.dtlsTransport.iceTransport.connection as unknown as IceConnection;
    const keepalives = new NativeKeepalives(this.addon, id, connection, count);
    keepalives.sync(pair as IceConnection["nominated"]);
    takeRtcp(this.addon, id, this.sender.dtlsTransport, TAKE_PUBLISHER_FEEDBACK);
    this.reading = { id, socket, keepalives };
    count.taken = (count.taken ?? 0) + 1;
  }

  /** libuv reads the publisher's socket again; what the thread answered is counted. */
  private releaseSocket(): void {
    const reading = this.reading;
    if (reading === undefined) return;
    this.reading = undefined;
    reading.keepalives.stop();
    nativeReceiving(this.addon).release(reading.id);
  }

  /** Whether the thread reads the publisher's socket now. */
  get readsSocket(): boolean {
    return this.reading !== undefined;
  }

  /** Holds the stream to werift's state (see the top of this file). */
  check(): void {
    if (this.id === undefined) return;
    const now = this.writer.nativeHandoff();
    if (now === NOT_SENDING_NOW) {
      // werift would drop the packets now (DTLS, consent, a stopped sender): so does the thread,
      // and libuv reads the socket, for werift's recovery as it always ran
      if (!this.paused) this.addon.pauseSender(this.id, (this.paused = true));
      this.releaseSocket();
      return;
    }
    if (typeof now === "string") {
      this.giveUp(now);
      return;
    }
    if ((now.pair !== this.handoff.pair || now.socket !== this.handoff.socket) && this.start !== undefined) {
      // a new selected pair: the stream goes on from where it stands, on the new socket and remote,
      // its rollover state the slot's (werift's context saw none of the native packets)
      // read once the thread has let go of it: a tick between the reading and the removal would
      // send a sequence number the stream then sends again
      this.releaseSocket();
      this.unreport();
      this.addon.removeSender(this.id);
      this.id = undefined;
      const at = readSlot(this.slot);
      this.carry(at);
      this.slot = newSlot();
      const why = this.register(
        now,
        { ...this.start, sequenceNumber: (at.seq + 1 - now.seqOffset) & 0xffff, tick: at.tick },
        { roc: at.roc, lastSeq: at.lastSeq, processed: this.rocProcessed || this.carried.packets > 0 },
      );
      if (why !== undefined) this.giveUp(why, at);
      return;
    }
    if (now.context !== this.handoff.context) {
      this.addon.rekey(this.id, now.key, now.salt, now.roc, now.lastSeq, now.rocProcessed ? 1 : 0);
      this.handoff = now;
      // the sender reports are sealed with the new handshake's key, after its context's index
      this.unreport();
      this.reportOnThread();
      // the server's RTCP opens with the new handshake's key from now on
      if (this.reading !== undefined)
        takeRtcp(this.addon, this.reading.id, this.sender.dtlsTransport, TAKE_PUBLISHER_FEEDBACK);
    }
    if (this.paused) this.addon.pauseSender(this.id, (this.paused = false));
    this.readSocket();
    this.reportOnThread();
    // the pair's credentials or role may have moved (an ICE restart keeps the pair's socket)
    this.reading?.keepalives.sync(now.pair as IceConnection["nominated"]);
  }

  /** What the native thread sent of this stream so far. */
  totals(): SentTotals {
    const at = readSlot(this.slot);
    return { packets: this.carried.packets + at.packets, bytes: this.carried.octets + at.octets };
  }

  /** Takes the stream off the native thread and gives werift its fields back, with what was sent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unchecked();
    this.releaseSocket();
    if (this.id !== undefined) {
      this.unreport();
      this.addon.removeSender(this.id);
      this.id = undefined;
    }
    this.restore();
  }

  /**
   * The stream cannot go on natively (the pair is no longer a plain UDP one to an IPv4 address, or
   * the addon refused it): werift gets its fields back and the owner carries on the TypeScript path
   * from the next packet (`onGiveUp`).
   */
  private giveUp(why: string, carried?: SlotReading): void {
    this.stop();
    // the slot as the thread left it (or what a refused move carried from the last one)
    const at = carried ?? readSlot(this.slot);
    const next = { sequenceNumber: (at.seq + 1 - this.handoff.seqOffset) & 0xffff, tick: at.tick };
    this.onGiveUp?.(next, why);
  }

  private carry(at: SlotReading): void {
    if (at.packets > 0) this.last = { seq: at.seq, timestamp: at.timestamp, sentMs: at.sentMs };
    this.lastRoc = { roc: at.roc, lastSeq: at.lastSeq };
    this.carried = {
      packets: this.carried.packets + at.packets,
      octets: this.carried.octets + at.octets,
      headerBytes: this.carried.headerBytes + at.headerBytes,
    };
  }

  /** werift's sender reads its counts and last packet from the slot while the stream is native. */
  private takeOverSender(): void {
    const counted = (field: "packets" | "octets" | "headerBytes") => ({
      configurable: true,
      enumerable: true,
      get: () => this.base[field] + this.carried[field] + turnSlot(this.slot)[field],
      set: (value: number) => {
        this.base[field] = value - this.carried[field] - turnSlot(this.slot)[field];
        // the thread's sender reports count from the new base
        if (this.reporting !== undefined) {
          this.unreport();
          this.reportOnThread();
        }
      },
    });
    const last = (field: "seq" | "timestamp") => ({
      configurable: true,
      enumerable: true,
      get: () => {
        const at = turnSlot(this.slot);
        if (at.packets > 0) return at[field];
        return this.last?.[field] ?? this.base[field];
      },
      set: (value: number) => {
        this.base[field] = value;
      },
    });
    Object.defineProperties(this.sender, {
      packetCount: counted("packets"),
      octetCount: counted("octets"),
      headerBytesSent: counted("headerBytes"),
      sequenceNumber: last("seq"),
      timestamp: last("timestamp"),
      rtpTimestamp: last("timestamp"),
      ntpTimestamp: {
        configurable: true,
        enumerable: true,
        get: () => {
          const at = turnSlot(this.slot);
          const sentMs = at.packets > 0 ? at.sentMs : this.last?.sentMs;
          if (sentMs === undefined)
            return (this.ntpBefore?.get?.call(this.sender) ?? this.ntpBefore?.value ?? 0n) as bigint;
          // the thread's sender reports add the two in this order too (lean-media.c sender_report)
          return ntpTimestamp(sentMs + this.epochMs);
        },
        set: (value: bigint) => {
          this.ntpBefore?.set?.call(this.sender, value);
        },
      },
    });
  }

  /** werift's sender fields as plain values again, as the native stream left them, and its rollover state. */
  private restore(): void {
    // werift's getters read this turn's reading of the slot: the thread's last packets count
    forgetTurn(this.slot);
    const s = this.sender as unknown as SenderFields;
    const values = {
      packetCount: s.packetCount >>> 0,
      octetCount: s.octetCount,
      headerBytesSent: s.headerBytesSent,
      sequenceNumber: s.sequenceNumber,
      timestamp: s.timestamp,
      rtpTimestamp: s.rtpTimestamp,
    };
    const at = readSlot(this.slot);
    plainFields(this.sender, values);
    if (this.ntpBefore !== undefined) Object.defineProperty(this.sender, "ntpTimestamp", this.ntpBefore);
    if (at.packets + this.carried.packets > 0) {
      // the slot's, or what the last registration left when a move's new one was refused
      const roc = at.packets > 0 || this.lastRoc === undefined ? at : this.lastRoc;
      const state = this.handoff.context.getSrtpSsrcState(s.ssrc) as {
        rolloverCounter: number;
        lastSequenceNumber?: number;
        rolloverHasProcessed?: boolean;
      };
      state.rolloverCounter = roc.roc;
      state.lastSequenceNumber = roc.lastSeq;
      state.rolloverHasProcessed = true;
    }
  }
}
