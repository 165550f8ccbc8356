import { Command, Option } from "@commander-js/extra-typings";
import { integer, withLivekitOptions, type FlagsOf, outputOption } from "../../flags.js";

export const EXAMPLES = [
  "LIVEKIT_API_SECRET=S swarm canary --url wss://livekit.example.com --api-key K",
  "swarm canary --metrics-host 0.0.0.0 --metrics-port 9464     # in a container, scraped by Prometheus",
];

export function define() {
  return withLivekitOptions(new Command("canary"), "LiveKit server; none: start an embedded local testbed")
    .summary("a small swarm that stays connected and exports metrics: synthetic monitoring")
    .description(
      "Synthetic monitoring of a LiveKit deployment: one room with one camera-and-mic publisher and one subscriber " +
        "that decodes video, connected until stopped. A participant that is kicked, dropped or cannot join comes back " +
        "(1 s, backing off to 30 s). The run's metrics (lkswarm_*) are served on /metrics the whole time, for " +
        "Prometheus, the dashboards and the alerts. Ctrl-C stops it and writes the report.",
    )
    .allowExcessArguments(true)
    .addOption(
      new Option("--metrics-port <port>", "port of /metrics, 1 to 65535")
        .default(9464)
        .argParser(integer("canary", "metrics-port", 1, 65535)),
    )
    .option("--metrics-host <address>", "address /metrics binds (0.0.0.0 in a container)", "127.0.0.1")
    .option("--room <prefix>", "room name prefix (the room is <prefix>1)", "lkswarm-canary-")
    .option("--audio-only", "publish audio only")
    .addOption(outputOption("canary", "where the report goes when stopped"));
}

export type CanaryFlags = FlagsOf<typeof define>;
