import { configure, rejectExtra } from "../../flags.js";
import { EXAMPLES, define } from "./options.js";

export function compareCommand(exit: (code: number) => void) {
  const command = define();
  command.action(async (a, b, flags, cmd) => {
    rejectExtra("compare", cmd.args.slice(2));
    const { compare } = await import("./index.js");
    exit(await compare(a, b, flags));
  });
  return configure(command, EXAMPLES);
}
