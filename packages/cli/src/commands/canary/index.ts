import { ExitCode } from "@livekit-swarm/schema";
import { helpText, parseOptions, type CommandSpec } from "../../options.js";
import { execute, SPEC as RUN_SPEC } from "../run/index.js";

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
  const runArgs = [
    "--name",
    "canary",
    "--rooms",
    "1",
    "--video-publishers",
    values["audio-only"] === true ? "0" : "1",
    "--audio-publishers",
    "1",
    "--subscribers",
    "1",
    "--latency-probes",
    values["audio-only"] === true ? "0" : "1",
    "--no-simulcast",
    "--room-prefix",
    values.room as string,
    "--metrics-port",
    String(values["metrics-port"]),
    "--metrics-host",
    values["metrics-host"] as string,
  ];
  for (const flag of ["url", "api-key", "api-secret", "output"] as const) {
    const v = values[flag];
    if (typeof v === "string" && v !== "") runArgs.push(`--${flag}`, v);
  }
  return execute(parseOptions(RUN_SPEC, runArgs).values, { rejoin: true, forever: true });
}
