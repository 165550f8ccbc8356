import { configure, rejectExtra } from "../../flags.js";
import { EXAMPLES, define } from "./options.js";

export function gateCommand(exit: (code: number) => void) {
  const command = define();
  command.action(async (flags, cmd) => {
    rejectExtra("gate", cmd.args);
    const { gate } = await import("./index.js");
    exit(await gate(flags));
  });
  return configure(command, EXAMPLES);
}
