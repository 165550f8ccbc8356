/** `target:`, where the drill runs: one schema per backend. */
import { isAbsolute, join } from "node:path";
import * as z from "zod";
import { describeValue } from "../duration.js";
import type { DrillBackend, DrillTarget } from "../drill-types.js";
import { drillBackends } from "../drill-types.js";
import type { Env } from "./values.js";
import {
  Problems,
  bool,
  choice,
  got,
  isMapping,
  nonEmpty,
  positiveInt,
  required,
  section,
  withEnv,
} from "./values.js";

/** The target as written; a local target's netns and prometheus are settled once the faults are known. */
export interface TargetDraft {
  readonly target: DrillTarget;
  readonly netns: boolean | null;
  readonly prometheus: boolean | null;
}

const LIVEKIT_URL = /^(wss?|https?):\/\/\S+$/;

function optionalText(expected: string) {
  return nonEmpty(expected).nullable().default(null);
}

const SERVICES = "expected a list of compose service names, such as [livekit1, livekit2]";

const serviceList = z
  .array(nonEmpty("expected a compose service name"), got(SERVICES))
  .min(1, { error: `${SERVICES}, got an empty list` })
  .superRefine(
    (names, ctx) => {
      names.forEach((name, i) => {
        const first = names.indexOf(name);
        if (typeof name === "string" && name.trim() !== "" && first < i) {
          ctx.issues.push({
            code: "custom",
            path: [i],
            message: `duplicate service "${name}", already nodes[${first}]`,
            input: name,
          });
        }
      });
    },
    { when: (payload) => Array.isArray(payload.value) },
  );

function credentials(env: Env, backend: string) {
  return {
    url: required(
      withEnv(env, "expected a LiveKit URL such as ws://localhost:7880 or ${LIVEKIT_URL}", false).refine(
        (url) => LIVEKIT_URL.test(url),
        got("expected a ws://, wss://, http:// or https:// URL"),
      ),
      `missing: ${backend} needs url, such as \${LIVEKIT_URL}`,
    ),
    "api-key": required(
      withEnv(env, "expected an API key such as ${LIVEKIT_API_KEY}", true),
      `missing: ${backend} needs api-key, such as \${LIVEKIT_API_KEY}`,
    ),
    "api-secret": required(
      withEnv(env, "expected an API secret such as ${LIVEKIT_API_SECRET}", true),
      `missing: ${backend} needs api-secret, such as \${LIVEKIT_API_SECRET}`,
    ),
  };
}

/** The keys of each backend, in the order their problems are reported. */
function backendShapes(env: Env) {
  return {
    local: {
      backend: z.literal("local").optional(),
      netns: bool.nullable().default(null),
      prometheus: bool.nullable().default(null),
      turn: bool.default(false),
      testbed: optionalText("expected the name given to swarm testbed up --name"),
      nodes: positiveInt.default(3),
    },
    compose: {
      backend: z.literal("compose"),
      ...credentials(env, "compose"),
      file: optionalText("expected a compose file path (docker compose -f)"),
      project: optionalText("expected a compose project name (docker compose -p)"),
      nodes: required(
        serviceList,
        "missing: compose needs nodes, the livekit-server services in node order, such as [livekit1, livekit2]",
      ),
      redis: optionalText("expected the compose service that runs Redis"),
      network: optionalText("expected a compose network name"),
    },
    kubernetes: {
      backend: z.literal("kubernetes"),
      ...credentials(env, "kubernetes"),
      namespace: nonEmpty("expected a Kubernetes namespace").default("default"),
      context: optionalText("expected a kubectl context name"),
      "node-selector": required(
        nonEmpty("expected a label selector such as app=livekit"),
        "missing: kubernetes needs node-selector, the livekit-server pods' labels, such as app=livekit",
      ),
      "redis-selector": optionalText("expected a label selector such as app=redis"),
      // redis-cli runs inside the Redis pod (kubectl exec) to read room_node_map: a host-network
      // Redis on another port (the cluster testbed's) needs it named
      "redis-port": z
        .int(got("expected a port from 1 to 65535"))
        .min(1, got("expected a port from 1 to 65535"))
        .max(65535, got("expected a port from 1 to 65535"))
        .default(6379),
    },
  } as const;
}

/** Which backends take `key`, for "the local backend takes no url (url is for compose and kubernetes)". */
function ownersOf(shapes: ReturnType<typeof backendShapes>, key: string): DrillBackend[] {
  return drillBackends.filter((backend) => key in shapes[backend]);
}

function targetSchema<B extends DrillBackend>(backend: B, env: Env) {
  const shapes = backendShapes(env);
  return section(shapes[backend], "expected a mapping", (key) => {
    const owners = ownersOf(shapes, key);
    return owners.length === 0
      ? undefined
      : `the ${backend} backend takes no ${key} (${key} is for ${owners.join(" and ")})`;
  });
}

const backendField = z.object({ backend: choice(drillBackends, "backend").default("local") });

const LOCAL_DEFAULT: DrillTarget = {
  backend: "local",
  testbed: null,
  nodes: 3,
  netns: false,
  prometheus: false,
  turn: false,
};

export function parseTarget(p: Problems, value: unknown, env: Env, baseDir: string): TargetDraft | undefined {
  const path = ["target"];
  if (value === undefined) return { target: LOCAL_DEFAULT, netns: null, prometheus: null };
  if (!isMapping(value)) {
    p.at(path, `expected a mapping with backend (${drillBackends.join(", ")}), got ${describeValue(value)}`);
    return;
  }
  const backend = p.read(backendField, value, path)?.backend;
  if (backend === undefined) return undefined;

  if (backend === "local") {
    const local = p.read(targetSchema("local", env), value, path);
    if (local === undefined) return undefined;
    const { testbed, nodes, netns, prometheus, turn } = local;
    if (turn && testbed !== null)
      p.at(
        [...path, "turn"],
        `turn: the drill turns on TURN in the testbed it starts, not in testbed ${testbed}: drop testbed, or drop turn and start that testbed with swarm testbed up --turn`,
      );
    return { target: { backend, testbed, nodes, netns: false, prometheus: false, turn }, netns, prometheus };
  }
  if (backend === "compose") {
    const compose = p.read(targetSchema("compose", env), value, path);
    if (compose === undefined) return undefined;
    const { url, project, nodes, redis, network } = compose;
    // Named relative to the drill, as the workload's scenario file is.
    const file =
      compose.file === null || isAbsolute(compose.file) ? compose.file : join(baseDir, compose.file);
    const target: DrillTarget = {
      backend,
      url,
      apiKey: compose["api-key"],
      apiSecret: compose["api-secret"],
      project,
      file,
      nodes,
      redis,
      network,
    };
    return { target, netns: null, prometheus: null };
  }
  const k8s = p.read(targetSchema("kubernetes", env), value, path);
  if (k8s === undefined) return undefined;
  const target: DrillTarget = {
    backend,
    url: k8s.url,
    apiKey: k8s["api-key"],
    apiSecret: k8s["api-secret"],
    namespace: k8s.namespace,
    context: k8s.context,
    nodeSelector: k8s["node-selector"],
    redisSelector: k8s["redis-selector"],
    redisPort: k8s["redis-port"],
  };
  return { target, netns: null, prometheus: null };
}

/** How many nodes the target has before the drill runs; null when only known at run time. */
export function nodeCountOf(target: DrillTarget): number | null {
  if (target.backend === "local") return target.nodes;
  if (target.backend === "compose") return target.nodes.length;
  return null;
}
