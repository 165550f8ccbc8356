import { configure } from "../../flags.js";
import { EXAMPLES, define } from "./options.js";

export function stormCommand(exit: (code: number) => void) {
  const command = define();
  command.action(async (scenario, flags) => {
    const { storm } = await import("./index.js");
    exit(await storm(scenario, flags));
  });
  return configure(command, EXAMPLES);
}
