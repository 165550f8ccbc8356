import { resolve, join } from "node:path";
import { describeFault, runDrill, type DrillJournal } from "@livekit-swarm/chaos";
import {
  ExitCode,
  formatDuration,
  loadDrill,
  type Drill,
  type DrillFault,
  type FaultTarget,
  type Percentiles,
  type RecoveryBounds,
} from "@livekit-swarm/schema";
import { UsageError } from "../../errors.js";
import type { ChaosFlags } from "./options.js";
import { Interruption, newRunId, planRun, shapeOf } from "@livekit-swarm/load";

export async function chaos(
  action: string | undefined,
  file: string | undefined,
  flags: ChaosFlags,
): Promise<number> {
  if (action !== "run" || file === undefined) {
    throw new UsageError(
      `chaos: expected \`swarm chaos run <drill.yaml>\`${action !== undefined && action !== "run" ? `, got "${action}"` : ""}; see \`swarm chaos --help\``,
    );
  }
  // a ConfigError names the file and key path; the error boundary prints it and exits 1
  const drill = await loadDrill(file);
  if (flags.dryRun === true) {
    process.stdout.write(planText(drill));
    return ExitCode.ok;
  }

  const runId = newRunId();
  const outputDir = resolve(flags.output ?? join("chaos-results", `${drill.name}-${runId}`));
  const log = (line: string): void => {
    process.stderr.write(`[${new Date().toISOString().slice(11, 23)}] ${line}\n`);
  };
  const interruption = new Interruption(log, {
    first: (sig) =>
      `${sig}: rolling back every fault, draining the swarm and writing the journal (again to hurry)`,
    second: "second signal: killing the swarm's workers now (faults are still rolled back)",
  }).listen();
  let journal: DrillJournal;
  try {
    log(`drill ${drill.name}: run ${runId}, results in ${outputDir}`);
    journal = await runDrill({
      drill,
      runId,
      outputDir,
      log,
      interrupt: interruption.interrupt,
      force: interruption.force,
    });
  } finally {
    interruption.close();
  }
  if (flags.json === true) process.stdout.write(`${JSON.stringify(journal, null, 2)}\n`);
  else process.stdout.write(summaryText(journal));
  // the journal says interrupted (130) for either signal; SIGTERM exits 143 as every command does
  return interruption.signal === "SIGTERM" ? ExitCode.terminated : journal.exitCode;
}

function ms(value: number | null): string {
  return value === null ? "–" : `${(value / 1000).toFixed(1)} s`;
}

function summaryText(j: DrillJournal): string {
  const a = j.aggregates;
  const lost = Object.entries(a.lostByReason)
    .map(([r, n]) => `${r} ${n}`)
    .join(", ");
  return [
    `${j.verdict.toUpperCase()} (${j.status}): ${j.reason}`,
    `participants: ${a.affected} of ${a.participants} affected; paths resume ${a.paths.resume}, full ${a.paths.full}, rejoin ${a.paths.rejoin}; lost ${lost === "" ? "0" : lost}`,
    `detect p50 ${ms(a.detect.p50)} p95 ${ms(a.detect.p95)} | reconnect p50 ${ms(a.reconnect.p50)} p95 ${ms(a.reconnect.p95)} max ${ms(a.reconnect.max)} | media resume p50 ${ms(a.mediaResume.p50)} p95 ${ms(a.mediaResume.p95)} max ${ms(a.mediaResume.max)}`,
    a.signalPaths === null
      ? "by population: signal paths unknown for this backend"
      : `by population: ${a.byPopulation.map((p) => `${p.population} ${p.affected}/${p.participants} detect p50 ${ms(p.detect.p50)} max ${ms(p.detect.max)}`).join(" | ")}`,
    ...j.expectations.map(
      (e) =>
        `  ${e.met === true ? "ok  " : e.met === false ? "FAIL" : "n/a "} ${e.name}: ${e.observed} (expected ${e.expected})`,
    ),
    ...j.findings.map((f) => `  finding (${f.severity}): ${f.title}: ${f.detail}`),
    `journal ${j.artifacts.journal ?? ""}`,
    `report  ${j.artifacts.report ?? ""}`,
    `junit   ${j.artifacts.junit ?? ""}`,
    "",
  ].join("\n");
}

function targetWords(t: FaultTarget): string {
  switch (t.kind) {
    case "busiest-room-node":
      return "the node hosting the busiest room";
    case "random-node":
      return "a random node";
    case "all-nodes":
      return "every node";
    case "node":
      return `node ${t.index}`;
    case "share-of-nodes":
      return `${Math.round(t.share * 100)}% of nodes, at random`;
    case "ref":
      return `the nodes ${t.fault} hit`;
    case "redis":
      return "redis";
    case "participants":
      return `${Math.round(t.share * 100)}% of participants${t.busiestRoomOnly ? " of the busiest room" : ""}`;
    case "every-room":
      return "every room";
  }
}

function percentilesText(name: string, p: Percentiles | null): string[] {
  if (p === null) return [];
  return [
    ...(p.p50 !== null ? [`${name} p50 <= ${formatDuration(p.p50)}`] : []),
    ...(p.p95 !== null ? [`${name} p95 <= ${formatDuration(p.p95)}`] : []),
    ...(p.max !== null ? [`${name} max <= ${formatDuration(p.max)}`] : []),
  ];
}

function byPopulation(name: string, b: RecoveryBounds): string {
  return b.population === null ? name : `${name} (${b.population})`;
}

/** The dry run: what the drill would do, in order, with nothing started. */
export function planText(drill: Drill): string {
  const s = drill.workload.scenario;
  const plan = planRun(shapeOf(s));
  const t = drill.target;
  const lines: string[] = [`drill ${drill.name}${drill.file !== null ? ` (${drill.file})` : ""}`];
  if (drill.description !== "") lines.push(`  ${drill.description}`);
  lines.push(
    t.backend === "local"
      ? `target: local testbed ${t.testbed !== null ? `"${t.testbed}" (attached)` : `of ${t.nodes} node(s)${t.nodes > 1 ? " + redis + haproxy" : ""}${t.netns ? ", a network namespace per node" : ""}${t.prometheus ? " + prometheus" : ""}, started for the drill and taken down after`}`
      : t.backend === "compose"
        ? `target: docker compose${t.project !== null ? ` project ${t.project}` : ""}, nodes ${t.nodes.join(", ")}, at ${t.url}`
        : `target: kubernetes namespace ${t.namespace}, pods ${t.nodeSelector}, at ${t.url}`,
    `workload: ${plan.rooms.length} room(s), ${plan.participants.length} participants (video publishers ${s.videoPublishers}, audio publishers ${s.audioPublishers}, subscribers ${s.subscribers} per room); rejoin after the SDK gives up: ${drill.workload.rejoin ? "yes" : "no"}`,
    "steady state:",
    ...(drill.steadyState.connected !== null
      ? [`  participants connected >= ${Math.round(drill.steadyState.connected * 100)}%`]
      : []),
    ...(drill.steadyState.mediaFlowing !== null
      ? [`  subscribed tracks receiving >= ${Math.round(drill.steadyState.mediaFlowing * 100)}%`]
      : []),
    ...(drill.steadyState.maxLoss !== null
      ? [`  packet loss <= ${(drill.steadyState.maxLoss * 100).toFixed(1)}%`]
      : []),
    ...drill.steadyState.prometheus.map((p) =>
      `  prometheus ${p.query} ${p.min !== null ? `>= ${p.min}` : ""} ${p.max !== null ? `<= ${p.max}` : ""}`.trimEnd(),
    ),
    "timeline:",
    `  join       ${plan.participants.length} participants over ${formatDuration(plan.rampMs)}, then a ${formatDuration(drill.baseline)} baseline`,
  );
  for (const f of [...drill.faults].sort((a, b) => a.at - b.at)) lines.push(...faultLines(drill, f));
  lines.push(
    `  observe    ${formatDuration(drill.observe)} after the last fault's T0, then roll back every fault still active`,
    `  after      ${formatDuration(drill.after)} to compare quality with the baseline, then steady state again`,
    "expectations:",
    ...[
      ...(drill.expect.detect ?? []).flatMap((b) => percentilesText(byPopulation("detect", b), b)),
      ...(drill.expect.reconnect ?? []).flatMap((b) => percentilesText(byPopulation("reconnect", b), b)),
      ...percentilesText("media resume", drill.expect.mediaResume),
      ...(drill.expect.participantsLost !== null
        ? [`participants lost <= ${drill.expect.participantsLost}`]
        : []),
      ...(drill.expect.ghosts !== null ? [`ghost participants <= ${drill.expect.ghosts}`] : []),
      ...(drill.expect.consistentWithin !== null
        ? [`server view consistent within ${formatDuration(drill.expect.consistentWithin)}`]
        : []),
      ...(drill.expect.qualityAfter?.maxLoss != null
        ? [`loss after <= ${(drill.expect.qualityAfter.maxLoss * 100).toFixed(1)}%`]
        : []),
      ...(drill.expect.qualityAfter?.maxLossVsBaseline != null
        ? [`loss after <= ${drill.expect.qualityAfter.maxLossVsBaseline}x baseline`]
        : []),
      ...(drill.expect.qualityAfter?.minBitrateVsBaseline != null
        ? [`bitrate after >= ${drill.expect.qualityAfter.minBitrateVsBaseline}x baseline`]
        : []),
    ].map((l) => `  ${l}`),
    `abort: after ${formatDuration(drill.abort.maxDuration)}${drill.abort.maxNodes !== null ? `; before hitting more than ${drill.abort.maxNodes} node(s)` : ""}${drill.abort.maxParticipantsDown !== null ? `; when over ${Math.round(drill.abort.maxParticipantsDown * 100)}% of participants are down for ${formatDuration(drill.abort.downFor)}` : ""}`,
    "dry run: nothing was started, no fault was injected",
    "",
  );
  return lines.join("\n");
}

function faultLines(drill: Drill, f: DrillFault): string[] {
  const at = `+${formatDuration(f.at)}`.padEnd(10);
  const what = describeFault(drill, f);
  return [
    `  ${at} ${f.id}: ${f.type} on ${targetWords(f.target)}; confirm within ${formatDuration(f.confirmWithin)}${f.duration !== null ? `; revert after ${formatDuration(f.duration)}` : ""}`,
    ...what.map((w) => `             ${w}`),
  ];
}
