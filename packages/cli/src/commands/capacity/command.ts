import { optionsCommand } from "../../flags.js";
import { EXAMPLES, define } from "./options.js";

export function capacityCommand(exit: (code: number) => void) {
  return optionsCommand(define(), EXAMPLES, async () => (await import("./index.js")).capacity, exit);
}
