import { configure, rejectExtra } from "../../flags.js";
import { EXAMPLES, define } from "./options.js";

export function testbedCommand(exit: (code: number) => void) {
  const command = define();
  command.action(async (action, flags, cmd) => {
    rejectExtra("testbed", cmd.args.slice(1));
    const { testbed } = await import("./index.js");
    exit(await testbed(action, flags, cmd.getOptionValueSource("name") === "cli"));
  });
  return configure(command, EXAMPLES);
}
