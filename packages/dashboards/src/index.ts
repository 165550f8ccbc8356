import type { ClassicDashboard } from "./common.js";
import { chaosDrillDashboard } from "./chaos/index.js";
import { livekitServerDashboard } from "./server/index.js";
import { shareableDashboard } from "./share.js";
import { swarmQualityDashboard } from "./swarm/index.js";

export { GENERATED_NOTICE, type ClassicDashboard } from "./common.js";
export { FAULT_TAG } from "./chaos/faults.js";
export { DATASOURCE_INPUT, GRAFANA_VERSION, shareableDashboard, type ShareableDashboard } from "./share.js";
export { lintDashboard, lintDashboards, type LintProblem } from "./lint.js";
export { chaosDrillDashboard, livekitServerDashboard, swarmQualityDashboard };

/** Repo-relative path of each generated dashboard. */
export function dashboards(): Map<string, ClassicDashboard> {
  return new Map([
    ["dashboards/swarm-quality.json", swarmQualityDashboard()],
    ["dashboards/livekit-server.json", livekitServerDashboard()],
    ["dashboards/chaos-drill.json", chaosDrillDashboard()],
  ]);
}

/** Repo-relative path → JSON text, exactly as committed. */
export function renderDashboards(): Map<string, string> {
  return new Map(
    [...dashboards()].map(([path, d]) => [path, `${JSON.stringify(d, null, 2)}\n`] as const),
  );
}

/** Repo-relative path of each dashboard → its shareable export's JSON text (a release asset, not committed). */
export function renderShareableDashboards(): Map<string, string> {
  return new Map(
    [...dashboards()].map(([path, d]) => [path, `${JSON.stringify(shareableDashboard(d), null, 2)}\n`] as const),
  );
}
