/**
 * What the chaos drills' end-to-end files share: a drill's journal, the exit code it calls for, what
 * a drill's own testbed left behind, and an attached testbed's state after a drill (the drill itself
 * must have rolled its fault back, not the testbed's teardown).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import type { DrillJournal } from "@livekit-swarm/chaos";
import { Testbed, delayProcesses, delayRules, faultTables } from "@livekit-swarm/testbed";
import { leftovers, swarm, writeDrill } from "@livekit-swarm/test-kit";

export function readJournal(out: string): DrillJournal {
  return JSON.parse(readFileSync(join(out, "journal.json"), "utf8")) as DrillJournal;
}

/** The exit code the journal's status and verdict call for (the CLI must agree with it). */
export function expectedExit(j: DrillJournal): number {
  if (j.status === "interrupted") return 130;
  if (j.status === "aborted") return 3;
  return { pass: 0, fail: 1, deviated: 1, inconclusive: 2 }[j.verdict];
}

/** What a drill's own testbed left behind, once the drill is over. */
export function drillLeftovers(j: DrillJournal): string[] {
  const runDir = j.deployment.runDir;
  if (typeof runDir !== "string") throw new Error("the journal does not name the testbed's run directory");
  return leftovers(runDir);
}

/** An attached testbed's state after a drill: every node and Redis running, no fault table. */
export function faultState(started: Testbed): string[] {
  // the drill's process restarts what it killed and records it: read the testbed afresh
  const tb = Testbed.attach(started.runDir);
  const problems: string[] = [];
  tb.nodes.forEach((n, i) => {
    const state = tb.nodeProcessState(i);
    if (state !== "running") problems.push(`${n.name} is ${state}`);
    if (n.namespace !== undefined) {
      for (const table of faultTables(n.namespace)) problems.push(`${n.name}: nftables table ${table} left`);
      const qdiscs = execFileSync("ip", ["netns", "exec", n.namespace, "tc", "qdisc", "show"], {
        encoding: "utf8",
      });
      if (/qdisc (tbf|netem) /.test(qdiscs)) problems.push(`${n.name}: qdisc left: ${qdiscs.trim()}`);
      for (const rule of delayRules(n.namespace)) problems.push(`${n.name}: delay rule ${rule.comment} left`);
      for (const pid of delayProcesses({ namespace: n.namespace }))
        problems.push(`${n.name}: delayer pid ${pid} left`);
    }
  });
  if (tb.redisProcessState() !== "running") problems.push(`redis is ${tb.redisProcessState()}`);
  return problems;
}

/** A drill against an attached testbed, with the evidence its fault's confirmation must carry. */
export interface AttachedDrill {
  readonly name: string;
  readonly body: string;
  readonly evidence: RegExp;
  /** Whether the fault knocks participants down (loss and a bandwidth cap degrade without it). */
  readonly disconnects: boolean;
}

/**
 * Runs a drill through the CLI against an attached testbed and holds what every such drill must
 * show: a completed drill with a verdict on its expectations, the CLI's code the journal's, the
 * fault confirmed with its evidence and reverted by the drill, nothing left on the testbed.
 */
export async function runAttachedDrill(tb: Testbed, dir: string, d: AttachedDrill): Promise<DrillJournal> {
  const out = join(dir, `${d.name}-out`);
  const r = await swarm(["chaos", "run", writeDrill(dir, d.name, d.body), "-o", out], {}, 180_000);
  const j = readJournal(out);
  expect(r.code, `${d.name}: ${r.stderr}`).toBe(expectedExit(j));
  expect(j.status, `${d.name}: ${j.reason}`).toBe("completed");
  expect(["pass", "fail", "deviated"], `${d.name}: ${j.reason}`).toContain(j.verdict);
  expect(j.faults[0]?.evidence ?? "", d.name).toMatch(d.evidence);
  expect(j.faults[0]?.revertedAt, `${d.name} was not reverted`).not.toBeNull();
  if (d.disconnects) expect(j.aggregates.affected, `${d.name}: nobody was affected`).toBeGreaterThan(0);
  expect(
    j.rollbacks.every((rb) => rb.ok),
    JSON.stringify(j.rollbacks),
  ).toBe(true);
  expect(faultState(tb), `${d.name} left a fault behind`).toEqual([]);
  return j;
}
