import { Command } from "@commander-js/extra-typings";

export const EXAMPLES = [
  "swarm scenarios",
  "swarm --scenario voice-ai --duration 2m",
  "swarm chaos run kill-room-node --dry-run",
];

export function define() {
  return new Command("scenarios")
    .summary("list the ready-made scenarios and chaos drills, usable by name")
    .description(
      "Lists the ready-made scenarios (scenarios/ of a clone, carried by the package) and chaos drills " +
        "(chaos/), each with its first comment line. Pass a name wherever a file is asked for: " +
        "`swarm --scenario voice-ai`, `swarm capacity --scenario capacity/audio-2party`, " +
        "`swarm chaos run kill-room-node`; a path to your own file works as before. Exit 0.",
    )
    .allowExcessArguments(true);
}
