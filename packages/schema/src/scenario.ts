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
import { scenarioDefaults } from "./scenario-fields.js";
import {
  RESOLUTION_SIZES,
  engineChoices,
  presetFps,
  videoCodecs,
  videoResolutions,
  type E2eeSpec,
  type Scenario,
  type StormSpec,
  type VideoResolutionPreset,
} from "./scenario-types.js";
import { closestMatches } from "./suggest.js";

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
