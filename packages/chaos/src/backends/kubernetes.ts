/**
 * The Kubernetes backend: node and Redis faults by deleting pods (their controller recreates
 * them), network faults as Chaos Mesh NetworkChaos objects. Each fault is confirmed by what the
 * API server reports: the pod's uid gone, replaced or terminating; Chaos Mesh's AllInjected.
 */
import type { DeploymentFault, KubernetesTarget } from "@livekit-swarm/schema";
import { FaultError, type FaultTable, type NodeRef, type StepRunner } from "../backend.js";
import type { FaultSubject } from "../journal.js";
import { networkChaosManifest, renderManifest } from "./chaos-mesh.js";
import {
  CommandInjector,
  execStep,
  formatStep,
  nodeIdFromLog,
  type CommandStep,
  type CommandTiming,
  type StepCommands,
  type PlannedFault,
} from "./commands.js";
import {
  deleteCommands,
  kubectlBase,
  live,
  podsFromJson,
  requirePods,
  requireRedisSelector,
  type PodInfo,
} from "./kubectl.js";

export {
  CHAOS_MESH_API_VERSION,
  networkChaosManifest,
  parseLabelSelector,
  renderManifest,
  type ChaosPodSelector,
  type LabelSelectorRequirement,
  type NetworkChaosManifest,
} from "./chaos-mesh.js";
export { podsFromJson } from "./kubectl.js";

type KubernetesCommands = (
  target: KubernetesTarget,
  fault: DeploymentFault,
  pods: readonly string[],
  uids: ReadonlyMap<string, string>,
) => StepCommands;

function deleteNodes(how: "kill" | "graceful"): KubernetesCommands {
  return (target, fault, pods, uids) =>
    deleteCommands(target, fault, how, requirePods(fault, pods), target.nodeSelector, uids);
}

function deleteRedis(how: "kill" | "graceful"): KubernetesCommands {
  return (target, fault, pods, uids) => {
    const selector = requireRedisSelector(target, fault);
    return deleteCommands(target, fault, how, pods, selector, uids);
  };
}

const cannotPause: KubernetesCommands = (_target, fault) => {
  throw new FaultError(
    `${fault.id}: ${fault.type} is not available on Kubernetes: Kubernetes has no API to pause a pod's containers, and a SIGSTOP sent from inside the pod (kubectl exec) does not stop its PID 1: the kernel drops signals to a namespace's init that it has no handler for. Use node.kill or node.drain, or the compose or local backend`,
    fault.id,
  );
};

const networkChaos: KubernetesCommands = (target, fault, pods) => {
  const base = kubectlBase(target);
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
};

/** How Kubernetes carries out a fault of each kind. */
const KUBERNETES_COMMANDS: FaultTable<KubernetesCommands> = {
  "node.kill": deleteNodes("kill"),
  "node.freeze": cannotPause,
  "node.thaw": cannotPause,
  "node.drain": deleteNodes("graceful"),
  "node.restart": deleteNodes("graceful"),
  "redis.kill": deleteRedis("kill"),
  "redis.restart": deleteRedis("graceful"),
  "net.partition": networkChaos,
  "net.loss": networkChaos,
  "net.bandwidth": networkChaos,
  "net.delay": networkChaos,
};

/**
 * The commands a fault takes on Kubernetes: argv arrays, no shell. `pods` are the pods the fault
 * hits: livekit pods for node.* and net.*, Redis pods for redis.* (empty: every pod the Redis
 * selector matches, as a dry run shows it). `uids` are their uids before the fault, for the
 * confirmation (see podDeletedCheck). Throws a FaultError naming the fault and the fix when
 * Kubernetes cannot carry it out.
 */
export function kubernetesFaultCommands(
  target: KubernetesTarget,
  fault: DeploymentFault,
  pods: readonly string[],
  uids: ReadonlyMap<string, string> = new Map(),
): StepCommands {
  return KUBERNETES_COMMANDS[fault.type](target, fault, pods, uids);
}

/** Faults on a Kubernetes deployment, through kubectl and Chaos Mesh. */
export class KubernetesInjector extends CommandInjector {
  readonly backend = "kubernetes" as const;

  constructor(
    private readonly target: KubernetesTarget,
    run: StepRunner = execStep,
    timing: Partial<CommandTiming> = {},
  ) {
    super(kubectlBase(target), run, timing);
  }

  /**
   * The net.* faults are Chaos Mesh NetworkChaos objects: without its API on the cluster the apply
   * fails, and on the first real cluster (the testbed's, which runs no Chaos Mesh) that came after a
   * whole baseline, as a long kubectl error. Asked once, before anything runs.
   */
  async preflight(faults: readonly DeploymentFault[]): Promise<void> {
    const network = faults.filter((f) => f.type.startsWith("net."));
    const first = network[0];
    if (first === undefined) return;
    const step: CommandStep = {
      argv: [...this.base, "api-resources", "--api-group=chaos-mesh.org", "-o", "name"],
      why: "whether Chaos Mesh's NetworkChaos is installed",
    };
    const result = await this.run(step);
    if (result.code === 0 && /^networkchaos(\.chaos-mesh\.org)?$/m.test(result.stdout)) return;
    const ids = network.map((f) => `${f.id} (${f.type})`).join(", ");
    throw new FaultError(
      result.code === 0
        ? `${ids}: network faults on Kubernetes need Chaos Mesh, and this cluster has no NetworkChaos (\`kubectl api-resources --api-group=chaos-mesh.org\` lists none): install Chaos Mesh (https://chaos-mesh.org/docs/quick-start/), or run network faults with the local backend`
        : `${ids}: could not ask the cluster whether Chaos Mesh is installed: \`${formatStep(step)}\` exited ${result.code}: ${result.stderr.trim().split("\n")[0] ?? ""}`,
      first.id,
    );
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
    return this.nodeFromRoomMap(room, [
      ...this.base,
      "exec",
      redis.name,
      "--",
      "redis-cli",
      "-p",
      String(this.target.redisPort),
    ]);
  }

  protected commands(fault: DeploymentFault, nodes: readonly NodeRef[]): StepCommands {
    return kubernetesFaultCommands(
      this.target,
      fault,
      nodes.map((n) => n.name),
    );
  }

  protected subjects(fault: DeploymentFault, nodes: readonly NodeRef[]): readonly FaultSubject[] {
    if (fault.type.startsWith("redis."))
      return [{ kind: "redis", name: `pods ${this.target.redisSelector ?? "?"}` }];
    return this.nodeSubjects(nodes);
  }

  /** Deletions are confirmed against the uids the pods had before, so those are read first. */
  protected override async plan(fault: DeploymentFault, nodes: readonly NodeRef[]): Promise<PlannedFault> {
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
