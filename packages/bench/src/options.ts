import { resolve } from "node:path";
import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import {
  DurationError,
  engineChoices,
  formatDuration,
  MAX_SHARING,
  parseDuration,
  type EngineChoice,
} from "@livekit-swarm/schema";
import type { NetworkProfile } from "@livekit-swarm/testbed";
import { BenchError } from "./errors.js";
import { DISTURBED_CORES, WORKLOADS, type Workload } from "./workloads.js";

/** Everything a bench run needs to know from its command line, typed once. */
export interface BenchOptions {
  readonly quick: boolean;
  readonly holdS: number;
  readonly workloads: readonly Workload[];
  /** Room counts instead of each workload's own series; undefined: the series. */
  readonly rooms: readonly number[] | undefined;
  readonly retries: number;
  readonly outDir: string;
  /** Departures from the engine's defaults, for an A/B; recorded with the results. */
  readonly engine: EngineOverrides;
  readonly dryRun: boolean;
}

export interface EngineOverrides {
  /** The engine itself (scenario key `engine`); undefined: native. */
  readonly name?: EngineChoice;
  readonly statsIntervalMs?: number;
  readonly workers?: number;
  /** Every participant behind this client network profile (docs/transport.md); undefined: open. */
  readonly network?: BenchNetwork;
  /** Every room end-to-end encrypted (scenario key `e2ee`), a key made per point. */
  readonly e2ee?: true;
  /** Browser participants per page and pages per browser (scenario keys of the same names). */
  readonly participantsPerPage?: number;
  readonly pagesPerBrowser?: number;
}

/**
 * The profiles a bench point can put everyone behind: each forces one media path (udp-blocked: ICE
 * over TCP; turn-only: a TURN relay over UDP). tcp-only is left out: nobody joins through it.
 */
export const benchNetworks = [
  "udp-blocked",
  "tcp-only",
  "turn-only",
] as const satisfies readonly NetworkProfile[];
export type BenchNetwork = (typeof benchNetworks)[number];

const EXAMPLES = `
Examples:
  npm run bench                                        # full: 60 s per point, rooms grow until saturation (20-40 min)
  npm run bench -- --quick                             # 20 s per point, 1/10/20 audio and 1/2 video rooms
  npm run bench -- --workload audio --rooms 10         # one point, e.g. to re-run a disturbed one
  npm run bench -- --workload audio --rooms 10 --stats-interval 30s   # what stats polling costs
  npm run bench -- --workload audio --rooms 10 --engine lean         # the lean engine's cost
  npm run bench -- --workload audio --rooms 2 --network turn-only  # everyone over a TURN relay
  npm run bench -- --workload audio --rooms 2 --e2ee                 # E2EE rooms (native)
  npm run bench -- --rooms 2 --engine browser --participants-per-page 5   # a browser layout's cost
  npm run bench -- --dry-run                           # the plan, nothing run
`;

function wholeNumber(text: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`expected a whole number, got ${JSON.stringify(text)}`);
  return n;
}

/** A layout count, in the scenario's range; the scenario refuses it without browser participants. */
function sharing(flag: string): (text: string) => number {
  return (text) => {
    const n = wholeNumber(text);
    if (n < 1 || n > MAX_SHARING)
      throw new InvalidArgumentError(`${flag}: expected 1 to ${MAX_SHARING}, got ${text}`);
    return n;
  };
}

function roomCounts(text: string): number[] {
  const counts = text.split(",").map((s) => wholeNumber(s.trim()));
  if (counts.some((r) => r < 1)) throw new InvalidArgumentError("room counts start at 1");
  return counts;
}

function workloadNames(text: string): Workload[] {
  const names = text.split(",").map((s) => s.trim());
  for (const n of names) {
    if (!WORKLOADS.some((w) => w.name === n))
      throw new InvalidArgumentError(
        `unknown workload ${JSON.stringify(n)}; known: ${WORKLOADS.map((w) => w.name).join(", ")}`,
      );
  }
  return WORKLOADS.filter((w) => names.includes(w.name));
}

function statsInterval(text: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    if (err instanceof DurationError) throw new InvalidArgumentError(err.message);
    throw err;
  }
  if (ms < 200) throw new InvalidArgumentError(`${text} is too short; 200ms is the least`);
  return ms;
}

function workerCount(text: string): number {
  const n = wholeNumber(text);
  if (n < 1) throw new InvalidArgumentError("at least 1 worker");
  return n;
}

/** The command line as data: commander parses, types and documents it from this one definition. */
export function benchCommand() {
  return new Command("bench")
    .description(
      "Measures the load generator's CPU-seconds per participant-minute over the hold window, against one local " +
        "livekit-server, for growing room counts, and appends the results to bench/results.md and bench/results.json.",
    )
    .usage("[options]   (npm run bench builds first)")
    .option("--quick", "20 s hold and fewer room counts: a smoke run of about 5 minutes", false)
    .option(
      "--hold <seconds>",
      "measured window per configuration (default 60, 20 with --quick)",
      wholeNumber,
    )
    .option(
      "--workload <names>",
      `workloads to run, comma-separated: ${WORKLOADS.map((w) => w.name).join(",")} (default: ${WORKLOADS.filter(
        (w) => w.byDefault,
      )
        .map((w) => w.name)
        .join(",")})`,
      workloadNames,
    )
    .option(
      "--rooms <counts>",
      "room counts instead of the workload's own series (no growth past them)",
      roomCounts,
    )
    .option(
      "--retries <n>",
      `re-runs of a point when other processes used over ${DISTURBED_CORES} cores`,
      wholeNumber,
      1,
    )
    .option("--out <dir>", "where results.md and results.json go (default bench/ of the repository)")
    .addOption(
      new Option(
        "--stats-interval <duration>",
        "the engine's getStats interval for an A/B against its default (5s), e.g. 30s",
      ).argParser(statsInterval),
    )
    .addOption(
      new Option("--workers <n>", "worker processes for an A/B against the engine's default count").argParser(
        workerCount,
      ),
    )
    .addOption(
      new Option(
        "--engine <name>",
        "the engine for an A/B against native (the audio workload only, for lean)",
      ).choices(engineChoices),
    )
    .addOption(
      new Option(
        "--network <profile>",
        "every participant behind a client network profile, for the cost of a media path: udp-blocked (ICE over TCP), tcp-only (TURN over TLS, --engine browser only), turn-only (TURN over UDP); needs root",
      ).choices(benchNetworks),
    )
    .option("--e2ee", "end-to-end encrypt every room (native engine), a random key per point")
    .addOption(
      new Option(
        "--participants-per-page <n>",
        "browser participants per page (with --engine browser), for a layout's cost",
      ).argParser(sharing("--participants-per-page")),
    )
    .addOption(
      new Option(
        "--pages-per-browser <n>",
        "pages per Chromium (with --engine browser), for a layout's cost",
      ).argParser(sharing("--pages-per-browser")),
    )
    .option("--dry-run", "print the plan, run nothing", false)
    .addHelpText("after", EXAMPLES);
}

export type BenchCommandOptions = ReturnType<ReturnType<typeof benchCommand>["opts"]>;

/** Pure: parsed flags to options, defaults applied (`root` is the repository's root). */
export function resolveOptions(raw: BenchCommandOptions, root: string): BenchOptions {
  const holdS = raw.hold ?? (raw.quick ? 20 : 60);
  if (holdS < 10)
    throw new BenchError(
      "usage",
      `--hold: ${holdS} s is too short to average over 5 s stats windows; 10 is the least`,
    );
  if (raw.e2ee === true && raw.engine !== undefined && raw.engine !== "native")
    throw new BenchError(
      "usage",
      `--e2ee: the bench encrypts with the native engine only, not ${raw.engine}: drop --engine, or drop --e2ee`,
    );
  if (raw.network === "tcp-only" && raw.engine !== "browser")
    throw new BenchError(
      "usage",
      `--network tcp-only: only TURN over TLS gets out of it, and only browser participants trust the testbed's certificate (docs/transport.md): add --engine browser, or use --network udp-blocked or turn-only`,
    );
  return {
    quick: raw.quick,
    holdS,
    workloads: raw.workload ?? WORKLOADS.filter((w) => w.byDefault),
    rooms: raw.rooms,
    retries: raw.retries,
    outDir: resolve(root, raw.out ?? "bench"),
    engine: {
      ...(raw.engine !== undefined ? { name: raw.engine } : {}),
      ...(raw.statsInterval !== undefined ? { statsIntervalMs: raw.statsInterval } : {}),
      ...(raw.workers !== undefined ? { workers: raw.workers } : {}),
      ...(raw.network !== undefined ? { network: raw.network } : {}),
      ...(raw.e2ee === true ? { e2ee: true as const } : {}),
      ...(raw.participantsPerPage !== undefined ? { participantsPerPage: raw.participantsPerPage } : {}),
      ...(raw.pagesPerBrowser !== undefined ? { pagesPerBrowser: raw.pagesPerBrowser } : {}),
    },
    dryRun: raw.dryRun,
  };
}

/** The overrides as the flags that set them, for the results' "extra flags" line. */
export function overrideFlags(engine: EngineOverrides): string[] {
  return [
    ...(engine.name !== undefined ? ["--engine", engine.name] : []),
    ...(engine.statsIntervalMs !== undefined
      ? ["--stats-interval", formatDuration(engine.statsIntervalMs)]
      : []),
    ...(engine.workers !== undefined ? ["--workers", String(engine.workers)] : []),
    ...(engine.network !== undefined ? ["--network", engine.network] : []),
    ...(engine.e2ee === true ? ["--e2ee"] : []),
    ...(engine.participantsPerPage !== undefined
      ? ["--participants-per-page", String(engine.participantsPerPage)]
      : []),
    ...(engine.pagesPerBrowser !== undefined ? ["--pages-per-browser", String(engine.pagesPerBrowser)] : []),
  ];
}
