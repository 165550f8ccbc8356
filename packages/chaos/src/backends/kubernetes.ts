/**
 * The Kubernetes backend: node and Redis faults by deleting pods (their controller recreates
 * them), network faults as Chaos Mesh NetworkChaos objects. Each fault is confirmed by what the
 * API server reports: the pod's uid gone, replaced or terminating; Chaos Mesh's AllInjected.
 */
import type { DrillFault, KubernetesTarget } from "@livekit-swarm/schema";
import { stringify } from "yaml";
import { FaultError, type NodeRef, type StepRunner } from "../backend.js";
import type { FaultSubject } from "../journal.js";
import {
  CommandInjector,
  execStep,
  faultResourceName,
  formatStep,
  goDuration,
  nodeIdFromLog,
  plainNumber,
  regexLiteral,
  type CommandStep,
  type CommandTiming,
  type StepCommands,
  type PlannedFault,
} from "./commands.js";

export const CHAOS_MESH_API_VERSION = "chaos-mesh.org/v1alpha1";
/** What `kubectl delete` gives a restarted pod before SIGKILL, unless params.graceMs says. */
const DEFAULT_GRACE_MS = 10_000;
/** How long a revert waits for the recreated pods to be Ready. */
const READY_TIMEOUT_S = 120;

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  readonly values?: readonly string[];
}

/** Chaos Mesh's PodSelectorSpec, the fields we use. */
export interface ChaosPodSelector {
  readonly namespaces?: readonly string[];
  readonly pods?: Readonly<Record<string, readonly string[]>>;
  readonly labelSelectors?: Readonly<Record<string, string>>;
  readonly expressionSelectors?: readonly LabelSelectorRequirement[];
}

export interface NetworkChaosManifest {
  readonly apiVersion: typeof CHAOS_MESH_API_VERSION;
  readonly kind: "NetworkChaos";
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
  };
  readonly spec: {
    readonly action: "partition" | "loss" | "bandwidth" | "delay";
    readonly mode: "all";
    readonly selector: ChaosPodSelector;
    readonly direction: "to" | "from" | "both";
    readonly target?: { readonly mode: "all"; readonly selector: ChaosPodSelector };
    readonly loss?: { readonly loss: string; readonly correlation: string };
    readonly delay?: { readonly latency: string; readonly jitter: string; readonly correlation: string };
    /** rate in tc units: `kbit` is kilobits per second (Chaos Mesh's `kbps` would be kilobytes). */
    readonly bandwidth?: { readonly rate: string; readonly limit: number; readonly buffer: number };
    readonly duration?: string;
  };
}

const KEY = "[A-Za-z0-9][-A-Za-z0-9_./]*";
const VALUE = "[-A-Za-z0-9_.]*";

/**
 * A kubectl label selector (`app=livekit,tier in (media)`) as Chaos Mesh selector terms: equality
 * terms as labelSelectors, the rest as expressionSelectors. Undefined when it does not parse, or
 * uses `>`/`<`, which Chaos Mesh's selectors cannot say.
 */
export function parseLabelSelector(
  selector: string,
): Pick<ChaosPodSelector, "labelSelectors" | "expressionSelectors"> | undefined {
  const terms: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of selector) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      terms.push(current.trim());
      current = "";
    } else {
      current += ch;
    }
  }
  terms.push(current.trim());
  if (depth !== 0 || terms.some((t) => t === "")) return undefined;

  const labels: Record<string, string> = {};
  const expressions: LabelSelectorRequirement[] = [];
  for (const term of terms) {
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^(${KEY})\\s*==?\\s*(${VALUE})$`).exec(term)) !== null) {
      const [, key = "", value = ""] = m;
      if (key in labels) expressions.push({ key, operator: "In", values: [value] });
      else labels[key] = value;
    } else if ((m = new RegExp(`^(${KEY})\\s*!=\\s*(${VALUE})$`).exec(term)) !== null) {
      expressions.push({ key: m[1] ?? "", operator: "NotIn", values: [m[2] ?? ""] });
    } else if ((m = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`).exec(term)) !== null) {
      const values = (m[3] ?? "").split(",").map((v) => v.trim());
      if (values.some((v) => !new RegExp(`^${VALUE}$`).test(v))) return undefined;
      expressions.push({ key: m[1] ?? "", operator: m[2] === "in" ? "In" : "NotIn", values });
    } else if ((m = new RegExp(`^!\\s*(${KEY})$`).exec(term)) !== null) {
      expressions.push({ key: m[1] ?? "", operator: "DoesNotExist" });
    } else if ((m = new RegExp(`^(${KEY})$`).exec(term)) !== null) {
      expressions.push({ key: m[1] ?? "", operator: "Exists" });
    } else {
      return undefined;
    }
  }
  return {
    ...(Object.keys(labels).length > 0 ? { labelSelectors: labels } : {}),
    ...(expressions.length > 0 ? { expressionSelectors: expressions } : {}),
  };
}

function kubectlBase(target: KubernetesTarget): string[] {
  return [
    "kubectl",
    ...(target.context !== null ? ["--context", target.context] : []),
    "-n",
    target.namespace,
  ];
}

function requirePods(fault: DrillFault, pods: readonly string[]): readonly string[] {
  if (pods.length === 0) throw new FaultError(`${fault.id} (${fault.type}): no node selected`, fault.id);
  return pods;
}

function requireRedisSelector(target: KubernetesTarget, fault: DrillFault): string {
  if (target.redisSelector === null) {
    throw new FaultError(
      `${fault.id} (${fault.type}) needs target.redisSelector: the label selector of the Redis pods (e.g. app.kubernetes.io/name=redis)`,
      fault.id,
    );
  }
  return target.redisSelector;
}

/**
 * Evidence that a delete took: the pod that had `uid` is gone (not found), replaced (a
 * StatefulSet's new pod reuses the name, with a new uid) or terminating (deletionTimestamp set:
 * the kubelet is running its SIGTERM and grace period). With `--force --grace-period=0` the API
 * object goes at once, so a kill shows as gone or replaced: the API server cannot show the
 * container's death apart from that. Without a uid (a dry run) only gone or terminating count.
 */
function podDeletedCheck(base: readonly string[], pod: string, uid: string | undefined): CommandStep {
  return {
    argv: [
      ...base,
      "get",
      "pod",
      pod,
      "--ignore-not-found",
      "-o",
      'jsonpath={.metadata.uid}{" "}{.metadata.deletionTimestamp}',
    ],
    expect: uid !== undefined ? `^(?!\\s*${regexLiteral(uid)}\\s*$)` : "^\\s*$|^\\S+ \\S",
    why:
      uid !== undefined
        ? `pod ${pod} (uid ${uid}) gone, replaced or terminating`
        : `pod ${pod} gone or terminating`,
  };
}

function readyWait(base: readonly string[], selector: string): CommandStep {
  return {
    argv: [...base, "wait", "--for=condition=Ready", "pod", "-l", selector, `--timeout=${READY_TIMEOUT_S}s`],
    why: `every pod matching ${selector} Ready (the controller recreates deleted pods)`,
    timeoutMs: READY_TIMEOUT_S * 1000 + 10_000,
    hint: "a drained pod may still be terminating (its terminationGracePeriodSeconds): give the fault params.grace to bound the drain",
  };
}

function deleteCommands(
  target: KubernetesTarget,
  fault: DrillFault,
  how: "kill" | "graceful",
  pods: readonly string[],
  selector: string,
  uids: ReadonlyMap<string, string>,
): StepCommands {
  const base = kubectlBase(target);
  const grace =
    how === "kill"
      ? ["--grace-period=0", "--force"]
      : fault.type === "node.drain" && fault.params.graceMs === undefined
        ? [] // a drain honours the pod's own terminationGracePeriodSeconds, as a rollout would
        : [`--grace-period=${Math.ceil((fault.params.graceMs ?? DEFAULT_GRACE_MS) / 1000)}`];
  const what = pods.length > 0 ? ["pod", ...pods] : ["pod", "-l", selector];
  return {
    inject: [
      {
        argv: [...base, "delete", ...what, ...grace, "--wait=false"],
        why: `${how === "kill" ? "force-delete" : "delete"} ${pods.length > 0 ? pods.join(", ") : `pods ${selector}`}`,
      },
    ],
    confirm: pods.map((p) => podDeletedCheck(base, p, uids.get(p))),
    revert: [readyWait(base, selector)],
  };
}

const directions = { egress: "to", ingress: "from", both: "both" } as const;

/** tbf's bucket and queue for a rate: a burst of ~10 ms (at least 4 KB) and ~200 ms of queue, as the local backend uses. */
function tokenBucket(rateKbit: number): { limit: number; buffer: number } {
  const bytesPerSecond = (rateKbit * 1000) / 8;
  const buffer = Math.max(4096, Math.round(bytesPerSecond / 100));
  return { buffer, limit: buffer + Math.round(bytesPerSecond * 0.2) };
}

/**
 * The Chaos Mesh NetworkChaos for a net.* fault on `pods` (livekit pods in target.namespace).
 * Throws a FaultError when Chaos Mesh cannot express it.
 */
export function networkChaosManifest(
  target: KubernetesTarget,
  fault: DrillFault,
  pods: readonly string[],
): NetworkChaosManifest {
  const p = fault.params;
  const need = (what: string): never => {
    throw new FaultError(`${fault.id} (${fault.type}) needs params.${what}`, fault.id);
  };
  const name = faultResourceName(fault.id);
  const selector: ChaosPodSelector = { pods: { [target.namespace]: [...requirePods(fault, pods)] } };
  const common = {
    mode: "all" as const,
    selector,
    ...(fault.duration !== null ? { duration: goDuration(fault.duration) } : {}),
  };
  let spec: NetworkChaosManifest["spec"];
  if (fault.type === "net.partition") {
    let partitionTarget: NetworkChaosManifest["spec"]["target"];
    if (p.from === "redis") {
      const redisSelector = requireRedisSelector(target, fault);
      const terms = parseLabelSelector(redisSelector);
      if (terms === undefined) {
        throw new FaultError(
          `${fault.id}: target.redisSelector "${redisSelector}" is not a label selector Chaos Mesh can use (key=value, key!=value, key in (a,b), key, !key)`,
          fault.id,
        );
      }
      partitionTarget = { mode: "all", selector: { namespaces: [target.namespace], ...terms } };
    }
    // without a target, Chaos Mesh drops all of the pod's traffic in the chosen direction
    spec = {
      action: "partition",
      ...common,
      direction: directions[p.direction ?? "both"],
      ...(partitionTarget !== undefined ? { target: partitionTarget } : {}),
    };
  } else {
    const direction = p.direction ?? "egress";
    if (direction !== "egress") {
      throw new FaultError(
        `${fault.id} (${fault.type} direction: ${direction}) is not available on Kubernetes: Chaos Mesh shapes only what the pod sends unless the chaos names a target, and refuses from/both without one. Use direction: egress`,
        fault.id,
      );
    }
    switch (fault.type) {
      case "net.loss": {
        const ratio = p.ratio ?? need("ratio (the share of packets dropped, e.g. 5%)");
        spec = {
          action: "loss",
          ...common,
          direction: "to",
          loss: { loss: plainNumber(ratio * 100), correlation: "0" },
        };
        break;
      }
      case "net.bandwidth": {
        const rate = p.rateKbit ?? need("rate (e.g. 500kbit)");
        spec = {
          action: "bandwidth",
          ...common,
          direction: "to",
          bandwidth: { rate: `${plainNumber(rate)}kbit`, ...tokenBucket(rate) },
        };
        break;
      }
      case "net.delay": {
        const delay = p.delayMs ?? need("delay (e.g. 100ms)");
        spec = {
          action: "delay",
          ...common,
          direction: "to",
          delay: {
            latency: `${plainNumber(delay)}ms`,
            jitter: `${plainNumber(p.jitterMs ?? 0)}ms`,
            correlation: "0",
          },
        };
        break;
      }
      default:
        throw new FaultError(`${fault.id}: ${fault.type} is not a network fault`, fault.id);
    }
  }
  return {
    apiVersion: CHAOS_MESH_API_VERSION,
    kind: "NetworkChaos",
    metadata: {
      name,
      namespace: target.namespace,
      labels: { "app.kubernetes.io/managed-by": "livekit-swarm" },
      annotations: { "livekit-swarm/fault": fault.id },
    },
    spec,
  };
}

/** The manifest as `kubectl apply -f -` reads it. */
export function renderManifest(manifest: NetworkChaosManifest): string {
  return stringify(manifest);
}

/**
 * The commands a fault takes on Kubernetes: argv arrays, no shell. `pods` are the pods the fault
 * hits: livekit pods for node.* and net.*, Redis pods for redis.* (empty: every pod the Redis
 * selector matches, as a dry run shows it). `uids` are their uids before the fault, for the
 * confirmation (see podDeletedCheck). Throws a FaultError naming the fault and the fix when
 * Kubernetes cannot carry it out.
 */
export function kubernetesFaultCommands(
  target: KubernetesTarget,
  fault: DrillFault,
  pods: readonly string[],
  uids: ReadonlyMap<string, string> = new Map(),
): StepCommands {
  const base = kubectlBase(target);
  switch (fault.type) {
    case "node.kill":
      return deleteCommands(target, fault, "kill", requirePods(fault, pods), target.nodeSelector, uids);
    case "node.drain":
    case "node.restart":
      return deleteCommands(target, fault, "graceful", requirePods(fault, pods), target.nodeSelector, uids);
    case "node.freeze":
    case "node.thaw":
      throw new FaultError(
        `${fault.id}: ${fault.type} is not available on Kubernetes: Kubernetes has no API to pause a pod's containers, and a SIGSTOP sent from inside the pod (kubectl exec) does not stop its PID 1: the kernel drops signals to a namespace's init that it has no handler for. Use node.kill or node.drain, or the compose or local backend`,
        fault.id,
      );
    case "redis.kill":
    case "redis.restart": {
      const selector = requireRedisSelector(target, fault);
      return deleteCommands(
        target,
        fault,
        fault.type === "redis.kill" ? "kill" : "graceful",
        pods,
        selector,
        uids,
      );
    }
    case "net.partition":
    case "net.loss":
    case "net.bandwidth":
    case "net.delay": {
      const manifest = networkChaosManifest(target, fault, pods);
      const name = manifest.metadata.name;
      return {
        inject: [
          {
            argv: [...base, "apply", "-f", "-"],
            stdin: renderManifest(manifest),
            why: `apply NetworkChaos ${name} (${manifest.spec.action})`,
            hint: "kubectl says `no matches for kind NetworkChaos` when Chaos Mesh is not installed: https://chaos-mesh.org/docs/quick-start/",
          },
        ],
        confirm: [
          {
            // the condition alone is vacuously True when the selector matched no pod: the records show one per pod
            argv: [
              ...base,
              "get",
              "networkchaos",
              name,
              "-o",
              'jsonpath={.status.conditions[?(@.type=="AllInjected")].status}{" "}{.status.experiment.containerRecords[*].phase}',
            ],
            expect: "^True( Injected)+\\s*$",
            why: `Chaos Mesh reports ${name} AllInjected, on every selected pod`,
            hint: `\`kubectl -n ${target.namespace} describe networkchaos ${name}\` shows Chaos Mesh's events`,
          },
        ],
        revert: [
          {
            // the delete waits for Chaos Mesh's finalizer, which it removes once every rule is recovered
            argv: [...base, "delete", "networkchaos", name, "--ignore-not-found", "--timeout=60s"],
            why: `delete NetworkChaos ${name} (Chaos Mesh recovers the pods first)`,
            timeoutMs: 70_000,
          },
        ],
      };
    }
    case "client.simulate":
    case "client.join":
      throw new FaultError(
        `${fault.id}: ${fault.type} is run by the swarm's participants, not by the Kubernetes backend`,
        fault.id,
      );
  }
}

interface PodInfo {
  readonly name: string;
  readonly uid: string;
  readonly terminating: boolean;
  readonly phase: string;
}

function at(value: unknown, ...path: string[]): unknown {
  let v = value;
  for (const key of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** `kubectl get pods -o json`, the fields we read; sorted by name. */
export function podsFromJson(text: string): readonly PodInfo[] {
  const items = at(JSON.parse(text) as unknown, "items");
  if (!Array.isArray(items)) return [];
  const pods: PodInfo[] = [];
  for (const item of items as unknown[]) {
    const name = at(item, "metadata", "name");
    const uid = at(item, "metadata", "uid");
    const phase = at(item, "status", "phase");
    if (typeof name !== "string" || typeof uid !== "string") continue;
    pods.push({
      name,
      uid,
      terminating: at(item, "metadata", "deletionTimestamp") !== undefined,
      phase: typeof phase === "string" ? phase : "Unknown",
    });
  }
  return pods.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const live = (p: PodInfo): boolean => !p.terminating && p.phase !== "Succeeded" && p.phase !== "Failed";

/** Faults on a Kubernetes deployment, through kubectl and Chaos Mesh. */
export class KubernetesInjector extends CommandInjector {
  readonly backend = "kubernetes" as const;
  private readonly base: readonly string[];

  constructor(
    private readonly target: KubernetesTarget,
    run: StepRunner = execStep,
    timing: Partial<CommandTiming> = {},
  ) {
    super(run, timing);
    this.base = kubectlBase(target);
  }

  /** The livekit pods that are not on their way out, by name. */
  async nodes(): Promise<readonly NodeRef[]> {
    const pods = (await this.pods(this.target.nodeSelector)).filter(live);
    return Promise.all(
      pods.map(async (p, index) => ({ name: p.name, index, nodeId: await this.nodeId(p.name) })),
    );
  }

  async roomNode(room: string): Promise<NodeRef | undefined> {
    if (this.target.redisSelector === null) return undefined;
    const redis = (await this.pods(this.target.redisSelector)).find((p) => live(p) && p.phase === "Running");
    if (redis === undefined) return undefined;
    const out = await this.stdoutOf({
      argv: [...this.base, "exec", redis.name, "--", "redis-cli", "HGET", "room_node_map", room],
      why: `the node hosting ${room}, from Redis`,
    });
    const nodeId = out?.trim();
    if (nodeId === undefined || nodeId === "") return undefined;
    return (await this.nodes()).find((n) => n.nodeId === nodeId);
  }

  protected commands(fault: DrillFault, nodes: readonly NodeRef[]): StepCommands {
    return kubernetesFaultCommands(
      this.target,
      fault,
      nodes.map((n) => n.name),
    );
  }

  protected subjects(fault: DrillFault, nodes: readonly NodeRef[]): readonly FaultSubject[] {
    if (fault.type.startsWith("redis."))
      return [{ kind: "redis", name: `pods ${this.target.redisSelector ?? "?"}` }];
    return nodes.map((n) => ({
      kind: "node",
      name: n.name,
      ...(n.nodeId !== undefined ? { nodeId: n.nodeId } : {}),
    }));
  }

  /** Deletions are confirmed against the uids the pods had before, so those are read first. */
  protected override async plan(fault: DrillFault, nodes: readonly NodeRef[]): Promise<PlannedFault> {
    switch (fault.type) {
      case "node.kill":
      case "node.drain":
      case "node.restart": {
        this.commands(fault, nodes); // throws the FaultError, if any, before anything runs
        const byName = new Map((await this.pods(this.target.nodeSelector)).map((p) => [p.name, p.uid]));
        const missing = nodes.filter((n) => !byName.has(n.name)).map((n) => n.name);
        if (missing.length > 0) {
          throw new FaultError(
            `${fault.id} (${fault.type}): no pod ${missing.join(", ")} matches ${this.target.nodeSelector} in namespace ${this.target.namespace}; it may have been replaced since the nodes were listed`,
            fault.id,
          );
        }
        const names = nodes.map((n) => n.name);
        return {
          commands: kubernetesFaultCommands(this.target, fault, names, byName),
          subjects: this.subjects(fault, nodes),
        };
      }
      case "redis.kill":
      case "redis.restart": {
        const selector = requireRedisSelector(this.target, fault);
        const pods = (await this.pods(selector)).filter(live);
        if (pods.length === 0) {
          throw new FaultError(
            `${fault.id} (${fault.type}): no running pod matches ${selector} in namespace ${this.target.namespace}`,
            fault.id,
          );
        }
        return {
          commands: kubernetesFaultCommands(
            this.target,
            fault,
            pods.map((p) => p.name),
            new Map(pods.map((p) => [p.name, p.uid])),
          ),
          subjects: pods.map((p) => ({ kind: "redis", name: p.name })),
        };
      }
      default:
        return super.plan(fault, nodes);
    }
  }

  private async pods(selector: string): Promise<readonly PodInfo[]> {
    const step: CommandStep = {
      argv: [...this.base, "get", "pods", "-l", selector, "-o", "json"],
      why: `list the pods matching ${selector}`,
    };
    const result = await this.run(step);
    if (result.code !== 0) {
      throw new Error(
        `cannot list pods: \`${formatStep(step)}\` exited ${result.code}: ${result.stderr.trim()} - check the context (target.context) and namespace (target.namespace)`,
      );
    }
    return podsFromJson(result.stdout);
  }

  /** Best effort: LiveKit logs its node id once, at start, so the head of the log is enough. */
  private async nodeId(pod: string): Promise<string | undefined> {
    const log = await this.stdoutOf({
      argv: [...this.base, "logs", pod, "--limit-bytes=1048576"],
      why: `${pod}'s log, for its LiveKit node id`,
    });
    return log === undefined ? undefined : nodeIdFromLog(log);
  }
}
