import { configure } from "../../flags.js";
import { EXAMPLES, define } from "./options.js";

export function mergeCommand(exit: (code: number) => void) {
  const command = define();
  command.action(async (inputs, flags) => {
    const { merge } = await import("./index.js");
    exit(await merge(inputs, flags));
  });
  return configure(command, EXAMPLES);
}
