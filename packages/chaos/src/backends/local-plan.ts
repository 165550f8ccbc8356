/**
 * What the local backend will do for a fault, in words (the dry run, the journal), and what it
 * writes to the testbed's fault ledger before doing it.
 */
import type { DeploymentFault } from "@livekit-swarm/schema";
import { delayTag, faultTableName, type LedgerEntry, type Testbed } from "@livekit-swarm/testbed";
import type { FaultTable, NodeRef } from "../backend.js";

/** What the ledger needs of a testbed: each node's namespace and veth. */
type LedgerTestbed = Pick<Testbed, "nodes" | "nodeInterface">;

type LedgerEntries = (fault: DeploymentFault, nodes: readonly NodeRef[], tb: LedgerTestbed) => LedgerEntry[];

const restartNodes: LedgerEntries = ({ id }, nodes) =>
  nodes.map((n) => ({ fault: id, kind: "restart-node", node: n.name, index: n.index }));

const restartRedis: LedgerEntries = ({ id }) => [{ fault: id, kind: "restart-redis" }];

const nftTables: LedgerEntries = ({ id }, nodes, tb) =>
  nodes.flatMap((n) => {
    const ns = tb.nodes[n.index]?.namespace;
    return ns === undefined
      ? []
      : [{ fault: id, kind: "nft-table", namespace: ns, table: faultTableName(`${id}_${n.name}`) }];
  });

/** What undoes a fault of each kind, as ledger entries. */
const LEDGER_ENTRIES: FaultTable<LedgerEntries> = {
  "node.kill": restartNodes,
  "node.freeze": ({ id }, nodes) =>
    nodes.map((n) => ({ fault: id, kind: "thaw-node", node: n.name, index: n.index })),
  "node.thaw": () => [],
  "node.drain": restartNodes,
  "node.restart": restartNodes,
  "redis.kill": restartRedis,
  "redis.restart": restartRedis,
  "net.partition": nftTables,
  "net.loss": nftTables,
  "net.bandwidth": ({ id }, nodes, tb) =>
    nodes.flatMap((n) => {
      const ns = tb.nodes[n.index]?.namespace;
      const device = tb.nodeInterface(n.index);
      return ns === undefined || device === undefined
        ? []
        : [{ fault: id, kind: "qdisc", namespace: ns, device }];
    }),
  // in user space where it can, else netem (delayNode): the ledger undoes either, and says
  // nothing of a netem that was never there
  "net.delay": ({ id }, nodes, tb) =>
    nodes.flatMap((n): LedgerEntry[] => {
      const ns = tb.nodes[n.index]?.namespace;
      const device = tb.nodeInterface(n.index);
      return ns === undefined || device === undefined
        ? []
        : [
            { fault: id, kind: "user-delay", namespace: ns, tag: delayTag(id, n.name) },
            { fault: id, kind: "qdisc", namespace: ns, device, fallback: true },
          ];
    }),
};

/** The ledger entries that undo `fault` on `nodes`: written before it is injected. */
export function ledgerEntries(
  tb: LedgerTestbed,
  fault: DeploymentFault,
  nodes: readonly NodeRef[],
): LedgerEntry[] {
  return LEDGER_ENTRIES[fault.type](fault, nodes, tb);
}

/** What the local backend does for a fault of each kind on the named nodes, in words. */
const LOCAL_ACTIONS: FaultTable<(fault: DeploymentFault, nodes: readonly string[]) => string[]> = {
  "node.kill": (fault, nodes) => [
    `SIGKILL ${nodes.join(", ")}`,
    ...(fault.duration !== null ? [`restart after ${fault.duration / 1000} s`] : []),
  ],
  "node.freeze": (fault, nodes) => [
    `SIGSTOP ${nodes.join(", ")}`,
    `SIGCONT after ${fault.duration === null ? "the drill" : `${fault.duration / 1000} s`}`,
  ],
  "node.thaw": (_fault, nodes) => [`SIGCONT ${nodes.join(", ")}`],
  "node.drain": (_fault, nodes) => [
    `SIGTERM ${nodes.join(", ")} (drain)`,
    `SIGKILL and restart at rollback if still draining`,
  ],
  "node.restart": (fault, nodes) => [
    `SIGTERM ${nodes.join(", ")}, SIGKILL after ${(fault.params.graceMs ?? 10_000) / 1000} s`,
    `start ${nodes.join(", ")} again`,
  ],
  "redis.kill": (fault) => [
    "SIGKILL redis",
    ...(fault.duration !== null ? [`restart redis after ${fault.duration / 1000} s`] : []),
  ],
  "redis.restart": () => ["SIGTERM redis", "start redis again (empty)"],
  "net.partition": ({ params: p }, nodes) =>
    nodes.map(
      (n) =>
        `nftables in ${n}'s namespace: drop ${p.from === "redis" ? "Redis traffic" : "all traffic but loopback"} (${p.direction ?? "both"})`,
    ),
  "net.loss": ({ params: p }, nodes) =>
    nodes.map(
      (n) =>
        `nftables in ${n}'s namespace: drop ${(p.ratio ?? 0) * 100}% of UDP (${p.direction ?? "egress"})`,
    ),
  "net.bandwidth": ({ params: p }, nodes) =>
    nodes.map((n) => `tc tbf on ${n}'s veth: ${p.rateKbit ?? 0} kbit/s`),
  "net.delay": ({ params: p }, nodes) =>
    nodes.map(
      (n) =>
        `delay what ${n} sends through its veth by ${p.delayMs ?? 0} ms, jitter ${p.jitterMs ?? 0} ms (lkswarm-delay on a netfilter queue, or tc netem)`,
    ),
};

/** What the local backend does for `fault` on the named nodes, in words (dry run, journal). */
export function describeLocalFault(fault: DeploymentFault, nodes: readonly string[]): string[] {
  return LOCAL_ACTIONS[fault.type](fault, nodes);
}
