/**
 * How the user should type this command again in a hint: `swarm` when that name on their PATH is
 * this very program (a global install, a package's bin they put on PATH), else `npx swarm` (a
 * clone or a project's dependency, reached through npx or npm scripts, whose node_modules/.bin is
 * on PATH only while npx runs it).
 */
import { realpathSync } from "node:fs";
import { delimiter, join } from "node:path";

export function swarmCommand(argv1 = process.argv[1], path = process.env.PATH ?? ""): "swarm" | "npx swarm" {
  if (argv1 === undefined) return "npx swarm";
  let self: string;
  try {
    self = realpathSync(argv1);
  } catch {
    return "npx swarm";
  }
  for (const dir of path.split(delimiter)) {
    // npx and npm scripts put node_modules/.bin first; it is gone from the user's own shell
    if (dir === "" || /node_modules[\\/]\.bin[\\/]?$/.test(dir)) continue;
    try {
      if (realpathSync(join(dir, "swarm")) === self) return "swarm";
    } catch {
      // not there
    }
  }
  return "npx swarm";
}
