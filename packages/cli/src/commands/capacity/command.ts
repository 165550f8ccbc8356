import { configure, rejectExtra } from "../../flags.js";
import { EXAMPLES, define } from "./options.js";

export function capacityCommand(exit: (code: number) => void) {
  const command = define();
  command.action(async (flags, cmd) => {
    rejectExtra("capacity", cmd.args);
    const { capacity } = await import("./index.js");
    exit(await capacity(flags));
  });
  return configure(command, EXAMPLES);
}
