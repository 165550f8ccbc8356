/**
 * Chaos Mesh for the Kubernetes backend: a net.* fault as a NetworkChaos object, and kubectl
 * label selectors as Chaos Mesh selector terms.
 */
import type { DeploymentFault, KubernetesTarget } from "@livekit-swarm/schema";
import { stringify } from "yaml";
import { FaultError } from "../backend.js";
import { faultResourceName, goDuration, plainNumber } from "./commands.js";
import { requirePods, requireRedisSelector } from "./kubectl.js";

export const CHAOS_MESH_API_VERSION = "chaos-mesh.org/v1alpha1";

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
  fault: DeploymentFault,
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
