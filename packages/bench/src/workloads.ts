/** What the bench runs and the timing rules of a point: data and pure functions, no I/O. */

export const JOINS_PER_SECOND = 10;
/** The window opens this long after the last scheduled join: late ICE and first stats settle. */
export const SETTLE_MS = 3_000;
/** The window closes this long before the scheduled end, ahead of the drain. */
export const TAIL_MS = 1_500;
/** A run told to stop (drain, then report) that has not exited after this long is killed. */
export const DRAIN_GRACE_MS = 60_000;
/** The load engine's default getStats interval, which is also its timeline's bucket. */
export const DEFAULT_STATS_INTERVAL_MS = 5_000;
/** Inbound media per expected track below this share of the first point's: not keeping up. */
export const MEDIA_FLOOR = 0.8;
/** Between runs: the server closes the previous run's empty rooms and goes idle. */
export const PAUSE_MS = 5_000;
export const LOSS_LIMIT = 0.02;
export const CORES_LIMIT = 1.8;
/** CPU used by processes other than ours and the server above this: the point is re-run. */
export const DISTURBED_CORES = 0.25;
/** docs/engine-costs.md: lk load-test at 10 rooms of 1+4 audio. */
export const TARGET = { workload: "audio", rooms: 10, cpuPerPMin: 0.45 } as const;

export interface Workload {
  readonly name: string;
  readonly title: string;
  readonly perRoom: number;
  readonly rooms: { readonly full: readonly number[]; readonly quick: readonly number[] };
  readonly maxRooms: number;
  /** Scenario keys (as in a scenario file) of every run of this workload; rooms and timing are the bench's. */
  readonly scenario: Readonly<Record<string, unknown>>;
  /** Run by `npm run bench` without --workload; false: only when named. */
  readonly byDefault: boolean;
}

/** VP8 rooms of 1 video publisher + 4 subscribers at `resolution` (the scenario's frame rate for it), one layer or simulcast. */
function videoWorkload(
  name: string,
  title: string,
  resolution: "360p" | "720p",
  simulcast: boolean,
  byDefault = true,
): Workload {
  return {
    name,
    title,
    perRoom: 5,
    rooms: resolution === "360p" ? { full: [1, 2, 4, 8], quick: [1, 2] } : { full: [1, 2, 4], quick: [1] },
    maxRooms: 64,
    scenario: {
      "video-publishers": 1,
      "audio-publishers": 0,
      subscribers: 4,
      "latency-probes": 0,
      video: { resolution, codec: "vp8", simulcast },
    },
    byDefault,
  };
}

export const WORKLOADS: readonly Workload[] = [
  {
    name: "audio",
    title: "audio-only rooms of 1 publisher (continuous Opus) + 4 subscribers",
    perRoom: 5,
    rooms: { full: [1, 10, 20, 40, 80], quick: [1, 10, 20] },
    maxRooms: 1280,
    scenario: { "video-publishers": 0, "audio-publishers": 1, subscribers: 4, "latency-probes": 0 },
    byDefault: true,
  },
  videoWorkload(
    "video",
    "360p VP8 video rooms without simulcast, 1 publisher (video only) + 4 subscribers, no latency probe",
    "360p",
    false,
  ),
  // issue 14 asks for simulcast figures beside the one-layer ones: the same rooms, the publisher
  // sending a 180p layer under the 360p one
  videoWorkload(
    "video-simulcast",
    "360p VP8 video rooms with simulcast (180p + 360p), 1 publisher (video only) + 4 subscribers, no latency probe",
    "360p",
    true,
  ),
  // issue 14 asks for 720p figures too; a native 720p room encodes and decodes 720p, so a full run
  // leaves it out unless named
  videoWorkload(
    "video-720p",
    "720p VP8 video rooms at 30 fps without simulcast, 1 publisher (video only) + 4 subscribers, no latency probe",
    "720p",
    false,
    false,
  ),
];

/** The ramp: joins are spaced 1000/nps ms apart, the last one at (n-1) gaps. */
export function rampMs(participants: number): number {
  return Math.round((participants - 1) * (1000 / JOINS_PER_SECOND));
}

/**
 * A browser participant's join launches a Chromium (or opens a page): ten of them at once, beside
 * about a core of other load, took over 11 s here (bench/results.md, 2026-11-23 20:22), so the
 * browser engine gets the grace its chaos drills use for a launch on a loaded machine, less the
 * settle time.
 */
export const BROWSER_JOIN_GRACE_MS = 60_000;

/**
 * Joins may lag their schedule by this much before the point counts as not keeping up: under load
 * joining runs slower than scheduled (a join costs 0.1-0.2 CPU-s), and the steady state is measured
 * once everyone is in.
 */
export function joinGraceMs(participants: number, engine?: string): number {
  return Math.max(engine === "browser" ? BROWSER_JOIN_GRACE_MS : 8_000, rampMs(participants));
}

/** Hold long enough for the slowest acceptable ramp plus the window; each run is ended right after its window. */
export function runDurationS(holdS: number, participants: number, engine?: string): number {
  return holdS + Math.ceil((SETTLE_MS + joinGraceMs(participants, engine) + TAIL_MS) / 1000) + 5;
}

/** Room counts of a workload, in order; `grow` continues by doubling until saturation or maxRooms. */
export function roomSeries(
  workload: Workload,
  options: { readonly rooms: readonly number[] | undefined; readonly quick: boolean },
): { counts: readonly number[]; grow: boolean } {
  if (options.rooms !== undefined) return { counts: options.rooms, grow: false };
  return { counts: options.quick ? workload.rooms.quick : workload.rooms.full, grow: !options.quick };
}
