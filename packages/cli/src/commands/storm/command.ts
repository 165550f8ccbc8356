import { argumentCommand } from "../../flags.js";
import { EXAMPLES, define } from "./options.js";

export function stormCommand(exit: (code: number) => void) {
  return argumentCommand(define(), EXAMPLES, async () => (await import("./index.js")).storm, exit);
}
