/**
 * What a worker needs of an engine, and the rules each engine lives by. Pure data and types: the
 * media stacks (rtc-node, werift) load only in worker processes, through `openEngine`.
 */
import {
  KnownError,
  simulateScenarios,
  type MediaTicksWindow,
  type SimulateScenario,
  messageOf,
} from "@livekit-swarm/schema";
import type { EngineName, Kind, ParticipantEvent, ParticipantPlan, WindowSample } from "../run/messages.js";
import type { NetworkProfile } from "@livekit-swarm/testbed";

export type EventSink = (event: ParticipantEvent) => void;

/** One participant of some engine: joins, publishes what its plan says, measures, leaves. */
export interface EngineParticipant {
  readonly plan: ParticipantPlan;
  /**
   * Joins, then publishes what the plan says. False when it could not join, after a `join-failed`
   * event; a publish that fails after the join is a `join-failed` event with reason `publish_failed`.
   */
  join(url: string, token: string): Promise<boolean>;
  /** What it sent and received since the previous call; undefined while it is not connected. */
  sample(worker: number): Promise<WindowSample | undefined>;
  /** One reliable data packet to the room (scenario `data`). */
  sendData(payload: Uint8Array): Promise<void>;
  /** A client.simulate fault: answers with a `simulated` event, ok or not. */
  simulate(scenario: string): Promise<void>;
  /** Stops sending and leaves the room. Safe to call twice. */
  leave(): Promise<void>;
  /** Saves what the participant shows as a PNG (`--screenshots`); engines without a page have none. */
  screenshot?(path: `${string}.png`): Promise<void>;
  /**
   * Ratchets the key it encrypts with (scenario `e2ee.ratchet-every`), telling it as an `e2ee` event
   * with state `key_ratcheted` from itself; only engines that encrypt have it.
   */
  ratchetKey?(): void;
}

/** An engine in one worker process: it makes participants and owns what they share (sources, pacer). */
export interface Engine {
  readonly name: EngineName;
  /** A participant for `plan`, not joined yet; what it lives through goes to `emit`. */
  participant(plan: ParticipantPlan, emit: EventSink): EngineParticipant;
  /** Called after every participant left: stops shared media, frees the process-wide stack. */
  close(): Promise<void>;
  /**
   * Its own media thread's ticks since the previous call (lean's native path), for the worker's load
   * window; absent for an engine without one, undefined for a window in which none ran.
   */
  mediaTicks?(): MediaTicksWindow | undefined;
}

export interface EngineRules {
  /**
   * What one worker process carries (one process per core at most): about so many participants,
   * or, for an engine whose cost follows the packets it moves (lean), so many packets per second
   * sent and received (`packetRate` in run/plan.ts).
   */
  readonly workerCarries: { readonly participants: number } | { readonly packetsPerSecond: number };
  /** The kinds its publishers can send. */
  readonly publishes: readonly Kind[];
  /** Subscribes to chosen publishers only (scenario `subscribe-limit`), not to everyone. */
  readonly subscribeLimit: boolean;
  /** Sends data packets (scenario `data`). */
  readonly data: boolean;
  /** The client.simulate scenarios it acts out (rtc-node's simulateScenario, and lean's own). */
  readonly simulate: readonly SimulateScenario[];
  /**
   * How long a participant may take from its join time to joined on a loaded machine, before a
   * chaos drill's baseline starts without it.
   */
  readonly joinGraceMs: number;
  /** The video its publishers can send; undefined: any the scenario allows. */
  readonly video?: VideoRule;
  /** Encrypts and decrypts media end to end with LiveKit's frame cryptor (scenario `e2ee`). */
  readonly e2ee: boolean;
  /**
   * The client network profiles (scenario `network-profiles`) its participants can connect from,
   * and why only those; undefined: every profile.
   */
  readonly profiles?: { readonly only: readonly NetworkProfile[]; readonly why: string };
}

/** The video an engine can send: these codecs (the first is the fix a refusal names), 16:9 preset heights, this frame rate at most. */
export interface VideoRule {
  readonly codecs: readonly VideoShape["codec"][];
  readonly heights: readonly number[];
  readonly maxFps: number;
  /** A codec that stops below the tallest of `heights`, at this height. */
  readonly maxHeight?: Partial<Record<VideoShape["codec"], number>>;
}

/** What the scenario asks of every video publisher. */
export interface VideoShape {
  /** As written (`360p`, `640x360`), for messages. */
  readonly resolution: string;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly codec: "vp8" | "h264" | "vp9" | "av1";
}

/**
 * native: rtc-node holds about 100 audio participants per core in one process (docs/engine-costs.md
 * rule 8). lean: a worker's cost follows the packets it sends and receives, about 45 us of its
 * main thread per packet with everything else it does (30 audio rooms of 1+4, 7,500 packets/s:
 * 0.33 of a core; 16 rooms of 360p video 1+4, 4,800 packets/s: 0.22), so a worker carries 10,000
 * packets/s, about half of its one JavaScript thread, leaving room for joins' DTLS handshakes and a
 * slower machine (docs/engine-costs.md, lean rule 1).
 */
export const ENGINE_RULES: Readonly<Record<EngineName, EngineRules>> = {
  native: {
    workerCarries: { participants: 100 },
    publishes: ["audio", "video"],
    subscribeLimit: true,
    data: true,
    simulate: simulateScenarios,
    joinGraceMs: 20_000,
    e2ee: true,
  },
  lean: {
    workerCarries: { packetsPerSecond: 10_000 },
    publishes: ["audio", "video"],
    subscribeLimit: false,
    // reliable user packets on the publisher's "_reliable" channel (packages/lean/src/data.ts)
    data: true,
    // as rtc-node acts them out, over lean's signalling (packages/lean/src/simulate.ts,
    // LEAN_SIMULATIONS: a test holds the two lists equal); no force-tcp or force-tls, as no ICE
    // over TCP or TLS
    simulate: [
      "signal-reconnect",
      "node-failure",
      "server-leave",
      "migration",
      "full-reconnect",
      "disconnect-signal-on-resume",
    ],
    joinGraceMs: 20_000,
    // LiveKit's frame encryption (AES-GCM over each frame, a trailer with the IV and key index) is
    // not built over werift's RTP: the lean engine refuses E2EE rather than send clear media
    e2ee: false,
    // the pre-encoded VP8 and H.264 loops (packages/lean/README.md, "Video"): the preset sizes
    // LiveKit has a camera bitrate for; one frame per 20 ms pacer tick; simulcast as the 180p/360p
    // loops under the track's size (packages/lean/README.md, "Simulcast"). H.264 stops at 720p:
    // the loop and the SDP say level 3.1, whose largest frame is 1280x720
    video: {
      codecs: ["vp8", "h264"],
      heights: [180, 360, 540, 720, 1080],
      maxFps: 50,
      maxHeight: { h264: 720 },
    },
    // werift as lean sets it up gathers host UDP candidates only (packages/lean/README.md, "ICE"):
    // behind udp-blocked, tcp-only or turn-only its joins time out after 15 s (seen: 2 of 4 joined
    // in a run at { open: 50%, udp-blocked: 50% }, exit 0)
    profiles: { only: ["open"], why: "connects over host UDP candidates only (no ICE over TCP, no TURN)" },
  },
  // one headless Chromium per participant, 0.2-0.4 of a core each (docs/browser-engine.md): the
  // worker only drives them, and ten keep a worker's IPC and stats polls light
  browser: {
    workerCarries: { participants: 10 },
    publishes: ["audio", "video"],
    subscribeLimit: false,
    data: false,
    // livekit-client's Room.simulateScenario, which has every scenario a drill names, by the same
    // names (and more)
    simulate: simulateScenarios,
    // a Chromium's launch alone took 9.5 s at load 20 on this 2-core machine, and two browsers
    // joined 11-16 s after their run started; three beside a 3-node testbed were not joined at 20 s
    joinGraceMs: 90_000,
    // livekit-client's frame cryptors in the E2EE web worker the page server serves (docs/e2ee.md)
    e2ee: true,
  },
};

/**
 * What every engine says of a join still under way when it was told to leave (the run's end
 * overtook it): a failed join, `left`, which the stopping worker counts as `run_ended`.
 */
export const LEFT_BEFORE_JOINING: ParticipantEvent = {
  type: "join-failed",
  reason: "left",
  message: "it left before it joined",
};

/** The participant attribute, set in every join token, that names the engine a participant runs on. */
export const ENGINE_ATTRIBUTE = "lkswarm.engine";

/**
 * Whether a probe may read a publisher's stamp as its capture time. Native and browser publishers
 * stamp the time they captured (a browser draws each frame on a canvas with the time it draws it);
 * a lean publisher's stamp is its frame's place in the pre-encoded loop (packages/lean/README.md,
 * "Video"), and a publisher with no engine attribute is not ours.
 */
export function stampsCaptureTime(attributes: Readonly<Record<string, string>>): boolean {
  const engine = attributes[ENGINE_ATTRIBUTE];
  return engine === "native" || engine === "browser";
}

/** Whether `engine` acts out the client.simulate `scenario` (ENGINE_RULES[engine].simulate). */
export function simulates(engine: EngineName, scenario: string): scenario is SimulateScenario {
  return (ENGINE_RULES[engine].simulate as readonly string[]).includes(scenario);
}

/**
 * A client.simulate fault on one of `engine`'s participants: a scenario the engine does not act out
 * is answered as such (cannotSimulate); any other is acted out by `act`, answered ok or with the
 * reason it threw. The `simulated` event is what a drill confirms the fault by.
 */
export async function simulated(
  engine: EngineName,
  scenario: string,
  act: (scenario: SimulateScenario) => Promise<void>,
  emit: EventSink,
): Promise<void> {
  if (!simulates(engine, scenario)) {
    emit(cannotSimulate(engine, scenario));
    return;
  }
  try {
    await act(scenario);
    emit({ type: "simulated", scenario, ok: true });
  } catch (err) {
    emit({
      type: "simulated",
      scenario,
      ok: false,
      message: messageOf(err),
    });
  }
}

/** The answer of an engine asked for a client.simulate scenario it does not act out. */
export function cannotSimulate(engine: EngineName, scenario: string): ParticipantEvent {
  return {
    type: "simulated",
    scenario,
    ok: false,
    message: `the ${engine} engine cannot simulate ${scenario} (it acts out ${ENGINE_RULES[engine].simulate.join(", ")}): run it with engine native`,
  };
}

/**
 * The loop a lean publisher sends for the run's video (`@livekit-swarm/lean`'s videoLoop options,
 * written out here so that planning never loads werift): checkEngines refuses any other codec.
 */
export function leanLoopOptions(video: Pick<VideoShape, "width" | "height" | "fps" | "codec">): {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly codec: "vp8" | "h264";
} {
  const { width, height, fps, codec } = video;
  if (codec !== "vp8" && codec !== "h264")
    throw new RangeError(`the lean engine has no ${codec} loop (checkEngines refuses it)`);
  return { width, height, fps, codec };
}

/** Some lean participant publishes video: the VP8 loop is needed. */
export function leanPublishesVideo(participants: readonly ParticipantPlan[]): boolean {
  return participants.some((p) => p.engine === "lean" && p.publishVideo);
}

/** A scenario an engine cannot run, refused before anything starts; the message names the fix. */
export class EngineError extends KnownError<"unsupported"> {
  override readonly name = "EngineError";
}

/**
 * Refuses a plan that asks an engine for what it cannot do: publishers of a kind it cannot send,
 * a subscribe limit, data packets. `shape.engine` is the run's choice, as the user wrote it.
 */
export function checkEngines(
  participants: readonly ParticipantPlan[],
  shape: {
    readonly engine: string;
    readonly subscribeLimit: number | undefined;
    readonly data: boolean;
    readonly video: VideoShape;
    readonly e2ee?: unknown;
  },
): void {
  for (const p of participants) {
    // a browser probe beside another engine is there by --browser-probes, not by --engine
    const probe = p.engine === "browser" && shape.engine !== "browser";
    const refuse = (what: string, fix: string): never => {
      throw new EngineError(
        "unsupported",
        probe
          ? `--browser-probes: ${what}: ${fix}, or --browser-probes 0`
          : `--engine ${shape.engine}: ${what}: ${fix}, or --engine native`,
      );
    };
    const rules = ENGINE_RULES[p.engine];
    for (const kind of ["video", "audio"] as const) {
      const publishes = kind === "video" ? p.publishVideo : p.publishAudio;
      if (publishes && !rules.publishes.includes(kind))
        refuse(
          `the ${p.engine} engine cannot publish ${kind} yet (${p.engine} publishers send ${rules.publishes.join(" and ")})`,
          `pass --${kind}-publishers 0`,
        );
    }
    const video = rules.video;
    if (p.publishVideo && video !== undefined) {
      const { resolution, width, height, fps, codec } = shape.video;
      const codecOk = video.codecs.includes(codec);
      const tallest = (codecOk ? video.maxHeight?.[codec] : undefined) ?? Infinity;
      const sized =
        video.heights.includes(height) &&
        height <= tallest &&
        width === Math.round((height * 16) / 9 / 2) * 2;
      const limits = Object.entries(video.maxHeight ?? {}).map(([c, h]) => `${c} up to ${h}p`);
      const limited = limits.length > 0 ? ` (${limits.join(", ")})` : "";
      if (!codecOk || !sized || fps > video.maxFps)
        refuse(
          `the ${p.engine} engine sends ${video.codecs.join(" or ")} video at ${video.heights.map((h) => `${h}p`).join(", ")}${limited} up to ${video.maxFps} fps, not ${codec} at ${resolution} ${fps} fps`,
          `pass --video-codec ${codecOk ? codec : (video.codecs[0] ?? codec)} --video-resolution ${sized ? resolution : "360p"} --video-fps ${Math.min(fps, video.maxFps)}`,
        );
    }
    if (p.subscribe && shape.subscribeLimit !== undefined && !rules.subscribeLimit)
      refuse(`the ${p.engine} engine subscribes to every publisher`, "drop --subscribe-limit");
    if (p.role === "publisher" && shape.data && !rules.data)
      refuse(`the ${p.engine} engine sends no data packets`, "drop --data");
    if (shape.e2ee !== undefined && !rules.e2ee)
      refuse(
        `the ${p.engine} engine does not encrypt media end to end (LiveKit's frame cryptor)`,
        "drop --e2ee",
      );
  }
}

/**
 * Refuses a placed plan (network-placement.ts) that puts participants behind a client network
 * profile their engine cannot connect from. `engine` is the run's choice, as the user wrote it.
 */
export function checkProfiles(participants: readonly ParticipantPlan[], engine: string): void {
  for (const name of new Set(participants.map((p) => p.engine))) {
    const profiles = ENGINE_RULES[name].profiles;
    if (profiles === undefined) continue;
    const behind = [
      ...new Set(
        participants
          .filter((p) => p.engine === name && p.profile !== undefined && !profiles.only.includes(p.profile))
          .map((p) => p.profile),
      ),
    ];
    if (behind.length === 0) continue;
    throw new EngineError(
      "unsupported",
      `--engine ${engine}: the ${name} engine ${profiles.why}, so its participants cannot connect behind ${behind.join(" or ")}: drop ${behind.length > 1 ? "them" : "it"} from network-profiles (${name} connects from ${profiles.only.join(", ")}), or --engine native`,
    );
  }
}

/**
 * Refuses a drill its participants' engines cannot serve: a client.simulate scenario one of them
 * does not act out (lean: force-tcp and force-tls). (Every engine reports per-track media flow in
 * watch mode, which every drill's recovery figures need.)
 */
export function checkDrillable(
  participants: readonly ParticipantPlan[],
  chosen: string,
  faults: readonly { readonly type: string; readonly scenario?: string | undefined }[],
): void {
  for (const fault of faults) {
    if (fault.type !== "client.simulate") continue;
    const scenario = fault.scenario ?? "signal-reconnect";
    const engine = participants.find((p) => !simulates(p.engine, scenario))?.engine;
    if (engine === undefined) continue;
    throw new EngineError(
      "unsupported",
      `engine ${chosen}: the ${engine} engine cannot simulate ${scenario} (it acts out ${ENGINE_RULES[engine].simulate.join(", ")}): run the drill's workload with engine native`,
    );
  }
}

/**
 * Lean publishers send simulcast where the scenario asks for it (`video.simulcast`, on by default),
 * unless LKSWARM_LEAN_SIMULCAST=0. It was opt-in while LiveKit held some lean subscribers on a lower
 * layer for a whole run; the cause was the lean offer's header extension ids (packages/lean/src/sdp.ts,
 * bundleExtensionIds), and with them fixed every subscriber that asks for nothing gets the top layer.
 * What still differs from a libwebrtc subscriber: a lean one sends no congestion feedback (no TWCC,
 * no REMB), so under loss or a bandwidth cap LiveKit does not move it down a layer
 * (packages/lean/README.md, "Simulcast").
 */
export function leanSimulcastEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.LKSWARM_LEAN_SIMULCAST !== "0";
}
