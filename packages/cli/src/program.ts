import { Command } from "@commander-js/extra-typings";
import { capacityCommand } from "./commands/capacity/command.js";
import { canaryCommand } from "./commands/canary/command.js";
import { chaosCommand } from "./commands/chaos/command.js";
import { compareCommand } from "./commands/compare/command.js";
import { gateCommand } from "./commands/gate/command.js";
import { k8sCommand } from "./commands/k8s/command.js";
import { mergeCommand } from "./commands/merge/command.js";
import { runCommand } from "./commands/run/command.js";
import { scenariosCommand } from "./commands/scenarios/command.js";
import { stormCommand } from "./commands/storm/command.js";
import { testbedCommand } from "./commands/testbed/command.js";
import { TOOL } from "@livekit-swarm/schema";
import { configure } from "./flags.js";

const EXAMPLES = [
  "swarm                                   # 1 room against an embedded local LiveKit",
  "swarm --rooms 10 --url wss://lk.example.com --api-key K --api-secret-file ~/.livekit-secret",
  "swarm canary --metrics-host 0.0.0.0",
  "swarm testbed up --nodes 3 && swarm chaos run chaos/kill-room-node.yaml --dry-run",
];

/**
 * `swarm` and its commands. Each command's options are defined here, eagerly, for parsing and
 * --help; its implementation is imported only when it runs, so `swarm --help` loads no media stack.
 * `exit` receives the command's exit code.
 */
export function program(exit: (code: number) => void): Command {
  const root = new Command("swarm")
    .description("Tells how much a LiveKit deployment holds and how it fails.")
    .usage("[command] [options]   (no command: run)")
    .version(TOOL.version, "-V, --version", "print the version of livekit-swarm (as published on npm)")
    .addCommand(runCommand(exit))
    .addCommand(canaryCommand(exit))
    .addCommand(capacityCommand(exit))
    .addCommand(gateCommand(exit))
    .addCommand(mergeCommand(exit))
    .addCommand(compareCommand(exit))
    .addCommand(stormCommand(exit))
    .addCommand(testbedCommand(exit))
    .addCommand(chaosCommand(exit))
    .addCommand(k8sCommand(exit))
    .addCommand(scenariosCommand(exit));
  return configure(root, EXAMPLES);
}

const ROOT_OPTIONS = new Set(["-h", "--help", "-V", "--version"]);

/**
 * `--x` beside `--no-x` (before a `--`): commander lets the last win, so `--simulcast --no-simulcast`
 * ran without a word. The pair, or undefined.
 */
export function contradictoryFlags(argv: readonly string[]): string | undefined {
  const end = argv.indexOf("--");
  const flags = new Set((end < 0 ? argv : argv.slice(0, end)).map((a) => a.split("=")[0] ?? a));
  for (const flag of flags) {
    if (!flag.startsWith("--no-")) continue;
    const positive = `--${flag.slice("--no-".length)}`;
    if (flags.has(positive)) return `${positive} and ${flag} were both given; pass one`;
  }
  return undefined;
}

/** `swarm --rooms 500` and a bare `swarm` run a swarm; `swarm --help` and `swarm --version` do not. */
export function withDefaultCommand(argv: readonly string[]): string[] {
  const [first] = argv;
  if (first === undefined) return ["run"];
  if (first.startsWith("-") && !ROOT_OPTIONS.has(first)) return ["run", ...argv];
  return [...argv];
}
