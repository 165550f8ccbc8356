/**
 * Chaos drill files: YAML with kebab-case keys in, a resolved `Drill` out. Each section has its zod
 * schema (target, workload, faults, expectations); the rules between sections come after. Every
 * problem is one line naming the file, the key path and what to change, all reported at once.
 */
import { dirname } from "node:path";
import * as z from "zod";
import { ConfigError, problemAt, readConfigText, readFailure, readYaml } from "../config.js";
import type { Drill, DrillTarget } from "../drill-types.js";
import type { Milliseconds } from "../duration.js";
import { describeValue, formatDuration } from "../duration.js";
import {
  ABORT_DEFAULT,
  EXPECT_DEFAULT,
  STEADY_STATE_DEFAULT,
  abortSchema,
  expectSchema,
  steadyStateSchema,
} from "./expectations.js";
import { checkBackend, checkMaxNodes, checkOverlaps, checkRefs } from "./fault-rules.js";
import { parseFaults } from "./faults.js";
import { nodeCountOf, parseTarget } from "./target.js";
import type { Env } from "./values.js";
import { Problems, duration, isMapping, matching, nonEmpty, required, section, valueAt } from "./values.js";
import { parseWorkload } from "./workload.js";

const DRILL_KEYS = [
  "name",
  "description",
  "target",
  "workload",
  "baseline",
  "observe",
  "after",
  "steady-state",
  "faults",
  "abort",
  "expect",
] as const;
const DRILL_EXPECTED = "expected a mapping with name, workload and faults";
const DRILL_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;
const NAME_EXPECTED = 'expected up to 64 lower-case letters, digits and "-", such as kill-room-node';
/** On top of the planned phases: the swarm's joins and the rollback. */
const MAX_DURATION_MARGIN: Milliseconds = 120_000;

/** The top level's own keys; each section is read by its schema, in the order a reader fixes them. */
const drillKeys = section(
  Object.fromEntries(DRILL_KEYS.map((key) => [key, z.unknown().optional()])),
  DRILL_EXPECTED,
);
const nameField = required(matching(DRILL_NAME, NAME_EXPECTED), `missing: ${NAME_EXPECTED}`);
const descriptionField = nonEmpty("expected a sentence saying what the drill proves").default("");
const phases = {
  baseline: duration({ min: 5000 }).default(15_000),
  observe: duration({ positive: true }).default(45_000),
  after: duration({ positive: true }).default(15_000),
};

export interface ParseDrillOptions {
  /** Where a workload's `scenario:` file is looked up; default: the directory of `sourceName`. */
  readonly baseDir?: string;
  /** Fills `${NAME}` in a target's url, api-key and api-secret; default: process.env. */
  readonly env?: Env;
}

function resolveDrill(value: unknown, source: string, file: string | null, baseDir: string, env: Env): Drill {
  const p = new Problems(source);
  if (value === null || value === undefined)
    throw new ConfigError("invalid", source, [problemAt(source, [], `empty drill: ${DRILL_EXPECTED}`)]);
  // Unknown top-level keys are reported; the sections around them are still worth reading.
  const raw = p.read(drillKeys, value, []) ?? (isMapping(value) ? value : undefined);
  if (raw === undefined) throw new ConfigError("invalid", source, p.list);
  const readSection = <T>(
    key: (typeof DRILL_KEYS)[number],
    schema: z.ZodType<T>,
    fallback: T,
  ): T | undefined => (raw[key] === undefined ? fallback : p.read(schema, raw[key], [key]));

  const name = p.read(nameField, raw.name, ["name"]);
  const description = p.read(descriptionField, raw.description, ["description"]);
  const targetDraft = parseTarget(p, raw.target, env, baseDir);
  const workload = parseWorkload(p, raw.workload, name, baseDir);
  const baseline = p.read(phases.baseline, raw.baseline, ["baseline"]);
  const observe = p.read(phases.observe, raw.observe, ["observe"]);
  const after = p.read(phases.after, raw.after, ["after"]);
  const steadyState = readSection("steady-state", steadyStateSchema, STEADY_STATE_DEFAULT);
  const drafts = parseFaults(p, raw.faults);
  const abortDraft = readSection("abort", abortSchema, ABORT_DEFAULT);

  if (drafts !== undefined) {
    const validRefs = checkRefs(p, drafts);
    checkOverlaps(p, drafts);
    if (targetDraft !== undefined) {
      checkBackend(p, drafts, targetDraft.target);
      if (abortDraft !== undefined && abortDraft.maxNodes !== null) {
        checkMaxNodes(p, drafts, validRefs, nodeCountOf(targetDraft.target), abortDraft.maxNodes);
      }
    }
  }
  let target: DrillTarget | undefined;
  if (targetDraft !== undefined) {
    target = targetDraft.target;
    if (target.backend === "local") {
      const netFault = drafts?.find((d) => d.type?.startsWith("net."));
      if (targetDraft.netns === false && netFault?.type !== undefined) {
        p.at(
          ["target", "netns"],
          `${netFault.type} needs each node in its own network namespace: set netns: true`,
        );
      }
      const probes = steadyState?.prometheus.length ?? 0;
      if (targetDraft.prometheus === false && probes > 0) {
        p.at(
          ["target", "prometheus"],
          "steady-state.prometheus needs the testbed's Prometheus: set prometheus: true",
        );
      }
      target = {
        ...target,
        netns: targetDraft.netns ?? netFault !== undefined,
        prometheus: targetDraft.prometheus ?? probes > 0,
      };
    }
    checkNetworkProfiles(p, target, workload?.scenario.networkProfiles);
  }

  let abort: Drill["abort"] | undefined;
  if (
    abortDraft !== undefined &&
    drafts !== undefined &&
    baseline !== undefined &&
    observe !== undefined &&
    after !== undefined
  ) {
    const lastAt = Math.max(...drafts.map((draft) => draft.at ?? 0));
    const planned = baseline + lastAt + observe + after;
    if (abortDraft.maxDuration !== null && abortDraft.maxDuration < planned) {
      p.at(
        ["abort", "max-duration"],
        `expected at least ${formatDuration(planned)}, the drill's planned length (baseline + last fault's at + observe + after), got ${describeValue(valueAt(raw, ["abort", "max-duration"]))}`,
      );
    }
    abort = { ...abortDraft, maxDuration: abortDraft.maxDuration ?? planned + MAX_DURATION_MARGIN };
  }
  const expect = readSection("expect", expectSchema, EXPECT_DEFAULT);

  const faults = drafts?.map((draft) => draft.fault);
  if (
    p.list.length > 0 ||
    name === undefined ||
    description === undefined ||
    target === undefined ||
    workload === undefined ||
    baseline === undefined ||
    observe === undefined ||
    after === undefined ||
    steadyState === undefined ||
    faults === undefined ||
    abort === undefined ||
    expect === undefined
  ) {
    throw new ConfigError("invalid", source, p.list);
  }
  const complete = faults.flatMap((fault) => (fault === undefined ? [] : [fault]));
  if (complete.length < faults.length) throw new ConfigError("invalid", source, p.list);
  return {
    file,
    name,
    description,
    target,
    workload,
    baseline,
    observe,
    after,
    steadyState,
    faults: complete,
    abort,
    expect,
  };
}

function parseText(text: string, source: string, file: string | null, options: ParseDrillOptions): Drill {
  const read = readYaml(text, source);
  if ("problems" in read) throw new ConfigError("syntax", source, read.problems);
  return resolveDrill(
    read.value,
    source,
    file,
    options.baseDir ?? dirname(source),
    options.env ?? process.env,
  );
}

/**
 * Parses and validates drill text; `sourceName` starts every problem line. A workload's `scenario:`
 * file is read (synchronously) relative to `options.baseDir`. `Drill.file` is null.
 */
export function parseDrill(text: string, sourceName: string, options: ParseDrillOptions = {}): Drill {
  return parseText(text, sourceName, null, options);
}

/** Reads a drill file: its scenario file is found next to it, `${NAME}` references in process.env. */
export async function loadDrill(path: string): Promise<Drill> {
  let content: string;
  try {
    content = await readConfigText(path);
  } catch (error) {
    throw new ConfigError("unreadable", path, [
      problemAt(path, [], `cannot read drill: ${readFailure(error)}`),
    ]);
  }
  return parseText(content, path, path, { baseDir: dirname(path), env: process.env });
}

/**
 * A workload's restrictive network profiles put participants in client namespaces in front of the
 * nodes of a testbed the drill starts on this host (as `swarm run` does without --url): not on a
 * deployment elsewhere, an attached testbed, or nodes that sit in namespaces of their own.
 */
function checkNetworkProfiles(
  p: Problems,
  target: DrillTarget,
  shares: Readonly<Record<string, number>> | undefined,
): void {
  const restrictive = Object.entries(shares ?? {})
    .filter(([name, share]) => name !== "open" && share > 0)
    .map(([name]) => name);
  if (restrictive.length === 0) return;
  const what = `network-profiles (${restrictive.join(", ")}) place participants in network namespaces in front of a testbed the drill starts`;
  if (target.backend !== "local")
    p.at(
      ["target", "backend"],
      `${what}: use the local backend, or remove network-profiles from the workload`,
    );
  else if (target.testbed !== null)
    p.at(["target", "testbed"], `${what}: drop testbed, or remove network-profiles from the workload`);
  else if (target.netns)
    p.at(
      ["target", "netns"],
      `${what}, with its nodes on this host: net.* faults (which need each node in a namespace of its own) and network-profiles do not mix in one drill`,
    );
}
