/**
 * Chaos drill files: YAML with kebab-case keys in, a resolved `Drill` out. Every problem is one line
 * naming the file, the key path and what to change, and all of a file's problems are reported at once.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import { parseDocument } from "yaml";
import type {
  Drill,
  DrillBackend,
  DrillFault,
  DrillTarget,
  Expectations,
  FaultParams,
  FaultTarget,
  FaultType,
  FindingId,
  Percentiles,
  PrometheusProbe,
  SteadyState,
} from "./drill-types.js";
import { drillBackends, faultTypes, findingIds, simulateScenarios } from "./drill-types.js";
import type { Milliseconds } from "./duration.js";
import {
  DURATION_EXPECTED,
  DurationError,
  describeValue,
  formatDuration,
  parseDuration,
} from "./duration.js";
import { ScenarioError, parseScenarioObject, scenarioKeyPaths } from "./scenario.js";
import { closestMatches } from "./suggest.js";

export type DrillErrorReason = "unreadable" | "syntax" | "invalid";

/** A drill that cannot run; each problem names the file, the key path and what to change. */
export class DrillError extends Error {
  constructor(
    readonly reason: DrillErrorReason,
    readonly source: string,
    readonly problems: string[],
  ) {
    super(problems.join("\n"));
    this.name = "DrillError";
  }

  toJSON(): { name: string; reason: DrillErrorReason; source: string; message: string; problems: string[] } {
    return {
      name: this.name,
      reason: this.reason,
      source: this.source,
      message: this.message,
      problems: [...this.problems],
    };
  }
}

type Env = Readonly<Record<string, string | undefined>>;
type Path = readonly (string | number)[];
type Mapping = Readonly<Record<string, unknown>>;

/** What a reader returns once it has recorded why a value cannot be used. */
const INVALID = Symbol("invalid");
type Invalid = typeof INVALID;
type Valid<T> = { [K in keyof T]: Exclude<T[K], Invalid> };

/** The parts as one object when every part is usable; INVALID otherwise. */
function whole<const T extends object>(parts: T): Valid<T> | Invalid {
  return Object.values(parts).includes(INVALID) ? INVALID : (parts as Valid<T>);
}

function formatPath(path: Path): string {
  return path
    .map((segment, i) => (typeof segment === "number" ? `[${segment}]` : i === 0 ? segment : `.${segment}`))
    .join("");
}

class Problems {
  readonly lines: string[] = [];

  constructor(readonly source: string) {}

  at(path: Path, message: string): Invalid {
    this.lines.push(
      path.length === 0 ? `${this.source}: ${message}` : `${this.source}: ${formatPath(path)}: ${message}`,
    );
    return INVALID;
  }

  /** A line already formatted, such as one naming the workload's scenario file. */
  add(line: string): Invalid {
    this.lines.push(line);
    return INVALID;
  }

  error(): DrillError {
    return new DrillError("invalid", this.source, [...this.lines]);
  }
}

/** Reads one value: what it means, or INVALID after recording why it cannot be used. */
type Reader<T> = (p: Problems, value: unknown, path: Path) => T | Invalid;

function isMapping(value: unknown): value is Mapping {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function unknownKey(p: Problems, path: Path, key: string, known: readonly string[]): void {
  const [best] = closestMatches(key, known, 1);
  const hint = best === undefined ? `known keys: ${known.join(", ")}` : `did you mean "${best}"?`;
  p.at([...path, key], `unknown key (${hint})`);
}

/** The keys of one mapping in the file, read against its path. */
class Fields {
  constructor(
    readonly p: Problems,
    readonly values: Mapping,
    readonly path: Path,
  ) {}

  /** Reports every key outside `known`; `elsewhere` names the owners of keys that belong to a sibling. */
  onlyKeys(known: readonly string[], elsewhere?: (key: string) => string | undefined): void {
    for (const key of Object.keys(this.values)) {
      if (known.includes(key)) continue;
      const owner = elsewhere?.(key);
      if (owner === undefined) unknownKey(this.p, this.path, key, known);
      else this.p.at([...this.path, key], owner);
    }
  }

  has(key: string): boolean {
    return this.values[key] !== undefined;
  }

  /** The value at `key`, `fallback` when the key is absent. */
  opt<T>(key: string, read: Reader<T>, fallback: T): T | Invalid {
    const value = this.values[key];
    return value === undefined ? fallback : read(this.p, value, [...this.path, key]);
  }

  /** The value at `key`; `missing` says what to write when it is absent. */
  req<T>(key: string, read: Reader<T>, missing: string): T | Invalid {
    const value = this.values[key];
    return value === undefined
      ? this.p.at([...this.path, key], missing)
      : read(this.p, value, [...this.path, key]);
  }
}

/** The fields of a mapping whose keys are all in `known`; INVALID when it is not a mapping. */
function fields(
  p: Problems,
  value: unknown,
  path: Path,
  known: readonly string[],
  expected: string,
): Fields | Invalid {
  if (!isMapping(value)) return p.at(path, `${expected}, got ${describeValue(value)}`);
  const f = new Fields(p, value, path);
  f.onlyKeys(known);
  return f;
}

/** `key: null` (or a bare `key:`) spelled out means "none". */
function nullable<T>(read: Reader<T>): Reader<T | null> {
  return (p, value, path) => (value === null ? null : read(p, value, path));
}

function check<T>(accept: (value: unknown) => value is T, expected: string): Reader<T> {
  return (p, value, path) => (accept(value) ? value : p.at(path, `${expected}, got ${describeValue(value)}`));
}

const bool = check((v): v is boolean => typeof v === "boolean", "expected true or false");
const positiveInt = check(
  (v): v is number => typeof v === "number" && Number.isInteger(v) && v >= 1,
  "expected a positive integer",
);
const count = check(
  (v): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0,
  "expected a whole number, 0 or more",
);
const finiteNumber = check(
  (v): v is number => typeof v === "number" && Number.isFinite(v),
  "expected a number",
);
const positiveRatio = check(
  (v): v is number => typeof v === "number" && Number.isFinite(v) && v > 0,
  "expected a ratio above 0, such as 2 or 0.8",
);

function nonEmpty(expected: string): Reader<string> {
  return check((v): v is string => typeof v === "string" && v.trim() !== "", expected);
}

function matching(regex: RegExp, expected: string): Reader<string> {
  return check((v): v is string => typeof v === "string" && regex.test(v), expected);
}

function choice<T extends string>(options: readonly T[], what: string): Reader<T> {
  return (p, value, path) => {
    const found = options.find((option) => option === value);
    if (found !== undefined) return found;
    const list = options.join(", ");
    if (typeof value !== "string") return p.at(path, `expected one of ${list}, got ${describeValue(value)}`);
    const [best] = closestMatches(value, options, 1);
    const hint = best === undefined ? "" : ` (did you mean "${best}"?)`;
    return p.at(path, `unknown ${what} ${describeValue(value)}${hint}; one of ${list}`);
  };
}

function duration(
  options: { readonly positive?: boolean; readonly min?: Milliseconds } = {},
): Reader<Milliseconds> {
  return (p, value, path) => {
    if (typeof value !== "string" && typeof value !== "number") {
      return p.at(path, `${DURATION_EXPECTED}, got ${describeValue(value)}`);
    }
    let ms: Milliseconds;
    try {
      ms = parseDuration(value);
    } catch (error) {
      if (error instanceof DurationError) return p.at(path, error.message);
      throw error;
    }
    if (options.positive === true && ms === 0) {
      return p.at(path, `expected a duration above 0, got ${describeValue(value)}`);
    }
    if (options.min !== undefined && ms < options.min) {
      return p.at(path, `expected at least ${formatDuration(options.min)}, got ${describeValue(value)}`);
    }
    return ms;
  };
}

const SHARE_EXPECTED = "expected a share such as 25% or 0.25";
const PERCENT = /^(\d+(?:\.\d+)?)\s*%$/;

/** `25%` or `0.25`, as a ratio in [0, 1]; `positive` also refuses 0. */
function share(options: { readonly positive: boolean }): Reader<number> {
  return (p, value, path) => {
    let ratio: number;
    if (typeof value === "number" && Number.isFinite(value)) {
      // `max-loss: 5` almost certainly means 5%, not 500%.
      if (value > 1 && value <= 100) {
        return p.at(path, `expected a share from 0 to 1, got ${value} (did you mean ${value}%?)`);
      }
      ratio = value;
    } else {
      const [, percent] = typeof value === "string" ? (PERCENT.exec(value.trim()) ?? []) : [];
      if (percent === undefined) return p.at(path, `${SHARE_EXPECTED}, got ${describeValue(value)}`);
      ratio = Number(percent) / 100;
    }
    if (ratio < 0 || ratio > 1)
      return p.at(path, `expected a share from 0% to 100%, got ${describeValue(value)}`);
    if (options.positive && ratio === 0)
      return p.at(path, `expected a share above 0%, got ${describeValue(value)}`);
    return ratio;
  };
}

function formatShare(ratio: number): string {
  return `${Math.round(ratio * 10_000) / 100}%`;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** What a value is, without showing it: credentials must never reach a message or a journal. */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `a ${typeof value}`;
}

/** A string whose `${NAME}` references are filled from `env`; a secret is never shown back. */
function withEnv(env: Env, expected: string, secret: boolean): Reader<string> {
  return (p, value, path) => {
    if (typeof value !== "string" || value.trim() === "") {
      return p.at(path, `${expected}, got ${secret ? kindOf(value) : describeValue(value)}`);
    }
    const unset: string[] = [];
    const resolved = value.replace(ENV_REF, (_, name: string) => {
      const found = env[name];
      if (found === undefined || found === "") unset.push(name);
      return found ?? "";
    });
    if (unset.length === 1) return p.at(path, `environment variable ${unset.join("")} is not set`);
    if (unset.length > 1) return p.at(path, `environment variables ${unset.join(", ")} are not set`);
    return resolved;
  };
}

const LIVEKIT_URL = /^(wss?|https?):\/\/\S+$/;

function livekitUrl(env: Env): Reader<string> {
  const read = withEnv(env, "expected a LiveKit URL such as ws://localhost:7880 or ${LIVEKIT_URL}", false);
  return (p, value, path) => {
    const url = read(p, value, path);
    if (url === INVALID || LIVEKIT_URL.test(url)) return url;
    return p.at(path, `expected a ws://, wss://, http:// or https:// URL, got ${describeValue(url)}`);
  };
}

const READ_FAILURES: Readonly<Record<string, string>> = {
  ENOENT: "no such file",
  EISDIR: "is a directory",
  EACCES: "permission denied",
};

function readFailure(error: unknown): string {
  const code = error instanceof Error && "code" in error ? String(error.code) : "";
  return READ_FAILURES[code] ?? (error instanceof Error ? error.message : String(error));
}

function syntaxProblem(
  source: string,
  error: { message: string; linePos?: readonly { line: number; col: number }[] },
): string {
  const headline = (error.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
  const start = error.linePos?.[0];
  return start === undefined ? `${source}: ${headline}` : `${source}:${start.line}:${start.col}: ${headline}`;
}

/** YAML (or JSON) text as a plain value, or its syntax problems as `file:line:col: what`. */
function readYaml(text: string, source: string): { value: unknown } | { problems: string[] } {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) return { problems: doc.errors.map((error) => syntaxProblem(source, error)) };
  try {
    const value: unknown = doc.toJS();
    return { value };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { problems: [syntaxProblem(source, { message })] };
  }
}

// target ----------------------------------------------------------------------------------------

const TARGET_KEYS: Readonly<Record<DrillBackend, readonly string[]>> = {
  local: ["backend", "testbed", "nodes", "netns", "prometheus"],
  compose: ["backend", "url", "api-key", "api-secret", "project", "file", "nodes", "redis", "network"],
  kubernetes: [
    "backend",
    "url",
    "api-key",
    "api-secret",
    "namespace",
    "context",
    "node-selector",
    "redis-selector",
  ],
};

/** The target as written; a local target's netns and prometheus are settled once the faults are known. */
interface TargetDraft {
  readonly target: DrillTarget;
  readonly netns: boolean | null;
  readonly prometheus: boolean | null;
}

const serviceList: Reader<string[]> = (p, value, path) => {
  const expected = "expected a list of compose service names, such as [livekit1, livekit2]";
  if (!Array.isArray(value)) return p.at(path, `${expected}, got ${describeValue(value)}`);
  if (value.length === 0) return p.at(path, `${expected}, got an empty list`);
  const names = value.map((item: unknown, i): string | Invalid => {
    const name = nonEmpty("expected a compose service name")(p, item, [...path, i]);
    const first = value.indexOf(item);
    if (name !== INVALID && first < i)
      return p.at([...path, i], `duplicate service "${name}", already nodes[${first}]`);
    return name;
  });
  return whole(names);
};

function parseTarget(p: Problems, value: unknown, env: Env, baseDir: string): TargetDraft | Invalid {
  const path = ["target"];
  if (value === undefined) {
    const target: DrillTarget = {
      backend: "local",
      testbed: null,
      nodes: 3,
      netns: false,
      prometheus: false,
    };
    return { target, netns: null, prometheus: null };
  }
  if (!isMapping(value)) {
    return p.at(
      path,
      `expected a mapping with backend (${drillBackends.join(", ")}), got ${describeValue(value)}`,
    );
  }
  const f = new Fields(p, value, path);
  const backend = f.opt("backend", choice(drillBackends, "backend"), "local");
  if (backend === INVALID) return INVALID;
  f.onlyKeys(TARGET_KEYS[backend], (key) => {
    const owners = drillBackends.filter((other) => TARGET_KEYS[other].includes(key));
    return owners.length === 0
      ? undefined
      : `the ${backend} backend takes no ${key} (${key} is for ${owners.join(" and ")})`;
  });
  const optionalText = (key: string, expected: string): string | null | Invalid =>
    f.opt(key, nullable(nonEmpty(expected)), null);

  if (backend === "local") {
    const netns = f.opt("netns", nullable(bool), null);
    const prometheus = f.opt("prometheus", nullable(bool), null);
    const target = whole({
      backend,
      testbed: optionalText("testbed", "expected the name given to swarm testbed up --name"),
      nodes: f.opt("nodes", positiveInt, 3),
      netns: false,
      prometheus: false,
    });
    return whole({ target, netns, prometheus });
  }

  const credentials = {
    url: f.req("url", livekitUrl(env), `missing: ${backend} needs url, such as \${LIVEKIT_URL}`),
    apiKey: f.req(
      "api-key",
      withEnv(env, "expected an API key such as ${LIVEKIT_API_KEY}", true),
      `missing: ${backend} needs api-key, such as \${LIVEKIT_API_KEY}`,
    ),
    apiSecret: f.req(
      "api-secret",
      withEnv(env, "expected an API secret such as ${LIVEKIT_API_SECRET}", true),
      `missing: ${backend} needs api-secret, such as \${LIVEKIT_API_SECRET}`,
    ),
  } as const;

  if (backend === "compose") {
    const file = optionalText("file", "expected a compose file path (docker compose -f)");
    const target = whole({
      backend,
      ...credentials,
      project: optionalText("project", "expected a compose project name (docker compose -p)"),
      // Named relative to the drill, as the workload's scenario file is.
      file: file === INVALID || file === null || isAbsolute(file) ? file : join(baseDir, file),
      nodes: f.req(
        "nodes",
        serviceList,
        "missing: compose needs nodes, the livekit-server services in node order, such as [livekit1, livekit2]",
      ),
      redis: optionalText("redis", "expected the compose service that runs Redis"),
      network: optionalText("network", "expected a compose network name"),
    });
    return whole({ target, netns: null, prometheus: null });
  }

  const target = whole({
    backend,
    ...credentials,
    namespace: f.opt("namespace", nonEmpty("expected a Kubernetes namespace"), "default"),
    context: optionalText("context", "expected a kubectl context name"),
    nodeSelector: f.req(
      "node-selector",
      nonEmpty("expected a label selector such as app=livekit"),
      "missing: kubernetes needs node-selector, the livekit-server pods' labels, such as app=livekit",
    ),
    redisSelector: optionalText("redis-selector", "expected a label selector such as app=redis"),
  });
  return whole({ target, netns: null, prometheus: null });
}

/** How many nodes the target has before the drill runs; null when only known at run time. */
function nodeCountOf(target: DrillTarget): number | null {
  if (target.backend === "local") return target.nodes;
  if (target.backend === "compose") return target.nodes.length;
  return null;
}

// workload --------------------------------------------------------------------------------------

const WORKLOAD_SOURCE = "\u0000workload";
const scenarioTopKeys: readonly string[] = [
  ...new Set(scenarioKeyPaths.map((key) => key.replace(/\..*$/, ""))),
];
const WORKLOAD_KEYS: readonly string[] = ["scenario", "rejoin", ...scenarioTopKeys];
const WORKLOAD_EXPECTED =
  "expected a mapping of scenario keys such as rooms, subscribers, duration, or scenario: <file>";
const SCENARIO_EXPECTED = "expected a mapping of scenario keys such as rooms, subscribers, duration";
const PROBLEM_PATH = /^([^\s:.[\]]+(?:\.[^\s:.[\]]+|\[\d+\])*): ([\s\S]*)$/;

function valueAt(root: unknown, path: Path): unknown {
  let value = root;
  for (const segment of path) {
    if (!isMapping(value) && !Array.isArray(value)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

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
function relocate(problem: string, source: string, inline: Mapping, file: ScenarioFile | null): string {
  const prefix = `${WORKLOAD_SOURCE}: `;
  const rest = problem.startsWith(prefix) ? problem.slice(prefix.length) : problem;
  const [, pathText, message] = PROBLEM_PATH.exec(rest) ?? [];
  if (pathText === undefined || message === undefined) return `${source}: workload: ${rest}`;
  const segments = [...pathText.matchAll(/\[(\d+)\]|[^.[\]]+/g)].map(([key, index]) =>
    index === undefined ? key : Number(index),
  );
  if (
    file !== null &&
    valueAt(inline, segments) === undefined &&
    valueAt(file.values, segments) !== undefined
  ) {
    return `${file.path}: ${pathText}: ${message}`;
  }
  return `${source}: workload.${pathText}: ${message}`;
}

function readScenarioFile(p: Problems, path: string, at: Path): ScenarioFile | Invalid {
  let content: string;
  try {
    content = readFileSync(path, "utf8");
  } catch (error) {
    return p.at(at, `cannot read ${path}: ${readFailure(error)}`);
  }
  const read = readYaml(content, path);
  if ("problems" in read) {
    for (const problem of read.problems) p.add(problem);
    return INVALID;
  }
  if (read.value === null || read.value === undefined)
    return p.add(`${path}: empty scenario: ${SCENARIO_EXPECTED}`);
  if (!isMapping(read.value)) return p.add(`${path}: ${SCENARIO_EXPECTED}, got ${describeValue(read.value)}`);
  return { path, values: read.value };
}

function parseWorkload(
  p: Problems,
  value: unknown,
  drillName: string | Invalid,
  baseDir: string,
): Drill["workload"] | Invalid {
  if (value === undefined) return p.at(["workload"], `missing: ${WORKLOAD_EXPECTED}`);
  const f = fields(p, value, ["workload"], WORKLOAD_KEYS, WORKLOAD_EXPECTED);
  if (f === INVALID) return INVALID;
  const rejoin = f.opt("rejoin", bool, false);
  const ref = f.opt(
    "scenario",
    nullable(nonEmpty("expected a scenario file path such as ../scenarios/smoke.yaml")),
    null,
  );
  if (ref === INVALID) return INVALID;
  const file =
    ref === null
      ? null
      : readScenarioFile(p, isAbsolute(ref) ? ref : join(baseDir, ref), ["workload", "scenario"]);
  if (file === INVALID) return INVALID;
  // Unknown keys are reported already (with rejoin and scenario among the suggestions).
  const inline = Object.fromEntries(
    Object.entries(f.values).filter(([key]) => scenarioTopKeys.includes(key)),
  );
  const merged = merge(file?.values ?? {}, inline);
  // The run is named after the drill unless a name is written: it becomes the `scenario` metric label.
  const named = merged.name === undefined && drillName !== INVALID ? { ...merged, name: drillName } : merged;
  try {
    const scenario = parseScenarioObject(named, WORKLOAD_SOURCE);
    return whole({ scenario, scenarioFile: file?.path ?? null, rejoin });
  } catch (error) {
    if (!(error instanceof ScenarioError)) throw error;
    for (const problem of error.problems) p.add(relocate(problem, p.source, inline, file));
    return INVALID;
  }
}

// faults ----------------------------------------------------------------------------------------

const FAULT_KEYS: readonly string[] = ["id", "type", "target", "at", "duration", "confirm-within"];

const faultParamKeys: Readonly<Record<FaultType, readonly string[]>> = {
  "node.kill": [],
  "node.freeze": [],
  "node.thaw": [],
  "node.drain": ["grace"],
  "node.restart": ["grace"],
  "redis.kill": [],
  "redis.restart": [],
  "net.partition": ["direction", "from"],
  "net.loss": ["ratio", "direction"],
  "net.bandwidth": ["rate"],
  "net.delay": ["delay", "jitter"],
  "client.simulate": ["scenario"],
};
const ALL_FAULT_KEYS: readonly string[] = [
  ...new Set([...FAULT_KEYS, ...Object.values(faultParamKeys).flat()]),
];

/** Faults that happen at once: nothing to revert, so no duration. */
const INSTANT: readonly FaultType[] = ["node.thaw", "client.simulate"];
/** Faults that take a process restart (or a drain) to show. */
const SLOW_TO_CONFIRM: readonly FaultType[] = ["node.restart", "redis.restart", "node.drain"];

const NODE_SELECTIONS = ["busiest-room-node", "random-node", "all-nodes"] as const;
const TARGET_KINDS = ["node", "share", "ref", "participants"] as const;
const ONE_KIND = "expected one of node, share, ref or participants";
const rooms = ["busiest", "any"] as const;
const directions = ["egress", "ingress", "both"] as const;
const partitionSources = ["all", "redis"] as const;
const TARGET_SHAPES = "{node: 2}, {share: 50%}, {ref: <fault id>}, {participants: 25%, room: busiest}";
const NODE_TARGETS =
  "busiest-room-node, random-node, all-nodes, {node: 2}, {share: 50%} or {ref: <fault id>}";
const PARTICIPANTS_TARGET =
  "client.simulate needs a participants target such as {participants: 25%, room: busiest}";
const THAW_TARGET = "node.thaw needs {ref: <id of a node.freeze fault>}, the freeze it undoes";
const FAULT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function describeTarget(target: FaultTarget): string {
  switch (target.kind) {
    case "busiest-room-node":
    case "random-node":
    case "all-nodes":
    case "redis":
      return target.kind;
    case "node":
      return `{node: ${target.index}}`;
    case "share-of-nodes":
      return `{share: ${formatShare(target.share)}}`;
    case "ref":
      return `{ref: ${target.fault}}`;
    case "participants":
      return `{participants: ${formatShare(target.share)}${target.busiestRoomOnly ? ", room: busiest" : ""}}`;
  }
}

/** A target as written, before it is held against the fault's type. */
const targetSpec: Reader<FaultTarget> = (p, value, path) => {
  if (typeof value === "string") {
    const selection = NODE_SELECTIONS.find((s) => s === value);
    if (selection !== undefined) return { kind: selection };
    const [best] = closestMatches(value, NODE_SELECTIONS, 1);
    const hint = best === undefined ? "" : ` (did you mean "${best}"?)`;
    return p.at(
      path,
      `unknown target ${describeValue(value)}${hint}; one of ${NODE_SELECTIONS.join(", ")}, or a mapping such as ${TARGET_SHAPES}`,
    );
  }
  const expected = `expected ${NODE_SELECTIONS.join(", ")} or a mapping such as ${TARGET_SHAPES}`;
  const f = fields(p, value, path, [...TARGET_KINDS, "room"], expected);
  if (f === INVALID) return INVALID;
  const kinds = TARGET_KINDS.filter((kind) => f.has(kind));
  const [kind] = kinds;
  if (kind === undefined) return p.at(path, `${ONE_KIND}, got none`);
  if (kinds.length > 1) return p.at(path, `${ONE_KIND}, got ${kinds.join(" and ")}`);
  if (kind !== "participants" && f.has("room")) {
    return p.at([...path, "room"], "room goes with participants, such as {participants: 25%, room: busiest}");
  }
  switch (kind) {
    case "node":
      return whole({ kind, index: positiveInt(p, f.values.node, [...path, "node"]) });
    case "share":
      return whole({
        kind: "share-of-nodes",
        share: share({ positive: true })(p, f.values.share, [...path, "share"]),
      });
    case "ref":
      return whole({
        kind,
        fault: nonEmpty("expected the id of an earlier fault")(p, f.values.ref, [...path, "ref"]),
      });
    case "participants": {
      const room = f.opt("room", choice(rooms, "room"), "any");
      return whole({
        kind,
        share: share({ positive: true })(p, f.values.participants, [...path, "participants"]),
        busiestRoomOnly: room === INVALID ? INVALID : room === "busiest",
      });
    }
  }
};

function faultTarget(p: Problems, type: FaultType, value: unknown, path: Path): FaultTarget | Invalid {
  if (type === "redis.kill" || type === "redis.restart") {
    return value === undefined ? { kind: "redis" } : p.at(path, `${type} acts on Redis and takes no target`);
  }
  if (type === "client.simulate" || type === "node.thaw") {
    const needs = type === "client.simulate" ? PARTICIPANTS_TARGET : THAW_TARGET;
    if (value === undefined) return p.at(path, needs);
    const target = targetSpec(p, value, path);
    if (target === INVALID || target.kind === (type === "client.simulate" ? "participants" : "ref"))
      return target;
    return p.at(path, `${needs}, got ${describeTarget(target)}`);
  }
  if (value === undefined) return { kind: "busiest-room-node" };
  const target = targetSpec(p, value, path);
  if (target === INVALID || target.kind !== "participants") return target;
  return p.at(
    path,
    `${type} needs a node target: ${NODE_TARGETS}; {participants: ...} is for client.simulate`,
  );
}

const RATE = /^(\d+(?:\.\d+)?)\s*(kbit|mbit)$/;

/** `500kbit` or `2mbit`, in kbit/s. */
const rate: Reader<number> = (p, value, path) => {
  const [, amount, unit] = typeof value === "string" ? (RATE.exec(value.trim()) ?? []) : [];
  const kbit = Number(amount) * (unit === "mbit" ? 1000 : 1);
  if (amount === undefined || kbit <= 0) {
    return p.at(path, `expected a rate such as 500kbit or 2mbit, got ${describeValue(value)}`);
  }
  return kbit;
};

function parseParams(f: Fields, type: FaultType): FaultParams | Invalid {
  switch (type) {
    case "net.loss":
      return whole({
        ratio: f.req(
          "ratio",
          share({ positive: true }),
          "net.loss needs ratio, the share of packets dropped, such as 10%",
        ),
        direction: f.opt("direction", choice(directions, "direction"), "egress"),
      });
    case "net.partition":
      return whole({
        direction: f.opt("direction", choice(directions, "direction"), "both"),
        from: f.opt("from", choice(partitionSources, "from"), "all"),
      });
    case "net.bandwidth":
      return whole({ rateKbit: f.req("rate", rate, "net.bandwidth needs rate, such as 500kbit or 2mbit") });
    case "net.delay": {
      const delayMs = f.req(
        "delay",
        duration({ positive: true }),
        "net.delay needs delay, the added one-way delay, such as 100ms",
      );
      const jitterMs = f.opt("jitter", nullable(duration()), null);
      return jitterMs === null ? whole({ delayMs }) : whole({ delayMs, jitterMs });
    }
    case "node.drain":
    case "node.restart":
      return whole({ graceMs: f.opt("grace", duration(), 10_000) });
    case "client.simulate":
      return whole({
        scenario: f.req(
          "scenario",
          choice(simulateScenarios, "simulate scenario"),
          `client.simulate needs scenario, one of ${simulateScenarios.join(", ")}`,
        ),
      });
    default:
      return {};
  }
}

/** One fault as far as it could be read on its own; the rules between faults come after. */
interface FaultDraft {
  readonly id: string | Invalid;
  /** False when the id is the `<type>-<position>` default. */
  readonly idGiven: boolean;
  readonly type: FaultType | Invalid;
  readonly target: FaultTarget | Invalid;
  readonly at: Milliseconds | Invalid;
  readonly duration: Milliseconds | null | Invalid;
  readonly fault: DrillFault | Invalid;
}

function parseFault(p: Problems, value: unknown, index: number): FaultDraft {
  const path = ["faults", index];
  const unread: FaultDraft = {
    id: INVALID,
    idGiven: false,
    type: INVALID,
    target: INVALID,
    at: INVALID,
    duration: INVALID,
    fault: INVALID,
  };
  if (!isMapping(value)) {
    p.at(path, `expected a mapping with type, target, at and duration, got ${describeValue(value)}`);
    return unread;
  }
  const f = new Fields(p, value, path);
  const type = f.req(
    "type",
    choice(faultTypes, "fault type"),
    `missing: expected one of ${faultTypes.join(", ")}`,
  );
  f.onlyKeys(type === INVALID ? ALL_FAULT_KEYS : [...FAULT_KEYS, ...faultParamKeys[type]], (key) => {
    const owners = faultTypes.filter((other) => faultParamKeys[other].includes(key));
    if (type === INVALID || owners.length === 0) return undefined;
    return `${type} takes no ${key} (${key} is for ${owners.join(" and ")})`;
  });
  const givenId = f.opt(
    "id",
    nullable(matching(FAULT_ID, 'expected up to 64 letters, digits, ".", "_" or "-", such as kill')),
    null,
  );
  const idGiven = givenId !== null;
  if (type === INVALID) return { ...unread, id: givenId ?? INVALID, idGiven };

  const id = givenId ?? `${type}-${index + 1}`;
  const target = faultTarget(p, type, value.target, [...path, "target"]);
  const at = f.opt("at", duration(), 0);
  const lasts =
    INSTANT.includes(type) && value.duration !== undefined && value.duration !== null
      ? p.at([...path, "duration"], `${type} is instant and takes no duration`)
      : f.opt("duration", nullable(duration({ positive: true })), null);
  const fault = whole({
    id,
    type,
    target,
    at,
    duration: lasts,
    confirmWithin: f.opt(
      "confirm-within",
      duration({ positive: true }),
      SLOW_TO_CONFIRM.includes(type) ? 10_000 : 5000,
    ),
    params: parseParams(f, type),
  });
  return { id, idGiven, type, target, at, duration: lasts, fault };
}

function parseFaults(p: Problems, value: unknown): FaultDraft[] | Invalid {
  const expected = "expected a list of faults, each with a type such as node.kill";
  if (value === undefined) return p.at(["faults"], `missing: ${expected}`);
  if (!Array.isArray(value)) return p.at(["faults"], `${expected}, got ${describeValue(value)}`);
  if (value.length === 0) return p.at(["faults"], `${expected}, got an empty list`);
  return value.map((fault: unknown, i) => parseFault(p, fault, i));
}

/**
 * How many nodes the target of `drafts[index]` hits, when that is known before the drill runs. A ref
 * follows only earlier faults, so a ref to itself (reported elsewhere) cannot loop.
 */
function nodesHit(drafts: readonly FaultDraft[], index: number, nodeCount: number | null): number | null {
  const target = drafts[index]?.target;
  if (target === undefined || target === INVALID) return null;
  switch (target.kind) {
    case "busiest-room-node":
    case "random-node":
    case "node":
      return 1;
    case "all-nodes":
      return nodeCount;
    case "share-of-nodes":
      return nodeCount === null ? null : Math.max(1, Math.ceil(target.share * nodeCount));
    case "ref": {
      const referenced = drafts.findIndex((draft) => draft.id === target.fault);
      return referenced >= 0 && referenced < index ? nodesHit(drafts, referenced, nodeCount) : null;
    }
    case "redis":
    case "participants":
      return 0;
  }
}

/** Ids are unique; a ref names an earlier fault that hit nodes (a node.thaw, a node.freeze). */
function checkRefs(p: Problems, drafts: readonly FaultDraft[]): Set<number> {
  const firstIndex = new Map<string, number>();
  drafts.forEach((draft, i) => {
    if (draft.id === INVALID) return;
    const first = firstIndex.get(draft.id);
    if (first === undefined) {
      firstIndex.set(draft.id, i);
      return;
    }
    const hint = draft.idGiven ? "" : " (this fault's default id): give it an id";
    p.at(["faults", i, "id"], `duplicate id "${draft.id}", already used by faults[${first}]${hint}`);
  });

  const validRefs = new Set<number>();
  drafts.forEach((draft, i) => {
    if (draft.target === INVALID || draft.target.kind !== "ref") return;
    const path = ["faults", i, "target", "ref"];
    const id = draft.target.fault;
    const k = firstIndex.get(id);
    const referenced = k === undefined ? undefined : drafts[k];
    if (k === undefined || referenced === undefined) {
      const earlier = drafts.slice(0, i).flatMap((d) => (d.id === INVALID ? [] : [d.id]));
      const [best] = closestMatches(id, earlier, 1);
      p.at(path, `no earlier fault has id "${id}"${best === undefined ? "" : ` (did you mean "${best}"?)`}`);
      return;
    }
    if (k >= i) {
      p.at(
        path,
        k === i
          ? "a fault cannot target itself"
          : `"${id}" is faults[${k}], which comes later: a ref names an earlier fault`,
      );
      return;
    }
    if (referenced.target === INVALID || referenced.type === INVALID) return;
    if (referenced.target.kind === "redis" || referenced.target.kind === "participants") {
      p.at(path, `"${id}" is a ${referenced.type} fault, which hits no node`);
      return;
    }
    if (draft.type === "node.thaw" && referenced.type !== "node.freeze") {
      p.at(path, `node.thaw undoes a node.freeze, but "${id}" is a ${referenced.type}`);
      return;
    }
    if (draft.type === "node.thaw" && referenced.duration !== null && referenced.duration !== INVALID) {
      const lasts = formatDuration(referenced.duration);
      p.at(path, `"${id}" thaws itself after its duration (${lasts}): drop that duration or this node.thaw`);
      return;
    }
    if (draft.at !== INVALID && referenced.at !== INVALID && draft.at < referenced.at) {
      p.at(
        ["faults", i, "at"],
        `${formatDuration(draft.at)} is before "${id}" (at ${formatDuration(referenced.at)}), whose nodes this fault targets`,
      );
      return;
    }
    validRefs.add(i);
  });
  return validRefs;
}

/** What the backend can do: Redis to kill, SIGSTOP to send, the node a fault names. */
function checkBackend(p: Problems, drafts: readonly FaultDraft[], target: DrillTarget): void {
  const nodeCount = nodeCountOf(target);
  let redisReported = false;
  drafts.forEach((draft, i) => {
    const { type, fault } = draft;
    if (type === INVALID) return;
    const path = ["faults", i];
    if (target.backend === "kubernetes" && (type === "node.freeze" || type === "node.thaw")) {
      p.at(
        [...path, "type"],
        `${type} (${type === "node.freeze" ? "SIGSTOP" : "SIGCONT"}) is not available on kubernetes: a container's PID 1 ignores SIGSTOP from inside its namespace; use the local or compose backend`,
      );
    }
    const fromRedis = fault !== INVALID && fault.params.from === "redis";
    if (type.startsWith("redis.") || fromRedis) {
      const what = fromRedis ? "net.partition from redis" : type;
      if (target.backend === "local" && target.nodes === 1) {
        p.at(
          [...path, fromRedis ? "from" : "type"],
          `${what} needs Redis, which a single-node testbed does not run: set target.nodes to 2 or more`,
        );
      } else if (target.backend === "compose" && target.redis === null && !redisReported) {
        redisReported = true;
        p.at(
          ["target", "redis"],
          `missing: ${what} (faults[${i}]) needs the compose service that runs Redis`,
        );
      } else if (target.backend === "kubernetes" && target.redisSelector === null && !redisReported) {
        redisReported = true;
        p.at(
          ["target", "redis-selector"],
          `missing: ${what} (faults[${i}]) needs the Redis pods' label selector, such as app=redis`,
        );
      }
    }
    if (
      draft.target !== INVALID &&
      draft.target.kind === "node" &&
      nodeCount !== null &&
      draft.target.index > nodeCount
    ) {
      const which = target.backend === "compose" ? "the services in target.nodes" : "target.nodes";
      p.at(
        [...path, "target", "node"],
        `expected a node from 1 to ${nodeCount} (${which}), got ${draft.target.index}`,
      );
    }
  });
}

/** abort.max-nodes, against every target whose node count is known before the drill runs. */
function checkMaxNodes(
  p: Problems,
  drafts: readonly FaultDraft[],
  validRefs: ReadonlySet<number>,
  nodeCount: number | null,
  maxNodes: number,
): void {
  // Nodes named by number are known exactly, so their union across faults counts too.
  const named = new Set<number>();
  let unionReported = false;
  drafts.forEach((draft, i) => {
    const hit = draft.target;
    if (hit === INVALID || (hit.kind === "ref" && !validRefs.has(i))) return;
    const hits = nodesHit(drafts, i, nodeCount);
    if (hits !== null && hits > maxNodes) {
      const of = hit.kind === "share-of-nodes" ? ` of ${nodeCount ?? "?"}` : "";
      p.at(
        ["faults", i, "target"],
        `${describeTarget(hit)} hits ${hits}${of} nodes, more than abort.max-nodes (${maxNodes})`,
      );
      return;
    }
    if (hit.kind === "node") named.add(hit.index);
    if (hit.kind === "all-nodes" && nodeCount !== null) for (let n = 1; n <= nodeCount; n++) named.add(n);
    if (named.size > maxNodes && !unionReported) {
      unionReported = true;
      p.at(
        ["faults", i, "target"],
        `with the faults before it the drill hits ${named.size} distinct nodes (${[...named].join(", ")}), more than abort.max-nodes (${maxNodes})`,
      );
    }
  });
}

// steady state, abort, expect -------------------------------------------------------------------

function parseProbe(p: Problems, value: unknown, path: Path): PrometheusProbe | Invalid {
  const f = fields(p, value, path, ["query", "min", "max"], "expected a mapping with query, min and max");
  if (f === INVALID) return INVALID;
  const query = f.req(
    "query",
    nonEmpty("expected a PromQL query"),
    "missing: expected a PromQL query such as count(up == 1)",
  );
  const min = f.opt("min", nullable(finiteNumber), null);
  const max = f.opt("max", nullable(finiteNumber), null);
  if (min === null && max === null) return p.at(path, "expected min, max or both, got neither");
  if (typeof min === "number" && typeof max === "number" && min > max) {
    return p.at([...path, "min"], `expected no more than max (${max}), got ${min}`);
  }
  return whole({ query, min, max });
}

const probeList: Reader<PrometheusProbe[]> = (p, value, path) => {
  if (!Array.isArray(value)) {
    return p.at(path, `expected a list of {query, min, max} checks, got ${describeValue(value)}`);
  }
  return whole(value.map((probe: unknown, i) => parseProbe(p, probe, [...path, i])));
};

function parseSteadyState(p: Problems, value: unknown): SteadyState | Invalid {
  const path = ["steady-state"];
  if (value === undefined) return { connected: 1, mediaFlowing: 1, maxLoss: null, prometheus: [] };
  const f = fields(
    p,
    value,
    path,
    ["connected", "media-flowing", "max-loss", "prometheus"],
    "expected a mapping with connected, media-flowing, max-loss or prometheus",
  );
  if (f === INVALID) return INVALID;
  const ratio = nullable(share({ positive: false }));
  return whole({
    connected: f.opt("connected", ratio, 1),
    mediaFlowing: f.opt("media-flowing", ratio, 1),
    maxLoss: f.opt("max-loss", ratio, null),
    prometheus: f.opt("prometheus", probeList, []),
  });
}

interface AbortDraft {
  /** Null: derived from the drill's phases once they are known. */
  readonly maxDuration: Milliseconds | null;
  readonly maxNodes: number | null;
  readonly maxParticipantsDown: number | null;
  readonly downFor: Milliseconds;
}

function parseAbort(p: Problems, value: unknown): AbortDraft | Invalid {
  if (value === undefined)
    return { maxDuration: null, maxNodes: null, maxParticipantsDown: null, downFor: 10_000 };
  const keys = ["max-duration", "max-nodes", "max-participants-down", "down-for"];
  const f = fields(p, value, ["abort"], keys, `expected a mapping with ${keys.join(", ")}`);
  if (f === INVALID) return INVALID;
  return whole({
    maxDuration: f.opt("max-duration", nullable(duration({ positive: true })), null),
    maxNodes: f.opt("max-nodes", nullable(positiveInt), null),
    maxParticipantsDown: f.opt("max-participants-down", nullable(share({ positive: true })), null),
    downFor: f.opt("down-for", duration({ positive: true }), 10_000),
  });
}

const PERCENTILE_KEYS = ["p50", "p95", "max"] as const;

const percentiles: Reader<Percentiles> = (p, value, path) => {
  const expected = "expected a mapping with p50, p95 or max, such as {p95: 20s}";
  const f = fields(p, value, path, PERCENTILE_KEYS, expected);
  if (f === INVALID) return INVALID;
  if (!PERCENTILE_KEYS.some((key) => f.has(key))) return p.at(path, `${expected}, got none`);
  const read = nullable(duration({ positive: true }));
  const bounds = {
    p50: f.opt("p50", read, null),
    p95: f.opt("p95", read, null),
    max: f.opt("max", read, null),
  } as const;
  // Each bound must leave room for the next: a p95 above the max can never be met together with it.
  const given = PERCENTILE_KEYS.flatMap((key) => {
    const ms = bounds[key];
    return typeof ms === "number" ? [{ key, ms }] : [];
  });
  for (const [i, { key, ms }] of given.entries()) {
    const next = given[i + 1];
    if (next !== undefined && ms > next.ms) {
      return p.at(
        [...path, key],
        `expected no more than ${next.key} (${formatDuration(next.ms)}), got ${describeValue(f.values[key])}`,
      );
    }
  }
  return whole(bounds);
};

const QUALITY_KEYS = ["max-loss", "max-loss-vs-baseline", "min-bitrate-vs-baseline"];

const qualityAfter: Reader<NonNullable<Expectations["qualityAfter"]>> = (p, value, path) => {
  const expected = `expected a mapping with ${QUALITY_KEYS.join(", ")}`;
  const f = fields(p, value, path, QUALITY_KEYS, expected);
  if (f === INVALID) return INVALID;
  if (!QUALITY_KEYS.some((key) => f.has(key))) return p.at(path, `${expected}, got none`);
  return whole({
    maxLoss: f.opt("max-loss", nullable(share({ positive: false })), null),
    maxLossVsBaseline: f.opt("max-loss-vs-baseline", nullable(positiveRatio), null),
    minBitrateVsBaseline: f.opt("min-bitrate-vs-baseline", nullable(positiveRatio), null),
  });
};

const EXPECT_KEYS = [
  "detect",
  "reconnect",
  "media-resume",
  "participants-lost",
  "ghosts",
  "consistent-within",
  "quality-after",
  "accept-findings",
];

// issue 12: a list of finding ids, each known
const acceptFindings: Reader<readonly FindingId[]> = (p, value, path) => {
  const expected = `expected a list of finding ids (${findingIds.join(", ")})`;
  if (!Array.isArray(value)) return p.at(path, `${expected}, got ${describeValue(value)}`);
  const ids = value.map((item, i) => choice(findingIds, "finding id")(p, item, [...path, i]));
  return ids.some((id) => id === INVALID) ? INVALID : (ids as FindingId[]);
};

function parseExpect(p: Problems, value: unknown): Expectations | Invalid {
  if (value === undefined) {
    return {
      detect: null,
      reconnect: null,
      mediaResume: null,
      participantsLost: null,
      ghosts: null,
      consistentWithin: null,
      qualityAfter: null,
      acceptFindings: [],
    };
  }
  const f = fields(p, value, ["expect"], EXPECT_KEYS, `expected a mapping with ${EXPECT_KEYS.join(", ")}`);
  if (f === INVALID) return INVALID;
  return whole({
    detect: f.opt("detect", nullable(percentiles), null),
    reconnect: f.opt("reconnect", nullable(percentiles), null),
    mediaResume: f.opt("media-resume", nullable(percentiles), null),
    participantsLost: f.opt("participants-lost", nullable(count), null),
    ghosts: f.opt("ghosts", nullable(count), null),
    consistentWithin: f.opt("consistent-within", nullable(duration({ positive: true })), null),
    qualityAfter: f.opt("quality-after", nullable(qualityAfter), null),
    acceptFindings: f.opt("accept-findings", acceptFindings, []),
  });
}

// the drill -------------------------------------------------------------------------------------

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
];
const DRILL_EXPECTED = "expected a mapping with name, workload and faults";
const DRILL_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;
const NAME_EXPECTED = 'expected up to 64 lower-case letters, digits and "-", such as kill-room-node';
/** On top of the planned phases: the swarm's joins and the rollback. */
const MAX_DURATION_MARGIN: Milliseconds = 120_000;

export interface ParseDrillOptions {
  /** Where a workload's `scenario:` file is looked up; default: the directory of `sourceName`. */
  readonly baseDir?: string;
  /** Fills `${NAME}` in a target's url, api-key and api-secret; default: process.env. */
  readonly env?: Env;
}

function resolveDrill(value: unknown, source: string, file: string | null, baseDir: string, env: Env): Drill {
  const p = new Problems(source);
  if (value === null || value === undefined)
    throw new DrillError("invalid", source, [`${source}: empty drill: ${DRILL_EXPECTED}`]);
  const f = fields(p, value, [], DRILL_KEYS, DRILL_EXPECTED);
  if (f === INVALID) throw p.error();

  const name = f.req("name", matching(DRILL_NAME, NAME_EXPECTED), `missing: ${NAME_EXPECTED}`);
  const description = f.opt("description", nonEmpty("expected a sentence saying what the drill proves"), "");
  const targetDraft = parseTarget(p, f.values.target, env, baseDir);
  const workload = parseWorkload(p, f.values.workload, name, baseDir);
  const baseline = f.opt("baseline", duration({ min: 5000 }), 15_000);
  const observe = f.opt("observe", duration({ positive: true }), 45_000);
  const after = f.opt("after", duration({ positive: true }), 15_000);
  const steadyState = parseSteadyState(p, f.values["steady-state"]);
  const drafts = parseFaults(p, f.values.faults);
  const abortDraft = parseAbort(p, f.values.abort);

  let target: DrillTarget | Invalid = INVALID;
  if (drafts !== INVALID) {
    const validRefs = checkRefs(p, drafts);
    if (targetDraft !== INVALID) {
      checkBackend(p, drafts, targetDraft.target);
      if (abortDraft !== INVALID && abortDraft.maxNodes !== null) {
        checkMaxNodes(p, drafts, validRefs, nodeCountOf(targetDraft.target), abortDraft.maxNodes);
      }
    }
  }
  if (targetDraft !== INVALID) {
    target = targetDraft.target;
    if (target.backend === "local") {
      const netFault =
        drafts === INVALID ? undefined : drafts.find((d) => d.type !== INVALID && d.type.startsWith("net."));
      if (targetDraft.netns === false && netFault !== undefined && netFault.type !== INVALID) {
        p.at(
          ["target", "netns"],
          `${netFault.type} needs each node in its own network namespace: set netns: true`,
        );
      }
      const probes = steadyState === INVALID ? 0 : steadyState.prometheus.length;
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
  }

  let abort: Drill["abort"] | Invalid = INVALID;
  if (
    abortDraft !== INVALID &&
    drafts !== INVALID &&
    baseline !== INVALID &&
    observe !== INVALID &&
    after !== INVALID
  ) {
    const lastAt = Math.max(...drafts.map((draft) => (draft.at === INVALID ? 0 : draft.at)));
    const planned = baseline + lastAt + observe + after;
    if (abortDraft.maxDuration !== null && abortDraft.maxDuration < planned) {
      p.at(
        ["abort", "max-duration"],
        `expected at least ${formatDuration(planned)}, the drill's planned length (baseline + last fault's at + observe + after), got ${describeValue(valueAt(f.values, ["abort", "max-duration"]))}`,
      );
    }
    abort = { ...abortDraft, maxDuration: abortDraft.maxDuration ?? planned + MAX_DURATION_MARGIN };
  }

  const drill = whole({
    file,
    name,
    description,
    target,
    workload,
    baseline,
    observe,
    after,
    steadyState,
    faults: drafts === INVALID ? INVALID : whole(drafts.map((draft) => draft.fault)),
    abort,
    expect: parseExpect(p, f.values.expect),
  });
  if (p.lines.length > 0 || drill === INVALID) throw p.error();
  return drill;
}

function parseText(text: string, source: string, file: string | null, options: ParseDrillOptions): Drill {
  const read = readYaml(text, source);
  if ("problems" in read) throw new DrillError("syntax", source, read.problems);
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
    content = await readFile(path, "utf8");
  } catch (error) {
    throw new DrillError("unreadable", path, [`${path}: cannot read drill: ${readFailure(error)}`]);
  }
  return parseText(content, path, path, { baseDir: dirname(path), env: process.env });
}
