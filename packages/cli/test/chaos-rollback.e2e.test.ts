/**
 * Crash safety: a drill SIGKILLed during a freeze cannot roll back, so the node stays stopped.
 * `swarm testbed status` must show it, the partial journal must say the drill did not finish, and
 * `swarm chaos rollback` must thaw it from the fault ledger, once (a second run has nothing to do).
 * A delay beside it (in user space here) leaves its rules, which the rollback deletes; its delayers
 * went with the drill. And a delay whose delayer dies mid-fault did not hold: the drill is inconclusive.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Testbed, delayProcesses, delayRules, faultTables, ledgerFile, signal } from "@livekit-swarm/testbed";
import { alive, startSwarm, swarm } from "@livekit-swarm/test-kit";

const dir = mkdtempSync(join(tmpdir(), "chaos-rollback-e2e-"));

/** Every process whose ancestry leads to `root` (the drill and its swarm workers). */
function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (pid: number): void => {
    for (const [child, ppid] of parents) {
      if (ppid === pid) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(root);
  return out;
}

async function waitFor(cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(what());
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Until the drill has confirmed every fault of `ids`; a drill that exits first fails the test. */
async function confirmed(run: ReturnType<typeof startSwarm>, ids: readonly string[]): Promise<void> {
  // the baseline is 5-6 s and joining takes a few on a busy 2-core machine: 90 s is generous
  await waitFor(
    () => {
      if (run.child.exitCode !== null) throw new Error(`the drill exited early:\n${run.stderr}`);
      return ids.every((id) => run.stderr.includes(`${id}: confirmed`));
    },
    90_000,
    () => `${ids.join(" and ")} never all confirmed:\n${run.stderr}`,
  );
}

describe("a drill and its faults parting: the drill killed during a freeze, a delayer killed during a delay", () => {
  let tb: Testbed | undefined;
  let workers: number[] = [];
  afterAll(async () => {
    // only processes this test started: the drill's own children, if any outlived it
    for (const pid of workers.filter(alive)) signal(pid, "SIGKILL");
    await tb?.stop();
  });

  it("leaves the node stopped, which status shows and swarm chaos rollback thaws", async () => {
    tb = await Testbed.start({ name: `e2e-rollback-${process.pid}`, nodes: 3, netns: true });
    const out = join(dir, "out");
    const file = join(dir, "freeze.yaml");
    writeFileSync(
      file,
      `name: killed-freeze
target: { testbed: ${tb.name} }
workload: { rooms: 2, audio-publishers: 1, video-publishers: 0, subscribers: 1, num-per-second: 6, duration: 5m }
baseline: 6s
observe: 60s
after: 6s
faults:
  - id: freeze
    type: node.freeze
    target: busiest-room-node
    duration: 60s
  - id: delay
    type: net.delay
    target: all-nodes
    delay: 30ms
    duration: 60s
`,
    );
    const run = startSwarm(["chaos", "run", file, "-o", out]);
    await confirmed(run, ["freeze", "delay"]);
    expect(run.stderr).toContain(`testbed ${tb.name}`);
    expect(run.stderr).toContain(`swarm chaos rollback --testbed ${tb.name}`);
    expect(run.stderr).toContain(`journal: ${join(out, "journal.json")}`);
    expect(existsSync(ledgerFile(tb.runDir)), "the fault ledger").toBe(true);
    const pid = run.child.pid ?? -1;
    workers = descendants(pid);
    run.child.kill("SIGKILL");
    await run.exited;

    const partial = JSON.parse(readFileSync(join(out, "journal.json"), "utf8")) as Record<string, unknown>;
    expect(partial.partial).toBe(true);
    expect(partial.note).toContain(`swarm chaos rollback --testbed ${tb.name}`);
    expect(partial.faults).toMatchObject([
      { id: "freeze", reverted: false },
      { id: "delay", reverted: false },
    ]);

    const frozen = Testbed.attach(tb.runDir);
    const stoppedNodes = frozen.nodes.filter((_, i) => frozen.nodeProcessState(i) === "stopped");
    expect(stoppedNodes.map((n) => n.name)).toHaveLength(1);
    const stoppedName = stoppedNodes[0]?.name ?? "?";
    const before = await swarm(["testbed", "status", "--name", tb.name]);
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toMatch(new RegExp(`${stoppedName} .*stopped \\(frozen\\)`));
    expect(before.stdout).toContain(`swarm chaos rollback --testbed ${tb.name}`);
    expect(before.stdout).toContain("delay rule lkswarm_delay_delay_node1");
    // the delayers exit with the drill (their parent); the rules stay, and let packets by meanwhile
    const namespaces = frozen.nodes.flatMap((n) => (n.namespace === undefined ? [] : [n.namespace]));
    await waitFor(
      () => namespaces.every((ns) => delayProcesses({ namespace: ns }).length === 0),
      10_000,
      () => `delayers still running: ${namespaces.map((ns) => delayProcesses({ namespace: ns }).join(",")).join(" ")}`,
    );

    const rb = await swarm(["chaos", "rollback", "--testbed", tb.name]);
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stdout).toContain(`undone: SIGCONT ${stoppedName}`);
    for (const n of frozen.nodes) expect(rb.stdout).toContain(`undone: deleted 1 delay rule(s) delay_${n.name}`);
    // the delay ran in user space: its netem fallback, never put in place, is not spoken of
    expect(rb.stdout).not.toContain("qdisc");
    const again = await swarm(["chaos", "rollback", "--testbed", tb.name]);
    expect(again.stdout).toContain("no fault to roll back");

    const after = await swarm(["testbed", "status", "--name", tb.name]);
    expect(after.stdout).not.toContain("stopped (frozen)");
    expect(after.stdout).not.toContain("fault  ");
    const thawed = Testbed.attach(tb.runDir);
    expect(thawed.nodes.map((_, i) => thawed.nodeProcessState(i))).toEqual(["running", "running", "running"]);
    for (const n of thawed.nodes)
      if (n.namespace !== undefined) {
        expect(faultTables(n.namespace), n.name).toEqual([]);
        expect(delayRules(n.namespace), n.name).toEqual([]);
      }
    // the swarm's workers go when their parent does (they watch its IPC channel)
    await waitFor(
      () => workers.filter(alive).length === 0,
      20_000,
      () => `the drill's children still alive: ${workers.filter(alive).join(", ")}`,
    );
  }, 240_000);

  it("a delayer killed mid-fault: the fault did not hold, and the drill says so (inconclusive) instead of passing", async () => {
    if (tb === undefined) throw new Error("the testbed did not start");
    const out = join(dir, "lapsed-out");
    const file = join(dir, "lapsed.yaml");
    writeFileSync(
      file,
      `name: lapsed-delay
target: { testbed: ${tb.name} }
workload: { rooms: 1, audio-publishers: 1, video-publishers: 0, subscribers: 1, num-per-second: 6, duration: 5m }
baseline: 5s
observe: 8s
after: 5s
faults:
  - id: delay
    type: net.delay
    target: { node: 1 }
    delay: 40ms
    duration: 8s
`,
    );
    const run = startSwarm(["chaos", "run", file, "-o", out]);
    await confirmed(run, ["delay"]);
    const ns = tb.nodes[0]?.namespace ?? "";
    const delayers = delayProcesses({ namespace: ns });
    expect(delayers, `delayers in ${ns}`).toHaveLength(1);
    // 2 s into the 8 s fault: from then its rule lets packets by undelayed
    await new Promise((resolve) => setTimeout(resolve, 2000));
    for (const pid of delayers) signal(pid, "SIGKILL");
    const code = await run.exited;
    const journal = JSON.parse(readFileSync(join(out, "journal.json"), "utf8")) as {
      verdict: string;
      reason: string;
      faults: { id: string; error: string | null }[];
    };
    expect(journal.verdict, run.stderr).toBe("inconclusive");
    expect(code, run.stderr).toBe(2);
    const lapsed = /did not hold until its revert: \S+: the delayer exited (\d+\.\d) s before the revert, and packets passed undelayed from then/;
    expect(journal.faults[0]?.error ?? "", run.stderr).toMatch(lapsed);
    expect(journal.reason).toMatch(lapsed);
    // killed ~2 s into 8 s: it was gone for the last ~6
    const gone = Number(lapsed.exec(journal.faults[0]?.error ?? "")?.[1]);
    expect(gone).toBeGreaterThan(4);
    expect(gone).toBeLessThan(7.5);
    expect(delayRules(ns), "rules left").toEqual([]);
    expect(existsSync(ledgerFile(tb.runDir)), "the fault ledger").toBe(false);
  }, 150_000);
});
