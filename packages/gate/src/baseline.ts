import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  RUN_ID_PATTERN,
  catalog,
  quoted,
  readConfigText,
  readFailure,
  KnownError,
} from "@livekit-swarm/schema";
import { percentile, summarize, type Population } from "@livekit-swarm/stats";
import { WINDOW_METRICS_WITHOUT_TRACK, type Measurements } from "./measurements.js";
import type { NoiseTest } from "./noise.js";
import { runTotals, type RunTotals } from "./totals.js";
import { relativeLimit, type ResolvedBaseline, type Threshold } from "./threshold.js";

/**
 * One metric's per-participant or per-track values in a run, as summary.json carries them under
 * `samples`: what a later run is compared with, value for value.
 */
export interface SampleSet {
  readonly metric: string;
  readonly population: Population;
  readonly where: Readonly<Record<string, string>>;
  readonly values: readonly number[];
}

/** The parts of a summary.json a comparison reads; every other field is ignored. */
export interface RunRecord {
  /** The file it was read from, for messages. */
  readonly file: string;
  readonly runId: string | undefined;
  readonly scenario: Readonly<Record<string, unknown>> | undefined;
  readonly figures: readonly RecordedFigure[];
  /** Absent from summaries written before baselines existed: comparisons then skip the noise test. */
  readonly samples: readonly SampleSet[] | undefined;
  /** The run's counts and ratios of sums (runTotals): joined, reconnects, loss of all packets... */
  readonly totals: RunTotals;
  /**
   * Why its figures are not a whole measurement of LiveKit, in words ("was interrupted (exit
   * 130)"), from its `run.endReason` and `health`; absent for a run that completed with a conclusive
   * health, and for a summary that does not say (an older version's).
   */
  readonly partial?: string;
}

export interface RecordedFigure {
  readonly metric: string;
  readonly label?: string;
  readonly kind?: string;
  readonly unit?: string;
  readonly population: Population;
  readonly n: number;
  readonly p50?: number;
  readonly p95?: number;
  readonly p99?: number;
  readonly min?: number;
  readonly max?: number;
  readonly avg?: number;
  /** The statistics in `above` are lower bounds: part of the population never got a value. */
  readonly censored?: { readonly n: number; readonly above: readonly string[] };
}

/** A baseline that cannot be used: one line naming the file and the fix. */
export class BaselineError extends KnownError<"baseline"> {
  override readonly name = "BaselineError";
  constructor(message: string) {
    super("baseline", message);
  }
}

/**
 * Per-participant and per-track values of every in-process histogram metric, overall and per kind.
 * Windows are left out: a track's consecutive windows are not independent observations, so the
 * noise test of a threshold over windows uses the per-participant values instead (metrics without
 * a track, like round-trip time, have no per-track grouping).
 */
export function sampleSets(measurements: Measurements): SampleSet[] {
  const out: SampleSet[] = [];
  for (const m of catalog) {
    if (m.source !== "swarm" || m.type !== "histogram") continue;
    const wheres: Record<string, string>[] = [{}];
    if ((m.labels as readonly string[]).includes("kind")) wheres.push({ kind: "audio" }, { kind: "video" });
    // a metric on no track: its tracks are its windows, left out as windows are
    const populations = WINDOW_METRICS_WITHOUT_TRACK.has(m.name)
      ? ["participants"]
      : ["participants", "tracks"];
    for (const population of populations as ("participants" | "tracks")[]) {
      for (const where of wheres) {
        const d = measurements.distribution(m.name, population, { where });
        if (d.values === undefined || d.values.length === 0) continue;
        out.push({
          metric: m.name,
          population,
          where,
          values: d.values.map((v) => Number(v.toPrecision(6))),
        });
      }
    }
  }
  return out;
}

/**
 * The population the noise test of a threshold compares: windows become participants (see
 * sampleSets), and so do the tracks of a metric a window reports on no track (round trip,
 * latency, outbound): one member a window, its tracks are its windows.
 */
export function noisePopulation(population: Population | undefined, metric: string): Population | undefined {
  if (population === "tracks" && WINDOW_METRICS_WITHOUT_TRACK.has(metric)) return "participants";
  return population === "windows" ? "participants" : population;
}

function sameWhere(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

export function findSamples(
  sets: readonly SampleSet[] | undefined,
  metric: string,
  population: Population | undefined,
  where: Readonly<Record<string, string>>,
): readonly number[] | undefined {
  return sets?.find((s) => s.metric === metric && s.population === population && sameWhere(s.where, where))
    ?.values;
}

const METRIC = /^[a-z][a-z0-9_]{0,99}$/;
const STATISTICS = ["n", "p50", "p95", "p99", "min", "max", "avg"] as const;

/** A value read from a file, for a message: JSON, short, control characters escaped by JSON. */
function shownValue(v: unknown): string {
  // JSON's 1e999 parses to Infinity, which JSON.stringify would show as null
  if (typeof v === "number" && !Number.isFinite(v)) return `${String(v)} (a number too large to be a figure)`;
  return v === undefined ? "absent" : JSON.stringify(v).slice(0, 60);
}

function checkName(name: string, at: string): void {
  if (!METRIC.test(name))
    throw new BaselineError(
      `${at}: ${shownValue(name)} is not a metric name; pass the summary.json a run wrote`,
    );
}

/**
 * A figure as runs write it: a metric's name, and each statistic a finite number (n a count). A
 * string figure traced (`v.toFixed is not a function`), 1e999 printed "+Infinity% within noise".
 */
function checkFigure(f: RecordedFigure, at: string): RecordedFigure {
  checkName(f.metric, `${at}.metric`);
  // JSON writes a NaN as null: a statistic a run could not compute, read as absent
  const out: Record<string, unknown> = Object.fromEntries(Object.entries(f).filter(([, v]) => v !== null));
  for (const key of STATISTICS) {
    const v: unknown = out[key];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || (key === "n" && (!Number.isInteger(v) || v < 0)))
      throw new BaselineError(
        `${at}.${key}: expected ${key === "n" ? "a count" : "a finite number"}, got ${shownValue(v)}; pass the summary.json a run wrote`,
      );
  }
  for (const key of ["label", "kind", "unit"] as const) {
    const v: unknown = out[key];
    // these reach the terminal: printable text only
    if (v !== undefined && (typeof v !== "string" || !/^[^\p{Cc}]{0,80}$/u.test(v)))
      throw new BaselineError(
        `${at}.${key}: ${shownValue(v)} is not text of up to 80 characters without control characters`,
      );
  }
  return out as unknown as RecordedFigure;
}

/** Parses a summary.json's text; `file` is only for messages. */
export function parseRunRecord(text: string, file: string): RunRecord {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new BaselineError(
      `${file}: not JSON; pass the summary.json a run wrote (swarm -o DIR writes DIR/summary.json)`,
    );
  }
  return runRecordOf(doc, file);
}

/** The record of a parsed summary.json, or of a run's report before it is written (`file`: for messages). */
export function runRecordOf(doc: unknown, file: string): RunRecord {
  const d = doc as {
    run?: { id?: unknown; endReason?: unknown };
    health?: { status?: unknown; exitCode?: unknown };
    scenario?: unknown;
    figures?: unknown;
    samples?: unknown;
  } | null;
  if (d === null || typeof d !== "object" || !Array.isArray(d.figures) || typeof d.run !== "object") {
    throw new BaselineError(
      `${file}: not a run summary (no run and figures fields); pass the summary.json a run wrote`,
    );
  }
  const figures = (d.figures as unknown[])
    .filter(
      (f): f is RecordedFigure =>
        typeof f === "object" && f !== null && typeof (f as RecordedFigure).metric === "string",
    )
    .map((f, i) => checkFigure(f, `${file}: figures[${String(i)}]`));
  const samples = Array.isArray(d.samples)
    ? (d.samples as unknown[]).filter(
        (s): s is SampleSet =>
          typeof s === "object" &&
          s !== null &&
          typeof (s as SampleSet).metric === "string" &&
          Array.isArray((s as SampleSet).values),
      )
    : undefined;
  samples?.forEach((s, i) => {
    checkName(s.metric, `${file}: samples[${String(i)}].metric`);
    const bad = s.values.findIndex((v) => typeof v !== "number" || !Number.isFinite(v));
    if (bad >= 0)
      throw new BaselineError(
        `${file}: samples[${String(i)}].values[${String(bad)}]: expected a finite number, got ${shownValue(s.values[bad])}; pass the summary.json a run wrote`,
      );
  });
  const runId = d.run.id;
  if (runId !== undefined && (typeof runId !== "string" || !RUN_ID_PATTERN.test(runId)))
    throw new BaselineError(
      `${file}: run.id ${shownValue(runId)}: expected 1 to 64 letters, digits, dots, underscores or dashes, as a run writes it`,
    );
  return {
    file,
    runId,
    scenario:
      typeof d.scenario === "object" && d.scenario !== null
        ? (d.scenario as Record<string, unknown>)
        : undefined,
    figures,
    samples,
    totals: runTotals(doc),
    ...partialRun(d.run.endReason, d.health),
  };
}

/** How a run that did not complete, or that the swarm could not judge, ended: its end reasons' words. */
const UNFINISHED: Readonly<Record<string, string>> = {
  interrupted: "was interrupted",
  aborted: "was aborted by a threshold before its end",
  "server-unreachable": "lost its server before its end",
  "no-participant-joined": "had no participant join",
  "workers-lost": "lost every worker process before its end",
};

/**
 * `partial` of a summary's `run.endReason` and `health` (read from a file: anything). A reason this
 * version does not know is said as it is; a health of the generator's side is inconclusive.
 */
function partialRun(endReason: unknown, health: unknown): { partial?: string } {
  const h = (typeof health === "object" && health !== null ? health : {}) as {
    status?: unknown;
    exitCode?: unknown;
  };
  const code =
    typeof h.exitCode === "number" && Number.isInteger(h.exitCode) ? ` (exit ${String(h.exitCode)})` : "";
  if (typeof endReason === "string" && endReason !== "completed")
    return {
      partial: `${Object.hasOwn(UNFINISHED, endReason) ? UNFINISHED[endReason] : `ended as ${shownValue(endReason)}`}${code}`,
    };
  if (h.status === "generator")
    return { partial: `was inconclusive: a check failed on the generator's side (see its health)${code}` };
  return {};
}

/**
 * Refuses a baseline whose figures are not a whole measurement of LiveKit (`partial`) unless forced:
 * a release gated "<= baseline + 20%" against a run stopped in its ramp, or starved, passes against
 * figures no one measured whole (Ctrl-C 5 s in: join time p95 "> 177 ms", 13 of 24 joined).
 */
export function assertWholeBaseline(record: RunRecord, force: boolean, fix: string): void {
  if (record.partial === undefined || force) return;
  throw new BaselineError(
    `${record.file}: the baseline run ${record.partial}, so its figures are not a whole measurement of LiveKit; pass a run that ran to its end with a conclusive health (one that exited 0, or 99 for a threshold it failed)${fix}`,
  );
}

/**
 * A summary.json is a few hundred KB (11 MB at 1,500 participant-hours of per-participant tables):
 * a file far past that is not one, and reading it whole would cost its size in memory first.
 */
const MOST_SUMMARY_BYTES = 256 * 2 ** 20;

/** Reads a summary.json, or the summary.json inside a run folder. */
export async function loadRunRecord(path: string): Promise<RunRecord> {
  let file = path;
  let fifo = false;
  let size = 0;
  try {
    const info = await stat(path);
    if (info.isDirectory()) file = join(path, "summary.json");
    fifo = info.isFIFO();
    size = (file === path ? info : await stat(file)).size;
  } catch {
    throw new BaselineError(
      `${path}: no such file or folder; pass a run's summary.json or its output folder (swarm -o DIR)`,
    );
  }
  if (size > MOST_SUMMARY_BYTES)
    throw new BaselineError(
      `${file}: is ${(size / 2 ** 20).toFixed(0)} MiB, larger than a summary.json the swarm writes (at most ${MOST_SUMMARY_BYTES / 2 ** 20} MiB); pass a run's summary.json or its output folder`,
    );
  let text: string;
  try {
    // a pipe (`<(...)`) read with a bound on its silence, never waited on for ever
    text = fifo ? await readConfigText(file) : await readFile(file, "utf8");
  } catch (err) {
    throw new BaselineError(
      file === path
        ? `${file}: cannot be read (${readFailure(err)}); pass a run's summary.json or its output folder`
        : `${path}: a folder without summary.json; pass a run's output folder (swarm -o DIR) or its summary.json`,
    );
  }
  return parseRunRecord(text, file);
}

/** The threshold's aggregation over the baseline run: exact from samples, else from a matching figure. */
export function baselineValue(t: Threshold, record: RunRecord): { value: number | undefined; n: number } {
  // a metric on no track: its tracks population is its windows, read from the windows' figure
  const population =
    t.population === "tracks" && WINDOW_METRICS_WITHOUT_TRACK.has(t.metric) ? "windows" : t.population;
  const samples =
    population === "windows" ? undefined : findSamples(record.samples, t.metric, population, t.where);
  const pm = /^p(.+)$/.exec(t.aggregation);
  if (samples !== undefined && population !== undefined) {
    if (pm !== null) {
      const p = percentile(samples, Number(pm[1]), population);
      return { value: p.value, n: p.n };
    }
    const s = summarize(samples, population);
    const v = t.aggregation === "max" ? s.max : t.aggregation === "min" ? s.min : s.avg;
    if (t.aggregation === "max" || t.aggregation === "min" || t.aggregation === "avg")
      return { value: v, n: s.n };
  }
  const keys = Object.keys(t.where);
  const kind = t.where.kind;
  if (keys.some((k) => k !== "kind")) return { value: undefined, n: 0 };
  const figure = record.figures.find(
    (f) => f.metric === t.metric && f.population === population && f.kind === kind,
  );
  const field = t.aggregation as "p50" | "p95" | "p99" | "min" | "max" | "avg";
  if (figure === undefined || !["p50", "p95", "p99", "min", "max", "avg"].includes(field))
    return { value: undefined, n: 0 };
  const value = figure[field];
  return { value: typeof value === "number" ? value : undefined, n: figure.n };
}

/**
 * Resolves every relative threshold against the baseline run: its `value` becomes the limit and
 * `baseline` carries the baseline's value and samples. A relative threshold without a baseline is
 * a BaselineError naming the fix; absolute thresholds pass through unchanged.
 */
export function applyBaseline(thresholds: readonly Threshold[], record: RunRecord | undefined): Threshold[] {
  return thresholds.map((t) => {
    if (t.relative === undefined) return t;
    if (record === undefined)
      throw new BaselineError(
        `threshold ${quoted(t.text)} compares with a baseline: pass --baseline <summary.json or run folder>`,
      );
    const { value, n } = baselineValue(t, record);
    const baseline: ResolvedBaseline = {
      source: record.file,
      value,
      n,
      samples: findSamples(record.samples, t.metric, noisePopulation(t.population, t.metric), t.where),
    };
    return { ...t, value: value === undefined ? Number.NaN : relativeLimit(t.relative, value), baseline };
  });
}

/**
 * The workload fields that make two runs comparable: rooms, roles, media, ramp, and what changes
 * every figure's meaning: the engine (lean reads loss from sequence gaps, native from libwebrtc),
 * browser probes, client network profiles, E2EE, a signalling storm beside the media, and how
 * browser participants share pages and browsers (several in one page share its event loop and
 * decoders, so their join times and frame rates move with the layout).
 */
const SHAPE = [
  "engine",
  "rooms",
  "videoPublishers",
  "audioPublishers",
  "subscribers",
  "publishersSubscribe",
  "subscribeLimit",
  "numPerSecond",
  "video",
  "audio",
  "data",
  "latencyProbes",
  "browserProbes",
  "e2ee",
  "networkProfiles",
  "storm",
  "participantsPerPage",
  "pagesPerBrowser",
] as const;

/**
 * What a field read when a summary written before it existed leaves it out: such a baseline
 * stays comparable with a run that uses the default.
 */
const SHAPE_DEFAULTS: Partial<Record<(typeof SHAPE)[number], unknown>> = {
  engine: "native",
  browserProbes: 0,
  participantsPerPage: 1,
  pagesPerBrowser: 1,
};

/** What differs between two runs' workloads, one entry per field; empty when they are comparable. */
export function workloadDifferences(a: RunRecord, b: RunRecord): string[] {
  if (a.scenario === undefined || b.scenario === undefined)
    return [`${a.scenario === undefined ? a.file : b.file} records no scenario`];
  const out: string[] = [];
  for (const key of SHAPE) {
    const read = (r: Readonly<Record<string, unknown>>): string =>
      JSON.stringify(r[key] ?? SHAPE_DEFAULTS[key] ?? null);
    const va = read(a.scenario);
    const vb = read(b.scenario);
    if (va !== vb) out.push(`${key} ${va} vs ${vb}`);
  }
  return out;
}

/** Refuses runs of different workloads unless forced: a different shape is not a regression. */
export function assertComparable(a: RunRecord, b: RunRecord, force: boolean): void {
  const diff = workloadDifferences(a, b);
  if (diff.length > 0 && !force)
    throw new BaselineError(
      `${a.file} and ${b.file} ran different workloads (${diff.join("; ")}); compare runs of the same scenario, or pass --force-compare`,
    );
}

/** A figure in its unit for people: ms or s, %, kb/s. */
export function formatFigure(v: number | undefined, unit: string | undefined, signed = false): string {
  if (v === undefined) return "-";
  const sign = signed && v > 0 ? "+" : "";
  switch (unit) {
    case "s":
    case "seconds":
      return Math.abs(v) < 1 ? `${sign}${(v * 1000).toFixed(1)} ms` : `${sign}${v.toFixed(2)} s`;
    case "ratio":
      return `${sign}${(v * 100).toFixed(2)}%`;
    case "bps":
      return `${sign}${(v / 1000).toFixed(0)} kb/s`;
    default:
      return `${sign}${Number.isInteger(v) ? v : v.toPrecision(4)}`;
  }
}

export function noiseText(noise: NoiseTest | undefined): string {
  if (noise === undefined) return "no samples";
  return `${noise.withinNoise ? "within noise" : "DIFFERENT"} (p=${noise.p.toFixed(3)}, n=${noise.nA}/${noise.nB})`;
}

/** Refuses a baseline whose workload differs from `scenario` (the run about to be judged) unless forced. */
export function assertComparableScenario(record: RunRecord, scenario: object, force: boolean): void {
  const current: RunRecord = {
    file: "this run",
    runId: undefined,
    scenario: JSON.parse(JSON.stringify(scenario)) as Record<string, unknown>,
    figures: [],
    samples: undefined,
    totals: {},
  };
  assertComparable(record, current, force);
}

/**
 * `--baseline` of a run about to start: the baseline's record, refused when its workload differs
 * from `scenario` or it is not a whole measurement (`assertWholeBaseline`), unless forced. Without a
 * scenario (`swarm gate`: no run whose workload it could differ from) only its wholeness is checked,
 * never forced. Undefined without a path.
 */
export async function loadBaseline(
  path: string | undefined,
  scenario: object | undefined,
  force: boolean,
): Promise<RunRecord | undefined> {
  if (path === undefined) return undefined;
  const record = await loadRunRecord(path);
  if (scenario === undefined) {
    assertWholeBaseline(record, false, "");
  } else {
    assertComparableScenario(record, scenario, force);
    assertWholeBaseline(record, force, ", or --force-compare to use it anyway");
  }
  return record;
}
