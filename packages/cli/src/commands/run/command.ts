import { configure, rejectExtra } from "../../flags.js";
import { EXAMPLES, define, type RunCommand } from "./options.js";

export function runCommand(exit: (code: number) => void): RunCommand {
  const command = define();
  command.action(async (flags, cmd) => {
    rejectExtra("run", cmd.args);
    const { run } = await import("./index.js");
    exit(await run(flags, cmd));
  });
  return configure(command, EXAMPLES);
}
