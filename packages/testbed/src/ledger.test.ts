import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  clearFaults,
  ledgerFile,
  readFaultLedger,
  recordFaults,
  rollBackFaultLedger,
  type LedgerTestbed,
} from "./ledger.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function runDir(): string {
  const d = mkdtempSync(join(tmpdir(), "ledger-test-"));
  dirs.push(d);
  return d;
}

/** Node 0 frozen, node 1 killed, Redis running; records every signal and restart. */
function fakeTestbed(dir: string): LedgerTestbed & { calls: string[] } {
  const states: ("running" | "stopped" | "gone")[] = ["stopped", "gone"];
  const calls: string[] = [];
  return {
    runDir: dir,
    calls,
    nodeProcessState: (i) => states[i] ?? "gone",
    signalNode: (i, sig) => {
      calls.push(`${sig} node${i + 1}`);
      if (sig === "SIGCONT") states[i] = "running";
      return true;
    },
    restartNode: (i) => {
      calls.push(`restart node${i + 1}`);
      states[i] = "running";
      return Promise.resolve();
    },
    redisProcessState: () => "running",
    signalRedis: () => true,
    restartRedis: () => Promise.resolve(),
  };
}

describe("the fault ledger", () => {
  it("records before injection, clears by fault, and leaves no file (nor a temporary one) when empty", () => {
    const dir = runDir();
    recordFaults(dir, [{ fault: "freeze", kind: "thaw-node", node: "node1", index: 0 }]);
    recordFaults(dir, [{ fault: "cut", kind: "nft-table", namespace: "lkn1", table: "lkswarm_cut_node1" }]);
    expect(readFaultLedger(dir).map((e) => e.fault)).toEqual(["freeze", "cut"]);
    clearFaults(dir, "freeze");
    expect(readFaultLedger(dir).map((e) => e.fault)).toEqual(["cut"]);
    clearFaults(dir, "cut");
    expect(existsSync(ledgerFile(dir))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("rolls back what it lists, once: thaws the frozen node, restarts the killed one", async () => {
    const dir = runDir();
    const tb = fakeTestbed(dir);
    recordFaults(dir, [
      { fault: "freeze", kind: "thaw-node", node: "node1", index: 0 },
      { fault: "kill", kind: "restart-node", node: "node2", index: 1 },
    ]);
    expect(await rollBackFaultLedger(tb)).toEqual({
      done: ["restarted node2", "SIGCONT node1"],
      failed: [],
    });
    expect(readFaultLedger(dir)).toEqual([]);
    // idempotent: the ledger is empty, nothing is signalled again
    expect(await rollBackFaultLedger(tb)).toEqual({ done: [], failed: [] });
    expect(tb.calls).toEqual(["restart node2", "SIGCONT node1"]);
  });

  it("looks before it acts: a node already running is left alone", async () => {
    const dir = runDir();
    const tb = fakeTestbed(dir);
    tb.signalNode(0, "SIGCONT");
    recordFaults(dir, [{ fault: "freeze", kind: "thaw-node", node: "node1", index: 0 }]);
    expect((await rollBackFaultLedger(tb)).done).toEqual(["node1 was not stopped"]);
  });

  it("a delay's netem fallback that was never put in place is not spoken of; a bandwidth qdisc gone is", async () => {
    const dir = runDir();
    const tb = fakeTestbed(dir);
    // no such namespace: no qdisc listed in it
    const ns = `lkswarm-no-such-ns-${process.pid}`;
    recordFaults(dir, [
      { fault: "delay", kind: "qdisc", namespace: ns, device: "v0", fallback: true },
      { fault: "cap", kind: "qdisc", namespace: ns, device: "v1" },
    ]);
    expect(await rollBackFaultLedger(tb)).toEqual({ done: ["no qdisc of ours on v1"], failed: [] });
    expect(readFaultLedger(dir)).toEqual([]);
  });

  it("keeps the steps that failed", async () => {
    const dir = runDir();
    const tb = { ...fakeTestbed(dir), restartNode: () => Promise.reject(new Error("port busy")) };
    recordFaults(dir, [{ fault: "kill", kind: "restart-node", node: "node2", index: 1 }]);
    expect(await rollBackFaultLedger(tb)).toEqual({
      done: [],
      failed: ["kill: restart node2 if it is gone: port busy"],
    });
    expect(readFaultLedger(dir)).toHaveLength(1);
  });
});
