import { SwarmExporter } from "../src/exporter.js";

/** An exporter that has seen one join, so its registry has series to serve or push (tests only). */
export function exporterWithAJoin(): SwarmExporter {
  const exporter = new SwarmExporter({ scenario: "smoke", runId: "run-42" });
  exporter.onEvent(
    { t: 1000, room: "room-a", participant: "sub-1", role: "subscriber", worker: 0 },
    { type: "joined", joinS: 0.3 },
  );
  return exporter;
}
