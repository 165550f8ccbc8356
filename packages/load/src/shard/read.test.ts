import { describe, expect, it } from "vitest";
import { generatorLoad } from "../run/generator-load.js";
import { checkEventLine, checkManifest, checkSampleLine } from "./read.js";

// as a shard wrote them (2026-11-28, a 2-shard run of 2 rooms), the scenario cut to what is checked
const SCENARIO = {
  name: "default",
  engine: "native",
  rooms: 2,
  videoPublishers: 1,
  audioPublishers: 1,
  subscribers: 1,
  duration: 8000,
  numPerSecond: 5,
  latencyProbes: 1,
  browserProbes: 0,
  roomPrefix: "lkswarm-20261128-165853-60d049",
  identityPrefix: "lkswarm",
  thresholds: [],
};
const MANIFEST = {
  shard: 0,
  shards: 2,
  runId: "20261128-165853-60d049",
  scenarioHash: "60d04925d575",
  scenario: SCENARIO,
  statsIntervalMs: 5000,
  thresholds: [],
  url: "ws://127.0.0.1:24364",
  startAt: "2026-11-28T16:58:53.000Z",
  rooms: ["lkswarm-20261128-165853-60d049-1"],
  participants: 2,
  workers: 1,
  status: "done",
  exitCode: 0,
  startedAt: "2026-11-28T16:58:53.000Z",
  endedAt: "2026-11-28T16:59:01.658Z",
};
const TRACK = {
  key: "TR_1",
  kind: "audio",
  expected: 250,
  lost: 2,
  received: 248,
  bytes: 60_000,
  nack: 0,
  pli: 0,
  fir: 0,
  framesDecoded: 0,
  framesDropped: 0,
  freezes: 0,
  concealedSamples: 0,
  totalSamples: 240_000,
};
const SAMPLE = {
  t: 1795885138357,
  durationMs: 5001,
  room: "lkswarm-20261128-165853-60d049-1",
  participant: "lkswarm-sub-1",
  role: "subscriber",
  worker: 0,
  inbound: [TRACK],
  outbound: [],
  rttS: 0.001,
  dataSent: 0,
  dataReceived: 0,
};
const EVENT = {
  type: "event",
  t: 1795885133481,
  worker: 0,
  room: "lkswarm-20261128-165853-60d049-1",
  participant: "lkswarm-sub-1",
  role: "subscriber",
  event: { type: "joined", joinS: 0.118, roomSid: "RM_M2iEevVjSnx4" },
};

describe("what merge reads back: as a shard wrote it", () => {
  it("takes a shard's manifest, sample and event lines as written", () => {
    expect(checkManifest(MANIFEST)).toBe(MANIFEST);
    expect(checkSampleLine(SAMPLE)).toBe(SAMPLE);
    expect(checkEventLine(EVENT)).toBe(EVENT);
    // a late packet takes back what was counted lost: a negative delta, never more than arrived
    expect(() =>
      checkSampleLine({ ...SAMPLE, inbound: [{ ...TRACK, lost: -3, expected: 245 }] }),
    ).not.toThrow();
  });

  it("takes a shard's generator figures as generatorLoad makes them, every optional figure present", () => {
    const window = (t: number) => ({
      worker: 0,
      t,
      windowMs: 1000,
      eventLoop: 0.3,
      cpuCores: 0.8,
      cpuWait: 0.6,
      threadsWait: 0.7,
      throttled: 0.3,
      machineBusy: 1,
      loopDelayMs: 60,
      mediaTicks: { ticks: 50, lateP99Ms: 30, lateMaxMs: 100, sendJitterMs: 12.5 },
    });
    const generator = generatorLoad([window(2000), window(3000), window(4000)], 0, 3, 2);
    expect(generator).toMatchObject({ stalled: true, saturated: true });
    expect(generator.workers[0]).toMatchObject({
      mediaTickWindows: 3,
      ticksLate: true,
      maxTickLateMs: 100,
      maxSendJitterMs: 12.5,
      fromMs: 1000,
      toMs: 4000,
    });
    const manifest = JSON.parse(JSON.stringify({ ...MANIFEST, generator })) as unknown;
    expect(checkManifest(manifest)).toBe(manifest);
  });
});

/** A worker's figures as every version wrote them. */
const WORKER = {
  worker: 0,
  windows: 4,
  saturatedWindows: 0,
  meanEventLoop: 0.2,
  maxEventLoop: 0.3,
  meanCpuCores: 0.4,
  saturated: false,
};

describe("what merge reads back: hostile", () => {
  it.each([
    [
      "rooms 1e9",
      { ...MANIFEST, scenario: { ...SCENARIO, rooms: 1e9 } },
      /scenario\.rooms 1000000000: expected a whole number from 1 to 100000/,
    ],
    [
      "subscribers 1e7 over 2 rooms",
      { ...MANIFEST, scenario: { ...SCENARIO, subscribers: 1e7 } },
      /scenario\.subscribers 10000000: expected a whole number/,
    ],
    [
      "200,000 participants",
      { ...MANIFEST, scenario: { ...SCENARIO, rooms: 2000, subscribers: 99 } },
      /scenario: 200000 participants \(2000 rooms x 100\): a run plans at most 100000/,
    ],
    [
      "shards 1000000",
      { ...MANIFEST, shards: 1_000_000 },
      /shards 1000000: expected a whole number from 1 to 1024/,
    ],
    ["a shard beyond the shards", { ...MANIFEST, shard: 2 }, /shard 2: expected a whole number from 0 to 1/],
    [
      "a run id that is a query",
      { ...MANIFEST, runId: '../../x"} or vector(1) #' },
      /runId "..\/..\/x\\"} or vector\(1\) #": expected 1 to 64 letters, digits, dots, underscores or dashes, as --run-id takes it/,
    ],
    ["a room name with an escape", { ...MANIFEST, rooms: ["a\u001b[2Jb"] }, /rooms\[0\] "a\\u001b\[2Jb"/],
    ["no scenario", { ...MANIFEST, scenario: null }, /scenario null: expected an object/],
    [
      "a status of its own",
      { ...MANIFEST, status: "fine" },
      /status "fine": expected running, done or error/,
    ],
    [
      "a worker's late ticks that are a word",
      { ...MANIFEST, generator: { workers: [{ ...WORKER, ticksLate: "yes" }], saturated: false } },
      /generator\.workers\[0\]\.ticksLate "yes": expected true or false/,
    ],
    [
      "more late-tick windows than windows",
      { ...MANIFEST, generator: { workers: [{ ...WORKER, lateTickWindows: 99 }], saturated: false } },
      /generator\.workers\[0\]\.lateTickWindows 99/,
    ],
    [
      "a negative latest tick",
      { ...MANIFEST, generator: { workers: [{ ...WORKER, maxTickLateMs: -3 }], saturated: false } },
      /generator\.workers\[0\]\.maxTickLateMs -3: expected a non-negative figure/,
    ],
    [
      "a send jitter as a word",
      { ...MANIFEST, generator: { workers: [{ ...WORKER, meanSendJitterMs: "low" }], saturated: false } },
      /generator\.workers\[0\]\.meanSendJitterMs "low"/,
    ],
    [
      "a span that ends before it begins",
      {
        ...MANIFEST,
        generator: { workers: [{ ...WORKER, fromMs: 1_800_000_000_000, toMs: 1000 }], saturated: false },
      },
      /generator\.workers\[0\]\.toMs 1000: expected a time no earlier than its fromMs \(1800000000000\)/,
    ],
    [
      "a span's start as a date text",
      {
        ...MANIFEST,
        generator: { workers: [{ ...WORKER, fromMs: "2026-12-01", toMs: 1000 }], saturated: false },
      },
      /generator\.workers\[0\]\.fromMs "2026-12-01"/,
    ],
    [
      "a span's end beyond any date",
      { ...MANIFEST, generator: { workers: [{ ...WORKER, fromMs: 0, toMs: 1e300 }], saturated: false } },
      /generator\.workers\[0\]\.toMs 1e\+300: expected a time in epoch milliseconds/,
    ],
    [
      "half a span",
      { ...MANIFEST, generator: { workers: [{ ...WORKER, toMs: 1000 }], saturated: false } },
      /generator\.workers\[0\]\.fromMs absent: expected a span's start with its toMs, both absent when it has no windows/,
    ],
    [
      "a span of no windows",
      {
        ...MANIFEST,
        generator: { workers: [{ ...WORKER, windows: 0, fromMs: 0, toMs: 1000 }], saturated: false },
      },
      /generator\.workers\[0\]\.fromMs 0: expected a span's start with its toMs/,
    ],
    [
      "generator workers that are a number",
      { ...MANIFEST, generator: { workers: 7, saturated: false } },
      /generator\.workers 7: expected a list of at most 4096 workers/,
    ],
    [
      "a generator figure that is text",
      {
        ...MANIFEST,
        generator: {
          workers: [
            {
              worker: 0,
              windows: 2,
              meanEventLoop: "0.5",
              maxEventLoop: 0.5,
              meanCpuCores: 0.2,
              saturatedWindows: 0,
              saturated: false,
            },
          ],
          saturated: false,
        },
      },
      /generator\.workers\[0\]\.meanEventLoop "0\.5": expected a finite number/,
    ],
    [
      "more saturated windows than windows",
      {
        ...MANIFEST,
        generator: {
          workers: [
            {
              worker: 0,
              windows: 2,
              meanEventLoop: 0.5,
              maxEventLoop: 0.5,
              meanCpuCores: 0.2,
              saturatedWindows: 9,
              saturated: true,
            },
          ],
          saturated: true,
        },
      },
      /generator\.workers\[0\]\.saturatedWindows 9: expected a whole number from 0 to 2/,
    ],
    [
      "a run's quota share over 1",
      { ...MANIFEST, generator: { workers: [], quotaRanOut: 7, saturated: false } },
      /generator\.quotaRanOut 7: expected a share from 0 to 1/,
    ],
    [
      "an unstarted flag that is text",
      {
        ...MANIFEST,
        generator: {
          workers: [
            {
              worker: 0,
              windows: 0,
              unstarted: "yes",
              meanEventLoop: 0,
              maxEventLoop: 0,
              meanCpuCores: 0,
              saturatedWindows: 0,
              saturated: false,
            },
          ],
          saturated: true,
        },
      },
      /generator\.workers\[0\]\.unstarted "yes": expected true or false/,
    ],
    [
      "more starting windows than windows",
      {
        ...MANIFEST,
        generator: {
          workers: [
            {
              worker: 0,
              windows: 2,
              startingWindows: 3,
              meanEventLoop: 0,
              maxEventLoop: 0,
              meanCpuCores: 0,
              saturatedWindows: 0,
              saturated: false,
            },
          ],
          saturated: false,
        },
      },
      /generator\.workers\[0\]\.startingWindows 3: expected a whole number from 0 to 2/,
    ],
    [
      "a stall flag of its own",
      { ...MANIFEST, generator: { workers: [], stalled: "yes", saturated: false } },
      /generator\.stalled "yes": expected true, or absent/,
    ],
  ])("refuses a manifest with %s, naming the field", (_what, manifest, message) => {
    expect(() => checkManifest(manifest)).toThrow(message);
  });

  it.each([
    ["no inbound", { ...SAMPLE, inbound: undefined }, /inbound absent: expected a list of tracks/],
    [
      "a negative lost past what arrived",
      { ...SAMPLE, inbound: [{ ...TRACK, lost: -8298 }] },
      /inbound\[0\]\.lost -8298: expected from -received \(248\) to expected \(250\)/,
    ],
    ["more lost than expected", { ...SAMPLE, inbound: [{ ...TRACK, lost: 251 }] }, /inbound\[0\]\.lost 251/],
    [
      "bytes as text",
      { ...SAMPLE, inbound: [{ ...TRACK, bytes: "60000" }] },
      /inbound\[0\]\.bytes "60000": expected a finite number/,
    ],
    [
      "a negative count",
      { ...SAMPLE, inbound: [{ ...TRACK, nack: -1 }] },
      /inbound\[0\]\.nack -1: expected a count/,
    ],
    [
      "a kind of its own",
      { ...SAMPLE, outbound: [{ kind: "smell", packets: 1, bytes: 1 }] },
      /outbound\[0\]\.kind "smell": expected audio or video/,
    ],
    ["no time", { ...SAMPLE, t: "now" }, /^t "now": expected a finite number$/],
    ["null", null, /the line null: expected an object/],
  ])("refuses a samples line with %s", (_what, line, message) => {
    expect(() => checkSampleLine(line)).toThrow(message);
  });

  it.each([
    ["null", null, /the line null: expected an object/],
    [
      "a type of its own",
      { ...EVENT, event: { type: "teleported" } },
      /event\.type "teleported": expected an event type/,
    ],
    ["an infinite join time", { ...EVENT, event: { type: "joined", joinS: Infinity } }, /event\.joinS null/],
    [
      "a reason with an escape",
      { ...EVENT, event: { type: "disconnected", reason: "\u001b]0;pwned\u0007" } },
      /event\.reason .*expected text of up to 200 characters without control characters/,
    ],
    ["no participant", { ...EVENT, participant: 7 }, /participant 7: expected text/],
  ])("refuses an events line with %s", (_what, line, message) => {
    expect(() => checkEventLine(line)).toThrow(message);
  });
});
