/**
 * What `swarm merge` reads back from a shard folder, checked as the shard wrote it: a shard.json
 * and each line of events.jsonl and samples.jsonl. The files are ours, but a user can hand merge any
 * file: unchecked, a scenario of 1e9 rooms ran the heap out, a samples line without `inbound` traced,
 * a negative `lost` read as loss -8298, and a run id reached file names and queries. Each check
 * throws an Error whose message names the field; merge adds the file and line.
 */
import { MAX_DURATION, RUN_ID_PATTERN, inboundCounts, outboundCounts } from "@livekit-swarm/schema";
import type { WorkerLoad } from "../run/generator-load.js";
import type { WindowSample, WorkerMessage } from "../run/messages.js";
import { MAX_RUN_PARTICIPANTS } from "../session/target.js";
import type { ShardManifest } from "./manifest.js";
import { MAX_SHARDS } from "./split.js";

/** A name that reaches a terminal or a report: no control characters, bounded. */
const TEXT = /^[^\p{Cc}]{0,200}$/u;
/** Far beyond any window's count of packets, bytes or frames: a typo or a forgery. */
const MAX_COUNT = 1e13;
/** The latest time a Date holds, epoch ms. */
const MAX_EPOCH_MS = 8.64e15;

const shown = (v: unknown): string => (v === undefined ? "absent" : JSON.stringify(v).slice(0, 60));

function fail(field: string, value: unknown, expected: string): never {
  throw new Error(`${field} ${shown(value)}: expected ${expected}`);
}

function int(o: Record<string, unknown>, key: string, min: number, max: number, at = key): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
    fail(at, v, `a whole number from ${String(min)} to ${String(max)}`);
  return v;
}

function finite(o: Record<string, unknown>, key: string, at = key): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isFinite(v)) fail(at, v, "a finite number");
  return v;
}

function text(
  o: Record<string, unknown>,
  key: string,
  pattern = TEXT,
  at = key,
  expected = "text of up to 200 characters without control characters",
): string {
  const v = o[key];
  if (typeof v !== "string" || !pattern.test(v)) fail(at, v, expected);
  return v;
}

function object(v: unknown, at: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(at, v, "an object");
  return v as Record<string, unknown>;
}

/**
 * A shard.json: its shard within the run, a run id as `--run-id` takes it, and a scenario whose
 * size a run would accept (at most MAX_RUN_PARTICIPANTS, a ramp and hold within MAX_DURATION).
 */
export function checkManifest(value: unknown): ShardManifest {
  const m = object(value, "shard.json");
  const shards = int(m, "shards", 1, MAX_SHARDS);
  int(m, "shard", 0, shards - 1);
  text(
    m,
    "runId",
    RUN_ID_PATTERN,
    "runId",
    "1 to 64 letters, digits, dots, underscores or dashes, as --run-id takes it",
  );
  text(m, "scenarioHash", /^[0-9a-f]{6,64}$/, "scenarioHash", "a hexadecimal hash");
  int(m, "statsIntervalMs", 100, 3_600_000);
  // printed in the merged report
  text(m, "url");
  int(m, "participants", 0, MAX_RUN_PARTICIPANTS);
  int(m, "workers", 0, 4096);
  if (!["running", "done", "error"].includes(m.status as string))
    fail("status", m.status, "running, done or error");
  if (!Array.isArray(m.rooms) || m.rooms.length > MAX_RUN_PARTICIPANTS)
    fail("rooms", m.rooms, "a list of room names");
  m.rooms.forEach((_: unknown, i: number) => {
    text(m.rooms as Record<string, unknown>, String(i), TEXT, `rooms[${String(i)}]`);
  });
  if (!Array.isArray(m.thresholds) || !(m.thresholds as unknown[]).every((t) => typeof t === "string"))
    fail("thresholds", m.thresholds, "a list of threshold texts");
  for (const key of ["startAt", "startedAt", "endedAt"]) {
    if (key !== "startAt" && m[key] === undefined) continue;
    if (typeof m[key] !== "string" || Number.isNaN(Date.parse(m[key]))) fail(key, m[key], "an ISO time");
  }
  checkScenario(object(m.scenario, "scenario"));
  if (m.generator !== undefined) checkGenerator(object(m.generator, "generator"));
  return m as unknown as ShardManifest;
}

/**
 * A worker's figures in shard.json, by what each is: a count of its windows, a share (event loop,
 * throttled periods, machine busy, CPU waits: 0 to 1, up to 1.5 for rounding), an amount (cores,
 * milliseconds: non-negative), a time (epoch ms, within what a Date holds) or a flag. Marked
 * "always": written by every version that wrote a generator; the others came later, and an older
 * shard's lack of them is no fault. Every field of WorkerLoad has its line (the compiler says which
 * is missing); `machine` is checked on its own.
 */
const WORKER_FIELDS: Readonly<
  Record<
    Exclude<keyof WorkerLoad, "shard" | "worker" | "windows" | "machine">,
    readonly ["windows" | "share" | "amount" | "time" | "flag", "always"?]
  >
> = {
  fromMs: ["time"],
  toMs: ["time"],
  saturatedWindows: ["windows", "always"],
  startingWindows: ["windows"],
  starvedWindows: ["windows"],
  throttledWindows: ["windows"],
  crowdedWindows: ["windows"],
  lateCrowdedWindows: ["windows"],
  crowdedLoopWindows: ["windows"],
  mediaTickWindows: ["windows"],
  lateTickWindows: ["windows"],
  meanEventLoop: ["share", "always"],
  maxEventLoop: ["share", "always"],
  meanThrottled: ["share"],
  meanMachineBusy: ["share"],
  meanCpuWait: ["share"],
  meanThreadsWait: ["share"],
  meanCpuCores: ["amount", "always"],
  meanLoopDelayMs: ["amount"],
  maxLoopDelayMs: ["amount"],
  meanCrowdedLoopDelayMs: ["amount"],
  meanTickLateP99Ms: ["amount"],
  maxTickLateMs: ["amount"],
  meanSendJitterMs: ["amount"],
  maxSendJitterMs: ["amount"],
  saturated: ["flag", "always"],
  starved: ["flag"],
  throttled: ["flag"],
  crowded: ["flag"],
  crowdedLate: ["flag"],
  crowdedSlow: ["flag"],
  unstarted: ["flag"],
  ticksLate: ["flag"],
};

/**
 * A shard's generator figures (generator-load.ts's GeneratorLoad), which the merge judges again:
 * unchecked, `"workers": 7` traced in the merge and a string figure printed as NaN.
 */
function checkGenerator(g: Record<string, unknown>): void {
  if (!Array.isArray(g.workers) || g.workers.length > 4096)
    fail("generator.workers", g.workers, "a list of at most 4096 workers");
  (g.workers as unknown[]).forEach((value, i) => {
    const at = `generator.workers[${String(i)}]`;
    const w = object(value, at);
    int(w, "worker", 0, 4096, `${at}.worker`);
    const windows = int(w, "windows", 0, 1e9, `${at}.windows`);
    for (const [key, [kind, always]] of Object.entries(WORKER_FIELDS)) {
      if (w[key] === undefined && always === undefined) continue;
      const name = `${at}.${key}`;
      if (kind === "windows") int(w, key, 0, windows, name);
      else if (kind === "flag") {
        if (typeof w[key] !== "boolean") fail(name, w[key], "true or false");
      } else if (kind === "time") {
        const v = finite(w, key, name);
        if (v < 0 || v > MAX_EPOCH_MS) fail(name, v, "a time in epoch milliseconds");
      } else {
        const v = finite(w, key, name);
        if (v < 0 || v > (kind === "share" ? 1.5 : 1e7))
          fail(name, v, kind === "share" ? "a share from 0 to 1" : "a non-negative figure");
      }
    }
    // both or neither, and only with windows to span (generator-load's WorkerLoad writes them so)
    if ((w.fromMs === undefined) !== (w.toMs === undefined) || (windows === 0 && w.fromMs !== undefined))
      fail(`${at}.fromMs`, w.fromMs, "a span's start with its toMs, both absent when it has no windows");
    if (typeof w.fromMs === "number" && typeof w.toMs === "number" && w.fromMs > w.toMs)
      fail(`${at}.toMs`, w.toMs, `a time no earlier than its fromMs (${String(w.fromMs)})`);
    if (w.machine !== undefined) {
      const machine = object(w.machine, `${at}.machine`);
      int(machine, "cores", 1, 100_000, `${at}.machine.cores`);
      const used = finite(machine, "usedCores", `${at}.machine.usedCores`);
      if (used < 0 || used > 100_000) fail(`${at}.machine.usedCores`, used, "a non-negative figure");
      if (typeof machine.full !== "boolean") fail(`${at}.machine.full`, machine.full, "true or false");
    }
  });
  if (g.slowEvents !== undefined) int(g, "slowEvents", 0, 1e9, "generator.slowEvents");
  if (g.stalled !== undefined && g.stalled !== true) fail("generator.stalled", g.stalled, "true, or absent");
  if (g.quotaRanOut !== undefined) {
    const q = finite(g, "quotaRanOut", "generator.quotaRanOut");
    if (q < 0 || q > 1) fail("generator.quotaRanOut", q, "a share from 0 to 1");
  }
  if (typeof g.saturated !== "boolean") fail("generator.saturated", g.saturated, "true or false");
}

/** The scenario's sizes a merge plans from: whole, non-negative, and no larger than a run takes. */
function checkScenario(s: Record<string, unknown>): void {
  const rooms = int(s, "rooms", 1, MAX_RUN_PARTICIPANTS, "scenario.rooms");
  const perRoom =
    Math.max(
      int(s, "videoPublishers", 0, MAX_RUN_PARTICIPANTS, "scenario.videoPublishers"),
      int(s, "audioPublishers", 0, MAX_RUN_PARTICIPANTS, "scenario.audioPublishers"),
    ) + int(s, "subscribers", 0, MAX_RUN_PARTICIPANTS, "scenario.subscribers");
  if (rooms * perRoom > MAX_RUN_PARTICIPANTS)
    throw new Error(
      `scenario: ${String(rooms * perRoom)} participants (${String(rooms)} rooms x ${String(perRoom)}): a run plans at most ${String(MAX_RUN_PARTICIPANTS)}`,
    );
  int(s, "duration", 0, MAX_DURATION, "scenario.duration");
  const rate = finite(s, "numPerSecond", "scenario.numPerSecond");
  if (rate <= 0 || rate > 10_000)
    fail("scenario.numPerSecond", rate, "joins per second, above 0 and up to 10000");
  for (const key of ["latencyProbes", "browserProbes"])
    int(s, key, 0, MAX_RUN_PARTICIPANTS, `scenario.${key}`);
  text(s, "roomPrefix", TEXT, "scenario.roomPrefix");
  text(s, "identityPrefix", TEXT, "scenario.identityPrefix");
  if (!Array.isArray(s.thresholds)) fail("scenario.thresholds", s.thresholds, "a list of threshold texts");
}

const KINDS = new Set(["audio", "video"]);
const EVENT_TYPES = new Set([
  "joined",
  "join-failed",
  "first-packet",
  "first-frame",
  "track-subscribed",
  "reconnecting",
  "reconnected",
  "disconnected",
  "quality",
  "session",
  "peers",
  "media",
  "e2ee",
  "simulated",
  "transport",
]);

/** A line of events.jsonl: an event of a participant, at a time, with its figures finite. */
export function checkEventLine(value: unknown): Extract<WorkerMessage, { type: "event" }> {
  const line = object(value, "the line");
  if (line.type !== "event") fail("type", line.type, '"event"');
  finite(line, "t");
  text(line, "room");
  text(line, "participant");
  const event = object(line.event, "event");
  if (typeof event.type !== "string" || !EVENT_TYPES.has(event.type))
    fail("event.type", event.type, "an event type");
  for (const [key, v] of Object.entries(event))
    if (typeof v === "number" && !Number.isFinite(v)) fail(`event.${key}`, v, "a finite number");
  // what the summary and reports print by name (a join failure's message, which may run long over
  // lines from the SDK, stays in events.jsonl and is never printed)
  for (const key of ["reason", "quality", "state"])
    if (typeof event[key] === "string" && !TEXT.test(event[key]))
      fail(`event.${key}`, event[key], "text of up to 200 characters without control characters");
  if ("kind" in event && !KINDS.has(event.kind as string)) fail("event.kind", event.kind, "audio or video");
  return line as unknown as Extract<WorkerMessage, { type: "event" }>;
}

/** Counts of a window every track has: never negative, never absurd. */
const INBOUND_REQUIRED = ["expected", "received", "bytes"] as const;
/** Counts some engines leave out (lost is a delta, checked on its own): checked where present. */
const INBOUND_COUNTS = [
  ...inboundCounts.filter((k) => k !== "lost" && !(INBOUND_REQUIRED as readonly string[]).includes(k)),
  "retransmitted",
  "headerBytes",
] as const;
const OUTBOUND_COUNTS = outboundCounts;

function count(o: Record<string, unknown>, key: string, at: string): number {
  const v = finite(o, key, at);
  if (v < 0 || v > MAX_COUNT) fail(at, v, `a count from 0 to ${String(MAX_COUNT)}`);
  return v;
}

/** A line of samples.jsonl: a participant's window, each track's counts within their ranges. */
export function checkSampleLine(value: unknown): WindowSample {
  const s = object(value, "the line");
  finite(s, "t");
  count(s, "durationMs", "durationMs");
  text(s, "room");
  text(s, "participant");
  if (!Array.isArray(s.inbound)) fail("inbound", s.inbound, "a list of tracks");
  if (!Array.isArray(s.outbound)) fail("outbound", s.outbound, "a list of tracks");
  (s.inbound as unknown[]).forEach((raw, i) => {
    const at = `inbound[${String(i)}]`;
    const t = object(raw, at);
    if (!KINDS.has(t.kind as string)) fail(`${at}.kind`, t.kind, "audio or video");
    text(t, "key", TEXT, `${at}.key`);
    for (const key of INBOUND_REQUIRED) count(t, key, `${at}.${key}`);
    for (const key of INBOUND_COUNTS)
      if (t[key] !== undefined && t[key] !== null) count(t, key, `${at}.${key}`);
    // lost is a delta: late packets take back what was counted lost, never more than arrived
    const lost = finite(t, "lost", `${at}.lost`);
    if (lost > (t.expected as number) || lost < -(t.received as number))
      fail(`${at}.lost`, lost, `from -received (${String(t.received)}) to expected (${String(t.expected)})`);
    for (const [key, v] of Object.entries(t))
      if (typeof v === "number" && !Number.isFinite(v)) fail(`${at}.${key}`, v, "a finite number");
  });
  (s.outbound as unknown[]).forEach((raw, i) => {
    const at = `outbound[${String(i)}]`;
    const t = object(raw, at);
    if (!KINDS.has(t.kind as string)) fail(`${at}.kind`, t.kind, "audio or video");
    for (const key of OUTBOUND_COUNTS)
      if (t[key] !== undefined || key === "bytes") count(t, key, `${at}.${key}`);
  });
  for (const key of ["rttS", "dataSent", "dataReceived"])
    if (s[key] !== undefined && s[key] !== null) finite(s, key);
  return s as unknown as WindowSample;
}
