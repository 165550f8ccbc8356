import { readdirSync } from "node:fs";
import { join } from "node:path";
import { messageOf } from "@livekit-swarm/schema";
import { kubernetesBin } from "./cluster/cluster.js";
import { refreshPodNode } from "./cluster/pod-nodes.js";
import { faultQdiscs, faultTables } from "./faults.js";
import { delayRules } from "./user-delay.js";
import { TestbedError } from "./errors.js";
import { readFaultLedger, type LedgerEntry } from "./ledger.js";
import { nodeView, type NodeView } from "./nodes.js";
import { isOurProcess } from "./processes.js";
import { defaultRunRoot, type ProcessRecord, type RunState } from "./state.js";
import { readState } from "./state-reader.js";

export interface TestbedStatus {
  readonly name: string;
  readonly runDir: string;
  readonly url: string;
  readonly apiKey: string;
  readonly nodes: readonly NodeView[];
  /** Cores each livekit-server may use (its cpu cgroup); undefined when uncapped. */
  readonly nodeCpu: number | undefined;
  readonly redis: string | undefined;
  readonly balancer: string | undefined;
  readonly prometheus: string | undefined;
  /** A cluster testbed's API server, admin kubeconfig and the kubectl setup built. */
  readonly kubernetes:
    { readonly server: string; readonly kubeconfig: string; readonly kubectl: string } | undefined;
  readonly processes: readonly (ProcessRecord & { alive: boolean })[];
  /** Fault nftables tables and qdiscs found in the nodes' namespaces, and the fault ledger's entries. */
  readonly faults: {
    readonly active: readonly string[];
    readonly ledger: readonly LedgerEntry[];
    /** Why the ledger could not be read (status, and `down`, go on without it). */
    readonly ledgerProblem?: string;
  };
}

export function statusOf(state: RunState): TestbedStatus {
  const cluster = state.cluster;
  // a pod replaced since up runs under another pid: look it up by its marker
  if (cluster !== undefined) for (const node of state.nodes) refreshPodNode(cluster, node);
  return {
    name: state.name,
    runDir: state.runDir,
    url: state.url,
    apiKey: state.apiKey,
    nodes: state.nodes.map((n) => nodeView(n)),
    nodeCpu: state.nodeCpu,
    redis: state.redis !== undefined ? `${state.redis.host}:${state.redis.port}` : undefined,
    balancer: state.balancer !== undefined ? `127.0.0.1:${state.balancer.port}` : undefined,
    prometheus: state.prometheus?.url,
    kubernetes:
      cluster === undefined
        ? undefined
        : { server: cluster.server, kubeconfig: cluster.kubeconfig, kubectl: kubernetesBin("kubectl") },
    processes: state.processes.map((p) => ({ ...p, alive: isOurProcess(p.pid, p.startTime) })),
    faults: {
      active: state.nodes.flatMap((n) => {
        const ns = n.network?.namespace;
        if (ns === undefined) return [];
        return [
          ...faultTables(ns).map((t) => `nftables table ${t} in ${ns}`),
          ...faultQdiscs(ns).map((q) => `qdisc ${q.kind} on ${q.device} in ${ns}`),
          ...delayRules(ns).map((r) => `delay rule ${r.comment} (queue ${r.queue}) in ${ns}`),
        ];
      }),
      ...ledgerOf(state.runDir),
    },
  };
}

/** A testbed folder whose state cannot be read as `up` wrote it (state-reader.ts), and why. */
export interface TestbedProblem {
  readonly runDir: string;
  readonly message: string;
}

/**
 * Testbeds with a state file under `root` (running or crashed, not yet taken down). A folder whose
 * state is refused is left out, and added to `problems` when given: a run looking for its own
 * testbed is not stopped by another's broken file, and `status` and `down --all` say which it is.
 */
export function listTestbeds(root = defaultRunRoot(), problems?: TestbedProblem[]): TestbedStatus[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const out: TestbedStatus[] = [];
  for (const name of names) {
    const runDir = join(root, name);
    let state: RunState | undefined;
    try {
      state = readState(runDir);
    } catch (err) {
      if (!(err instanceof TestbedError)) throw err;
      problems?.push({ runDir, message: err.message });
      continue;
    }
    if (state !== undefined) out.push(statusOf(state));
  }
  return out;
}

/** The ledger for a status: a ledger that cannot be read is reported, not fatal. */
function ledgerOf(runDir: string): { ledger: LedgerEntry[]; ledgerProblem?: string } {
  try {
    return { ledger: readFaultLedger(runDir) };
  } catch (err) {
    return { ledger: [], ledgerProblem: messageOf(err) };
  }
}
