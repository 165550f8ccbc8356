/** What a run session is asked (RunSessionOptions), what it answers, and the shapes the CLI hands in. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RunRecord, Threshold } from "@livekit-swarm/gate";
import type { ExitCode, Role, RunObserver, Scenario, StormObservation } from "@livekit-swarm/schema";
import type { ProgressView, RunOutcome, RunTarget } from "../run/orchestrator.js";
import type { Shard } from "../shard/split.js";
import type { RunOutputs } from "./outputs.js";

/**
 * A run's live Prometheus metrics. load does not depend on the exporter: the CLI passes
 * `@livekit-swarm/exporter`'s SwarmExporter, which has this shape.
 */
export interface RunMetrics extends RunObserver {
  /** Creates every participant's series at zero before the first join. */
  prepare(
    subjects: Iterable<{
      readonly room: string;
      readonly participant: string;
      readonly role: Role;
      readonly worker: number;
    }>,
  ): void;
  serve(options: {
    readonly port: number;
    readonly host?: string;
    readonly routes?: readonly HttpRoute[];
  }): Promise<{
    readonly url: string;
    close(): Promise<void>;
  }>;
  push(gatewayUrl: string): Promise<void>;
  /** The exposition text, kept as metrics.prom. */
  metrics(): Promise<string>;
  /** A scenario's storm: its join series at zero before k6 starts, then its figures. */
  prepareStorm?(): void;
  onStorm?(o: StormObservation): void;
}

/** Another path on the metrics server (the exporter's HttpRoute has this shape). */
export interface HttpRoute {
  readonly path: string;
  handle(req: IncomingMessage, res: ServerResponse): void;
}

/**
 * A finished run's folder, served from the metrics server until a collector has it. k8s's
 * ResultsRoute has this shape; the CLI passes it, since load does not import k8s.
 */
export interface ResultsRoute extends HttpRoute {
  serve(
    folder: string,
    end: { readonly exitCode: number; readonly status?: string },
    holdMs: number,
    stops: readonly AbortSignal[],
  ): Promise<"collected" | "expired" | "stopped">;
}

export interface RunResultsOptions {
  readonly route: ResultsRoute;
  /** Serve at most this long after the run: with nothing collected by then, the run ends anyway. */
  readonly holdMs: number;
}

export interface RunMetricsOptions {
  /** Builds the run's metrics once its id is known. */
  readonly create: (run: {
    readonly runId: string;
    readonly scenario: string;
    /** The shard's index in a sharded run (a `shard` label). */
    readonly shard?: number;
  }) => RunMetrics;
  /** Serve /metrics on this port during the run (0: pick one). */
  readonly port?: number;
  readonly host?: string;
  /** Push the final values to this Pushgateway. */
  readonly pushgateway?: string;
  /** Keep /metrics up this long after a run that was not interrupted, for a final scrape. */
  readonly lingerMs?: number;
}

export interface RunSessionOptions {
  /** Resolved: file, flags and defaults already merged and validated. */
  readonly scenario: Scenario;
  /** Name the rooms lkswarm-<run id>- instead of `scenario.roomPrefix` (when nobody chose a prefix). */
  readonly roomPrefixPerRun?: boolean;
  /** The server; absent, a one-node local LiveKit (a testbed) is started for the run and stopped after. */
  readonly target?: RunTarget;
  /** Thresholds in addition to the scenario's own; the scenario's warm-up applies to any without one. */
  readonly thresholds?: readonly Threshold[];
  /** An earlier run (gate's loadBaseline) that relative thresholds (`<= baseline + 20%`) read. */
  readonly baseline?: RunRecord;
  /** Where reports go; default swarm-results/<run id>. A shard writes to `<outputDir>/shard-<index>/`. */
  readonly outputDir?: string;
  /** The run id; default a new one, or for a shard one derived from the scenario and `startAtMs`. */
  readonly runId?: string;
  /** Run only this shard's rooms (shardPlan), with the whole run's join times; needs `target`. */
  readonly shard?: Shard;
  /** The common start, epoch ms: joins are timed from it (the shards of one run share it). */
  readonly startAtMs?: number;
  /** LiveKit's built-in TURN over UDP on the testbed the run starts; refused with `target`. */
  readonly turn?: boolean;
  /** Worker processes; default one per ~100 native or 10 browser participants, or 10,000 lean packets/s, at most one per core. */
  readonly workers?: number;
  readonly statsIntervalMs?: number;
  /** A canary: hold until stopped, bring back participants that drop, never end early. */
  readonly forever?: boolean;
  /**
   * The shared key of an E2EE scenario; absent, one is made for the run (a room lives in one shard,
   * so shards need not share it). Handed to the workers only: never logged or written.
   */
  readonly e2eeKey?: Uint8Array;
  readonly metrics?: RunMetricsOptions;
  /**
   * Once the folder is written, serve it from the metrics server (`metrics.port`) until a collector
   * takes it (`swarm run --serve-results`, what a Kubernetes shard pod runs); the exit code stays the run's.
   */
  readonly results?: RunResultsOptions;
  /** Appends the markdown verdict here (GitHub's $GITHUB_STEP_SUMMARY). */
  readonly stepSummaryFile?: string;
  /** One line of news for the user: start, signals, the end; never a secret. */
  readonly log?: (line: string) => void;
  /** About once a second, live figures. */
  readonly onProgress?: (progress: ProgressView) => void;
  /** Save each browser participant's page as a PNG at the end, in `<outputDir>/screenshots/`. */
  readonly screenshots?: boolean;
  /** Write samples.jsonl.gz and events.jsonl.gz (gzip, streamed) instead of the plain files. */
  readonly gzipLines?: boolean;
  /** As soon as the reports are written, before the final push and scrape. */
  readonly onReport?: (outputs: RunOutputs) => void;
}

export type RunSessionResult =
  | {
      /** A signal came while the server was being checked or started: nobody joined, nothing written. */
      readonly ran: false;
      readonly runId: string;
      readonly exitCode: ExitCode;
    }
  | (RunOutputs & {
      readonly ran: true;
      readonly runId: string;
      readonly exitCode: ExitCode;
      readonly outcome: RunOutcome;
    });

export const DEFAULT_STATS_INTERVAL_MS = 5000;
