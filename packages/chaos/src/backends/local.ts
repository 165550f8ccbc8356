/**
 * The local backend: faults on a testbed's real processes and network namespaces. Signals for
 * nodes and Redis, nftables tables for partitions and loss, tc qdiscs for bandwidth and delay.
 * Every fault is confirmed by looking (process gone or stopped, table or qdisc listed), never
 * assumed from the command's success.
 */
import { readFileSync, statSync } from "node:fs";
import type { DrillFault } from "@livekit-swarm/schema";
import {
  PacketLoss,
  Partition,
  Qdisc,
  Testbed,
  TestbedError,
  clearFaults,
  faultTableName,
  readSignalLog,
  recordFaults,
  type LedgerEntry,
  type SignalConnection,
  type NftFault,
} from "@livekit-swarm/testbed";
import { FaultError, type FaultInjector, type InjectedFault, type NodeRef } from "../backend.js";
import type { FaultSubject } from "../journal.js";

const POLL_MS = 50;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns evidence (a string) or `deadlineMs` (epoch) passes. */
async function confirmBy(
  deadlineMs: number,
  check: () => string | undefined | Promise<string | undefined>,
  missing: () => string,
): Promise<string> {
  for (;;) {
    const evidence = await check();
    if (evidence !== undefined) return evidence;
    if (Date.now() > deadlineMs) throw new Error(missing());
    await sleep(POLL_MS);
  }
}

function logSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function logSince(file: string, offset: number): string {
  try {
    return readFileSync(file, "utf8").slice(offset);
  } catch {
    return "";
  }
}

export class LocalInjector implements FaultInjector {
  readonly backend = "local" as const;

  constructor(private readonly testbed: Testbed) {}

  nodes(): Promise<readonly NodeRef[]> {
    this.testbed.refreshNodeIds();
    return Promise.resolve(
      this.testbed.nodes.map((n) => ({ name: n.name, index: n.index, nodeId: n.nodeId })),
    );
  }

  async roomNode(room: string): Promise<NodeRef | undefined> {
    const node = await this.testbed.roomNode(room);
    return node === undefined ? undefined : { name: node.name, index: node.index, nodeId: node.nodeId };
  }

  signalConnections(): readonly SignalConnection[] | undefined {
    return readSignalLog(this.testbed.runDir);
  }

  describe(fault: DrillFault, nodes: readonly NodeRef[]): readonly string[] {
    return describeLocalFault(
      fault,
      nodes.map((n) => n.name),
    );
  }

  /**
   * Writes what the fault will do to the testbed's fault ledger before doing it, and clears it when
   * its revert succeeds, so that `swarm chaos rollback` can undo it if this process dies first.
   */
  async inject(fault: DrillFault, nodes: readonly NodeRef[]): Promise<InjectedFault> {
    const runDir = this.testbed.runDir;
    recordFaults(runDir, this.ledgerEntries(fault, nodes));
    let injected: InjectedFault;
    try {
      injected = await this.injectNow(fault, nodes);
    } catch (err) {
      clearFaults(runDir, fault.id);
      throw err;
    }
    return {
      ...injected,
      revert: async () => {
        const did = await injected.revert();
        clearFaults(runDir, fault.id);
        return did;
      },
    };
  }

  private ledgerEntries(fault: DrillFault, nodes: readonly NodeRef[]): LedgerEntry[] {
    const tb = this.testbed;
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
      case "net.delay":
        return nodes.flatMap((n) => {
          const ns = tb.nodes[n.index]?.namespace;
          const device = tb.nodeInterface(n.index);
          return ns === undefined || device === undefined
            ? []
            : [{ fault: id, kind: "qdisc", namespace: ns, device }];
        });
      case "node.thaw":
      case "client.simulate":
      case "client.join":
        return [];
    }
  }

  private injectNow(fault: DrillFault, nodes: readonly NodeRef[]): Promise<InjectedFault> {
    const tb = this.testbed;
    const subjects = (): FaultSubject[] =>
      nodes.map((n) => ({ kind: "node", name: n.name, nodeId: n.nodeId, pid: tb.nodePid(n.index) }));
    const actions = [...this.describe(fault, nodes)];
    const grace = fault.params.graceMs ?? 10_000;

    switch (fault.type) {
      case "node.kill": {
        const pids = subjects();
        for (const n of nodes) tb.signalNode(n.index, "SIGKILL");
        return Promise.resolve({
          subjects: pids,
          actions,
          confirm: (deadline) =>
            confirmBy(
              deadline,
              () =>
                nodes.every((n) => tb.nodeProcessState(n.index) === "gone")
                  ? pids.map((s) => `${s.name} pid ${s.pid ?? "?"} gone`).join("; ")
                  : undefined,
              () => `a node was still running after SIGKILL: ${this.stateOf(nodes)}`,
            ),
          revert: () => this.restartGone(nodes),
        });
      }
      case "node.freeze": {
        const pids = subjects();
        for (const n of nodes) tb.signalNode(n.index, "SIGSTOP");
        return Promise.resolve({
          subjects: pids,
          actions,
          confirm: (deadline) =>
            confirmBy(
              deadline,
              () =>
                nodes.every((n) => tb.nodeProcessState(n.index) === "stopped")
                  ? `${nodes.map((n) => n.name).join(", ")} in process state T (stopped)`
                  : undefined,
              () => `a node did not stop after SIGSTOP: ${this.stateOf(nodes)}`,
            ),
          revert: () => Promise.resolve(this.thaw(nodes)),
        });
      }
      case "node.thaw": {
        const pids = subjects();
        const done = this.thaw(nodes);
        return Promise.resolve({
          subjects: pids,
          actions,
          confirm: (deadline) =>
            confirmBy(
              deadline,
              () => (nodes.every((n) => tb.nodeProcessState(n.index) !== "stopped") ? done : undefined),
              () => `a node was still stopped after SIGCONT: ${this.stateOf(nodes)}`,
            ),
          revert: () => Promise.resolve("nothing to undo"),
        });
      }
      case "node.drain":
      case "node.restart": {
        const pids = subjects();
        const offsets = nodes.map((n) => logSize(tb.nodes[n.index]?.logFile ?? ""));
        for (const n of nodes) tb.signalNode(n.index, "SIGTERM");
        const sentAt = Date.now();
        const drain = fault.type === "node.drain";
        return Promise.resolve({
          subjects: pids,
          actions,
          confirm: (deadline) =>
            confirmBy(
              // a restart may wait out the grace period before its SIGKILL
              drain ? deadline : deadline + grace,
              () => {
                if (drain) {
                  const ok = nodes.every((n, i) =>
                    logSince(tb.nodes[n.index]?.logFile ?? "", offsets[i] ?? 0).includes(
                      "exit requested, shutting down",
                    ),
                  );
                  return ok
                    ? `${nodes.map((n) => n.name).join(", ")} logged "exit requested, shutting down"`
                    : undefined;
                }
                if (Date.now() - sentAt > grace) for (const n of nodes) tb.signalNode(n.index, "SIGKILL");
                return nodes.every((n) => tb.nodeProcessState(n.index) === "gone")
                  ? `${nodes.map((n) => n.name).join(", ")} exited ${Date.now() - sentAt > grace ? `(SIGKILL after the ${grace} ms grace)` : "after SIGTERM"}`
                  : undefined;
              },
              () =>
                drain
                  ? `a node did not log its shutdown after SIGTERM: ${this.stateOf(nodes)}`
                  : `a node did not exit after SIGTERM and SIGKILL: ${this.stateOf(nodes)}`,
            ),
          revert: async () => {
            for (const n of nodes)
              if (tb.nodeProcessState(n.index) !== "gone") tb.signalNode(n.index, "SIGKILL");
            await confirmBy(
              Date.now() + 5000,
              () => (nodes.every((n) => tb.nodeProcessState(n.index) === "gone") ? "" : undefined),
              () => `a node would not exit: ${this.stateOf(nodes)}`,
            );
            return this.restartGone(nodes);
          },
        });
      }
      case "redis.kill":
      case "redis.restart": {
        const sig = fault.type === "redis.kill" ? "SIGKILL" : "SIGTERM";
        if (!tb.signalRedis(sig)) {
          return Promise.reject(
            new FaultError(`${fault.id}: redis is not running in this testbed`, fault.id),
          );
        }
        return Promise.resolve({
          subjects: [{ kind: "redis", name: "redis" }],
          actions,
          confirm: (deadline) =>
            confirmBy(
              deadline,
              () => (tb.redisProcessState() === "gone" ? `redis process gone after ${sig}` : undefined),
              () => `redis still running after ${sig}`,
            ),
          revert: async () => {
            if (tb.redisProcessState() === "stopped") tb.signalRedis("SIGCONT");
            if (tb.redisProcessState() !== "gone") return "redis running";
            await tb.restartRedis();
            return "redis started again (empty) and answers PING";
          },
        });
      }
      case "net.partition":
      case "net.loss": {
        const tables: NftFault[] = [];
        try {
          for (const n of nodes) {
            const ns = tb.nodes[n.index]?.namespace;
            const table = faultTableName(`${fault.id}_${n.name}`);
            if (fault.type === "net.loss") {
              tables.push(
                PacketLoss.inject(ns, fault.params.ratio ?? 0, fault.params.direction ?? "egress", table),
              );
            } else {
              const host = fault.params.from === "redis" ? this.redisFromNode(n.index) : undefined;
              if (fault.params.from === "redis" && host === undefined) {
                // never fall back to a full partition: that would be another fault
                throw new TestbedError(
                  "bad-option",
                  `cannot tell how ${n.name} reaches Redis from its config`,
                );
              }
              tables.push(
                Partition.cut(ns, {
                  direction: fault.params.direction ?? "both",
                  table,
                  ...(fault.params.from === "redis" && host !== undefined ? { redis: host } : {}),
                }),
              );
            }
          }
        } catch (err) {
          for (const t of tables) t.remove();
          return Promise.reject(this.asFaultError(fault, err));
        }
        return Promise.resolve({
          subjects: subjects(),
          actions,
          confirm: (deadline) =>
            confirmBy(
              deadline,
              () =>
                tables.every((t) => t.present())
                  ? tables.map((t) => `nftables table ${t.table} present in ${t.namespace}`).join("; ")
                  : undefined,
              () => "an nftables table was not listed after it was created",
            ),
          revert: () => {
            for (const t of tables) t.remove();
            return Promise.resolve(
              tables.some((t) => t.present())
                ? "a table could not be removed"
                : `removed ${tables.map((t) => t.table).join(", ")}`,
            );
          },
        });
      }
      case "net.bandwidth":
      case "net.delay": {
        const qdiscs: Qdisc[] = [];
        try {
          for (const n of nodes) {
            const view = tb.nodes[n.index];
            const device = tb.nodeInterface(n.index);
            if (device === undefined) {
              throw new TestbedError(
                "bad-option",
                `${n.name} has no network namespace: start the testbed with --netns`,
              );
            }
            qdiscs.push(
              fault.type === "net.bandwidth"
                ? Qdisc.bandwidth(view?.namespace, device, fault.params.rateKbit ?? 0)
                : Qdisc.delay(view?.namespace, device, fault.params.delayMs ?? 0, fault.params.jitterMs ?? 0),
            );
          }
        } catch (err) {
          for (const q of qdiscs) q.remove();
          return Promise.reject(this.asFaultError(fault, err));
        }
        return Promise.resolve({
          subjects: subjects(),
          actions,
          confirm: (deadline) =>
            confirmBy(
              deadline,
              () =>
                qdiscs.every((q) => q.present())
                  ? qdiscs.map((q) => `qdisc ${q.kind} on ${q.device} in ${q.namespace}`).join("; ")
                  : undefined,
              () => "a qdisc was not listed after it was installed",
            ),
          revert: () => {
            for (const q of qdiscs) q.remove();
            return Promise.resolve(`removed qdisc from ${qdiscs.map((q) => q.device).join(", ")}`);
          },
        });
      }
      case "client.simulate":
      case "client.join":
        return Promise.reject(
          new FaultError(`${fault.id}: ${fault.type} is run by the swarm, not the backend`, fault.id),
        );
    }
  }

  /** Redis as a node's namespace reaches it: the host side of its veth. */
  private redisFromNode(index: number): { host: string; port: number } | undefined {
    const redis = this.testbed.redis;
    const state = this.testbed.status().nodes[index];
    if (redis === undefined || state?.namespace === undefined) return undefined;
    // the node's config points at the host end of its veth pair, on Redis's port
    const config = readFileSync(this.testbed.runDir + `/${state.name}.yaml`, "utf8");
    const match = /redis:\s*\n\s*address:\s*"?([\d.]+):(\d+)/.exec(config);
    return match?.[1] !== undefined ? { host: match[1], port: redis.port } : undefined;
  }

  private thaw(nodes: readonly NodeRef[]): string {
    const thawed = nodes.filter((n) => this.testbed.nodeProcessState(n.index) === "stopped");
    for (const n of thawed) this.testbed.signalNode(n.index, "SIGCONT");
    return thawed.length === 0 ? "no node was stopped" : `SIGCONT ${thawed.map((n) => n.name).join(", ")}`;
  }

  private async restartGone(nodes: readonly NodeRef[]): Promise<string> {
    const done: string[] = [];
    for (const n of nodes) {
      const state = this.testbed.nodeProcessState(n.index);
      if (state === "stopped") this.testbed.signalNode(n.index, "SIGCONT");
      if (state !== "gone") continue;
      const view = await this.testbed.restartNode(n.index);
      done.push(`${n.name} restarted as pid ${view.pid} (${view.nodeId ?? "?"})`);
    }
    return done.length === 0 ? "every node running" : done.join("; ");
  }

  private stateOf(nodes: readonly NodeRef[]): string {
    return nodes.map((n) => `${n.name}=${this.testbed.nodeProcessState(n.index)}`).join(", ");
  }

  private asFaultError(fault: DrillFault, err: unknown): FaultError {
    const message = err instanceof Error ? err.message : String(err);
    return new FaultError(`${fault.id} (${fault.type}): ${message}`, fault.id);
  }
}

/** What the local backend does for `fault` on the named nodes, in words (dry run, journal). */
export function describeLocalFault(fault: DrillFault, nodes: readonly string[]): string[] {
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
      return nodes.map((n) => `tc netem on ${n}'s veth: delay ${p.delayMs ?? 0} ms ± ${p.jitterMs ?? 0} ms`);
    case "client.simulate":
      return [`simulateScenario(${p.scenario ?? "?"}) on the chosen participants`];
    case "client.join":
      return [`${p.perRoom ?? 1} late joiner(s) per room`];
  }
}
