import { basename } from "node:path";
import * as z from "zod";
import type { ConfigProblem, KeyPath } from "./config.js";
import { ConfigError, problemAt, readConfigText, readFailure, readYaml } from "./config.js";
import type { Milliseconds } from "./duration.js";
import {
  DURATION_EXPECTED,
  DurationError,
  describeValue,
  formatDuration,
  parseDuration,
} from "./duration.js";
import { closestMatches } from "./suggest.js";

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

const RESOLUTION_SIZES: Readonly<Record<VideoResolutionPreset, readonly [number, number]>> = {
  "180p": [320, 180],
  "360p": [640, 360],
  "540p": [960, 540],
  "720p": [1280, 720],
  "1080p": [1920, 1080],
};

/** livekit-client's VideoPresets frame rates, so a swarm publisher sends what a browser would. */
function presetFps(height: number): number {
  if (height <= 360) return 20;
  if (height <= 540) return 25;
  return 30;
}

export const scenarioDefaults = {
  rooms: 1,
  videoPublishers: 1,
  audioPublishers: 1,
  subscribers: 1,
  publishersSubscribe: false,
  duration: 30_000,
  numPerSecond: 5,
  video: { resolution: "360p", codec: "vp8", simulcast: true },
  roomPrefix: "lkswarm-room-",
  identityPrefix: "lkswarm-",
  dataInterval: 1000,
  latencyProbes: 1,
  browserProbes: 0,
  participantsPerPage: 1,
  pagesPerBrowser: 1,
  warmup: 0,
  name: "swarm",
  engine: "native",
  // livekit-client's DECRYPTION_FAILURE_TOLERANCE and rtc-node's ratchet window
  e2ee: { wrongKeySubscribers: 0, failureTolerance: 10, ratchetWindowSize: 16 },
} as const satisfies Record<string, unknown>;

/** One line per key for `--help` and the README; tests keep it in step with the schema. */
export const scenarioFields: readonly {
  readonly key: string;
  readonly summary: string;
  readonly default: string;
}[] = [
  { key: "name", summary: "Run name, the `scenario` metric label", default: "file name, else swarm" },
  {
    key: "engine",
    summary:
      "native (rtc-node, encodes and decodes), lean (pre-encoded audio and video, counts RTP without decoding), mixed (lean, with the latency probes on native) or browser (livekit-client in headless Chromium, a browser per participant unless participants-per-page or pages-per-browser)",
    default: "native",
  },
  { key: "rooms", summary: "Rooms to create", default: "1" },
  { key: "video-publishers", summary: "Participants per room that publish video", default: "1" },
  {
    key: "audio-publishers",
    summary: "Participants per room that publish audio (shared with video publishers)",
    default: "1",
  },
  { key: "subscribers", summary: "Participants per room that only subscribe", default: "1" },
  {
    key: "publishers-subscribe",
    summary: "Publishers also receive each other (a conference)",
    default: "false",
  },
  {
    key: "duration",
    summary: "Hold after the last join: 30s, 5m, 1h30m or seconds, at most 168h",
    default: "30s",
  },
  { key: "num-per-second", summary: "Joins per second across the run", default: "5" },
  { key: "video.resolution", summary: "180p, 360p, 540p, 720p, 1080p or WIDTHxHEIGHT", default: "360p" },
  { key: "video.codec", summary: "vp8, h264, vp9 or av1", default: "vp8" },
  { key: "video.simulcast", summary: "Publish simulcast layers", default: "true" },
  { key: "video.fps", summary: "Frames per second, 1 to 60", default: "20 up to 360p, 25 at 540p, else 30" },
  { key: "audio.talk", summary: "Talk period, with audio.silence", default: "talk throughout" },
  { key: "audio.silence", summary: "Silence period, with audio.talk", default: "none" },
  { key: "subscribe-limit", summary: "Most publishers one subscriber subscribes to", default: "all" },
  { key: "room-prefix", summary: "Room names are this plus the room index", default: "lkswarm-room-" },
  { key: "identity-prefix", summary: "Participant identities start with this", default: "lkswarm-" },
  { key: "data", summary: "Publishers send data packets: true, or { interval }", default: "false" },
  { key: "data.interval", summary: "Time between data packets", default: "1s" },
  { key: "latency-probes", summary: "Subscribers per room that measure end-to-end latency", default: "1" },
  {
    key: "browser-probes",
    summary:
      "Subscribers per room on the browser engine (headless Chromium) beside the bulk, the room's last",
    default: "0",
  },
  {
    key: "participants-per-page",
    summary:
      "Browser participants per page, each its own livekit-client Room in one renderer (docs/browser-engine.md), 1 to 50",
    default: "1",
  },
  {
    key: "pages-per-browser",
    summary: "Pages (tabs) per headless Chromium, each with participants-per-page participants, 1 to 50",
    default: "1",
  },
  { key: "thresholds", summary: "Gate expressions, in addition to the catalog's", default: "[]" },
  { key: "warmup", summary: "Start of the run left out of windowed thresholds", default: "0s" },
  {
    key: "storm",
    summary: "A k6 signalling storm during the hold (docs/signalling-storm.md)",
    default: "none",
  },
  {
    key: "storm.script",
    summary: "join-storm, churn, reconnect, room-service or a path to a k6 script",
    default: "join-storm",
  },
  { key: "storm.start", summary: "When the storm starts, after the last media join", default: "0s" },
  { key: "storm.rate", summary: "Storm arrivals per second (STORM_RATE)", default: "the script's" },
  {
    key: "storm.duration",
    summary: "How long storm arrivals go on; must end within the hold",
    default: "10s",
  },
  {
    key: "storm.settings",
    summary: "Other settings for the script, e.g. { STORM_HOLD_MAX_S: 5 }",
    default: "{}",
  },
  {
    key: "e2ee",
    summary: "End-to-end encrypted media with a shared key (native engine): true, or a mapping",
    default: "false",
  },
  {
    key: "e2ee.wrong-key-subscribers",
    summary: "Subscribers per room that join with a wrong key (never a latency probe)",
    default: "0",
  },
  {
    key: "e2ee.failure-tolerance",
    summary: "Failed decryptions before a key is given up and reported, -1 never",
    default: "10",
  },
  { key: "e2ee.ratchet-window-size", summary: "Ratchet steps a receiver tries, 0 to 256", default: "16" },
  {
    key: "e2ee.ratchet-every",
    summary:
      "Every publisher ratchets its key this often (1s or more) after the ramp, on the run's clock, none in the hold's last 5s; receivers follow",
    default: "never",
  },
  {
    key: "network-profiles",
    summary:
      "Share of participants per client network profile, e.g. { open: 80%, udp-blocked: 20% }; local testbed only, as root (docs/transport.md)",
    default: "all open",
  },
];

/**
 * Join pacing, joins per second: at least one join every 100 s (`1e-9` would space two joins 30
 * years apart), at most 1000 (faster is a typo, or a storm no one machine produces).
 */
export const JOINS_PER_SECOND = { least: 0.01, most: 1000 } as const;
const JOIN_RATE = `expected joins per second from ${JOINS_PER_SECOND.least} to ${JOINS_PER_SECOND.most}`;

const POSITIVE_INT = "expected a positive integer";
const COUNT = "expected a whole number, 0 or more";
/**
 * The most rooms one run plans, and the most participants of one role per room: the one place both
 * `--rooms` and a scenario's `rooms:` are held to (a scenario of 50,000 rooms passed the schema
 * where the flag refused it). Past them a run is a typo; shards split a bigger load.
 */
export const MAX_ROOMS = 10_000;
export const MAX_PER_ROOM = 1_000;
const ROOMS_MAX = `expected at most ${MAX_ROOMS} rooms (more load: shard it over several machines)`;
const PER_ROOM_MAX = `expected at most ${MAX_PER_ROOM} per room`;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const NAME = 'expected up to 64 letters, digits, ".", "_" or "-", starting with a letter or digit';
const PREFIX_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const PREFIX = 'expected 1 to 64 letters, digits, ".", "_" or "-"';
const RESOLUTION = `expected one of ${videoResolutions.join(", ")} or WIDTHxHEIGHT such as 640x360`;
const WXH = /^(\d+)x(\d+)$/;

const positiveInt = z.int({ error: POSITIVE_INT }).min(1, { error: POSITIVE_INT });
const count = z.int({ error: COUNT }).min(0, { error: COUNT });
/** Browser participants sharing a page, or pages sharing a browser: 50 already fills this 2-core machine's memory. */
export const MAX_SHARING = 50;
const SHARING = `expected a whole number from 1 to ${MAX_SHARING}`;
const sharing = z.int({ error: SHARING }).min(1, { error: SHARING }).max(MAX_SHARING, { error: SHARING });

function duration(options: { positive: boolean }) {
  return z.unknown().transform((value, ctx): Milliseconds => {
    const fail = (message: string): never => {
      ctx.issues.push({ code: "custom", message, input: value });
      return z.NEVER;
    };
    if (typeof value !== "string" && typeof value !== "number") {
      return fail(`${DURATION_EXPECTED}, got ${describeValue(value)}`);
    }
    try {
      const ms = parseDuration(value);
      if (options.positive && ms === 0)
        return fail(`expected a duration above 0, got ${describeValue(value)}`);
      return ms;
    } catch (error) {
      if (error instanceof DurationError) return fail(error.message);
      throw error;
    }
  });
}

const resolution = z.string({ error: RESOLUTION }).transform((value, ctx) => {
  const preset = (videoResolutions as readonly string[]).includes(value)
    ? RESOLUTION_SIZES[value as VideoResolutionPreset]
    : undefined;
  if (preset) return { resolution: value, width: preset[0], height: preset[1] };
  const [, w, h] = WXH.exec(value) ?? [];
  const width = Number(w);
  const height = Number(h);
  // Encoders want even sides; 16..4096 covers every camera and keeps a typo like 6400x360 out.
  const fits = (side: number): boolean =>
    Number.isInteger(side) && side >= 16 && side <= 4096 && side % 2 === 0;
  if (fits(width) && fits(height)) return { resolution: value, width, height };
  ctx.issues.push({
    code: "custom",
    message: WXH.test(value)
      ? `expected even WIDTH and HEIGHT from 16 to 4096, got ${describeValue(value)}`
      : `${RESOLUTION}, got ${describeValue(value)}`,
    input: value,
  });
  return z.NEVER;
});

const videoSchema = z.strictObject(
  {
    resolution: resolution.optional(),
    codec: z.enum(videoCodecs, { error: `expected one of ${videoCodecs.join(", ")}` }).optional(),
    simulcast: z.boolean({ error: "expected true or false" }).optional(),
    fps: z
      .number({ error: "expected frames per second from 1 to 60" })
      .min(1, { error: "expected frames per second from 1 to 60" })
      .max(60, { error: "expected frames per second from 1 to 60" })
      .optional(),
  },
  { error: "expected a mapping with resolution, codec, simulcast or fps" },
);

const audioSchema = z.strictObject(
  {
    talk: duration({ positive: true }).optional(),
    silence: duration({ positive: true }).optional(),
  },
  { error: "expected a mapping with talk and silence" },
);

const dataObjectSchema = z.strictObject(
  { interval: duration({ positive: true }).optional() },
  { error: "expected a mapping with interval" },
);

const dataSchema = z.union([z.boolean(), dataObjectSchema], {
  error: "expected true, false or a mapping with interval",
});

const STORM_SETTING = /^STORM_[A-Z0-9_]+$/;
const STORM_SCRIPT =
  "expected a ready-made storm (join-storm, churn, reconnect, room-service) or a path to a k6 .js script";
const STORM_RATE = "expected storm arrivals per second from 0.1 to 10000";

const stormSchema = z.strictObject(
  {
    script: z
      .string({ error: STORM_SCRIPT })
      .regex(/^(join-storm|churn|reconnect|room-service|[^\0\n]+\.[cm]?js)$/, { error: STORM_SCRIPT })
      .optional(),
    start: duration({ positive: false }).optional(),
    rate: z
      .number({ error: STORM_RATE })
      .min(0.1, { error: STORM_RATE })
      .max(10000, { error: STORM_RATE })
      .optional(),
    duration: duration({ positive: true }).optional(),
    settings: z
      .record(z.string(), z.union([z.string(), z.number()], { error: "expected a string or a number" }))
      .optional(),
  },
  { error: "expected a mapping with script, start, rate, duration or settings" },
);

const E2EE_TOLERANCE = "expected a whole number from -1 to 10000";
const RATCHET_WINDOW = "expected a whole number from 0 to 256";

const e2eeObjectSchema = z.strictObject(
  {
    "wrong-key-subscribers": count.optional(),
    "failure-tolerance": z
      .int({ error: E2EE_TOLERANCE })
      .min(-1, { error: E2EE_TOLERANCE })
      .max(10_000, { error: E2EE_TOLERANCE })
      .optional(),
    "ratchet-window-size": z
      .int({ error: RATCHET_WINDOW })
      .min(0, { error: RATCHET_WINDOW })
      .max(256, { error: RATCHET_WINDOW })
      .optional(),
    "ratchet-every": duration({ positive: false }).optional(),
  },
  {
    error:
      "expected a mapping with wrong-key-subscribers, failure-tolerance, ratchet-window-size or ratchet-every",
  },
);

const e2eeSchema = z.union([z.boolean(), e2eeObjectSchema], {
  error:
    "expected true, false or a mapping with wrong-key-subscribers, failure-tolerance, ratchet-window-size or ratchet-every",
});

const SHARE = "expected a share such as 15% (or a number from 0 to 100)";
const PROFILE_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/** `15%`, `15` or `12.5%`: a percentage from 0 to 100, resolved to a fraction. */
const share = z.union([z.number(), z.string()], { error: SHARE }).transform((value, ctx) => {
  const text = typeof value === "number" ? String(value) : value.replace(/\s*%\s*$/, "").trim();
  const percent = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (percent >= 0 && percent <= 100) return percent / 100;
  ctx.issues.push({ code: "custom", message: `${SHARE}, got ${describeValue(value)}`, input: value });
  return z.NEVER;
});

const networkProfilesSchema = z.record(z.string(), share, {
  error: "expected a mapping of profile to share, e.g. { open: 80%, udp-blocked: 20% }",
});

const scenarioSchema = z.strictObject(
  {
    name: z.string({ error: NAME }).regex(NAME_PATTERN, { error: NAME }).optional(),
    engine: z.enum(engineChoices, { error: `expected one of ${engineChoices.join(", ")}` }).optional(),
    rooms: positiveInt.max(MAX_ROOMS, { error: ROOMS_MAX }).optional(),
    "video-publishers": count.max(MAX_PER_ROOM, { error: PER_ROOM_MAX }).optional(),
    "audio-publishers": count.max(MAX_PER_ROOM, { error: PER_ROOM_MAX }).optional(),
    subscribers: count.max(MAX_PER_ROOM, { error: PER_ROOM_MAX }).optional(),
    "publishers-subscribe": z.boolean({ error: "expected true or false" }).optional(),
    duration: duration({ positive: true }).optional(),
    "num-per-second": z
      .number({ error: JOIN_RATE })
      .min(JOINS_PER_SECOND.least, { error: JOIN_RATE })
      .max(JOINS_PER_SECOND.most, { error: JOIN_RATE })
      .optional(),
    video: videoSchema.optional(),
    audio: audioSchema.optional(),
    "subscribe-limit": positiveInt.max(MAX_PER_ROOM, { error: PER_ROOM_MAX }).optional(),
    "room-prefix": z.string({ error: PREFIX }).regex(PREFIX_PATTERN, { error: PREFIX }).optional(),
    "identity-prefix": z.string({ error: PREFIX }).regex(PREFIX_PATTERN, { error: PREFIX }).optional(),
    data: dataSchema.optional(),
    "latency-probes": count.max(MAX_PER_ROOM, { error: PER_ROOM_MAX }).optional(),
    "browser-probes": count.optional(),
    "participants-per-page": sharing.optional(),
    "pages-per-browser": sharing.optional(),
    thresholds: z
      .array(
        z
          .string({ error: "expected a threshold expression" })
          .trim()
          .min(1, { error: "expected a non-empty threshold expression" }),
        { error: "expected a list of threshold expressions" },
      )
      .optional(),
    warmup: duration({ positive: false }).optional(),
    storm: stormSchema.optional(),
    e2ee: e2eeSchema.optional(),
    "network-profiles": networkProfilesSchema.optional(),
  },
  { error: "expected a mapping of scenario keys such as rooms, subscribers, duration" },
);

/** What a scenario file or the CLI hands in: kebab-case keys, durations as text or seconds. */
export type ScenarioInput = z.input<typeof scenarioSchema>;

const knownKeys: ReadonlyMap<string, readonly string[]> = new Map([
  ["", Object.keys(scenarioSchema.shape)],
  ["video", Object.keys(videoSchema.shape)],
  ["audio", Object.keys(audioSchema.shape)],
  ["data", Object.keys(dataObjectSchema.shape)],
  ["storm", Object.keys(stormSchema.shape)],
  ["e2ee", Object.keys(e2eeObjectSchema.shape)],
]);

/**
 * Every settable key as `key` or `parent.child`; `video` and `audio` only group their children.
 * Lets the CLI map flags onto keys and tests hold `scenarioFields` to the schema.
 */
export const scenarioKeyPaths: readonly string[] = Object.keys(scenarioSchema.shape).flatMap((key) => {
  const children = (knownKeys.get(key) ?? []).map((child) => `${key}.${child}`);
  if (key === "video" || key === "audio") return children;
  return [key, ...children];
});

type Path = KeyPath;

function valueAt(root: unknown, path: Path): unknown {
  let value = root;
  for (const segment of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown, source: string): ConfigProblem[] {
  if (issue.code === "invalid_union") {
    // `true, false or a mapping` given a mapping whose keys fail: name the key, not the union
    // ("e2ee.failure-tolerance: expected a whole number", never "e2ee: ... got a mapping")
    const keyed = issue.errors.find(
      (branch) =>
        branch.length > 0 && branch.every((e) => e.path.length > 0 || e.code === "unrecognized_keys"),
    );
    if (keyed !== undefined)
      return keyed.flatMap((e) => describeIssue({ ...e, path: [...issue.path, ...e.path] }, raw, source));
  }
  if (issue.code === "unrecognized_keys") {
    const allowed = knownKeys.get(issue.path.map(String).join(".")) ?? [];
    return issue.keys.map((key) => {
      const [best] = closestMatches(key, allowed, 1);
      const hint = best === undefined ? `known keys: ${allowed.join(", ")}` : `did you mean "${best}"?`;
      return problemAt(source, [...issue.path, key], `unknown key (${hint})`);
    });
  }
  if (issue.code === "custom") return [problemAt(source, issue.path, issue.message)];
  return [problemAt(source, issue.path, `${issue.message}, got ${describeValue(valueAt(raw, issue.path))}`)];
}

function nameFromSource(source: string): string {
  const stem = basename(source).replace(/\.(ya?ml|json)$/i, "");
  return NAME_PATTERN.test(stem) ? stem : scenarioDefaults.name;
}

type ParsedInput = z.output<typeof scenarioSchema>;

function resolve(input: ParsedInput, raw: unknown, source: string): Scenario {
  const problems: ConfigProblem[] = [];
  const at = (path: Path, message: string): void => {
    problems.push(problemAt(source, path, message));
  };

  const videoPublishers = input["video-publishers"] ?? scenarioDefaults.videoPublishers;
  const audioPublishers = input["audio-publishers"] ?? scenarioDefaults.audioPublishers;
  const subscribers = input.subscribers ?? scenarioDefaults.subscribers;
  const durationMs = input.duration ?? scenarioDefaults.duration;
  const warmup = input.warmup ?? scenarioDefaults.warmup;
  const latencyProbes = input["latency-probes"] ?? Math.min(scenarioDefaults.latencyProbes, subscribers);

  if (Math.max(videoPublishers, audioPublishers) + subscribers === 0) {
    at([], "no participants: set video-publishers, audio-publishers or subscribers above 0");
  }
  if (latencyProbes > subscribers) {
    at(["latency-probes"], `expected at most subscribers (${subscribers}), got ${latencyProbes}`);
  }
  const browserProbes = input["browser-probes"] ?? scenarioDefaults.browserProbes;
  if (browserProbes > subscribers) {
    at(
      ["browser-probes"],
      `expected at most subscribers (${subscribers}): browser probes are subscribers, so raise subscribers or lower browser-probes, got ${browserProbes}`,
    );
  }
  const participantsPerPage = input["participants-per-page"] ?? scenarioDefaults.participantsPerPage;
  const pagesPerBrowser = input["pages-per-browser"] ?? scenarioDefaults.pagesPerBrowser;
  const engine = input.engine ?? scenarioDefaults.engine;
  for (const [key, value] of [
    ["participants-per-page", participantsPerPage],
    ["pages-per-browser", pagesPerBrowser],
  ] as const)
    if (value > 1 && engine !== "browser" && browserProbes === 0)
      at(
        [key],
        `only browser participants share pages and browsers: set engine browser or browser-probes above 0, or drop ${key}, got ${value}`,
      );
  if (warmup >= durationMs) {
    at(
      ["warmup"],
      `expected less than duration (${formatDuration(durationMs)}), got ${describeValue(valueAt(raw, ["warmup"]))}`,
    );
  }
  for (const name of Object.keys(input.storm?.settings ?? {}))
    if (!STORM_SETTING.test(name))
      at(
        ["storm", "settings", name],
        "expected STORM_* names (e.g. STORM_HOLD_MAX_S); the keys and URL come from the run",
      );
  // a profile name ends up in summaries and messages: keep it a plain word
  for (const name of Object.keys(input["network-profiles"] ?? {}))
    if (!PROFILE_NAME.test(name))
      at(
        ["network-profiles", name],
        "expected a profile name such as open or udp-blocked (lowercase letters, digits and -)",
      );
  const storm = input.storm === undefined ? undefined : stormSpec(input.storm);
  if (storm !== undefined && storm.start + storm.duration >= durationMs) {
    at(
      ["storm"],
      `expected the storm (start ${formatDuration(storm.start)} + duration ${formatDuration(storm.duration)}) to end within the hold (duration ${formatDuration(durationMs)}), so the media is measured after it too`,
    );
  }
  const e2ee = e2eeSpec(input.e2ee);
  if (e2ee !== null && e2ee.wrongKeySubscribers > subscribers - latencyProbes) {
    at(
      ["e2ee", "wrong-key-subscribers"],
      `expected at most subscribers minus latency-probes (${subscribers - latencyProbes}), got ${e2ee.wrongKeySubscribers}: a probe needs the key to read the pattern`,
    );
  }
  if (e2ee?.ratchetEveryMs !== undefined && e2ee.ratchetEveryMs < 1000) {
    at(
      ["e2ee", "ratchet-every"],
      `expected 1s or more, got ${formatDuration(e2ee.ratchetEveryMs)}: a key ratcheted faster than frames arrive is a broken key, not a rotation`,
    );
  }
  const talk = input.audio?.talk ?? null;
  const silence = input.audio?.silence ?? null;
  if ((talk === null) !== (silence === null)) {
    at(
      ["audio"],
      `expected both talk and silence, or neither, got only ${talk === null ? "silence" : "talk"}`,
    );
  }
  if (problems.length > 0) throw new ConfigError("invalid", source, problems);

  const size = input.video?.resolution ?? {
    resolution: scenarioDefaults.video.resolution,
    width: RESOLUTION_SIZES[scenarioDefaults.video.resolution][0],
    height: RESOLUTION_SIZES[scenarioDefaults.video.resolution][1],
  };
  const dataInterval =
    input.data === undefined || input.data === false
      ? null
      : input.data === true
        ? scenarioDefaults.dataInterval
        : (input.data.interval ?? scenarioDefaults.dataInterval);

  return {
    name: input.name ?? nameFromSource(source),
    engine,
    rooms: input.rooms ?? scenarioDefaults.rooms,
    videoPublishers,
    audioPublishers,
    subscribers,
    duration: durationMs,
    publishersSubscribe: input["publishers-subscribe"] ?? scenarioDefaults.publishersSubscribe,
    numPerSecond: input["num-per-second"] ?? scenarioDefaults.numPerSecond,
    video: {
      ...size,
      codec: input.video?.codec ?? scenarioDefaults.video.codec,
      simulcast: input.video?.simulcast ?? scenarioDefaults.video.simulcast,
      fps: input.video?.fps ?? presetFps(size.height),
    },
    audio: { talk, silence },
    subscribeLimit: input["subscribe-limit"] ?? null,
    roomPrefix: input["room-prefix"] ?? scenarioDefaults.roomPrefix,
    identityPrefix: input["identity-prefix"] ?? scenarioDefaults.identityPrefix,
    data: dataInterval === null ? null : { interval: dataInterval },
    latencyProbes,
    browserProbes,
    participantsPerPage,
    pagesPerBrowser,
    thresholds: input.thresholds ?? [],
    warmup,
    ...(storm !== undefined ? { storm } : {}),
    ...(input["network-profiles"] !== undefined ? { networkProfiles: input["network-profiles"] } : {}),
    e2ee,
  };
}

function e2eeSpec(input: ParsedInput["e2ee"]): E2eeSpec | null {
  if (input === undefined || input === false) return null;
  const given = input === true ? {} : input;
  const defaults = scenarioDefaults.e2ee;
  return {
    wrongKeySubscribers: given["wrong-key-subscribers"] ?? defaults.wrongKeySubscribers,
    failureTolerance: given["failure-tolerance"] ?? defaults.failureTolerance,
    ratchetWindowSize: given["ratchet-window-size"] ?? defaults.ratchetWindowSize,
    ...(given["ratchet-every"] !== undefined ? { ratchetEveryMs: given["ratchet-every"] } : {}),
  };
}

const STORM_DEFAULT_DURATION = 10_000;

function stormSpec(input: NonNullable<ParsedInput["storm"]>): StormSpec {
  const settings: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.settings ?? {})) settings[name] = String(value);
  if (input.rate !== undefined) settings.STORM_RATE = String(input.rate);
  const duration = input.duration ?? STORM_DEFAULT_DURATION;
  settings.STORM_DURATION = formatDuration(duration);
  return { script: input.script ?? "join-storm", start: input.start ?? 0, duration, settings };
}

/**
 * Validates an already-parsed scenario object, e.g. one the CLI built from flags and a file.
 * `source` names where it came from in every problem line.
 */
export function parseScenarioObject(value: unknown, source: string): Scenario {
  const result = scenarioSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.flatMap((issue) => describeIssue(issue, value, source));
    throw new ConfigError("invalid", source, problems);
  }
  return resolve(result.data, value, source);
}

/** Parses scenario text, YAML or JSON (JSON is YAML), and validates it. */
export function parseScenario(text: string, sourceName: string): Scenario {
  const read = readYaml(text, sourceName);
  if ("problems" in read) throw new ConfigError("syntax", sourceName, read.problems);
  if (read.value === null || read.value === undefined) {
    throw new ConfigError("invalid", sourceName, [
      problemAt(
        sourceName,
        [],
        "empty scenario: expected a mapping of scenario keys such as rooms, subscribers, duration",
      ),
    ]);
  }
  return parseScenarioObject(read.value, sourceName);
}

/** Reads and parses a scenario file; problems name `path` as given. */
export async function loadScenario(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readConfigText(path);
  } catch (error) {
    const code = error instanceof Error && "code" in error ? String(error.code) : "";
    const why = code === "EISDIR" ? "is a directory, not a scenario file" : readFailure(error);
    throw new ConfigError("unreadable", path, [problemAt(path, [], `cannot read scenario: ${why}`)]);
  }
  return parseScenario(text, path);
}
