import { configure, rejectExtra } from "../../flags.js";
import { EXAMPLES, define } from "./options.js";

export function canaryCommand(exit: (code: number) => void) {
  const command = define();
  command.action(async (flags, cmd) => {
    rejectExtra("canary", cmd.args);
    const { canary } = await import("./index.js");
    exit(await canary(flags));
  });
  return configure(command, EXAMPLES);
}
