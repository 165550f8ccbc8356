import { buildDashboard, type ClassicDashboard, datasourceVariable, labelVariable } from "../common.js";
import { mediaRow } from "./media.js";
import { sessionsRow } from "./sessions.js";
import { signallingRow } from "./signalling.js";

export function livekitServerDashboard(): ClassicDashboard {
  return buildDashboard({
    uid: "lkswarm-livekit-server",
    title: "LiveKit swarm: server",
    description: "livekit-server v1.13 nodes under load, per scrape instance",
    tags: ["livekit"],
    variables: [
      datasourceVariable(),
      labelVariable("job", "job", "label_values(livekit_room_total, job)"),
      labelVariable("instance", "instance", 'label_values(livekit_room_total{job=~"$job"}, instance)'),
    ],
    rows: [sessionsRow(), signallingRow(), mediaRow()],
  });
}
