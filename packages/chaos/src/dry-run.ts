import { planRun, shapeOf } from "@livekit-swarm/load";
import {
  formatDuration,
  type Drill,
  type DrillFault,
  type FaultTarget,
  type Percentiles,
  type RecoveryBounds,
} from "@livekit-swarm/schema";
import { describeFault } from "./runner/targets.js";

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
export function drillPlanText(drill: Drill): string {
  const s = drill.workload.scenario;
  const plan = planRun(shapeOf(s));
  const t = drill.target;
  const lines: string[] = [`drill ${drill.name}${drill.file !== null ? ` (${drill.file})` : ""}`];
  if (drill.description !== "") lines.push(`  ${drill.description}`);
  lines.push(
    t.backend === "local"
      ? `target: local testbed ${t.testbed !== null ? `"${t.testbed}" (attached)` : `of ${t.nodes} node(s)${t.nodes > 1 ? " + redis + haproxy" : ""}${t.netns ? ", a network namespace per node" : ""}${t.prometheus ? " + prometheus" : ""}${t.turn ? ", LiveKit's built-in TURN on each node" : ""}, started for the drill and taken down after`}`
      : t.backend === "compose"
        ? `target: docker compose${t.project !== null ? ` project ${t.project}` : ""}, nodes ${t.nodes.join(", ")}, at ${t.url}`
        : `target: kubernetes namespace ${t.namespace}, pods ${t.nodeSelector}, at ${t.url}`,
    `workload: ${plan.rooms.length} room(s), ${plan.participants.length} participants (video publishers ${s.videoPublishers}, audio publishers ${s.audioPublishers}, subscribers ${s.subscribers} per room); rejoin after the SDK gives up: ${drill.workload.rejoin ? "yes" : "no"}`,
    ...(s.networkProfiles !== undefined
      ? [
          `  network profiles: ${Object.entries(s.networkProfiles)
            .filter(([, share]) => share > 0)
            .map(([name, share]) => `${name} ${formatShare(share)}`)
            .join(", ")} (a client namespace per restrictive profile, docs/transport.md)`,
        ]
      : []),
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

/** A profile's share (0 to 1) as written in a scenario: 0.15 -> "15%", 0.125 -> "12.5%". */
function formatShare(share: number): string {
  return `${Number((share * 100).toFixed(1))}%`;
}
