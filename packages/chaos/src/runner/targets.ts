import {
  isDeploymentFault,
  messageOf,
  type ComposeTarget,
  type Drill,
  type DrillFault,
  type FaultTarget,
  type KubernetesTarget,
} from "@livekit-swarm/schema";
import type { FaultInjector } from "../backend.js";
import { formatStep } from "../backends/commands.js";
import { ComposeInjector, composeFaultCommands } from "../backends/compose.js";
import { KubernetesInjector, kubernetesFaultCommands } from "../backends/kubernetes.js";
import { describeLocalFault } from "../backends/local.js";

/** The injector of a compose or Kubernetes drill: it runs docker or kubectl on this machine. */
export function commandInjector(target: ComposeTarget | KubernetesTarget): FaultInjector {
  return target.backend === "compose" ? new ComposeInjector(target) : new KubernetesInjector(target);
}

/** A node's name as the dry run shows it, before the drill knows which node it will be. */
function symbolicNodes(drill: Drill, target: FaultTarget): string[] {
  const t = drill.target;
  const named = t.backend === "compose" ? t.nodes : undefined;
  switch (target.kind) {
    case "node":
      return [named?.[target.index - 1] ?? `node${target.index}`];
    case "all-nodes":
      return named !== undefined
        ? [...named]
        : t.backend === "local"
          ? Array.from({ length: t.nodes }, (_, i) => `node${i + 1}`)
          : ["<every livekit pod>"];
    case "busiest-room-node":
      return ["<node of the busiest room>"];
    case "random-node":
      return ["<a random node>"];
    case "share-of-nodes":
      return [`<${Math.round(target.share * 100)}% of nodes>`];
    case "ref":
      return [`<the nodes ${target.fault} hit>`];
    case "redis":
    case "participants":
    case "every-room":
      return [];
  }
}

/** What the drill's backend would do for `fault`: signals or exact commands (the dry run). */
export function describeFault(drill: Drill, fault: DrillFault): string[] {
  const nodes = symbolicNodes(drill, fault.target);
  const t = drill.target;
  if (!isDeploymentFault(fault))
    return fault.type === "client.simulate"
      ? [`simulateScenario(${fault.params.scenario ?? "?"}) on the chosen participants`]
      : [`${fault.params.perRoom ?? 1} late joiner(s) per room, who must see and hear the room`];
  try {
    if (t.backend === "local") return describeLocalFault(fault, nodes);
    const commands =
      t.backend === "compose"
        ? composeFaultCommands(t, fault, nodes)
        : kubernetesFaultCommands(t, fault, nodes);
    return [
      ...commands.inject.map((s) => `$ ${formatStep(s)}`),
      ...commands.revert.map((s) => `revert: $ ${formatStep(s)}`),
    ];
  } catch (err) {
    return [`not available: ${messageOf(err)}`];
  }
}
