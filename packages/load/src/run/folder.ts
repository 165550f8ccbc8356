import { mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";

/**
 * mkdir -p that fails instead of looping: Node's recursive mkdirSync spins forever on a path
 * whose parent exists but refuses children with ENOENT (/proc/self/x).
 */
export function makeFolder(dir: string): void {
  const parent = dirname(dir);
  if (statSync(dir, { throwIfNoEntry: false }) !== undefined) return;
  if (parent !== dir) makeFolder(parent);
  mkdirSync(dir);
}
