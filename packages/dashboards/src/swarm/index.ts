import { buildDashboard, type ClassicDashboard, datasourceVariable, labelVariable } from "../common.js";
import { latencyRow } from "./latency.js";
import { mediaRow } from "./media.js";
import { participantsRow } from "./participants.js";

export function swarmQualityDashboard(): ClassicDashboard {
  return buildDashboard({
    uid: "lkswarm-quality",
    title: "LiveKit swarm: quality",
    description: "What the swarm's participants saw: joins, media quality and latency, per scenario and run",
    tags: ["swarm"],
    variables: [
      datasourceVariable(),
      labelVariable("scenario", "Scenario", "label_values(lkswarm_participants, scenario)"),
      labelVariable("run_id", "Run", 'label_values(lkswarm_participants{scenario=~"$scenario"}, run_id)'),
    ],
    rows: [participantsRow(), mediaRow(), latencyRow()],
  });
}
