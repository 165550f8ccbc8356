import { parseScenarioObject } from "@livekit-swarm/schema";
import { exporterMetrics, runAndRender, targetFrom } from "../../session/run-session.js";
import type { CanaryFlags } from "./options.js";

export async function canary(flags: CanaryFlags): Promise<number> {
  const audioOnly = flags.audioOnly === true;
  const scenario = parseScenarioObject(
    {
      name: "canary",
      rooms: 1,
      "video-publishers": audioOnly ? 0 : 1,
      "audio-publishers": 1,
      subscribers: 1,
      "latency-probes": audioOnly ? 0 : 1,
      video: { simulcast: false },
      "room-prefix": flags.room,
    },
    "canary --room",
  );
  const target = targetFrom("canary", flags);
  return runAndRender(
    {
      scenario,
      forever: true,
      ...(target !== undefined ? { target } : {}),
      ...(flags.output !== undefined ? { outputDir: flags.output } : {}),
      metrics: exporterMetrics({ port: flags.metricsPort, host: flags.metricsHost }, false),
    },
    false,
  );
}
