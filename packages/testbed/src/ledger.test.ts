import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  clearFaults,
  ledgerFile,
  parseFaultLedger,
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

describe("a hostile fault ledger", () => {
  it.each([
    ["not JSON", "{oops", /it is not JSON/],
    ["an object", "{}", /expected a list of entries/],
    ["a bogus kind", '[{"fault":"x","kind":"bogus"}]', /entry 1: kind "bogus" is not one a drill writes/],
    ["null and a number", '[{"fault":"x","kind":"restart-redis"},null,7]', /entry 2: expected an object/],
    [
      "a fault id with a space",
      '[{"fault":"a b","kind":"restart-redis"}]',
      /entry 1: fault "a b" does not match/,
    ],
    [
      "a table not ours",
      '[{"fault":"cut","kind":"nft-table","namespace":"lkn1","table":"filter"}]',
      /entry 1: table "filter" does not match/,
    ],
    [
      "a namespace that is a path",
      '[{"fault":"cut","kind":"nft-table","namespace":"../x","table":"lkswarm_cut"}]',
      /entry 1: namespace "..\/x" does not match/,
    ],
    [
      "a device name too long",
      '[{"fault":"bw","kind":"qdisc","namespace":"lkn1","device":"a-very-long-device-name"}]',
      /entry 1: device .* does not match/,
    ],
    [
      "a node index out of range",
      '[{"fault":"k","kind":"restart-node","node":"node1","index":-1}]',
      /index -1: expected a node index, 0 to 15/,
    ],
    [
      "a node index that is text",
      '[{"fault":"k","kind":"thaw-node","node":"node1","index":"0"}]',
      /index "0": expected a node index/,
    ],
  ])("refuses %s, naming the entry", (_what, text, message) => {
    expect(() => parseFaultLedger(text)).toThrow(message);
  });

  it("reads every kind the drills write, and an empty list", () => {
    const entries = [
      { fault: "freeze", kind: "thaw-node", node: "node1", index: 0 },
      { fault: "kill", kind: "restart-node", node: "node2", index: 1 },
      { fault: "redis.kill-3", kind: "restart-redis" },
      { fault: "cut", kind: "nft-table", namespace: "lks12dn1", table: "lkswarm_cut_node1" },
      { fault: "bw", kind: "qdisc", namespace: "lks12dn1", device: "veth-n1" },
      { fault: "lag", kind: "user-delay", namespace: "lks12dn1", tag: "lag_node1" },
      { fault: "lag", kind: "qdisc", namespace: "lks12dn1", device: "veth-n1", fallback: true },
    ];
    expect(parseFaultLedger(JSON.stringify(entries))).toEqual(entries);
    expect(parseFaultLedger("[]")).toEqual([]);
  });

  it("makes readFaultLedger refuse in one line with the file and the fix, not read as empty", () => {
    const dir = runDir();
    writeFileSync(ledgerFile(dir), "not json");
    expect(() => readFaultLedger(dir)).toThrow(
      `the fault ledger ${ledgerFile(dir)} is not one a drill wrote: it is not JSON; it was left as it is: look at it, undo what it lists by hand (\`swarm testbed status\` shows the faults still in place), then delete it`,
    );
    expect(readFaultLedger(runDir())).toEqual([]);
  });
});
