import { ExitCode } from "@livekit-swarm/schema";
import { helpText, parseOptions, type CommandSpec } from "../../options.js";
import { parseScenarioObject } from "@livekit-swarm/schema";
import { exporterMetrics, runAndRender, targetFrom } from "../../session/run-session.js";

const SPEC: CommandSpec = {
  name: "canary",
  summary:
    "Synthetic monitoring of a LiveKit deployment: one room with one camera-and-mic publisher and one subscriber " +
    "that decodes video, connected until stopped. A participant that is kicked, dropped or cannot join comes back " +
    "(1 s, backing off to 30 s). The run's metrics (lkswarm_*) are served on /metrics the whole time, for " +
    "Prometheus, the dashboards and the alerts. Ctrl-C stops it and writes the report.",
  usage: "swarm canary [options]",
  options: [
    {
      name: "url",
      type: "string",
      env: "LIVEKIT_URL",
      placeholder: "ws://host:7880",
      description: "LiveKit server",
    },
    { name: "api-key", type: "string", env: "LIVEKIT_API_KEY", description: "API key" },
    {
      name: "api-secret",
      type: "string",
      env: "LIVEKIT_API_SECRET",
      description: "API secret (never printed)",
    },
    { name: "metrics-port", type: "integer", default: 9464, description: "port of /metrics" },
    {
      name: "metrics-host",
      type: "string",
      default: "127.0.0.1",
      description: "address /metrics binds (0.0.0.0 in a container)",
    },
    {
      name: "room",
      type: "string",
      default: "lkswarm-canary-",
      description: "room name prefix (the room is <prefix>1)",
    },
    { name: "audio-only", type: "boolean", description: "publish audio only" },
    {
      name: "output",
      type: "string",
      short: "o",
      placeholder: "dir",
      description: "where the report goes when stopped",
    },
  ],
  examples: [
    "swarm canary --url wss://livekit.example.com --api-key K --api-secret S",
    "swarm canary --metrics-host 0.0.0.0 --metrics-port 9464     # in a container, scraped by Prometheus",
  ],
};

export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parseOptions(SPEC, argv);
  if (values.help === true) {
    process.stdout.write(helpText(SPEC));
    return ExitCode.ok;
  }
  const audioOnly = values["audio-only"] === true;
  const scenario = parseScenarioObject(
    {
      name: "canary",
      rooms: 1,
      "video-publishers": audioOnly ? 0 : 1,
      "audio-publishers": 1,
      subscribers: 1,
      "latency-probes": audioOnly ? 0 : 1,
      video: { simulcast: false },
      "room-prefix": values.room as string,
    },
    "canary --room",
  );
  const target = targetFrom("canary", {
    url: values.url as string | undefined,
    apiKey: values["api-key"] as string | undefined,
    apiSecret: values["api-secret"] as string | undefined,
  });
  const output = values.output as string | undefined;
  return runAndRender(
    {
      scenario,
      forever: true,
      ...(target !== undefined ? { target } : {}),
      ...(output !== undefined ? { outputDir: output } : {}),
      metrics: exporterMetrics(
        { port: values["metrics-port"] as number, host: values["metrics-host"] as string },
        false,
      ),
    },
    false,
  );
}
