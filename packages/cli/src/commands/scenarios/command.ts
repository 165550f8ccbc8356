import { configure, rejectExtra } from "../../flags.js";
import { readyMadeText } from "../../ready-made.js";
import { EXAMPLES, define } from "./options.js";

export function scenariosCommand(exit: (code: number) => void) {
  const command = define();
  command.action((_flags, cmd) => {
    rejectExtra("scenarios", cmd.args);
    process.stdout.write(readyMadeText());
    exit(0);
  });
  return configure(command, EXAMPLES);
}
