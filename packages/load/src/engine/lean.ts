import {
  LeanParticipant,
  NativeTickLateness,
  isLeanSimulation,
  loadedLeanMedia,
  nativeMediaWanted,
  opusLoop,
  simulcastLoops,
  srtcpByAddonCounts,
  sourceAddressFor,
  videoLoop,
  type LeanErrorReason,
  type OpusLoop,
  type VideoLoop,
} from "@livekit-swarm/lean";
import type { MediaTicksWindow } from "@livekit-swarm/schema";
import type { Kind, MediaPlan, ParticipantEvent, ParticipantPlan, WindowSample } from "../run/messages.js";
import {
  LEFT_BEFORE_JOINING,
  leanLoopOptions,
  leanSimulcastEnabled,
  simulated,
  type Engine,
  type EngineParticipant,
  type EventSink,
} from "./engine.js";
import { MediaWatch, PeerWatch, type StreamCount } from "./watch.js";

/** Lean's join failures in the words the native engine counts them by, where they mean the same. */
const JOIN_FAILURE: Readonly<Record<LeanErrorReason, string>> = {
  rejected: "unauthorized",
  unreachable: "unreachable",
  timeout: "timeout",
  closed: "closed",
  left: "left",
  negotiation: "negotiation",
};

function isLeanReason(reason: string): reason is LeanErrorReason {
  return Object.hasOwn(JOIN_FAILURE, reason);
}

/**
 * `@livekit-swarm/lean` in one worker process: pre-encoded media over werift, received packets
 * counted from RTP headers, never decoded. What its publishers send is the engine's: the Opus loop,
 * and the VP8 or H.264 loop at the scenario's codec, size and frame rate; with simulcast, the loops
 * of the ladder's smaller sizes under it as the lower layers (none under 180p: one layer).
 */
export class LeanEngine implements Engine {
  readonly name = "lean";
  /** Its participants, for the native media path's closing line. */
  private readonly participants: LeanEngineParticipant[] = [];
  /** The native media thread's ticks, window by window (the load report's). */
  private readonly ticks = new NativeTickLateness();

  private constructor(
    private readonly media: Media,
    private readonly watchMs: number | undefined,
  ) {}

  /**
   * Reads (or encodes, once per machine) the Opus loop, and the video loop when `video` is given,
   * and finds the address that reaches `url`. With `watchMs` (a chaos drill's), every participant
   * reports media flow per subscribed track and the peers it sees, as the native engine does.
   */
  static async open(
    url: string,
    video?: MediaPlan["video"],
    watchMs?: number,
    data = false,
  ): Promise<LeanEngine> {
    const host = new URL(url.replace(/^ws/, "http")).hostname.replace(/^\[(.*)\]$/, "$1");
    const camera = video !== undefined ? await videoLoop(leanLoopOptions(video)) : undefined;
    const layers =
      video?.simulcast === true && leanSimulcastEnabled() ? await simulcastLoops(leanLoopOptions(video)) : [];
    return new LeanEngine(
      {
        audio: await opusLoop(),
        video: camera,
        videoLayers: layers,
        hostAddress: await sourceAddressFor(host),
        data,
      },
      watchMs,
    );
  }

  participant(plan: ParticipantPlan, emit: EventSink): EngineParticipant {
    const participant = new LeanEngineParticipant(plan, emit, this.media, this.watchMs);
    this.participants.push(participant);
    return participant;
  }

  /** How late the native media thread ran its ticks since the last call; undefined on the TypeScript path. */
  mediaTicks(): MediaTicksWindow | undefined {
    return this.ticks.window();
  }

  close(): Promise<void> {
    // participants stop the process pacer as they leave; nothing else is shared. With the native
    // media path asked for, one line (workers.log) says who it carried: a run that fell back to the
    // TypeScript path reads the same figures, and only this says which path made them
    if (nativeMediaWanted()) {
      const line = nativePathLine(
        this.participants.flatMap((p) => p.nativePath() ?? []),
        {
          ...(loadedLeanMedia()?.stats() ?? { reports: 0, keepalives: 0 }),
          srtcp: srtcpByAddonCounts,
        },
      );
      if (line !== undefined) console.log(line);
    }
    return Promise.resolve();
  }
}

/** What every participant of one lean engine shares. */
export interface Media {
  readonly audio: OpusLoop;
  readonly video: VideoLoop | undefined;
  /** The simulcast layers under `video`, smallest first; empty: one layer. */
  readonly videoLayers: readonly VideoLoop[];
  readonly hostAddress: string;
  /** Publishers open the reliable data channel: the scenario sends data packets. */
  readonly data: boolean;
}

export class LeanEngineParticipant implements EngineParticipant {
  private participant: LeanParticipant | undefined;
  private connected = false;
  private reconnecting = false;
  private left = false;
  /** Its join is under way: a leave now says the join failed. */
  private joining = false;
  private readonly firstPackets: Record<Kind, number> = { audio: 0, video: 0 };

  constructor(
    readonly plan: ParticipantPlan,
    private readonly emit: EventSink,
    private readonly media: Media,
    /** Look at media flow and peers this often (chaos drills); undefined: no watching. */
    private readonly watchMs: number | undefined,
  ) {}

  /** What the native media path carried of it, once it joined. */
  nativePath(): NativePathUse | undefined {
    const p = this.participant;
    if (p === undefined) return undefined;
    return {
      publishedAudio: this.plan.publishAudio,
      sent: p.nativeAudio.packets,
      sendRefused: p.nativeAudio.refused,
      socketRead: p.nativeAudio.socketEverRead,
      socketRefused: p.nativeAudio.socketRefused,
      senderReportsRefused: p.nativeAudio.reportsRefused,
      receivedAudio: p.headerOnlyPackets > 0,
      received: p.nativeReceived.packets,
      receiveRefused: p.nativeReceived.refused,
      reportsRefused: p.nativeReceived.reportsRefused,
    };
  }

  async join(url: string, token: string): Promise<boolean> {
    const { plan, media } = this;
    this.joining = true;
    try {
      this.participant = await LeanParticipant.join({
        url,
        token,
        room: plan.room,
        identity: plan.identity,
        role: plan.role,
        audio: plan.publishAudio ? media.audio : undefined,
        video: plan.publishVideo ? media.video : undefined,
        videoLayers: media.videoLayers,
        subscribe: plan.subscribe,
        hostAddress: media.hostAddress,
        data: media.data && plan.role === "publisher",
        onEvent: (event) => {
          this.onEvent(event);
        },
      });
    } catch {
      // lean said join-failed before throwing (unless a leave said it first)
      this.joining = false;
      return false;
    }
    this.joining = false;
    if (this.left) {
      // joined after it was told to leave, which said the join failed: it leaves now
      await this.participant.leave();
      return false;
    }
    this.connected = true;
    if (this.watchMs !== undefined) void this.watch(this.participant, this.watchMs);
    return true;
  }

  /**
   * Watch mode (chaos drills): every `intervalMs`, one look at the received streams' packet counts
   * (MediaWatch, as the native engine's) and at the peers the signalling names. Each stream is
   * named by the publisher of the track it was tapped on; one whose publisher the signalling has
   * not named yet is left out of the look, so its flow dates from the look that names it.
   */
  private async watch(participant: LeanParticipant, intervalMs: number): Promise<void> {
    const media = new MediaWatch(this.emit);
    const peers = new PeerWatch(this.emit);
    while (this.watching()) {
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      if (!this.watching()) return;
      if (!this.reconnecting) peers.look(participant.peers);
      media.look(namedStreams(participant), Date.now());
    }
  }

  /** Joined, not left, not told to stay away. */
  private watching(): boolean {
    return !this.left && this.connected;
  }

  private onEvent(event: ParticipantEvent): void {
    // a leave during the join said how it ended: what the join says after is not told
    if (
      (event.type === "joined" || event.type === "join-failed") &&
      this.left &&
      this.participant === undefined
    )
      return;
    // the join said how it ended: a leave before it returns (lean leaves a failed join's session
    // first) must not say it again
    if (event.type === "joined" || event.type === "join-failed") this.joining = false;
    if (event.type === "join-failed") {
      this.emit({ ...event, reason: isLeanReason(event.reason) ? JOIN_FAILURE[event.reason] : event.reason });
      return;
    }
    if (event.type === "disconnected") this.connected = false;
    if (event.type === "reconnecting" || event.type === "reconnected")
      this.reconnecting = event.type === "reconnecting";
    // a stream per SSRC: as the native engine, time no more first packets than tracks expected
    if (
      event.type === "first-packet" &&
      this.firstPackets[event.kind]++ >= this.plan.expectedTracks[event.kind]
    )
      return;
    this.emit(event);
  }

  sample(worker: number): Promise<WindowSample | undefined> {
    const p = this.participant;
    return Promise.resolve(p !== undefined && this.connected ? p.sample(worker) : undefined);
  }

  async sendData(payload: Uint8Array): Promise<void> {
    const p = this.participant;
    if (p === undefined || !this.connected) throw new Error("not connected");
    await p.sendData(payload);
  }

  /** A client.simulate fault, acted out as rtc-node does it (packages/lean/src/simulate.ts). */
  async simulate(scenario: string): Promise<void> {
    const p = this.participant;
    await simulated(
      "lean",
      scenario,
      async (s) => {
        if (p === undefined || this.left) throw new Error("not connected");
        // ENGINE_RULES.lean.simulate is the lean package's list (engine.test.ts holds them equal)
        if (!isLeanSimulation(s)) throw new Error(`the lean participant has no ${s}`);
        await p.simulate(s);
      },
      this.emit,
    );
  }

  /**
   * Leaves; told to before its join ended (the run's end overtook a slow join), it says the join
   * failed with `left`, as the browser and native engines say it, which the worker counts as
   * `run_ended` when it is stopping: otherwise nothing would ever say what became of the join.
   * The join goes on until lean's own timeout and leaves the moment it ends.
   */
  async leave(): Promise<void> {
    if (this.left) return;
    this.left = true;
    this.connected = false;
    if (this.participant === undefined) {
      if (this.joining) this.emit(LEFT_BEFORE_JOINING);
      return;
    }
    await this.participant.leave();
  }
}

/** What the native media path carried of one participant. */
export interface NativePathUse {
  readonly publishedAudio: boolean;
  /** Audio packets its thread sent for the participant. */
  readonly sent: number;
  readonly sendRefused: string | undefined;
  /** Whether its thread read the publisher's socket (an audio-only publisher's), and why not where it tried. */
  readonly socketRead?: boolean;
  readonly socketRefused?: string | undefined;
  /** Why its thread does not send the publisher's sender reports, where it does not (native-audio.ts). */
  readonly senderReportsRefused?: string | undefined;
  /** Whether the participant received any audio (read header-only). */
  readonly receivedAudio: boolean;
  /** Of it, the packets the thread read and counted. */
  readonly received: number;
  readonly receiveRefused: string | undefined;
  /** Why its thread does not send its receiver reports, where it does not (native-reports.ts). */
  readonly reportsRefused?: string | undefined;
}

/**
 * One line on what the native media path carried of a worker's lean participants: "lean native
 * media path: 3 of 3 audio publishers sent 2,950 packets on it, 3 of them with their sockets read
 * by it; 18 of 18 audio receivers read 17,700 on it; its thread sent 540 receiver reports, 90
 * sender reports and 126 consent checks (126 answered), and answered 90 keepalives; it took 900 of
 * the server's RTCP packets, 400 with sender reports; the addon opened 300 SRTCP packets and sealed
 * 60", and why not for those it did not carry; undefined with nobody to say it of. `thread`: the
 * receiver and sender reports and the consent checks the process's thread sent, the server's ICE
 * keepalives it answered, the server's RTCP compounds it took itself (lean-media.c take_rtcp), and
 * the SRTCP the addon opened and sealed for werift.
 */
export function nativePathLine(
  uses: readonly NativePathUse[],
  thread: {
    readonly reports: number;
    /** werift's sender reports the thread sent for the publishers (native-audio.ts). */
    readonly senderReports?: number;
    readonly keepalives: number;
    /** Consent checks the thread sent for consent.ts, and the answers to them it took. */
    readonly consentRequests?: number;
    readonly consentAnswers?: number;
    /** The server's RTCP compounds the thread took instead of handing them to werift. */
    readonly rtcpTaken?: number;
    /** Of them, those with sender reports of the receivers' streams. */
    readonly rtcpTakenSenderReports?: number;
    /** The SRTCP packets the addon opened and sealed for werift (native-srtcp.ts). */
    readonly srtcp?: { readonly opened: number; readonly sealed: number };
  } = { reports: 0, keepalives: 0 },
): string | undefined {
  const publishers = uses.filter((u) => u.publishedAudio);
  const receivers = uses.filter((u) => u.receivedAudio);
  if (publishers.length === 0 && receivers.length === 0) return undefined;
  const sending = publishers.filter((u) => u.sent > 0);
  const socketsRead = sending.filter((u) => u.socketRead === true).length;
  const reading = receivers.filter((u) => u.received > 0);
  const sum = (list: readonly NativePathUse[], of: (u: NativePathUse) => number): string =>
    list.reduce((n, u) => n + of(u), 0).toLocaleString("en-US");
  const sent = [
    ...(thread.reports > 0 ? [`${thread.reports.toLocaleString("en-US")} receiver reports`] : []),
    ...((thread.senderReports ?? 0) > 0
      ? [`${(thread.senderReports ?? 0).toLocaleString("en-US")} sender reports`]
      : []),
    ...((thread.consentRequests ?? 0) > 0
      ? [
          `${(thread.consentRequests ?? 0).toLocaleString("en-US")} consent checks (${(thread.consentAnswers ?? 0).toLocaleString("en-US")} answered)`,
        ]
      : []),
  ];
  const sentList =
    sent.length > 1 ? `${sent.slice(0, -1).join(", ")} and ${sent.at(-1) ?? ""}` : sent.join("");
  const why = [
    ...new Set([
      ...publishers.flatMap((u) =>
        u.sent > 0 || u.sendRefused === undefined ? [] : [`sending: ${u.sendRefused}`],
      ),
      ...publishers.flatMap((u) =>
        u.socketRead === true || u.socketRefused === undefined
          ? []
          : [`a publisher's socket: ${u.socketRefused}`],
      ),
      ...receivers.flatMap((u) =>
        u.received > 0 || u.receiveRefused === undefined ? [] : [`receiving: ${u.receiveRefused}`],
      ),
      ...publishers.flatMap((u) => (u.senderReportsRefused === undefined ? [] : [u.senderReportsRefused])),
      ...receivers.flatMap((u) => (u.reportsRefused === undefined ? [] : [u.reportsRefused])),
    ]),
  ];
  return (
    `lean native media path: ${String(sending.length)} of ${String(publishers.length)} audio publishers sent ${sum(sending, (u) => u.sent)} packets on it` +
    (socketsRead > 0 ? `, ${String(socketsRead)} of them with their sockets read by it` : "") +
    "; " +
    `${String(reading.length)} of ${String(receivers.length)} audio receivers read ${sum(reading, (u) => u.received)} on it` +
    (sent.length > 0 ? `; its thread sent ${sentList}` : "") +
    (thread.keepalives > 0
      ? `${sent.length === 0 ? "; its thread" : sent.length === 1 ? " and" : ", and"} answered ${thread.keepalives.toLocaleString("en-US")} keepalives`
      : "") +
    ((thread.rtcpTaken ?? 0) > 0
      ? `; ${sent.length > 0 || thread.keepalives > 0 ? "it" : "its thread"} took ${(thread.rtcpTaken ?? 0).toLocaleString("en-US")} of the server's RTCP packets, ${(thread.rtcpTakenSenderReports ?? 0).toLocaleString("en-US")} with sender reports`
      : "") +
    (thread.srtcp !== undefined && thread.srtcp.opened + thread.srtcp.sealed > 0
      ? `; the addon opened ${thread.srtcp.opened.toLocaleString("en-US")} SRTCP packets and sealed ${thread.srtcp.sealed.toLocaleString("en-US")}`
      : "") +
    (why.length > 0 ? `; not carried: ${why.join("; ")}` : "")
  );
}

/** The received streams whose publisher is known, named as the native engine names tracks. */
export function namedStreams(participant: Pick<LeanParticipant, "receivedTracks">): StreamCount[] {
  return participant
    .receivedTracks()
    .flatMap(({ key, kind, packetsReceived, publisher }) =>
      publisher === undefined ? [] : [{ key, kind, packetsReceived, track: `${publisher}/${kind}` }],
    );
}
