/**
 * What the local backend will do for a fault, in words (the dry run, the journal), and what it
 * writes to the testbed's fault ledger before doing it.
 */
import type { DeploymentFault } from "@livekit-swarm/schema";
import { delayTag, faultTableName, type LedgerEntry, type Testbed } from "@livekit-swarm/testbed";
import type { NodeRef } from "../backend.js";

/** The ledger entries that undo `fault` on `nodes`: written before it is injected. */
export function ledgerEntries(
  tb: Pick<Testbed, "nodes" | "nodeInterface">,
  fault: DeploymentFault,
  nodes: readonly NodeRef[],
): LedgerEntry[] {
  const id = fault.id;
  switch (fault.type) {
    case "node.freeze":
      return nodes.map((n) => ({ fault: id, kind: "thaw-node", node: n.name, index: n.index }));
    case "node.kill":
    case "node.drain":
    case "node.restart":
      return nodes.map((n) => ({ fault: id, kind: "restart-node", node: n.name, index: n.index }));
    case "redis.kill":
    case "redis.restart":
      return [{ fault: id, kind: "restart-redis" }];
    case "net.partition":
    case "net.loss":
      return nodes.flatMap((n) => {
        const ns = tb.nodes[n.index]?.namespace;
        return ns === undefined
          ? []
          : [{ fault: id, kind: "nft-table", namespace: ns, table: faultTableName(`${id}_${n.name}`) }];
      });
    case "net.bandwidth":
      return nodes.flatMap((n) => {
        const ns = tb.nodes[n.index]?.namespace;
        const device = tb.nodeInterface(n.index);
        return ns === undefined || device === undefined
          ? []
          : [{ fault: id, kind: "qdisc", namespace: ns, device }];
      });
    case "net.delay":
      // in user space where it can, else netem (delayNode): the ledger undoes either, and says
      // nothing of a netem that was never there
      return nodes.flatMap((n): LedgerEntry[] => {
        const ns = tb.nodes[n.index]?.namespace;
        const device = tb.nodeInterface(n.index);
        return ns === undefined || device === undefined
          ? []
          : [
              { fault: id, kind: "user-delay", namespace: ns, tag: delayTag(id, n.name) },
              { fault: id, kind: "qdisc", namespace: ns, device, fallback: true },
            ];
      });
    case "node.thaw":
      return [];
  }
}

/** What the local backend does for `fault` on the named nodes, in words (dry run, journal). */
export function describeLocalFault(fault: DeploymentFault, nodes: readonly string[]): string[] {
  const names = nodes.join(", ");
  const p = fault.params;
  switch (fault.type) {
    case "node.kill":
      return [
        `SIGKILL ${names}`,
        ...(fault.duration !== null ? [`restart after ${fault.duration / 1000} s`] : []),
      ];
    case "node.freeze":
      return [
        `SIGSTOP ${names}`,
        `SIGCONT after ${fault.duration === null ? "the drill" : `${fault.duration / 1000} s`}`,
      ];
    case "node.thaw":
      return [`SIGCONT ${names}`];
    case "node.drain":
      return [`SIGTERM ${names} (drain)`, `SIGKILL and restart at rollback if still draining`];
    case "node.restart":
      return [`SIGTERM ${names}, SIGKILL after ${(p.graceMs ?? 10_000) / 1000} s`, `start ${names} again`];
    case "redis.kill":
      return [
        "SIGKILL redis",
        ...(fault.duration !== null ? [`restart redis after ${fault.duration / 1000} s`] : []),
      ];
    case "redis.restart":
      return ["SIGTERM redis", "start redis again (empty)"];
    case "net.partition":
      return nodes.map(
        (n) =>
          `nftables in ${n}'s namespace: drop ${p.from === "redis" ? "Redis traffic" : "all traffic but loopback"} (${p.direction ?? "both"})`,
      );
    case "net.loss":
      return nodes.map(
        (n) =>
          `nftables in ${n}'s namespace: drop ${(p.ratio ?? 0) * 100}% of UDP (${p.direction ?? "egress"})`,
      );
    case "net.bandwidth":
      return nodes.map((n) => `tc tbf on ${n}'s veth: ${p.rateKbit ?? 0} kbit/s`);
    case "net.delay":
      return nodes.map(
        (n) =>
          `delay what ${n} sends through its veth by ${p.delayMs ?? 0} ms, jitter ${p.jitterMs ?? 0} ms (lkswarm-delay on a netfilter queue, or tc netem)`,
      );
  }
}
