/** What a scenario is once parsed: the shapes every package reads, and the preset sizes. */
import type { Milliseconds } from "./duration.js";

export const videoResolutions = ["180p", "360p", "540p", "720p", "1080p"] as const;
export type VideoResolutionPreset = (typeof videoResolutions)[number];
export const videoCodecs = ["vp8", "h264", "vp9", "av1"] as const;
export type VideoCodec = (typeof videoCodecs)[number];
/**
 * native: rtc-node; lean: pre-encoded media over werift; mixed: lean, with the latency probes native;
 * browser: livekit-client in headless Chromium, one browser per participant.
 */
export const engineChoices = ["native", "lean", "mixed", "browser"] as const;
export type EngineChoice = (typeof engineChoices)[number];

export interface VideoSpec {
  /** As written: a preset such as `360p`, or `WIDTHxHEIGHT`. */
  readonly resolution: string;
  readonly width: number;
  readonly height: number;
  readonly codec: VideoCodec;
  readonly simulcast: boolean;
  readonly fps: number;
}

/** The video a run's publishers send, resolved from the scenario: what an engine encodes and how. */
export interface PublishedVideo {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly codec: VideoCodec;
  readonly simulcast: boolean;
  readonly maxBitrate: number;
}

/** Publishers alternate `talk` and `silence` when both are set; otherwise they talk throughout. */
export interface AudioSpec {
  readonly talk: Milliseconds | null;
  readonly silence: Milliseconds | null;
}

export interface DataSpec {
  /** How often each publisher sends a data packet. */
  readonly interval: Milliseconds;
}

/**
 * A swarm run, resolved: every default applied, every duration in milliseconds. Counts are per
 * room. Publisher `i` of a room publishes video when `i < videoPublishers` and audio when
 * `i < audioPublishers`, so a room has `max(videoPublishers, audioPublishers)` publishers plus
 * `subscribers` participants that only subscribe.
 */
export interface Scenario {
  readonly name: string;
  /** Which engine runs the participants. */
  readonly engine: EngineChoice;
  readonly rooms: number;
  readonly videoPublishers: number;
  readonly audioPublishers: number;
  readonly subscribers: number;
  /** Publishers also subscribe to each other, as in a conference; otherwise only subscribers receive. */
  readonly publishersSubscribe: boolean;
  /** How long the full swarm holds after the last participant joined. */
  readonly duration: Milliseconds;
  /** Join pacing across the whole run, in joins per second. */
  readonly numPerSecond: number;
  readonly video: VideoSpec;
  readonly audio: AudioSpec;
  /** The most publishers one subscriber subscribes to; `null` subscribes to all. */
  readonly subscribeLimit: number | null;
  readonly roomPrefix: string;
  readonly identityPrefix: string;
  readonly data: DataSpec | null;
  /** Subscribers per room that decode media and measure end-to-end latency. */
  readonly latencyProbes: number;
  /**
   * Subscribers per room on the browser engine (livekit-client in headless Chromium) beside the
   * run's engine: the last ones of each room, so the first stay latency probes.
   */
  readonly browserProbes: number;
  /** Browser participants sharing one page, each its own livekit-client Room (1: a page each). */
  readonly participantsPerPage: number;
  /** Pages (tabs) sharing one Chromium (1: a browser per page). */
  readonly pagesPerBrowser: number;
  /** Threshold expressions as written; the gate parses them. */
  readonly thresholds: readonly string[];
  /** The start of the run that thresholds on windowed metrics leave out. */
  readonly warmup: Milliseconds;
  /** A signalling storm (k6) against the same server while the media swarm holds; absent: none. */
  readonly storm?: StormSpec;
  /** End-to-end encrypted media (a shared key, never in the scenario); null: none. */
  readonly e2ee: E2eeSpec | null;
  /**
   * The share of participants (0 to 1) behind each client network profile (`open`, `udp-blocked`,
   * ...; the testbed's list), as written: the run checks the names and that they add up to 100%.
   * Absent: everyone on the host's own network.
   */
  readonly networkProfiles?: Readonly<Record<string, number>>;
}

/**
 * A scenario's `e2ee:` block. The key itself comes from the run (`--e2ee-key-file`, env
 * LKSWARM_E2EE_KEY, or one made for the run), so a scenario file, which lands in summary.json,
 * never holds it.
 */
export interface E2eeSpec {
  /** Subscribers per room (the last ones, never a latency probe) that join with another key. */
  readonly wrongKeySubscribers: number;
  /**
   * Failed decryptions before a frame cryptor gives up on a key and reports DECRYPTION_FAILED;
   * -1 never gives up, and then rtc-node reports nothing (docs/e2ee.md).
   */
  readonly failureTolerance: number;
  /** How many ratchet steps a receiver tries on a frame it cannot decrypt. */
  readonly ratchetWindowSize: number;
  /**
   * Every publisher ratchets its key this often, from the last planned join on, on the run's
   * clock (so a room's publishers ratchet together), and receivers follow through their ratchet
   * window; absent: never.
   */
  readonly ratchetEveryMs?: Milliseconds;
}

/** A scenario's `storm:` block: which k6 storm, when in the hold, and its settings. */
export interface StormSpec {
  /** A ready-made storm (join-storm, churn, reconnect, room-service) or a path to a k6 script. */
  readonly script: string;
  /** After the last media join (the end of the ramp): the media's "before" window. */
  readonly start: Milliseconds;
  /** How long arrivals go on (STORM_DURATION): the media's "during" window. */
  readonly duration: Milliseconds;
  /** STORM_* settings for the script (STORM_RATE, STORM_HOLD_MAX_S, ...), as text. */
  readonly settings: Readonly<Record<string, string>>;
}

export const RESOLUTION_SIZES: Readonly<Record<VideoResolutionPreset, readonly [number, number]>> = {
  "180p": [320, 180],
  "360p": [640, 360],
  "540p": [960, 540],
  "720p": [1280, 720],
  "1080p": [1920, 1080],
};

/** livekit-client's VideoPresets frame rates, so a swarm publisher sends what a browser would. */
export function presetFps(height: number): number {
  if (height <= 360) return 20;
  if (height <= 540) return 25;
  return 30;
}
