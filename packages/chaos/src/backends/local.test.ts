import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeploymentFault, parseDrill, type DeploymentFault } from "@livekit-swarm/schema";
import { readFaultLedger, type LedgerEntry, type NodeView } from "@livekit-swarm/testbed";
import { afterEach, describe, expect, it } from "vitest";
import { FaultError, type NodeRef } from "../backend.js";
import { LocalInjector, type LocalTestbed } from "./local.js";

const ENV = { LIVEKIT_URL: "ws://127.0.0.1:7880", LIVEKIT_API_KEY: "k", LIVEKIT_API_SECRET: "s" };

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fault(spec: string): DeploymentFault {
  const drill = parseDrill(
    ["name: d", "workload: { rooms: 1 }", "faults:", `  - { id: f, ${spec} }`].join("\n"),
    "d.yaml",
    { env: ENV },
  );
  const [f] = drill.faults;
  if (f === undefined || !isDeploymentFault(f)) throw new Error(`no backend fault parsed from ${spec}`);
  return f;
}

type ProcessState = "running" | "stopped" | "gone";

/**
 * Two nodes and a Redis as process states, in a temporary run directory. Every signal and restart
 * is written down with the fault ledger as it stood at that moment.
 */
function fakeTestbed(options: { redisRunning?: boolean; restartFails?: boolean } = {}): LocalTestbed & {
  calls: { what: string; ledger: LedgerEntry[] }[];
} {
  const runDir = mkdtempSync(join(tmpdir(), "local-injector-test-"));
  dirs.push(runDir);
  const nodes: ProcessState[] = ["running", "running"];
  let redis: ProcessState = options.redisRunning === false ? "gone" : "running";
  const calls: { what: string; ledger: LedgerEntry[] }[] = [];
  const note = (what: string): void => {
    calls.push({ what, ledger: readFaultLedger(runDir) });
  };
  const view = (i: number): NodeView => ({
    name: `node${i + 1}`,
    index: i,
    pid: 100 + i,
    alive: nodes[i] !== "gone",
    state: nodes[i] ?? "gone",
    nodeId: `ND_${i + 1}`,
    ip: "127.0.0.1",
    httpPort: 7880 + i,
    rtcTcpPort: 7890 + i,
    rtcUdpPort: 7900 + i,
    prometheusPort: 6789 + i,
    metricsUrl: `http://127.0.0.1:${6789 + i}/metrics`,
    namespace: undefined,
    logFile: join(runDir, `node${i + 1}.log`),
  });
  const unused = (what: string) => (): never => {
    throw new Error(`the local injector was not expected to call ${what} here`);
  };
  return {
    calls,
    runDir,
    get nodes() {
      return nodes.map((_, i) => view(i));
    },
    redis: { host: "127.0.0.1", port: 6379 },
    status: unused("status"),
    refreshNodeIds: () => undefined,
    roomNode: unused("roomNode"),
    nodePid: (i) => 100 + i,
    nodeInterface: () => undefined,
    signalNode: (i, sig) => {
      note(`${sig} node${i + 1}`);
      if (nodes[i] === undefined || nodes[i] === "gone") return false;
      nodes[i] = sig === "SIGSTOP" ? "stopped" : sig === "SIGCONT" ? "running" : "gone";
      return true;
    },
    nodeProcessState: (i) => nodes[i] ?? "gone",
    restartNode: (i) => {
      note(`restart node${i + 1}`);
      if (options.restartFails === true) return Promise.reject(new Error(`node${i + 1} exited at start`));
      nodes[i] = "running";
      return Promise.resolve(view(i));
    },
    signalRedis: (sig) => {
      note(`${sig} redis`);
      if (redis === "gone") return false;
      redis = "gone";
      return true;
    },
    redisProcessState: () => redis,
    restartRedis: () => {
      note("restart redis");
      redis = "running";
      return Promise.resolve();
    },
  };
}

const NODE2: readonly NodeRef[] = [{ name: "node2", index: 1, nodeId: "ND_2" }];

describe("LocalInjector and the fault ledger", () => {
  it("writes the fault to the ledger before it signals the node, and clears it once the revert succeeds", async () => {
    const tb = fakeTestbed();
    const injected = await new LocalInjector(tb).inject(fault("type: node.freeze, duration: 30s"), NODE2);
    expect(tb.calls).toEqual([
      { what: "SIGSTOP node2", ledger: [{ fault: "f", kind: "thaw-node", node: "node2", index: 1 }] },
    ]);
    expect(await injected.confirm(Date.now() + 1000)).toBe("node2 in process state T (stopped)");
    expect(await injected.revert()).toBe("SIGCONT node2");
    expect(tb.calls.map((c) => c.what)).toEqual(["SIGSTOP node2", "SIGCONT node2"]);
    expect(readFaultLedger(tb.runDir)).toEqual([]);
  });

  it("an injection that fails clears its ledger entry: there is nothing to undo", async () => {
    const tb = fakeTestbed({ redisRunning: false });
    const inject = new LocalInjector(tb).inject(fault("type: redis.kill"), []);
    await expect(inject).rejects.toThrow(FaultError);
    await expect(inject).rejects.toThrow("f: redis is not running in this testbed");
    expect(tb.calls).toEqual([{ what: "SIGKILL redis", ledger: [{ fault: "f", kind: "restart-redis" }] }]);
    expect(readFaultLedger(tb.runDir)).toEqual([]);
  });

  it("a revert that fails leaves its entry in the ledger, for `swarm chaos rollback`", async () => {
    const tb = fakeTestbed({ restartFails: true });
    const injected = await new LocalInjector(tb).inject(fault("type: node.kill, duration: 10s"), NODE2);
    const entry: LedgerEntry = { fault: "f", kind: "restart-node", node: "node2", index: 1 };
    expect(tb.calls).toEqual([{ what: "SIGKILL node2", ledger: [entry] }]);
    await expect(injected.revert()).rejects.toThrow("node2 exited at start");
    expect(readFaultLedger(tb.runDir)).toEqual([entry]);
  });
});
