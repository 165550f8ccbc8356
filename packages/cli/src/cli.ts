#!/usr/bin/env node
import { ExitCode } from "./exit-codes.js";

interface Command {
  readonly summary: string;
  readonly load: () => Promise<{ run(argv: readonly string[]): Promise<number> }>;
}

// Commands are imported lazily so that `swarm --help` does not load the media stack.
const COMMANDS: Record<string, Command> = {
  run: {
    summary: "run a swarm of participants and report quality (the default command)",
    load: () => import("./commands/run/index.js"),
  },
  canary: {
    summary: "a small swarm that stays connected and exports metrics: synthetic monitoring",
    load: () => import("./commands/canary/index.js"),
  },
  gate: {
    summary: "evaluate thresholds through PromQL (sharded runs, LiveKit server metrics)",
    load: () => import("./commands/gate/index.js"),
  },
  compare: {
    summary: "compare two runs figure by figure, saying which differences are within run-to-run noise",
    load: () => import("./commands/compare/index.js"),
  },
  testbed: {
    summary: "start, inspect and stop a local LiveKit deployment",
    load: () => import("./commands/testbed/index.js"),
  },
  chaos: {
    summary: "run a chaos drill: kill, freeze or cut off a node, lose Redis, and measure recovery",
    load: () => import("./commands/chaos/index.js"),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 2;
  return [
    "Usage: swarm <command> [options]",
    "",
    "Tells how much a LiveKit deployment holds and how it fails.",
    "",
    "Commands:",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`),
    "",
    "Run `swarm <command> --help` for a command's options.",
    "",
  ].join("\n");
}

/** A failure we anticipated: it carries a reason word and a message the user can act on. */
interface KnownError {
  readonly reason: string;
  readonly message: string;
  readonly details?: readonly string[];
  toJSON(): unknown;
}

function isKnownError(err: unknown): err is KnownError {
  return (
    err instanceof Error &&
    typeof (err as Partial<KnownError>).reason === "string" &&
    typeof (err as Partial<KnownError>).toJSON === "function"
  );
}

async function main(argv: readonly string[]): Promise<number> {
  const [first, ...tail] = argv;
  if (first === "--help" || first === "-h" || first === "help") {
    process.stdout.write(usage());
    return ExitCode.ok;
  }
  // `swarm --rooms 500` and a bare `swarm` run a swarm
  const [name, rest] = first === undefined || first.startsWith("-") ? ["run", argv] : [first, tail];
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`swarm: unknown command "${name}"\n\n${usage()}`);
    return ExitCode.error;
  }
  const mod = await command.load();
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (isKnownError(err)) {
      process.stderr.write(`swarm: ${err.message}\n`);
      for (const line of err.details ?? []) process.stderr.write(`  | ${line}\n`);
    } else {
      process.stderr.write(
        `swarm: unexpected error - this is a bug in livekit-swarm, please report it with the trace below\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
    }
    process.exitCode = ExitCode.error;
  },
);
