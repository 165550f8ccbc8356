import { configure, rejectExtra } from "../../flags.js";
import { EXAMPLES, define } from "./options.js";

export function k8sCommand(exit: (code: number) => void) {
  const command = define();
  command.action(async (action, flags, cmd) => {
    rejectExtra("k8s", cmd.args.slice(1));
    const { k8s } = await import("./index.js");
    exit(await k8s(action, flags));
  });
  return configure(command, EXAMPLES);
}
