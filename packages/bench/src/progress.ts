/**
 * What a point process tells the bench, one JSON object per line on its stdout: machine-readable,
 * so the bench never matches human progress text.
 */
import type { ClientNetworkPlace, ProgressView, RunSummary, TurnTlsTrust } from "@livekit-swarm/load";
import type { NetworkProfile } from "@livekit-swarm/testbed";

/** What a point process is asked to run; secrets travel apart, in its environment. */
export interface PointSpec {
  /** Scenario keys as in a scenario file: the workload's, plus rooms and timing. */
  readonly scenario: Readonly<Record<string, unknown>>;
  readonly statsIntervalMs: number;
  readonly workers: number | undefined;
  readonly outputDir: string;
  /** The client namespace every participant runs in (a `--network` point); absent: the host. */
  readonly network?: ClientNetworkPlace & {
    readonly profile: NetworkProfile;
    /** The testbed's TURN/TLS listener browser participants trust (a tcp-only point). */
    readonly turnTls?: TurnTlsTrust;
  };
}

export type PointEvent =
  | {
      readonly type: "started";
      readonly participants: number;
      readonly workers: number;
      readonly rampMs: number;
    }
  | {
      readonly type: "progress";
      /** Epoch ms at which the run's clock started (its joinAtMs offsets count from here). */
      readonly startedAtMs: number;
      readonly phase: "ramp" | "hold" | "drain";
      readonly planned: number;
      readonly joined: number;
      readonly connected: number;
      readonly failed: number;
    }
  | {
      readonly type: "ended";
      readonly endReason: string;
      readonly workers: number;
      readonly summary: RunSummary;
    };

const TYPES = new Set(["started", "progress", "ended"]);

/** Pure: a line of a point process's stdout as an event; undefined for anything else. */
export function parsePointEvent(line: string): PointEvent | undefined {
  if (!line.startsWith("{")) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || !("type" in value)) return undefined;
  if (typeof value.type !== "string" || !TYPES.has(value.type)) return undefined;
  return value as PointEvent;
}

export function pointEventLine(event: PointEvent): string {
  return `${JSON.stringify(event)}\n`;
}

/** In a point process: one event on stdout, where its parent reads it. */
export function emitPointEvent(event: PointEvent): void {
  process.stdout.write(pointEventLine(event));
}

/** In a point process: the server from LIVEKIT_URL/LIVEKIT_API_KEY/LIVEKIT_API_SECRET (never argv: `ps` shows argv). */
export function targetFromEnv(): { url: string; apiKey: string; apiSecret: string } {
  const env = (name: string): string => {
    const value = process.env[name];
    if (value === undefined || value === "") throw new Error(`point process: ${name} is not set`);
    return value;
  };
  return { url: env("LIVEKIT_URL"), apiKey: env("LIVEKIT_API_KEY"), apiSecret: env("LIVEKIT_API_SECRET") };
}

/**
 * The orchestrator's progress as a point event; undefined until the run's clock starts (a moment
 * after the run is set up, elapsed stays 0 until then).
 */
export function progressEvent(p: ProgressView, nowMs: number = Date.now()): PointEvent | undefined {
  if (p.elapsedMs <= 0) return undefined;
  return {
    type: "progress",
    startedAtMs: nowMs - p.elapsedMs,
    phase: p.phase,
    planned: p.planned,
    joined: p.joined,
    connected: p.connected,
    failed: p.failed,
  };
}
