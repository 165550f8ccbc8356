/** results.md sections and the console's point lines: pure rendering of a BenchRecord. */
import { parseDuration } from "@livekit-swarm/schema";
import type { Point } from "./figures.js";
import {
  CORES_LIMIT,
  DEFAULT_STATS_INTERVAL_MS,
  DISTURBED_CORES,
  JOINS_PER_SECOND,
  LOSS_LIMIT,
  MEDIA_FLOOR,
  SETTLE_MS,
  TARGET,
} from "./workloads.js";

export interface Machine {
  readonly cores: number;
  readonly cpu: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly livekitServer: string;
  readonly commit: string;
}

/** One bench run as results.json keeps it. */
export interface BenchRecord {
  readonly startedAt: string;
  readonly kind: "quick" | "partial" | "full";
  readonly holdS: number;
  /** The engine overrides of an A/B run, as the flags that set them; empty: the defaults. */
  readonly swarmArgs: readonly string[];
  readonly machine: Machine;
  readonly workloads: { name: string; title: string; points: Point[] }[];
  tookS?: number;
}

export function fmt(v: number | undefined | null, digits = 2): string {
  return v === undefined || v === null || Number.isNaN(v) ? "-" : v.toFixed(digits);
}

export function pct(v: number | undefined | null): string {
  return v === undefined || v === null || Number.isNaN(v) ? "-" : `${(v * 100).toFixed(2)}%`;
}

/**
 * The generator's CPU over the server's, for the same participants over the same window; undefined
 * when the server's is unknown or zero (a server elsewhere, or one that did not run).
 */
export function generatorServerRatio(p: Point): number | undefined {
  const generator = p.generator?.cpuS;
  const server = p.server?.cpuS;
  return generator === undefined || server === undefined || server <= 0 ? undefined : generator / server;
}

/** "3.41x", or "-". */
export function ratioCell(ratio: number | undefined): string {
  return ratio === undefined ? "-" : `${ratio.toFixed(2)}x`;
}

/** "udp-blocked tcp 10, udp 0": each path and its joined participants; "-" when not recorded. */
export function pathsCell(paths: Point["paths"]): string {
  if (paths === undefined) return "-";
  const entries = Object.entries(paths);
  return entries.length === 0 ? "none" : entries.map(([path, n]) => `${path} ${n}`).join(", ");
}

export function pointsTable(points: readonly Point[]): string {
  const rows = [
    "| rooms | participants | workers | generator CPU-s/p-min | of which orchestrator | generator cores | server CPU-s/p-min | generator/server CPU | RSS MiB/participant | PSS MiB/participant | joined | media paths (joined) | tracks receiving/expected | media in, kb/s per track | loss p95 | other load (cores) | kept up |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const p of points) {
    const cells = [
      p.rooms,
      p.participants,
      p.workers ?? "-",
      `**${fmt(p.generator?.cpuPerPMin, 3)}**`,
      fmt(p.generator?.byRole.orchestrator?.cpuPerPMin, 3),
      fmt(p.generator?.cores),
      fmt(p.server?.cpuPerPMin, 3),
      ratioCell(generatorServerRatio(p)),
      fmt(p.rss?.perParticipantMiB, 1),
      fmt(p.pss?.perParticipantMiB, 1),
      `${p.joined}/${p.participants}`,
      pathsCell(p.paths),
      `${p.tracks.receiving}/${p.tracks.expected}`,
      fmt(p.inboundKbpsPerTrack, 0),
      pct(p.lossP95),
      `${fmt(p.otherCores)}${p.attempt > 0 ? ` (retry ${p.attempt})` : ""}`,
      p.keptUp ? "yes" : `no: ${p.reasons.join("; ")}`,
    ];
    rows.push(`| ${cells.join(" | ")} |`);
  }
  return rows.join("\n");
}

/** Per-thread CPU of the workers over the window, grouped by thread name; the orchestrator as one row. */
export function threadTable(p: Point): string {
  const generatorS = p.generator?.cpuS ?? 0;
  const pMin = (p.joined * (p.windowS ?? 0)) / 60;
  const threads = p.threads ?? [];
  const worker = threads.filter((t) => t.role === "worker");
  const workerTotal = worker.reduce((a, t) => a + t.cpuS, 0);
  const shown = worker.filter((t) => t.cpuS >= 0.01 * generatorS);
  const rest = worker.filter((t) => !shown.includes(t));
  const row = (label: string, count: string | number, cpuS: number): string =>
    `| ${label} | ${count} | ${fmt(cpuS)} | ${pct(cpuS / generatorS)} | ${fmt(cpuS / pMin, 3)} |`;
  const rows = [
    "| thread (worker process) | threads seen | CPU-s in window | share of generator | CPU-s/p-min |",
    "|---|---|---|---|---|",
    ...shown.map((t) => row(t.thread, t.threads, t.cpuS)),
  ];
  if (rest.length > 0) {
    rows.push(
      row(
        `other (${rest.map((t) => t.thread).join(", ")})`,
        rest.reduce((a, t) => a + t.threads, 0),
        rest.reduce((a, t) => a + t.cpuS, 0),
      ),
    );
  }
  // a thread that lived and died between two polls is in its process's total but in no row above
  const unseen = (p.generator?.byRole.worker?.cpuS ?? 0) - workerTotal;
  if (unseen > 0.005) rows.push(row("threads that began and ended between 1 s polls", "-", unseen));
  const orchestrator = p.generator?.byRole.orchestrator?.cpuS ?? 0;
  rows.push(
    row(
      "*worker processes, total*",
      `${worker.reduce((a, t) => a + t.threads, 0)} seen`,
      workerTotal + Math.max(0, unseen),
    ),
    row(
      "*orchestrator process (all threads)*",
      threads.filter((t) => t.role === "orchestrator").reduce((a, t) => a + t.threads, 0),
      orchestrator,
    ),
  );
  return rows.join("\n");
}

/** The stats interval a run used: its timeline's bucket. */
export function statsIntervalOf(swarmArgs: readonly string[]): number {
  const i = swarmArgs.indexOf("--stats-interval");
  const text = i >= 0 ? swarmArgs[i + 1] : undefined;
  if (text === undefined) return DEFAULT_STATS_INTERVAL_MS;
  try {
    return parseDuration(text);
  } catch {
    return DEFAULT_STATS_INTERVAL_MS;
  }
}

/** Pure: the section a bench run appends to results.md. */
export function markdownSection(record: BenchRecord): string {
  const m = record.machine;
  const extra = record.swarmArgs.join(" ");
  const lines = [
    "",
    `## ${record.startedAt.slice(0, 16).replace("T", " ")} UTC - ${record.kind} run, ${record.holdS} s measured per point`,
    "",
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Linux ${m.kernel}; Node ${m.node}; livekit-server ${m.livekitServer} (1 node, ${serverPlace(record.swarmArgs)}, beside the generator); commit ${m.commit}. Took ${Math.round((record.tookS ?? 0) / 60)} min.`,
    "",
    "How to read it:",
    "- CPU is user+sys of all threads of the swarm's process tree (orchestrator + workers), read from /proc, over the hold",
    `  window only: it opens ${SETTLE_MS / 1000} s after the last scheduled join, once everyone is seen joined (joins may run up to`,
    "  the ramp's own length late), so join cost is not in it; per participant-minute. The server's CPU over the same window is apart,",
    "  and generator/server is the swarm's CPU over the server's there: what loading a server costs in generator cores.",
    "- These are CPU-seconds of our own processes, which other load on the machine disturbs much less than wall time.",
    '  "other load" is what the rest of the machine used meanwhile (another engineer\'s tests on the same 2 cores);',
    `  a point with more than ${DISTURBED_CORES} cores of it was re-run and the quieter attempt kept.`,
    `- Joins at ${JOINS_PER_SECOND}/s, stats every ${statsIntervalOf(record.swarmArgs) / 1000} s, no AudioStream/VideoStream consumers, default worker count` +
      (extra !== "" ? `; extra swarm flags: \`${extra}\`.` : "."),
    "- A point keeps up when everyone joined, nobody reconnected, every expected track saw packets, loss p95 (RTP gaps) <= " +
      `${LOSS_LIMIT * 100}%, and media in per expected track over the window is at least ${MEDIA_FLOOR * 100}% of the`,
    "  workload's first point (a track that never flows has no RTP gaps, and a CPU-starved encoder lowers its rate instead of",
    `  losing packets). Rooms stop growing at the first point that does not keep up or whose generator passes ${CORES_LIMIT} cores.`,
  ];
  for (const w of record.workloads) {
    lines.push("", `### ${w.title}`, "", pointsTable(w.points));
    const sat = w.points.find((p) => p.saturated);
    lines.push(
      "",
      sat
        ? `Saturation at ${sat.rooms} rooms (${sat.reasons.join("; ")}).`
        : "No saturation within the room counts run.",
    );
  }
  const target = record.workloads
    .find((w) => w.name === TARGET.workload)
    ?.points.find((p) => p.rooms === TARGET.rooms && p.generator !== undefined);
  const v = target?.generator?.cpuPerPMin;
  if (target !== undefined && v !== undefined) {
    const met = v <= TARGET.cpuPerPMin;
    lines.push(
      "",
      `### Where the time goes: ${TARGET.workload}, ${TARGET.rooms} rooms (${target.participants} participants, ${target.workers ?? "?"} worker process(es), ${fmt(target.windowS, 1)} s window)`,
      "",
      threadTable(target),
      "",
      extra !== ""
        ? `An A/B run with extra swarm flags (\`${extra}\`): ${fmt(v, 3)} CPU-s/p-min, no verdict on the target.`
        : `Target (docs/engine-costs.md: lk load-test ${TARGET.cpuPerPMin} CPU-s/p-min at ${TARGET.rooms} rooms of 1+4 audio): **${met ? "met" : "not met"}** - ${fmt(v, 3)} CPU-s/p-min (${met ? "" : "+"}${fmt((v / TARGET.cpuPerPMin - 1) * 100, 0)}% vs ${TARGET.cpuPerPMin}).`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** Where the server listened: loopback, or a `--network` run's client namespace link. */
function serverPlace(swarmArgs: readonly string[]): string {
  const i = swarmArgs.indexOf("--network");
  return i < 0 ? "loopback" : `clients in a ${swarmArgs[i + 1] ?? "?"} network namespace, server on its veth`;
}

/** One line per measured point, for the console. */
export function pointLine(p: Point): string {
  return (
    `${p.workload} ${p.rooms} room(s), ${p.participants} participants: ` +
    `${fmt(p.generator?.cpuPerPMin, 3)} CPU-s/p-min (${fmt(p.generator?.cores)} cores), server ${fmt(p.server?.cpuPerPMin, 3)} (generator/server ${ratioCell(generatorServerRatio(p))}), ` +
    `RSS ${fmt(p.rss?.perParticipantMiB, 1)} MiB/p, PSS ${fmt(p.pss?.perParticipantMiB, 1)} MiB/p${p.paths !== undefined ? `, paths ${pathsCell(p.paths)}` : ""}, loss p95 ${pct(p.lossP95)}, other load ${fmt(p.otherCores)} cores` +
    (p.keptUp ? "" : ` - did not keep up: ${p.reasons.join("; ")}`)
  );
}
