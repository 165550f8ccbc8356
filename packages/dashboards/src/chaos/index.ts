import { buildDashboard, type ClassicDashboard, datasourceVariable, labelVariable } from "../common.js";
import { faultAnnotations } from "./faults.js";
import { qualityRow } from "./quality.js";
import { resilienceRow } from "./resilience.js";

export function chaosDrillDashboard(): ClassicDashboard {
  return buildDashboard({
    uid: "lkswarm-chaos-drill",
    title: "LiveKit swarm: chaos drill",
    description: "Reconnects, disconnects and quality around injected faults (fault annotations tagged lkswarm-fault)",
    tags: ["swarm", "chaos"],
    variables: [
      datasourceVariable(),
      labelVariable("scenario", "Scenario", "label_values(lkswarm_participants, scenario)"),
      labelVariable("run_id", "Run", 'label_values(lkswarm_participants{scenario=~"$scenario"}, run_id)'),
    ],
    annotations: [faultAnnotations()],
    rows: [resilienceRow(), qualityRow()],
  });
}
