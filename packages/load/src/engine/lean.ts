import {
  LeanParticipant,
  opusLoop,
  sourceAddressFor,
  vp8Loop,
  type LeanErrorReason,
  type OpusLoop,
  type VideoLoop,
} from "@livekit-swarm/lean";
import type { Kind, MediaPlan, ParticipantEvent, ParticipantPlan, WindowSample } from "../run/messages.js";
import { cannotSimulate, type Engine, type EngineParticipant, type EventSink } from "./engine.js";

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
 * and the VP8 loop at the scenario's size and frame rate, one layer (simulcast is not sent:
 * ENGINE_RULES.lean.video).
 */
export class LeanEngine implements Engine {
  readonly name = "lean";

  private constructor(
    private readonly audio: OpusLoop,
    private readonly video: VideoLoop | undefined,
    private readonly hostAddress: string,
  ) {}

  /**
   * Reads (or encodes, once per machine) the Opus loop, and the VP8 loop when `video` is given,
   * and finds the address that reaches `url`.
   */
  static async open(url: string, video?: MediaPlan["video"]): Promise<LeanEngine> {
    const host = new URL(url.replace(/^ws/, "http")).hostname.replace(/^\[(.*)\]$/, "$1");
    const camera =
      video !== undefined
        ? await vp8Loop({ width: video.width, height: video.height, fps: video.fps })
        : undefined;
    return new LeanEngine(await opusLoop(), camera, await sourceAddressFor(host));
  }

  participant(plan: ParticipantPlan, emit: EventSink): EngineParticipant {
    return new LeanEngineParticipant(plan, emit, this.audio, this.video, this.hostAddress);
  }

  async close(): Promise<void> {
    // participants stop the process pacer as they leave; nothing else is shared
  }
}

class LeanEngineParticipant implements EngineParticipant {
  private participant: LeanParticipant | undefined;
  private connected = false;
  private readonly firstPackets: Record<Kind, number> = { audio: 0, video: 0 };

  constructor(
    readonly plan: ParticipantPlan,
    private readonly emit: EventSink,
    private readonly audio: OpusLoop,
    private readonly video: VideoLoop | undefined,
    private readonly hostAddress: string,
  ) {}

  async join(url: string, token: string): Promise<boolean> {
    const { plan } = this;
    try {
      this.participant = await LeanParticipant.join({
        url,
        token,
        room: plan.room,
        identity: plan.identity,
        role: plan.role,
        audio: plan.publishAudio ? this.audio : undefined,
        video: plan.publishVideo ? this.video : undefined,
        subscribe: plan.subscribe,
        hostAddress: this.hostAddress,
        onEvent: (event) => {
          this.onEvent(event);
        },
      });
    } catch {
      // lean said join-failed before throwing
      return false;
    }
    this.connected = true;
    return true;
  }

  private onEvent(event: ParticipantEvent): void {
    if (event.type === "join-failed") {
      this.emit({ ...event, reason: isLeanReason(event.reason) ? JOIN_FAILURE[event.reason] : event.reason });
      return;
    }
    if (event.type === "disconnected") this.connected = false;
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

  sendData(): Promise<void> {
    // refused at planning (ENGINE_RULES.lean.data): never called
    return Promise.resolve();
  }

  simulate(scenario: string): Promise<void> {
    this.emit(cannotSimulate("lean", scenario));
    return Promise.resolve();
  }

  async leave(): Promise<void> {
    this.connected = false;
    await this.participant?.leave();
  }
}
