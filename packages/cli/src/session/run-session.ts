import { SwarmExporter } from "@livekit-swarm/exporter";
import { githubAnnotations } from "@livekit-swarm/gate";
import {
  runSession,
  type RunMetricsOptions,
  type RunOutputs,
  type RunSessionOptions,
  type RunTarget,
} from "@livekit-swarm/load";
import { quoted, serverUrlProblem } from "@livekit-swarm/schema";
import { UsageError } from "../errors.js";
import { fromEnv } from "../flags.js";
import { SECRET_ON_COMMAND_LINE, apiSecret, type SecretFlags } from "../secret.js";
import { Terminal } from "./terminal.js";

/**
 * --url, --api-key, --api-secret or --api-secret-file (or their LIVEKIT_* variables); no URL: an
 * embedded testbed.
 */
export interface TargetFlags extends SecretFlags {
  readonly url?: string | undefined;
  readonly apiKey?: string | undefined;
}

export function targetFrom(command: string, flags: TargetFlags): RunTarget | undefined {
  const url = flags.url ?? fromEnv("LIVEKIT_URL");
  const apiKey = flags.apiKey ?? fromEnv("LIVEKIT_API_KEY");
  if (url === undefined || url === "") {
    // keys typed on the command line for an embedded LiveKit (which makes its own) would be ignored
    if (flags.apiKey !== undefined || flags.apiSecret !== undefined || flags.apiSecretFile !== undefined)
      throw new UsageError(
        `${command}: --api-key/--api-secret were given without --url, and an embedded LiveKit makes its own keys: pass --url for your server, or drop the keys`,
      );
    return undefined;
  }
  const from = flags.url !== undefined ? "--url" : "LIVEKIT_URL";
  const problem = serverUrlProblem(url);
  if (problem !== undefined) throw new UsageError(`${command}: ${from} ${quoted(url)}: ${problem}`);
  // user:password@ would be echoed by every later error; LiveKit takes keys, not URL credentials
  if (/^[a-z]+:\/\/[^/]*@/i.test(url)) {
    throw new UsageError(
      `${command}: ${from}: remove the user:password@ part; LiveKit takes --api-key and LIVEKIT_API_SECRET, not URL credentials`,
    );
  }
  const { secret, typed } = apiSecret(command, flags);
  if (apiKey === undefined || apiKey === "" || secret === undefined || secret === "") {
    throw new UsageError(
      `${command}: --url needs --api-key and --api-secret (better: LIVEKIT_API_KEY and LIVEKIT_API_SECRET, or --api-secret-file)`,
    );
  }
  if (typed) process.stderr.write(`swarm: ${SECRET_ON_COMMAND_LINE}\n`);
  return { url: url.replace(/^http/, "ws"), apiKey, apiSecret: secret };
}

/** The run's Prometheus metrics, through the exporter (load does not import it). */
export function exporterMetrics(
  options: Omit<RunMetricsOptions, "create">,
  perParticipant: boolean,
): RunMetricsOptions {
  return {
    ...options,
    create: ({ runId, scenario, shard }) =>
      new SwarmExporter({ scenario, runId, perParticipant, ...(shard !== undefined ? { shard } : {}) }),
  };
}

function render(outputs: RunOutputs, json: boolean): void {
  if (outputs.verdict !== undefined && process.env.GITHUB_ACTIONS === "true") {
    for (const line of githubAnnotations(outputs.verdict)) process.stdout.write(`${line}\n`);
  }
  if (json) process.stdout.write(`${JSON.stringify(outputs.report, null, 2)}\n`);
  else {
    // no files: the output folder could not take them (the run's error says why)
    const reports =
      outputs.files.length > 0 ? `reports: ${outputs.outputDir}/{${outputs.files.join(",")}}\n` : "";
    process.stdout.write(`\n${outputs.table}\n${reports}`);
  }
}

/** Runs the session with progress on stderr and the summary on stdout; returns the exit code. */
export async function runAndRender(
  options: Omit<RunSessionOptions, "log" | "onProgress" | "onReport" | "stepSummaryFile">,
  json: boolean,
): Promise<number> {
  const terminal = new Terminal();
  const stepSummary = process.env.GITHUB_STEP_SUMMARY;
  try {
    const result = await runSession({
      ...options,
      ...(stepSummary !== undefined && stepSummary !== "" ? { stepSummaryFile: stepSummary } : {}),
      log: terminal.log,
      onProgress: terminal.progress,
      onReport: (outputs) => {
        terminal.end();
        render(outputs, json);
      },
    });
    return result.exitCode;
  } finally {
    terminal.end();
  }
}
