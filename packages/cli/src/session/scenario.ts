import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { loadScenario, parseScenarioObject, type Scenario } from "@livekit-swarm/schema";

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Sets `video.codec` as { video: { codec } }: scenario keys are at most two deep. */
function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const dot = path.indexOf(".");
  if (dot < 0) {
    obj[path] = value;
    return;
  }
  const head = path.slice(0, dot);
  const existing = obj[head];
  const child = isMapping(existing) ? existing : {};
  obj[head] = child;
  child[path.slice(dot + 1)] = value;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const cur = out[k];
    out[k] = isMapping(cur) && isMapping(v) ? deepMerge(cur, v) : v;
  }
  return out;
}

/**
 * The scenario from a file and scenario-key flags (key path -> value); flags win. Problems name the
 * file or "command line". `roomPrefixPerRun` when neither chose a room prefix.
 */
export async function resolveScenario(
  file: string | undefined,
  keys: ReadonlyMap<string, unknown>,
): Promise<{ scenario: Scenario; roomPrefixPerRun: boolean }> {
  const fromFlags: Record<string, unknown> = {};
  for (const [path, value] of keys) setPath(fromFlags, path, value);
  parseScenarioObject(fromFlags, "command line");
  let merged = fromFlags;
  let source = "command line";
  if (file !== undefined) {
    await loadScenario(file); // reports the file's own problems against the file
    const raw: unknown = parseYaml(await readFile(file, "utf8"));
    merged = deepMerge(isMapping(raw) ? raw : {}, fromFlags);
    source = keys.size > 0 ? `${file} with command-line overrides` : file;
  }
  return {
    scenario: parseScenarioObject(merged, source),
    roomPrefixPerRun: merged["room-prefix"] === undefined,
  };
}
