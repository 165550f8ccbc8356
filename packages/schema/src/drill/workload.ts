/**
 * `workload:`, the swarm a drill hurts: scenario keys written inline, over an optional scenario file.
 * The scenario schema validates the merged keys; its problems point where they must be fixed.
 */
import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import * as z from "zod";
import type { ConfigProblem } from "../config.js";
import { ConfigError, problemAt, readFailure, readYaml } from "../config.js";
import type { Drill } from "../drill-types.js";
import { describeValue } from "../duration.js";
import { parseScenarioObject, scenarioKeyPaths } from "../scenario.js";
import type { Mapping, Problems } from "./values.js";
import { bool, isMapping, nonEmpty, section, valueAt } from "./values.js";

const WORKLOAD_SOURCE = "\u0000workload";
const scenarioTopKeys: readonly string[] = [
  ...new Set(scenarioKeyPaths.map((key) => key.replace(/\..*$/, ""))),
];
const WORKLOAD_EXPECTED =
  "expected a mapping of scenario keys such as rooms, subscribers, duration, or scenario: <file>";
const SCENARIO_EXPECTED = "expected a mapping of scenario keys such as rooms, subscribers, duration";

const workloadFields = {
  rejoin: bool.default(false),
  scenario: nonEmpty("expected a scenario file path such as ../scenarios/smoke.yaml")
    .nullable()
    .default(null),
  // The scenario schema reads these once they are merged with the file's.
  ...Object.fromEntries(scenarioTopKeys.map((key) => [key, z.unknown().optional()])),
};
const workloadSchema = section(workloadFields, WORKLOAD_EXPECTED);

/** Inline keys over the file's; nested mappings (video, audio, data) merge key by key. */
function merge(base: Mapping, over: Mapping): Mapping {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const under = out[key];
    out[key] = isMapping(under) && isMapping(value) ? merge(under, value) : value;
  }
  return out;
}

interface ScenarioFile {
  readonly path: string;
  readonly values: Mapping;
}

/**
 * Points a scenario problem where it must be fixed: at `workload.<key>` in the drill when the key is
 * written inline (or nowhere), at the scenario file's own `<key>` when only the file has it.
 */
function relocate(
  problem: ConfigProblem,
  source: string,
  inline: Mapping,
  file: ScenarioFile | null,
): ConfigProblem {
  const { keys, message } = problem;
  if (
    file !== null &&
    keys.length > 0 &&
    valueAt(inline, keys) === undefined &&
    valueAt(file.values, keys) !== undefined
  ) {
    return problemAt(file.path, keys, message);
  }
  return problemAt(source, ["workload", ...keys], message);
}

function readScenarioFile(p: Problems, path: string): ScenarioFile | undefined {
  let content: string;
  try {
    content = readFileSync(path, "utf8");
  } catch (error) {
    p.at(["workload", "scenario"], `cannot read ${path}: ${readFailure(error)}`);
    return;
  }
  const read = readYaml(content, path);
  if ("problems" in read) {
    p.list.push(...read.problems);
    return undefined;
  }
  if (read.value === null || read.value === undefined) {
    p.list.push(problemAt(path, [], `empty scenario: ${SCENARIO_EXPECTED}`));
    return undefined;
  }
  if (!isMapping(read.value)) {
    p.list.push(problemAt(path, [], `${SCENARIO_EXPECTED}, got ${describeValue(read.value)}`));
    return undefined;
  }
  return { path, values: read.value };
}

export function parseWorkload(
  p: Problems,
  value: unknown,
  drillName: string | undefined,
  baseDir: string,
): Drill["workload"] | undefined {
  const path = ["workload"];
  if (value === undefined) {
    p.at(path, `missing: ${WORKLOAD_EXPECTED}`);
    return;
  }
  const read = p.read(workloadSchema, value, path);
  if (!isMapping(value)) return undefined;
  // Unknown keys are reported already (with rejoin and scenario among the suggestions); the scenario
  // keys are still worth checking.
  const rejoin = read?.rejoin ?? workloadFields.rejoin.safeParse(value.rejoin).data;
  const ref = read === undefined ? workloadFields.scenario.safeParse(value.scenario).data : read.scenario;
  if (ref === undefined) return undefined;
  const file = ref === null ? null : readScenarioFile(p, isAbsolute(ref) ? ref : join(baseDir, ref));
  if (file === undefined) return undefined;
  const inline = Object.fromEntries(Object.entries(value).filter(([key]) => scenarioTopKeys.includes(key)));
  const merged = merge(file?.values ?? {}, inline);
  // The run is named after the drill unless a name is written: it becomes the `scenario` metric label.
  const named =
    merged.name === undefined && drillName !== undefined ? { ...merged, name: drillName } : merged;
  try {
    const scenario = parseScenarioObject(named, WORKLOAD_SOURCE);
    return rejoin === undefined ? undefined : { scenario, scenarioFile: file?.path ?? null, rejoin };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.issues) p.list.push(relocate(problem, p.file, inline, file));
    return undefined;
  }
}
