import { parseDuration } from "@livekit-swarm/schema";
import { ExitCode } from "@livekit-swarm/schema";
import { defaultThresholds, parseThreshold, type Threshold } from "@livekit-swarm/gate";
import { helpText, parseOptions, UsageError, type CommandSpec, type OptionValues } from "../../options.js";
import { resolveScenario } from "../../session/scenario.js";
import { exporterMetrics, runAndRender, targetFrom } from "../../session/run-session.js";

/** Flags that set scenario keys: flag name -> key path in the scenario file. */
const SCENARIO_FLAGS: Record<string, string> = {
  rooms: "rooms",
  "video-publishers": "video-publishers",
  "audio-publishers": "audio-publishers",
  subscribers: "subscribers",
  "publishers-subscribe": "publishers-subscribe",
  duration: "duration",
  "num-per-second": "num-per-second",
  "video-resolution": "video.resolution",
  "video-codec": "video.codec",
  "video-fps": "video.fps",
  "subscribe-limit": "subscribe-limit",
  "room-prefix": "room-prefix",
  "identity-prefix": "identity-prefix",
  "latency-probes": "latency-probes",
  data: "data",
  name: "name",
};

export const SPEC: CommandSpec = {
  name: "run",
  summary:
    "Runs a swarm of headless participants (native @livekit/rtc-node engine) in many rooms, publishing audio and " +
    "video, and reports what users would feel: join time, first frame, loss, jitter, RTT, freezes, bitrate, " +
    "reconnects, end-to-end latency. Without --url it starts an embedded local LiveKit and runs against it. " +
    "Flags override the scenario file. Writes summary.json, samples.jsonl, events.jsonl and report.html.",
  usage: "swarm [run] [options]",
  options: [
    {
      name: "url",
      type: "string",
      env: "LIVEKIT_URL",
      placeholder: "ws://host:7880",
      description: "LiveKit server; none: start an embedded local testbed",
    },
    { name: "api-key", type: "string", env: "LIVEKIT_API_KEY", description: "API key" },
    {
      name: "api-secret",
      type: "string",
      env: "LIVEKIT_API_SECRET",
      description: "API secret (never printed)",
    },
    {
      name: "scenario",
      type: "string",
      placeholder: "file.yaml",
      description: "scenario file (see scenarios/)",
    },
    { name: "rooms", type: "integer", description: "rooms (default 1)" },
    {
      name: "video-publishers",
      type: "integer",
      description: "publishers per room sending video (default 1)",
    },
    {
      name: "audio-publishers",
      type: "integer",
      description: "publishers per room sending audio, the same participants as video first (default 1)",
    },
    { name: "subscribers", type: "integer", description: "receive-only participants per room (default 1)" },
    {
      name: "publishers-subscribe",
      type: "boolean",
      description: "publishers also receive each other (a conference)",
    },
    {
      name: "duration",
      type: "string",
      placeholder: "30s",
      description: "how long the full swarm holds after the last join (default 30s)",
    },
    { name: "num-per-second", type: "number", description: "joins per second (default 5)" },
    {
      name: "video-resolution",
      type: "string",
      placeholder: "360p",
      description: "180p, 360p, 540p, 720p, 1080p or WxH",
    },
    { name: "video-codec", type: "string", placeholder: "vp8", description: "vp8, h264, vp9 or av1" },
    { name: "video-fps", type: "integer", description: "video frames per second" },
    {
      name: "no-simulcast",
      type: "boolean",
      description: "publish one video layer (cheaper for bulk publishers)",
    },
    { name: "simulcast", type: "boolean", description: "publish simulcast layers (the default)" },
    {
      name: "subscribe-limit",
      type: "integer",
      description: "publishers each subscriber subscribes to at most",
    },
    { name: "data", type: "boolean", description: "publishers send a reliable data packet every second" },
    {
      name: "latency-probes",
      type: "integer",
      description: "subscribers per room that decode video to measure latency (default 1)",
    },
    { name: "room-prefix", type: "string", description: "room name prefix (default: lkswarm-<run id>-)" },
    { name: "identity-prefix", type: "string", description: "participant identity prefix" },
    { name: "name", type: "string", description: "run name, the scenario label of metrics" },
    {
      name: "threshold",
      type: "strings",
      placeholder: "expr",
      description:
        'quality gate, repeatable: "lkswarm_inbound_loss_ratio{kind=video} p95 over participants < 2%"; a fail breach exits 99',
    },
    {
      name: "gate",
      type: "string",
      placeholder: "default",
      description: "add the catalog's default thresholds",
    },
    {
      name: "metrics-port",
      type: "integer",
      description: "serve Prometheus /metrics on this port during the run (0: pick one)",
    },
    { name: "metrics-host", type: "string", default: "127.0.0.1", description: "address /metrics binds" },
    {
      name: "linger",
      type: "string",
      placeholder: "15s",
      description: "keep /metrics up this long after the run, for a final scrape",
    },
    {
      name: "pushgateway",
      type: "string",
      placeholder: "url",
      description: "push final metrics to a Pushgateway",
    },
    {
      name: "per-participant-labels",
      type: "boolean",
      description: "room and participant labels on metrics (small runs only: cardinality)",
    },
    {
      name: "output",
      type: "string",
      short: "o",
      placeholder: "dir",
      description: "where reports go (default swarm-results/<run id>)",
    },
    { name: "json", type: "boolean", description: "print summary.json to stdout instead of the table" },
    {
      name: "workers",
      type: "integer",
      description: "worker processes (default: one per ~100 participants, at most one per core)",
    },
    {
      name: "stats-interval",
      type: "string",
      placeholder: "5s",
      default: "5s",
      description: "getStats sampling interval (every 1 s costs +39% CPU)",
    },
  ],
  examples: [
    "swarm                                          # 1 room against an embedded local LiveKit",
    "swarm --rooms 500 --video-publishers 1 --subscribers 4 --duration 5m",
    "swarm --scenario scenarios/conference-720p.yaml --url wss://lk.example.com",
    "LIVEKIT_URL=ws://127.0.0.1:7880 LIVEKIT_API_KEY=k LIVEKIT_API_SECRET=s swarm --rooms 10 --no-simulcast",
    "swarm --rooms 3 --json > summary.json",
    'swarm --rooms 20 --gate default --threshold "lkswarm_join_duration_seconds p99 < 2s"   # exit 99 on a breach',
  ],
};

function scenarioKeys(values: OptionValues): Map<string, unknown> {
  const keys = new Map<string, unknown>();
  for (const [flag, path] of Object.entries(SCENARIO_FLAGS)) {
    if (values[flag] !== undefined) keys.set(path, values[flag]);
  }
  if (values["no-simulcast"] === true && values.simulcast === true) {
    throw new UsageError("run: --simulcast and --no-simulcast contradict each other: pass one");
  }
  if (values["no-simulcast"] === true) keys.set("video.simulcast", false);
  if (values.simulcast === true) keys.set("video.simulcast", true);
  return keys;
}

export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parseOptions(SPEC, argv);
  if (values.help === true) {
    process.stdout.write(helpText(SPEC));
    return ExitCode.ok;
  }
  const { scenario, roomPrefixPerRun } = await resolveScenario(
    values.scenario as string | undefined,
    scenarioKeys(values),
  );
  const thresholds = flagThresholds(values);
  const target = targetFrom("run", {
    url: values.url as string | undefined,
    apiKey: values["api-key"] as string | undefined,
    apiSecret: values["api-secret"] as string | undefined,
  });
  const metricsPort = values["metrics-port"] as number | undefined;
  const pushgateway = values.pushgateway as string | undefined;
  const linger = values.linger as string | undefined;
  const output = values.output as string | undefined;
  const workers = values.workers as number | undefined;
  return runAndRender(
    {
      scenario,
      roomPrefixPerRun,
      ...(target !== undefined ? { target } : {}),
      thresholds,
      statsIntervalMs: parseInterval(values["stats-interval"] as string),
      ...(output !== undefined ? { outputDir: output } : {}),
      ...(workers !== undefined ? { workers } : {}),
      ...(metricsPort !== undefined || pushgateway !== undefined
        ? {
            metrics: exporterMetrics(
              {
                ...(metricsPort !== undefined ? { port: metricsPort } : {}),
                host: values["metrics-host"] as string,
                ...(pushgateway !== undefined ? { pushgateway } : {}),
                lingerMs: linger !== undefined ? parseDurationFlag("linger", linger) : 0,
              },
              values["per-participant-labels"] === true,
            ),
          }
        : {}),
    },
    values.json === true,
  );
}

/** --threshold flags, then the catalog's defaults with --gate default (the scenario's come first). */
function flagThresholds(values: OptionValues): Threshold[] {
  const gate = values.gate as string | undefined;
  if (gate !== undefined && gate !== "default") {
    throw new UsageError(
      `run: --gate: expected "default" (the catalog's thresholds), got ${JSON.stringify(gate)}`,
    );
  }
  const written = ((values.threshold as string[] | undefined) ?? []).map((t) => parseThreshold(t));
  return [...written, ...(gate === "default" ? defaultThresholds() : [])];
}

function parseDurationFlag(flag: string, text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new UsageError(`run: --${flag}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function parseInterval(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text);
  if (match === null)
    throw new UsageError(
      `run: --stats-interval: expected a duration like 5s or 500ms, got ${JSON.stringify(text)}`,
    );
  const ms = Number(match[1]) * (match[2] === "ms" ? 1 : 1000);
  if (ms < 200) throw new UsageError(`run: --stats-interval: ${text} is too short; 200ms is the least`);
  return ms;
}
