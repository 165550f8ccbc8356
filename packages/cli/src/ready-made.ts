/**
 * The ready-made scenarios (`scenarios/`) and chaos drills (`chaos/`), usable by name wherever a
 * file is asked for (`--scenario voice-ai`, `swarm chaos run kill-room-node`) and listed by
 * `swarm scenarios`. A clone has them at its root; the published package carries a copy beside its
 * bundle (packages/livekit-swarm, bundle.ts), so both are found by walking up from this module to
 * the first folder that holds `scenarios/smoke.yaml`.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "./errors.js";

/** The folder holding scenarios/ and chaos/; undefined when neither a clone nor the package has them. */
export function readyMadeRoot(from = dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = from;
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, "scenarios", "smoke.yaml"))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

export interface ReadyMade {
  /** The name to pass: `voice-ai`, `capacity/audio-2party`, `kill-room-node`. */
  readonly name: string;
  readonly file: string;
  /** The file's first comment line. */
  readonly about: string;
}

/** A ready-made name: lower-case words and dashes, with one optional folder (`capacity/...`). */
const NAME = /^[a-z0-9][a-z0-9-]*(\/[a-z0-9][a-z0-9-]*)?$/;

/** The YAML files of `root/<kind>` (scenarios: and one level of folders, k6 scripts aside). */
export function readyMade(kind: "scenarios" | "chaos", root = readyMadeRoot()): ReadyMade[] {
  if (root === undefined) return [];
  const base = join(root, kind);
  const files: string[] = [];
  const walk = (dir: string, depth: number): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      if (name.endsWith(".yaml")) files.push(path);
      else if (depth === 0 && name !== "k6" && statSync(path).isDirectory()) walk(path, 1);
    }
  };
  walk(base, 0);
  return files.map((file) => ({
    name: relative(base, file).replace(/\.yaml$/, ""),
    file,
    about: firstComment(readFileSync(file, "utf8")),
  }));
}

/** Whether anything is at `path`, a dangling or looping link included. */
function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function firstComment(text: string): string {
  const line = text.split("\n").find((l) => l.startsWith("#"));
  return line === undefined ? "" : line.replace(/^#\s*/, "");
}

/**
 * The file to read for `arg`: `arg` itself when something is there (a file, a link, a loop: the
 * reader says what is wrong with it) or when it cannot be a name (a path the reader will report);
 * else the ready-made one of that name (with or without `.yaml`). A name that is neither is one
 * line naming the ones there are.
 */
export function readyMadeFile(
  kind: "scenarios" | "chaos",
  arg: string,
  what: string,
  root = readyMadeRoot(),
): string {
  const name = arg.replace(/\.yaml$/, "");
  if (!NAME.test(name) || present(arg)) return arg;
  const known = readyMade(kind, root);
  const found = known.find((r) => r.name === name);
  if (found !== undefined) return found.file;
  const names = known.map((r) => r.name).join(", ");
  throw new UsageError(
    `${what} ${JSON.stringify(arg)}: no such file, and no ready-made one of that name` +
      (names === "" ? "" : ` (ready-made: ${names}; \`swarm scenarios\` lists them)`),
  );
}

/** `swarm scenarios`: every ready-made scenario and drill, a line each. */
export function readyMadeText(root = readyMadeRoot()): string {
  const scenarios = readyMade("scenarios", root);
  const drills = readyMade("chaos", root);
  if (scenarios.length === 0 && drills.length === 0)
    return "no ready-made scenarios or drills beside this install (a clone's scenarios/ and chaos/)\n";
  const width = Math.max(...[...scenarios, ...drills].map((r) => r.name.length));
  const rows = (list: readonly ReadyMade[]): string =>
    list.map((r) => `  ${r.name.padEnd(width)}  ${r.about}`).join("\n");
  return (
    `scenarios (swarm --scenario NAME; swarm capacity --scenario capacity/NAME):\n${rows(scenarios)}\n\n` +
    `chaos drills (swarm chaos run NAME):\n${rows(drills)}\n\nfrom ${root ?? ""}\n`
  );
}
