/**
 * The local backend: faults on a testbed's real processes and network namespaces. Signals for
 * nodes and Redis, nftables tables for partitions and loss, tc qdiscs for bandwidth and delay.
 * Every fault is confirmed by looking (process gone or stopped, table or qdisc listed), never
 * assumed from the command's success.
 */
import { readFileSync, statSync } from "node:fs";
import { messageOf, type DeploymentFault } from "@livekit-swarm/schema";
import {
  PacketLoss,
  Partition,
  Qdisc,
  type Testbed,
  delayNode,
  delayTag,
  type NodeDelay,
  TestbedError,
  clearFaults,
  faultTableName,
  readSignalLog,
  recordFaults,
  type SignalConnection,
  type NftFault,
} from "@livekit-swarm/testbed";
import {
  FaultError,
  type FaultInjector,
  type FaultTable,
  type InjectedFault,
  type NodeRef,
} from "../backend.js";
import type { FaultSubject } from "../journal.js";
import { describeLocalFault, ledgerEntries } from "./local-plan.js";

export { describeLocalFault } from "./local-plan.js";

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

/** What issuing any fault starts from: who it hits (read as it is issued) and what it does, in words. */
interface Issue {
  readonly subjects: () => FaultSubject[];
  readonly actions: readonly string[];
}

type Injection = (fault: DeploymentFault, nodes: readonly NodeRef[], issue: Issue) => Promise<InjectedFault>;

/** What the local backend uses of a testbed: a Testbed, or a fake one in unit tests. */
export type LocalTestbed = Pick<
  Testbed,
  | "runDir"
  | "nodes"
  | "redis"
  | "status"
  | "refreshNodeIds"
  | "roomNode"
  | "nodePid"
  | "nodeInterface"
  | "signalNode"
  | "nodeProcessState"
  | "restartNode"
  | "signalRedis"
  | "redisProcessState"
  | "restartRedis"
>;

export class LocalInjector implements FaultInjector {
  readonly backend = "local" as const;

  constructor(private readonly testbed: LocalTestbed) {}

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

  describe(fault: DeploymentFault, nodes: readonly NodeRef[]): readonly string[] {
    return describeLocalFault(
      fault,
      nodes.map((n) => n.name),
    );
  }

  /**
   * Writes what the fault will do to the testbed's fault ledger before doing it, and clears it when
   * its revert succeeds, so that `swarm chaos rollback` can undo it if this process dies first.
   */
  async inject(fault: DeploymentFault, nodes: readonly NodeRef[]): Promise<InjectedFault> {
    const runDir = this.testbed.runDir;
    recordFaults(runDir, ledgerEntries(this.testbed, fault, nodes));
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

  private injectNow(fault: DeploymentFault, nodes: readonly NodeRef[]): Promise<InjectedFault> {
    const tb = this.testbed;
    const subjects = (): FaultSubject[] =>
      nodes.map((n) => ({ kind: "node", name: n.name, nodeId: n.nodeId, pid: tb.nodePid(n.index) }));
    const actions = [...this.describe(fault, nodes)];
    return this.injections[fault.type](fault, nodes, { subjects, actions });
  }

  /** How a fault of each kind is issued; kinds that differ by a word share one method. */
  private readonly injections: FaultTable<Injection> = {
    "node.kill": (_fault, nodes, { subjects, actions }) => {
      const pids = subjects();
      return this.signalFault(nodes, "SIGKILL", "gone", {
        subjects: pids,
        actions,
        seen: () => pids.map((p) => `${p.name} pid ${p.pid ?? "?"} gone`).join("; "),
        notSeen: "a node was still running after SIGKILL",
        revert: () => this.restartGone(nodes),
      });
    },
    "node.freeze": (_fault, nodes, { subjects, actions }) =>
      this.signalFault(nodes, "SIGSTOP", "stopped", {
        subjects: subjects(),
        actions,
        seen: () => `${nodes.map((n) => n.name).join(", ")} in process state T (stopped)`,
        notSeen: "a node did not stop after SIGSTOP",
        revert: () => Promise.resolve(this.thaw(nodes)),
      }),
    "node.thaw": (_fault, nodes, { subjects, actions }) => {
      const pids = subjects();
      const done = this.thaw(nodes);
      return Promise.resolve({
        subjects: pids,
        actions,
        confirm: (deadline) =>
          confirmBy(
            deadline,
            () =>
              nodes.every((n) => this.testbed.nodeProcessState(n.index) !== "stopped") ? done : undefined,
            () => `a node was still stopped after SIGCONT: ${this.stateOf(nodes)}`,
          ),
        revert: () => Promise.resolve("nothing to undo"),
      });
    },
    "node.drain": (fault, nodes, issue) => this.stopNodes(fault, nodes, issue),
    "node.restart": (fault, nodes, issue) => this.stopNodes(fault, nodes, issue),
    "redis.kill": (fault, _nodes, issue) => this.stopRedis(fault, issue),
    "redis.restart": (fault, _nodes, issue) => this.stopRedis(fault, issue),
    "net.partition": (fault, nodes, issue) => this.nftFault(fault, nodes, issue),
    "net.loss": (fault, nodes, issue) => this.nftFault(fault, nodes, issue),
    "net.bandwidth": (fault, nodes, issue) =>
      this.ruleFault(
        fault,
        nodes,
        (n): Qdisc =>
          Qdisc.bandwidth(this.testbed.nodes[n.index]?.namespace, this.veth(n), fault.params.rateKbit ?? 0),
        {
          ...issue,
          listed: (q) => `qdisc ${q.kind} on ${q.device} in ${q.namespace}`,
          gone: (q) =>
            `qdisc ${q.kind} on ${q.device} in ${q.namespace} was gone or replaced before the revert`,
          notListed: "a qdisc was not listed after it was installed",
          removed: (qdiscs) => `removed qdisc from ${qdiscs.map((q) => q.device).join(", ")}`,
        },
      ),
    "net.delay": (fault, nodes, issue) =>
      this.ruleFault(
        fault,
        nodes,
        (n): Promise<NodeDelay> =>
          delayNode(
            this.testbed.nodes[n.index]?.namespace,
            this.veth(n),
            fault.params.delayMs ?? 0,
            fault.params.jitterMs ?? 0,
            delayTag(fault.id, n.name),
          ),
        {
          ...issue,
          listed: (d) => d.describe(),
          notListed: "a delay was not listed after it was installed",
          removed: (delays) =>
            [
              `removed the delay from ${delays.map((d) => d.device).join(", ")}`,
              ...delays.flatMap((d) => d.lapse() ?? d.held() ?? []),
            ].join("; "),
          gone: (d) => d.lapse() ?? `${d.device}: its delay rule was gone before the revert`,
        },
      ),
  };

  /** node.drain and node.restart: SIGTERM; a drain is seen in the node's log, a restart in its exit. */
  private stopNodes(
    fault: DeploymentFault,
    nodes: readonly NodeRef[],
    { subjects, actions }: Issue,
  ): Promise<InjectedFault> {
    const tb = this.testbed;
    const grace = fault.params.graceMs ?? 10_000;
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
        for (const n of nodes) if (tb.nodeProcessState(n.index) !== "gone") tb.signalNode(n.index, "SIGKILL");
        await confirmBy(
          Date.now() + 5000,
          () => (nodes.every((n) => tb.nodeProcessState(n.index) === "gone") ? "" : undefined),
          () => `a node would not exit: ${this.stateOf(nodes)}`,
        );
        return this.restartGone(nodes);
      },
    });
  }

  /** redis.kill and redis.restart: SIGKILL or SIGTERM, seen once the process is gone. */
  private stopRedis(fault: DeploymentFault, { actions }: Issue): Promise<InjectedFault> {
    const tb = this.testbed;
    const sig = fault.type === "redis.kill" ? "SIGKILL" : "SIGTERM";
    if (!tb.signalRedis(sig)) {
      return Promise.reject(new FaultError(`${fault.id}: redis is not running in this testbed`, fault.id));
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

  /** net.partition and net.loss: an nftables table in each node's namespace. */
  private nftFault(fault: DeploymentFault, nodes: readonly NodeRef[], issue: Issue): Promise<InjectedFault> {
    return this.ruleFault(
      fault,
      nodes,
      (n): NftFault => {
        const ns = this.testbed.nodes[n.index]?.namespace;
        const table = faultTableName(`${fault.id}_${n.name}`);
        if (fault.type === "net.loss") {
          return PacketLoss.inject(ns, fault.params.ratio ?? 0, fault.params.direction ?? "egress", table);
        }
        const host = fault.params.from === "redis" ? this.redisFromNode(n.index) : undefined;
        if (fault.params.from === "redis" && host === undefined) {
          // never fall back to a full partition: that would be another fault
          throw new TestbedError("bad-option", `cannot tell how ${n.name} reaches Redis from its config`);
        }
        return Partition.cut(ns, {
          direction: fault.params.direction ?? "both",
          table,
          ...(fault.params.from === "redis" && host !== undefined ? { redis: host } : {}),
        });
      },
      {
        ...issue,
        listed: (t) => `nftables table ${t.table} present in ${t.namespace}`,
        gone: (t) => `nftables table ${t.table} in ${t.namespace} was gone before the revert`,
        notListed: "an nftables table was not listed after it was created",
        removed: (tables) =>
          tables.some((t) => t.present())
            ? "a table could not be removed"
            : `removed ${tables.map((t) => t.table).join(", ")}`,
      },
    );
  }

  /** Sends `sig` to every node; confirmed once every one is in process state `state`. */
  private signalFault(
    nodes: readonly NodeRef[],
    sig: NodeJS.Signals,
    state: "gone" | "stopped",
    how: {
      readonly subjects: readonly FaultSubject[];
      readonly actions: readonly string[];
      readonly seen: () => string;
      readonly notSeen: string;
      readonly revert: () => Promise<string>;
    },
  ): Promise<InjectedFault> {
    for (const n of nodes) this.testbed.signalNode(n.index, sig);
    return Promise.resolve({
      subjects: how.subjects,
      actions: how.actions,
      confirm: (deadline) =>
        confirmBy(
          deadline,
          () =>
            nodes.every((n) => this.testbed.nodeProcessState(n.index) === state) ? how.seen() : undefined,
          () => `${how.notSeen}: ${this.stateOf(nodes)}`,
        ),
      revert: how.revert,
    });
  }

  /**
   * A fault made of rules in the nodes' namespaces (nftables tables, qdiscs, user-space delays):
   * `install` puts one on each node in turn; if one fails, those already in place are removed and
   * the fault is refused. Confirmed when every rule is listed, reverted by removing them all.
   */
  private async ruleFault<R extends { present(): boolean; remove(): unknown }>(
    fault: DeploymentFault,
    nodes: readonly NodeRef[],
    install: (node: NodeRef) => R | Promise<R>,
    how: {
      readonly subjects: () => FaultSubject[];
      readonly actions: readonly string[];
      readonly listed: (rule: R) => string;
      readonly notListed: string;
      readonly removed: (rules: readonly R[]) => string;
      /** Once removed, what a rule found gone before its revert had done: for the fault's error. */
      readonly gone: (rule: R) => string;
    },
  ): Promise<InjectedFault> {
    const rules: R[] = [];
    let reverted = false;
    let lapsed: string | undefined;
    try {
      for (const n of nodes) rules.push(await install(n));
    } catch (err) {
      for (const r of rules) await r.remove();
      throw this.asFaultError(fault, err);
    }
    return {
      subjects: how.subjects(),
      actions: how.actions,
      confirm: (deadline) =>
        confirmBy(
          deadline,
          () => (rules.every((r) => r.present()) ? rules.map(how.listed).join("; ") : undefined),
          () => how.notListed,
        ),
      revert: async () => {
        // a rule gone before its first revert (deleted or replaced by something else, its delayer
        // dead) let the packets by from then: the fault did not hold
        const gone = reverted ? [] : rules.filter((r) => !r.present());
        reverted = true;
        for (const r of rules) await r.remove();
        if (gone.length > 0) lapsed ??= gone.map(how.gone).join("; ");
        return how.removed(rules);
      },
      lapsed: () => lapsed,
    };
  }

  /** The node's side of its veth: where bandwidth caps and delays go. */
  private veth(n: NodeRef): string {
    const device = this.testbed.nodeInterface(n.index);
    if (device === undefined) {
      throw new TestbedError(
        "bad-option",
        `${n.name} has no network namespace: start the testbed with --netns`,
      );
    }
    return device;
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

  private asFaultError(fault: DeploymentFault, err: unknown): FaultError {
    const message = messageOf(err);
    return new FaultError(`${fault.id} (${fault.type}): ${message}`, fault.id);
  }
}
