/** What the orchestrator and its worker processes say to each other over IPC. */

import type {
  EngineChoice,
  ParticipantEvent,
  PublishedVideo,
  Role,
  WindowSample,
} from "@livekit-swarm/schema";
import type { BrowserLayout } from "@livekit-swarm/browser";
import type { NetworkProfile } from "@livekit-swarm/testbed";
import type { GeneratorWindow } from "./generator-load.js";

export type {
  InboundTrackSample,
  Kind,
  OutboundTrackSample,
  ParticipantEvent,
  Role,
  WindowSample,
} from "@livekit-swarm/schema";

/**
 * The engine one participant runs on: schema's engine choices but `mixed` (which puts a run's probes
 * on native, the rest on lean). An engine added to schema's `engineChoices` is a type error until
 * ENGINE_RULES and the worker's ENGINE_OPENERS have its entry.
 */
export type EngineName = Exclude<EngineChoice, "mixed">;

export interface ParticipantPlan {
  readonly engine: EngineName;
  readonly room: string;
  readonly identity: string;
  readonly role: Role;
  readonly publishAudio: boolean;
  readonly publishVideo: boolean;
  /** Index among the room's publishers: picks the tone frequency and pattern tint. */
  readonly publisherIndex: number;
  /** Subscribes to other participants' tracks. */
  readonly subscribe: boolean;
  /** Decodes video frames to measure end-to-end latency and first frame exactly. */
  readonly probe: boolean;
  /** Tracks this participant should receive once everyone is in. */
  readonly expectedTracks: { readonly audio: number; readonly video: number };
  /** Milliseconds after the run's start at which this participant joins. */
  readonly joinAtMs: number;
  /** An E2EE run: joins with a key other than the room's (scenario `e2ee.wrong-key-subscribers`). */
  readonly wrongKey?: true;
  /**
   * The client network profile it sits behind (a scenario's `network-profiles`); absent: the
   * host's own network, as in a run without profiles.
   */
  readonly profile?: NetworkProfile;
}

/**
 * A testbed's own TURN/TLS listener: its `turns:` name, the address that name stands for,
 * and the pin of its self-signed certificate (base64 SHA-256 of the SubjectPublicKeyInfo).
 */
export interface TurnTlsTrust {
  /** The name in the `turns:` URL. */
  readonly name: string;
  readonly host: string;
  readonly spki: string;
}

export interface MediaPlan {
  readonly video: PublishedVideo;
  readonly audio: { readonly talkMs?: number; readonly silenceMs?: number };
  /** Publishers each subscriber subscribes to at most (a layout cap); undefined: all. */
  readonly subscribeLimit?: number;
  readonly data?: { readonly intervalMs: number };
  /** Rejoin a participant that was disconnected or failed to join (the canary), with backoff. */
  readonly rejoin?: boolean;
  /** Watch media flow and session ids this often, ms (chaos drills: 250). */
  readonly watchMs?: number;
  /** How browser participants share pages and browsers; absent: a browser each. */
  readonly browserLayout?: BrowserLayout;
  /** Save each browser participant's page here as a PNG when the run ends (`--screenshots`). */
  readonly screenshotsDir?: string;
  /** The target's TURN/TLS certificate that browser participants trust (MediaTarget.turnTls). */
  readonly turnTls?: TurnTlsTrust;
  /** End-to-end encryption: the key provider's options (the key travels apart, in WorkerPlan). */
  readonly e2ee?: {
    readonly failureTolerance: number;
    readonly ratchetWindowSize: number;
    /**
     * Publishers ratchet their key this often, at startAtMs + rampMs + k * ratchetEveryMs (scenario
     * `e2ee.ratchet-every`), none in the hold's last RATCHET_SETTLE_MS.
     */
    readonly ratchetEveryMs?: number;
  };
}

/**
 * No key ratchet comes in the hold's last 5 s: a receiver follows within a frame or two, but a
 * browser's cryptor that fails on frames sealed before a ratchet took 2.5 s to decrypt again on a
 * loaded machine (docs/e2ee.md), and what happens after a ratchet must show before the run ends.
 */
export const RATCHET_SETTLE_MS = 5000;

/** The reason a join still under way when the run ended is counted by (summary `joinFailures`). */
export const RUN_ENDED = "run_ended";

/**
 * The reason of a participant the run ended before it began to join: a browser participant still
 * waiting for its Chromium (started one after another; 35 s for 4 of them in a loaded suite run).
 * It never reached LiveKit, so it is the generator's failure, not a join LiveKit left unserved.
 */
export const NOT_STARTED = "not_started";

/**
 * An event as the worker reports it once it has begun to stop: it then makes every participant
 * leave, and a join still under way fails in its engine's words (a browser's closed page is
 * `browser`, "Target closed"; rtc-node's cancelled connect), though it failed because the run
 * ended first. Such a join counts as `run_ended`, its engine's message kept, so a ramp too slow for
 * the hold reads as that and not as a broken engine (15 browser participants on two cores, 20 s
 * hold: 10 joined and 4 were said to fail as `browser`). Other events are unchanged.
 */
export function reportedAfterStop(event: ParticipantEvent): ParticipantEvent {
  if (event.type !== "join-failed" || event.reason === RUN_ENDED || event.reason === NOT_STARTED)
    return event;
  return {
    type: "join-failed",
    reason: RUN_ENDED,
    message: `the run ended before it joined (${event.message})`,
  };
}

export interface WorkerPlan {
  readonly worker: number;
  readonly url: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  /** Epoch ms at which joinAtMs offsets start. */
  readonly startAtMs: number;
  /** The run's last planned join, ms after startAtMs: key ratchets begin after it (e2ee.ratchet-every). */
  readonly rampMs?: number;
  /** The hold after the ramp, ms (Number.MAX_SAFE_INTEGER: until stopped): key ratchets end before its end. */
  readonly holdMs?: number;
  readonly statsIntervalMs: number;
  /** Lifetime of each join token, seconds (see joinTokenTtlS). */
  readonly tokenTtlS: number;
  readonly participants: readonly ParticipantPlan[];
  readonly media: MediaPlan;
  /** The room's shared E2EE key when media.e2ee is set: over IPC only, never written anywhere. */
  readonly e2eeKey?: Uint8Array;
}

export type WorkerMessage =
  | { readonly type: "ready"; readonly worker: number }
  | {
      readonly type: "event";
      readonly t: number;
      readonly worker: number;
      readonly room: string;
      readonly participant: string;
      readonly role: Role;
      readonly event: ParticipantEvent;
    }
  | { readonly type: "samples"; readonly samples: readonly WindowSample[] }
  /** How busy the worker itself was over the last stats interval (generator-load.ts). */
  | { readonly type: "load"; readonly window: GeneratorWindow }
  /** The worker's last samples are sent (they precede this on the channel); its participants are still in. */
  | { readonly type: "sampled"; readonly worker: number }
  | { readonly type: "done"; readonly worker: number };

export type OrchestratorMessage =
  | { readonly type: "start"; readonly plan: WorkerPlan }
  /**
   * The drain's first phase: take every participant's last sample while everyone, in every
   * worker, is still in the room; then answer `sampled`. `stop` (the second phase) leaves.
   */
  | { readonly type: "sample" }
  | { readonly type: "stop" }
  /** Run rtc-node's simulateScenario on these participants of the worker. */
  | {
      readonly type: "simulate";
      readonly participants: readonly { readonly room: string; readonly identity: string }[];
      readonly scenario: string;
    }
  /** Join these participants now (late joiners a drill adds after a fault). */
  | { readonly type: "join"; readonly participants: readonly ParticipantPlan[] };
