#!/usr/bin/env node
/** Entry point of `npm run bench`: parse, run, one error boundary, an exit code. */
import { fileURLToPath } from "node:url";
import { CommanderError } from "@commander-js/extra-typings";
import { TestbedError } from "@livekit-swarm/testbed";
import { traceOf } from "@livekit-swarm/schema";
import { dryRunPlan, runBench } from "./bench.js";
import { BenchError } from "./errors.js";
import { benchCommand, resolveOptions } from "./options.js";

/** The repository's root, from this file's place in packages/bench/dist. */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

async function main(argv: readonly string[]): Promise<number> {
  const command = benchCommand().exitOverride();
  command.parse([...argv], { from: "user" });
  const options = resolveOptions(command.opts(), ROOT);
  if (options.dryRun) {
    process.stdout.write(dryRunPlan(options));
    return 0;
  }
  return runBench(options, ROOT);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof CommanderError) {
      // commander has printed the help or the usage problem already
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof BenchError && err.reason === "interrupted") {
      process.exitCode = 130;
      return;
    }
    if (err instanceof BenchError || err instanceof TestbedError) {
      process.stderr.write(`bench: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    process.stderr.write(`${traceOf(err)}\nbench: this is a bug in packages/bench\n`);
    process.exitCode = 70;
  },
);
