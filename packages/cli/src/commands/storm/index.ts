import { SwarmExporter } from "@livekit-swarm/exporter";
import { parseThreshold } from "@livekit-swarm/gate";
import { runStorm, stormSection } from "@livekit-swarm/load";
import { ExitCode, formatDuration, quoted } from "@livekit-swarm/schema";
import { UsageError } from "../../errors.js";
import { targetFrom } from "../../session/run-session.js";
import type { StormFlags } from "./options.js";

/**
 * The k6 options `--set` may carry besides the scripts' own STORM_* settings: they change how k6
 * talks to the server, nothing it writes or loads. Others reach k6's environment unchecked
 * (K6_LOG_OUTPUT=file=... wrote outside the output folder, LD_PRELOAD was handed to k6).
 */
export const K6_SETTINGS: readonly string[] = [
  "K6_INSECURE_SKIP_TLS_VERIFY",
  "K6_NO_CONNECTION_REUSE",
  "K6_USER_AGENT",
  "K6_DNS",
  "K6_SETUP_TIMEOUT",
  "K6_TEARDOWN_TIMEOUT",
];

/** --set NAME=value: script settings; the keys are not settings, they travel separately. */
export function settings(
  flags: Pick<StormFlags, "set" | "rate" | "vus" | "duration">,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of flags.set ?? []) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (m === null)
      throw new UsageError(
        `storm: --set: expected NAME=value (e.g. STORM_HOLD_MAX_S=20), got ${quoted(pair)}`,
      );
    const [, name = "", value = ""] = m;
    if (name.startsWith("LIVEKIT_"))
      throw new UsageError(
        `storm: --set ${name}: pass the server and keys with --url/--api-key and LIVEKIT_API_SECRET`,
      );
    if (!/^STORM_[A-Z0-9_]+$/.test(name) && !K6_SETTINGS.includes(name))
      throw new UsageError(
        `storm: --set ${name}: expected a script setting (STORM_*, each script's header lists its own) or one of the k6 options ${K6_SETTINGS.join(", ")}`,
      );
    out[name] = value;
  }
  if (flags.rate !== undefined) out.STORM_RATE = String(flags.rate);
  if (flags.vus !== undefined) out.STORM_VUS = String(flags.vus);
  if (flags.duration !== undefined) out.STORM_DURATION = formatDuration(flags.duration);
  return out;
}

export async function storm(scenario: string, flags: StormFlags): Promise<number> {
  const thresholds = (flags.threshold ?? []).map((t) => parseThreshold(t));
  const target = targetFrom("storm", flags);
  const result = await runStorm({
    script: scenario,
    ...(target !== undefined ? { target } : {}),
    settings: settings(flags),
    thresholds,
    ...(flags.output !== undefined ? { outputDir: flags.output } : {}),
    log: (line) => process.stderr.write(`swarm: ${line}\n`),
    ...(flags.metricsPort !== undefined
      ? {
          metrics: {
            port: flags.metricsPort,
            host: flags.metricsHost,
            lingerMs: flags.linger ?? 0,
            create: ({ runId, scenario: name }) => new SwarmExporter({ scenario: name, runId }),
          },
        }
      : {}),
  });
  if (flags.json === true) process.stdout.write(`${JSON.stringify(result.report, null, 2)}\n`);
  else {
    process.stdout.write(stormSection(result.report));
    const mark = { pass: "pass   ", fail: "FAIL   ", warn: "warn   ", "no-data": "NO DATA" } as const;
    for (const r of result.report.thresholds) process.stdout.write(`  ${mark[r.status]} ${r.message}\n`);
    process.stdout.write(
      `${result.exitCode === ExitCode.thresholdsFailed ? "thresholds FAILED (exit 99)" : "storm finished"}; results in ${result.outputDir}\n`,
    );
  }
  return result.exitCode;
}
