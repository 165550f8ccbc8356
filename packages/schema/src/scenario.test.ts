import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "./config.js";
import { loadScenario, parseScenario, parseScenarioObject, scenarioKeyPaths } from "./scenario.js";
import { scenarioFields } from "./scenario-fields.js";
import type { Scenario } from "./scenario-types.js";

const SOURCE = "scenarios/x.yaml";

function problemsOf(text: string): string[] {
  try {
    parseScenario(text, SOURCE);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

const defaults: Scenario = {
  name: "x",
  engine: "native",
  rooms: 1,
  videoPublishers: 1,
  audioPublishers: 1,
  subscribers: 1,
  publishersSubscribe: false,
  duration: 30_000,
  numPerSecond: 5,
  video: { resolution: "360p", width: 640, height: 360, codec: "vp8", simulcast: true, fps: 20 },
  audio: { talk: null, silence: null },
  subscribeLimit: null,
  roomPrefix: "lkswarm-room-",
  identityPrefix: "lkswarm-",
  data: null,
  latencyProbes: 1,
  browserProbes: 0,
  participantsPerPage: 1,
  pagesPerBrowser: 1,
  thresholds: [],
  warmup: 0,
  e2ee: null,
};

describe("parseScenario rejects malformed scenarios with one actionable line each", () => {
  it.each<[string, string, string[]]>([
    ["a word for a count", "rooms: ten", [`${SOURCE}: rooms: expected a positive integer, got "ten"`]],
    ["a fraction for a count", "rooms: 1.5", [`${SOURCE}: rooms: expected a positive integer, got 1.5`]],
    ["zero rooms", "rooms: 0", [`${SOURCE}: rooms: expected a positive integer, got 0`]],
    // the limits --rooms and the role flags hold to: a file passed 50,000 rooms where the flag refused it
    [
      "more rooms than a run plans",
      "rooms: 50000",
      [
        `${SOURCE}: rooms: expected at most 10000 rooms (more load: shard it over several machines), got 50000`,
      ],
    ],
    [
      "more subscribers than a room takes",
      "subscribers: 1001",
      [`${SOURCE}: subscribers: expected at most 1000 per room, got 1001`],
    ],
    [
      "a negative publisher count",
      "video-publishers: -1",
      [`${SOURCE}: video-publishers: expected a whole number, 0 or more, got -1`],
    ],
    [
      "an unknown codec",
      "video:\n  codec: vp7",
      [`${SOURCE}: video.codec: expected one of vp8, h264, vp9, av1, got "vp7"`],
    ],
    ["a misspelt key", "romos: 3", [`${SOURCE}: romos: unknown key (did you mean "rooms"?)`]],
    [
      "a camelCase key",
      "videoPublishers: 2",
      [`${SOURCE}: videoPublishers: unknown key (did you mean "video-publishers"?)`],
    ],
    [
      "a misspelt nested key",
      "video:\n  fsp: 15",
      [`${SOURCE}: video.fsp: unknown key (did you mean "fps"?)`],
    ],
    [
      "an unrelated key",
      "colour: red",
      [
        `${SOURCE}: colour: unknown key (known keys: name, engine, rooms, video-publishers, audio-publishers, subscribers, publishers-subscribe, duration, num-per-second, video, audio, subscribe-limit, room-prefix, identity-prefix, data, latency-probes, browser-probes, participants-per-page, pages-per-browser, thresholds, warmup, storm, e2ee, network-profiles)`,
      ],
    ],
    [
      "a duration without a unit it knows",
      "duration: 5x",
      [`${SOURCE}: duration: expected a duration like 30s, 5m or 1h30m (units h, m, s, ms), got "5x"`],
    ],
    [
      "an engine it does not have",
      "engine: webkit",
      [`${SOURCE}: engine: expected one of native, lean, mixed, browser, got "webkit"`],
    ],
    ["a zero duration", "duration: 0s", [`${SOURCE}: duration: expected a duration above 0, got "0s"`]],
    [
      "a boolean duration",
      "duration: true",
      [`${SOURCE}: duration: expected a duration like 30s, 5m or 1h30m (units h, m, s, ms), got true`],
    ],
    [
      "warm-up as long as the run",
      "warmup: 1m",
      [`${SOURCE}: warmup: expected less than duration (30s), got "1m"`],
    ],
    [
      "more latency probes than subscribers",
      "subscribers: 2\nlatency-probes: 3",
      [`${SOURCE}: latency-probes: expected at most subscribers (2), got 3`],
    ],
    [
      "more browser probes than subscribers",
      "subscribers: 1\nbrowser-probes: 2",
      [
        `${SOURCE}: browser-probes: expected at most subscribers (1): browser probes are subscribers, so raise subscribers or lower browser-probes, got 2`,
      ],
    ],
    [
      "pages shared with no browser participant",
      "participants-per-page: 4",
      [
        `${SOURCE}: participants-per-page: only browser participants share pages and browsers: set engine browser or browser-probes above 0, or drop participants-per-page, got 4`,
      ],
    ],
    [
      "browsers shared with no browser participant",
      "engine: lean\npages-per-browser: 2",
      [
        `${SOURCE}: pages-per-browser: only browser participants share pages and browsers: set engine browser or browser-probes above 0, or drop pages-per-browser, got 2`,
      ],
    ],
    [
      "no participant per page",
      "engine: browser\nparticipants-per-page: 0",
      [`${SOURCE}: participants-per-page: expected a whole number from 1 to 50, got 0`],
    ],
    [
      "more pages per browser than the cap",
      "engine: browser\npages-per-browser: 51",
      [`${SOURCE}: pages-per-browser: expected a whole number from 1 to 50, got 51`],
    ],
    [
      "talk without silence",
      "audio:\n  talk: 5s",
      [`${SOURCE}: audio: expected both talk and silence, or neither, got only talk`],
    ],
    [
      "data as a word",
      "data: yes",
      [`${SOURCE}: data: expected true, false or a mapping with interval, got "yes"`],
    ],
    [
      "a misspelt data key",
      "data:\n  intervl: 1s",
      [`${SOURCE}: data.intervl: unknown key (did you mean "interval"?)`],
    ],
    [
      "an unknown resolution",
      "video:\n  resolution: 4k",
      [
        `${SOURCE}: video.resolution: expected one of 180p, 360p, 540p, 720p, 1080p or WIDTHxHEIGHT such as 640x360, got "4k"`,
      ],
    ],
    [
      "an odd width",
      "video:\n  resolution: 641x360",
      [`${SOURCE}: video.resolution: expected even WIDTH and HEIGHT from 16 to 4096, got "641x360"`],
    ],
    [
      "too many frames",
      "video:\n  fps: 120",
      [`${SOURCE}: video.fps: expected frames per second from 1 to 60, got 120`],
    ],
    [
      "yes for a boolean",
      "video:\n  simulcast: yes",
      [`${SOURCE}: video.simulcast: expected true or false, got "yes"`],
    ],
    [
      "an empty video mapping",
      "video:",
      [`${SOURCE}: video: expected a mapping with resolution, codec, simulcast or fps, got null`],
    ],
    [
      "no participants at all",
      "video-publishers: 0\naudio-publishers: 0\nsubscribers: 0",
      [`${SOURCE}: no participants: set video-publishers, audio-publishers or subscribers above 0`],
    ],
    [
      "a name with a space",
      "name: my run",
      [
        `${SOURCE}: name: expected up to 64 letters, digits, ".", "_" or "-", starting with a letter or digit, got "my run"`,
      ],
    ],
    [
      "a prefix with a slash",
      "room-prefix: a/b",
      [`${SOURCE}: room-prefix: expected 1 to 64 letters, digits, ".", "_" or "-", got "a/b"`],
    ],
    [
      "no join rate",
      "num-per-second: 0",
      [`${SOURCE}: num-per-second: expected joins per second from 0.01 to 1000, got 0`],
    ],
    [
      "a join rate of one every 30 years",
      "num-per-second: 1e-9",
      [`${SOURCE}: num-per-second: expected joins per second from 0.01 to 1000, got 1e-9`],
    ],
    [
      "a join storm",
      "num-per-second: 1e6",
      [`${SOURCE}: num-per-second: expected joins per second from 0.01 to 1000, got 1000000`],
    ],
    [
      "an eleven-year hold",
      "duration: 99999h",
      [`${SOURCE}: duration: expected a duration of at most 168h (a week), got "99999h"`],
    ],
    [
      "a talk period of a lifetime",
      "audio: { talk: 1e308, silence: 1s }",
      [`${SOURCE}: audio.talk: expected a duration of at most 168h (a week), got 1e+308`],
    ],
    [
      "a blank threshold",
      'thresholds: ["p95(lkswarm_join_duration_seconds) < 1s", "  "]',
      [`${SOURCE}: thresholds[1]: expected a non-empty threshold expression, got "  "`],
    ],
    [
      "a threshold that is not a list",
      "thresholds: p95 < 1",
      [`${SOURCE}: thresholds: expected a list of threshold expressions, got "p95 < 1"`],
    ],
    [
      "a list instead of a mapping",
      "- rooms: 1",
      [`${SOURCE}: expected a mapping of scenario keys such as rooms, subscribers, duration, got a list`],
    ],
    [
      "an empty file",
      "",
      [`${SOURCE}: empty scenario: expected a mapping of scenario keys such as rooms, subscribers, duration`],
    ],
    [
      "a storm that outlasts the hold",
      "duration: 30s\nstorm: { start: 10s, duration: 20s }",
      [
        `${SOURCE}: storm: expected the storm (start 10s + duration 20s) to end within the hold (duration 30s), so the media is measured after it too`,
      ],
    ],
    [
      "a storm setting that would carry the keys",
      "storm: { settings: { LIVEKIT_API_SECRET: x } }",
      [
        `${SOURCE}: storm.settings.LIVEKIT_API_SECRET: expected STORM_* names (e.g. STORM_HOLD_MAX_S); the keys and URL come from the run`,
      ],
    ],
    [
      "a storm script that is neither a ready-made storm nor a .js path",
      "storm: { script: flood }",
      [
        `${SOURCE}: storm.script: expected a ready-made storm (join-storm, churn, reconnect, room-service) or a path to a k6 .js script, got "flood"`,
      ],
    ],
    [
      "a share over 100%",
      "network-profiles: { open: 150% }",
      [
        `${SOURCE}: network-profiles.open: expected a share such as 15% (or a number from 0 to 100), got "150%"`,
      ],
    ],
    [
      "a share that is not a number",
      "network-profiles: { open: most }",
      [
        `${SOURCE}: network-profiles.open: expected a share such as 15% (or a number from 0 to 100), got "most"`,
      ],
    ],
    [
      "a negative share",
      "network-profiles: { open: -5 }",
      [`${SOURCE}: network-profiles.open: expected a share such as 15% (or a number from 0 to 100), got -5`],
    ],
    [
      "a profile name that could be a path",
      'network-profiles: { "../x": 100% }',
      [
        `${SOURCE}: network-profiles.../x: expected a profile name such as open or udp-blocked (lowercase letters, digits and -)`,
      ],
    ],
    [
      "several mistakes at once",
      "rooms: ten\nsubscribers: -2",
      [
        `${SOURCE}: rooms: expected a positive integer, got "ten"`,
        `${SOURCE}: subscribers: expected a whole number, 0 or more, got -2`,
      ],
    ],
  ])("%s", (_, text, expected) => {
    expect(problemsOf(text)).toEqual(expected);
  });

  it.each<[string, string, string]>([
    [
      "an unclosed flow sequence",
      "rooms: [1, 2\n",
      `${SOURCE}:2:1: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    ],
    ["a duplicate key", "rooms: 1\nrooms: 2\n", `${SOURCE}:2:1: Map keys must be unique`],
    [
      "misaligned keys",
      "video:\n  codec: vp8\n fps: 3\n",
      `${SOURCE}:3:1: All mapping items must start at the same column`,
    ],
  ])("gives line:column for %s", (_, text, expected) => {
    expect(problemsOf(text)[0]).toBe(expected);
  });
});

describe("parseScenario refuses an e2ee block it cannot run", () => {
  it.each<[string, string]>([
    [
      "subscribers: 2\ne2ee: { wrong-key-subscribers: 2 }",
      `${SOURCE}: e2ee.wrong-key-subscribers: expected at most subscribers minus latency-probes (1), got 2: a probe needs the key to read the pattern`,
    ],
    [
      "e2ee: { failure-tolerance: -2 }",
      `${SOURCE}: e2ee.failure-tolerance: expected a whole number from -1 to 10000, got -2`,
    ],
    [
      "e2ee: { ratchet-window-size: 300 }",
      `${SOURCE}: e2ee.ratchet-window-size: expected a whole number from 0 to 256, got 300`,
    ],
    [
      "e2ee: { key: abc }",
      `${SOURCE}: e2ee.key: unknown key (known keys: wrong-key-subscribers, failure-tolerance, ratchet-window-size, ratchet-every)`,
    ],
    // a mapping whose key fails names the key, not "expected true, false or a mapping"
    [
      "e2ee: { failure-tolerance: abc }",
      `${SOURCE}: e2ee.failure-tolerance: expected a whole number from -1 to 10000, got "abc"`,
    ],
    [
      "e2ee: { ratchet-every: soon }",
      `${SOURCE}: e2ee.ratchet-every: expected a duration like 30s, 5m or 1h30m (units h, m, s, ms), got "soon"`,
    ],
    [
      "e2ee: { ratchet-every: 500ms }",
      `${SOURCE}: e2ee.ratchet-every: expected 1s or more, got 500ms: a key ratcheted faster than frames arrive is a broken key, not a rotation`,
    ],
    [
      "e2ee: { ratchet-every: 0s }",
      `${SOURCE}: e2ee.ratchet-every: expected 1s or more, got 0s: a key ratcheted faster than frames arrive is a broken key, not a rotation`,
    ],
    [
      "e2ee: yes-please",
      `${SOURCE}: e2ee: expected true, false or a mapping with wrong-key-subscribers, failure-tolerance, ratchet-window-size or ratchet-every, got "yes-please"`,
    ],
  ])("%s", (text, problem) => {
    expect(problemsOf(text)).toEqual([problem]);
  });
});

describe("parseScenario accepts valid scenarios", () => {
  it("fills every default and names the run after its file", () => {
    expect(parseScenario("rooms: 1", SOURCE)).toEqual(defaults);
  });

  it("names a run without a usable file name swarm", () => {
    expect(parseScenario("rooms: 1", "<flags>").name).toBe("swarm");
  });

  it("reads a full scenario", () => {
    const text = [
      "name: town-hall",
      "engine: lean",
      "rooms: 10",
      "video-publishers: 2",
      "audio-publishers: 4",
      "subscribers: 20",
      "duration: 1h30m",
      "num-per-second: 2.5",
      "video: { resolution: 1280x720, codec: h264, simulcast: false, fps: 15 }",
      "audio: { talk: 5s, silence: 10s }",
      "subscribe-limit: 3",
      "room-prefix: hall-",
      "identity-prefix: load-",
      "data: { interval: 250ms }",
      "latency-probes: 2",
      "browser-probes: 3",
      "participants-per-page: 4",
      "pages-per-browser: 2",
      "thresholds: ['p95(lkswarm_inbound_loss_ratio) < 1%']",
      "warmup: 30s",
    ].join("\n");
    expect(parseScenario(text, SOURCE)).toEqual({
      name: "town-hall",
      engine: "lean",
      rooms: 10,
      videoPublishers: 2,
      audioPublishers: 4,
      subscribers: 20,
      publishersSubscribe: false,
      duration: 5_400_000,
      numPerSecond: 2.5,
      video: { resolution: "1280x720", width: 1280, height: 720, codec: "h264", simulcast: false, fps: 15 },
      audio: { talk: 5000, silence: 10_000 },
      subscribeLimit: 3,
      roomPrefix: "hall-",
      identityPrefix: "load-",
      data: { interval: 250 },
      latencyProbes: 2,
      browserProbes: 3,
      participantsPerPage: 4,
      pagesPerBrowser: 2,
      thresholds: ["p95(lkswarm_inbound_loss_ratio) < 1%"],
      warmup: 30_000,
      e2ee: null,
    } satisfies Scenario);
  });

  it("reads JSON", () => {
    const scenario = parseScenario('{"rooms": 3, "duration": 90, "data": true}', "scenarios/x.json");
    expect(scenario).toMatchObject({ name: "x", rooms: 3, duration: 90_000, data: { interval: 1000 } });
  });

  it.each([
    ["180p", 20],
    ["540p", 25],
    ["720p", 30],
    ["1080p", 30],
  ])("takes LiveKit's preset frame rate for %s", (resolution, fps) => {
    expect(parseScenario(`video: { resolution: ${resolution} }`, SOURCE).video.fps).toBe(fps);
  });

  it("needs no latency probe when nobody subscribes", () => {
    expect(parseScenario("subscribers: 0", SOURCE).latencyProbes).toBe(0);
  });

  it("reads a storm block into the script's settings, its rate and duration as STORM_RATE and STORM_DURATION", () => {
    const s = parseScenario(
      "duration: 60s\nstorm: { script: room-service, start: 15s, rate: 20, duration: 30s, settings: { STORM_HOLD_MAX_S: 5 } }",
      SOURCE,
    );
    expect(s.storm).toEqual({
      script: "room-service",
      start: 15_000,
      duration: 30_000,
      settings: { STORM_HOLD_MAX_S: "5", STORM_RATE: "20", STORM_DURATION: "30s" },
    });
    expect(parseScenario("rooms: 1", SOURCE).storm, "no block, no storm").toBeUndefined();
    expect(parseScenario("storm: {}", SOURCE).storm).toMatchObject({
      script: "join-storm",
      start: 0,
      duration: 10_000,
    });
  });

  it("reads e2ee: true with livekit-client's failure tolerance, and a mapping as written", () => {
    expect(parseScenario("e2ee: true", SOURCE).e2ee).toEqual({
      wrongKeySubscribers: 0,
      failureTolerance: 10,
      ratchetWindowSize: 16,
    });
    expect(
      parseScenario(
        "subscribers: 3\ne2ee: { wrong-key-subscribers: 2, failure-tolerance: -1, ratchet-window-size: 0 }",
        SOURCE,
      ).e2ee,
    ).toEqual({ wrongKeySubscribers: 2, failureTolerance: -1, ratchetWindowSize: 0 });
    expect(parseScenario("e2ee: { ratchet-every: 1s }", SOURCE).e2ee?.ratchetEveryMs).toBe(1000);
    expect(parseScenario("e2ee: { ratchet-every: 2m }", SOURCE).e2ee?.ratchetEveryMs).toBe(120_000);
    expect(parseScenario("e2ee: false", SOURCE).e2ee).toBeNull();
  });

  it("reads network profile shares as fractions, from 15%, 12.5% or 15, the extremes included", () => {
    const s = parseScenario(
      "network-profiles: { open: 72.5%, udp-blocked: 15, tcp-only: '12.5 %', none: 0% }",
      SOURCE,
    );
    expect(s.networkProfiles).toEqual({ open: 0.725, "udp-blocked": 0.15, "tcp-only": 0.125, none: 0 });
    expect(parseScenario("network-profiles: { open: 100% }", SOURCE).networkProfiles).toEqual({ open: 1 });
    expect(parseScenario("rooms: 1", SOURCE).networkProfiles).toBeUndefined();
  });

  it("accepts an object built by the CLI", () => {
    expect(parseScenarioObject({ rooms: 2, "video-publishers": 0 }, "<flags>")).toMatchObject({
      rooms: 2,
      videoPublishers: 0,
      audioPublishers: 1,
    });
  });
});

describe("ConfigError", () => {
  it("serialises for journals", () => {
    const error = (() => {
      try {
        parseScenario("rooms: ten", SOURCE);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: "ConfigError",
      reason: "invalid",
      source: SOURCE,
      message: `${SOURCE}: rooms: expected a positive integer, got "ten"`,
      problems: [`${SOURCE}: rooms: expected a positive integer, got "ten"`],
    });
  });
});

describe("loadScenario", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lkswarm-spec-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads a file and names problems after its path", async () => {
    const path = join(dir, "steady.yaml");
    await writeFile(path, "rooms: 4\nsubscribers: 3\n");
    await expect(loadScenario(path)).resolves.toMatchObject({ name: "steady", rooms: 4, subscribers: 3 });
    await writeFile(path, "rooms: four\n");
    await expect(loadScenario(path)).rejects.toThrow(
      `${path}: rooms: expected a positive integer, got "four"`,
    );
  });

  it("says when the file is missing", async () => {
    const path = join(dir, "missing.yaml");
    await expect(loadScenario(path)).rejects.toMatchObject({
      reason: "unreadable",
      problems: [`${path}: cannot read scenario: no such file`],
    });
  });
});

describe("scenarioFields", () => {
  it("documents exactly the keys the schema accepts", () => {
    expect(scenarioFields.map((f) => f.key).sort()).toEqual([...scenarioKeyPaths].sort());
  });
});
