import { configure, rejectExtra } from "../../flags.js";
import { EXAMPLES, define } from "./options.js";

export function chaosCommand(exit: (code: number) => void) {
  const command = define();
  command.action(async (action, file, flags, cmd) => {
    if (action === "rollback") {
      rejectExtra("chaos rollback", cmd.args.slice(1));
      const { rollback } = await import("./rollback.js");
      exit(await rollback(flags.testbed, flags.dryRun === true));
      return;
    }
    rejectExtra("chaos", cmd.args.slice(2));
    const { chaos } = await import("./index.js");
    exit(await chaos(action, file, flags));
  });
  return configure(command, EXAMPLES);
}
