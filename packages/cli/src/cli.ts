#!/usr/bin/env node
import { CommanderError } from "@commander-js/extra-typings";
import { ExitCode, KnownError, traceOf } from "@livekit-swarm/schema";
import { UsageError } from "./errors.js";
import { contradictoryFlags, program, withDefaultCommand } from "./program.js";

async function main(argv: readonly string[]): Promise<number> {
  const contradiction = contradictoryFlags(argv);
  if (contradiction !== undefined) throw new UsageError(contradiction);
  let code: number = ExitCode.ok;
  try {
    await program((c) => {
      code = c;
    }).parseAsync(withDefaultCommand(argv), { from: "user" });
  } catch (err) {
    // commander has printed its one line (or the help); its exit code is 0 for help, 1 for usage
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.ok : ExitCode.error;
    throw err;
  }
  return code;
}

// A closed pipe (`swarm ... 2>&1 | head -1`) must not end the run: the progress lines are lost, the
// run still finishes, writes its reports and stops what it started.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
  });
}

// The one error boundary: a known error is one line and exit 1, anything else a bug with its trace.
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof KnownError) {
      process.stderr.write(`swarm: ${err.message}\n`);
      for (const line of err.details) process.stderr.write(`  | ${line}\n`);
    } else {
      process.stderr.write(
        `swarm: unexpected error - this is a bug in livekit-swarm, please report it with the trace below\n${traceOf(err)}\n`,
      );
    }
    process.exitCode = ExitCode.error;
  },
);
