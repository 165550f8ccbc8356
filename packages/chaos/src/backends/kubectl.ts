/**
 * kubectl for the Kubernetes backend: the base command, pod listings, and the deletes that carry
 * node and Redis faults out (their controller recreates the pods), confirmed by the pod's uid.
 */
import type { DeploymentFault, KubernetesTarget } from "@livekit-swarm/schema";
import { FaultError } from "../backend.js";
import { regexLiteral, type CommandStep, type StepCommands } from "./commands.js";

/** What `kubectl delete` gives a restarted pod before SIGKILL, unless params.graceMs says. */
const DEFAULT_GRACE_MS = 10_000;
/** How long a revert waits for the recreated pods to be Ready. */
const READY_TIMEOUT_S = 120;

export function kubectlBase(target: KubernetesTarget): string[] {
  return [
    "kubectl",
    ...(target.context !== null ? ["--context", target.context] : []),
    "-n",
    target.namespace,
  ];
}

export function requirePods(fault: DeploymentFault, pods: readonly string[]): readonly string[] {
  if (pods.length === 0) throw new FaultError(`${fault.id} (${fault.type}): no node selected`, fault.id);
  return pods;
}

export function requireRedisSelector(target: KubernetesTarget, fault: DeploymentFault): string {
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

export function deleteCommands(
  target: KubernetesTarget,
  fault: DeploymentFault,
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

export interface PodInfo {
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

export const live = (p: PodInfo): boolean =>
  !p.terminating && p.phase !== "Succeeded" && p.phase !== "Failed";
