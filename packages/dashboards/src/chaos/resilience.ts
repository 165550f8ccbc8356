import { panel, type Row } from "../common.js";
import { RUN } from "../swarm/selectors.js";

export function resilienceRow(): Row {
  return {
    title: "Connections through the fault",
    panels: [
      panel({
        title: "Participants connected",
        description: "Swarm participants by state over time: the dip and the recovery around each fault.",
        unitOf: "lkswarm_participants",
        stack: true,
        queries: [
          { expr: `sum by (state) (lkswarm_participants{${RUN}})`, legend: "{{state}}" },
        ],
      }),
      panel({
        title: "Reconnects",
        description: "Reconnects per interval, by role.",
        unitOf: "lkswarm_reconnects_total",
        queries: [
          {
            expr: `sum by (role) (increase(lkswarm_reconnects_total{${RUN}}[$__rate_interval]))`,
            legend: "{{role}}",
          },
        ],
      }),
      panel({
        title: "Disconnects by reason",
        description: "Unrequested disconnects per interval, by LiveKit disconnect reason.",
        unitOf: "lkswarm_disconnects_total",
        queries: [
          {
            expr: `sum by (reason) (increase(lkswarm_disconnects_total{${RUN}}[$__rate_interval]))`,
            legend: "{{reason}}",
          },
        ],
      }),
    ],
  };
}
