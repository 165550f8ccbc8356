/**
 * The run-level figures of a summary.json that are not distributions: how many joined, failed,
 * reconnected, and the loss of all packets as a ratio of sums. A comparison with a baseline shows
 * them beside the percentiles, so "3 more reconnects" is as visible as "join p95 +40%".
 */
import type { SwarmMetricName } from "@livekit-swarm/schema";
import type { Population } from "@livekit-swarm/stats";

/** Which way a change is a regression. */
export type Direction = "higher-is-worse" | "lower-is-worse";

export interface TotalDefinition {
  readonly name: string;
  readonly label: string;
  readonly kind?: "audio" | "video";
  readonly unit: "count" | "ratio" | "s";
  readonly direction: Direction;
  /**
   * The per-participant values whose Mann-Whitney test says whether a change is noise; absent: the
   * total has no per-participant values in summary.json (counts of the whole run).
   */
  readonly noise?: {
    readonly metric: SwarmMetricName;
    readonly population: Population;
    readonly where: Readonly<Record<string, string>>;
  };
  /** The value in a parsed summary.json; undefined when the summary lacks it. */
  readonly read: (doc: SummaryShape) => number | undefined;
}

/** The summary.json fields totals read, each optional: an old or foreign summary simply lacks some. */
export interface SummaryShape {
  readonly participants?: {
    readonly planned?: unknown;
    readonly joined?: unknown;
    readonly connectedAtEnd?: unknown;
    readonly reconnects?: unknown;
    readonly joinFailures?: unknown;
    readonly disconnects?: unknown;
  };
  readonly tracks?: { readonly receiving?: { readonly audio?: unknown; readonly video?: unknown } };
  readonly loss?: {
    readonly audio?: { readonly ratio?: unknown };
    readonly video?: { readonly ratio?: unknown };
  };
  readonly counters?: Readonly<Record<string, unknown>>;
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** The sum of a `{ reason: count }` record; 0 for an empty record, undefined when absent. */
function sumOf(v: unknown): number | undefined {
  if (v === null || typeof v !== "object") return undefined;
  return Object.values(v).reduce((a: number, n) => a + (num(n) ?? 0), 0);
}

function counter(doc: SummaryShape, ...names: string[]): number | undefined {
  const values = names.map((n) => num(doc.counters?.[n]));
  return values.every((v) => v === undefined) ? undefined : values.reduce((a: number, v) => a + (v ?? 0), 0);
}

const lossNoise = (kind: "audio" | "video"): TotalDefinition["noise"] => ({
  metric: "lkswarm_inbound_loss_ratio",
  population: "participants",
  where: { kind },
});

/** A count of the whole run, with no per-participant values to test for noise. */
const runCount = (
  name: string,
  label: string,
  direction: Direction,
  read: TotalDefinition["read"],
): TotalDefinition => ({ name, label, unit: "count", direction, read });

export const TOTALS: readonly TotalDefinition[] = [
  runCount("joined", "participants joined", "lower-is-worse", (d) => num(d.participants?.joined)),
  runCount("join_failures", "join failures", "higher-is-worse", (d) => sumOf(d.participants?.joinFailures)),
  runCount("disconnects", "disconnects", "higher-is-worse", (d) => sumOf(d.participants?.disconnects)),
  runCount("reconnects", "reconnects", "higher-is-worse", (d) => num(d.participants?.reconnects)),
  runCount("connected_at_end", "connected at the end", "lower-is-worse", (d) =>
    num(d.participants?.connectedAtEnd),
  ),
  ...(["audio", "video"] as const).flatMap((kind): TotalDefinition[] => [
    {
      name: `loss_${kind}`,
      label: "loss of all packets",
      kind,
      unit: "ratio",
      direction: "higher-is-worse",
      noise: lossNoise(kind),
      read: (d) => num(d.loss?.[kind]?.ratio),
    },
    {
      name: `receiving_${kind}`,
      label: "tracks receiving at the end",
      kind,
      unit: "count",
      direction: "lower-is-worse",
      read: (d) => num(d.tracks?.receiving?.[kind]),
    },
  ]),
  {
    name: "freezes",
    label: "freezes",
    kind: "video",
    unit: "count",
    direction: "higher-is-worse",
    read: (d) => counter(d, "freezes"),
  },
  {
    name: "freeze_seconds",
    label: "time frozen (probes)",
    kind: "video",
    unit: "s",
    direction: "higher-is-worse",
    read: (d) => counter(d, "freeze_seconds"),
  },
  runCount("nack_in", "NACKs sent", "higher-is-worse", (d) => counter(d, "in_nack_audio", "in_nack_video")),
  {
    name: "pli_in",
    label: "PLIs sent",
    kind: "video",
    unit: "count",
    direction: "higher-is-worse",
    read: (d) => counter(d, "in_pli_video"),
  },
  {
    name: "concealed",
    label: "audio concealed",
    kind: "audio",
    unit: "ratio",
    direction: "higher-is-worse",
    read: (d) => {
      const total = counter(d, "total_samples");
      const concealed = counter(d, "concealed_samples");
      return total === undefined || total === 0 ? undefined : (concealed ?? 0) / total;
    },
  },
];

/** Every total's value in a summary, by name; a total the summary lacks is absent. */
export type RunTotals = Readonly<Record<string, number>>;

export function runTotals(doc: unknown): RunTotals {
  if (doc === null || typeof doc !== "object") return {};
  const out: Record<string, number> = {};
  for (const t of TOTALS) {
    const v = t.read(doc);
    if (v !== undefined) out[t.name] = v;
  }
  return out;
}
