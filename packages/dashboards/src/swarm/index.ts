import { buildDashboard, type ClassicDashboard, datasourceVariable, labelVariable } from "../common.js";
import { latencyRow } from "./latency.js";
import { mediaRow } from "./media.js";
import { participantsRow } from "./participants.js";
import { stormRow } from "./storm.js";

/**
 * Where runs are listed from: a media run always has lkswarm_participants, a storm (`swarm storm`)
 * only its join counter, which it creates at 0 before k6 starts.
 */
export function runsSelector(matchers = ""): string {
  const name = '__name__=~"lkswarm_participants|lkswarm_storm_joins_total"';
  return `{${matchers === "" ? name : `${name}, ${matchers}`}}`;
}

export function swarmQualityDashboard(): ClassicDashboard {
  return buildDashboard({
    uid: "lkswarm-quality",
    title: "LiveKit swarm: quality",
    description:
      "What the swarm's participants saw: joins, media quality and latency, and a signalling storm's joins, per scenario and run",
    tags: ["swarm"],
    variables: [
      datasourceVariable(),
      labelVariable("scenario", "Scenario", `label_values(${runsSelector()}, scenario)`),
      labelVariable("run_id", "Run", `label_values(${runsSelector('scenario=~"$scenario"')}, run_id)`),
    ],
    rows: [participantsRow(), mediaRow(), latencyRow(), stormRow()],
  });
}
