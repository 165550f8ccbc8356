import { execFileSync } from "node:child_process";
import { afterAll, beforeAll } from "vitest";
import { CLIENT_NAMESPACE_PREFIX, Testbed } from "@livekit-swarm/testbed";
import { swarm } from "./cli.js";

/** Network namespaces, nftables rules and tc qdiscs need root; without it a fault test skips and says why. */
export const isRoot = process.getuid?.() === 0;

/** The client network namespaces on this host now, to check that a run left none behind. */
export function clientNamespaces(): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(CLIENT_NAMESPACE_PREFIX));
}

/**
 * The testbed of a describe block that injects faults on the node's network: one node in its own
 * network namespace (`e2e-<tag>-<pid>`), started before the block's tests and stopped after them.
 * Without root it starts nothing and the block's tests skip. Call the returned function in a test:
 * it throws when the testbed did not start.
 */
export function netnsTestbed(tag: string): () => Testbed {
  let tb: Testbed | undefined;
  beforeAll(async () => {
    if (isRoot) tb = await Testbed.start({ name: `e2e-${tag}-${process.pid}`, netns: true });
  });
  afterAll(async () => {
    await tb?.stop();
  });
  return () => {
    if (tb === undefined) throw new Error("the testbed did not start");
    return tb;
  };
}

/** `swarm testbed up` as a user would start it (through the CLI), attached for the test to use. */
export async function testbedUp(name: string, nodes: number): Promise<Testbed> {
  const up = await swarm(["testbed", "up", "--nodes", String(nodes), "--name", name], {}, 120_000);
  if (up.code !== 0) throw new Error(`swarm testbed up --nodes ${nodes} exited ${up.code}: ${up.stderr}`);
  return Testbed.attach(name);
}

/**
 * LiveKit's own count of signal joins, summed over the nodes: livekit_participant_join_total
 * {state="signal_connected"}, counted once the JoinResponse was written (docs/signalling-storm.md).
 */
export async function signalJoins(testbed: Testbed): Promise<number> {
  let total = 0;
  for (const node of testbed.nodes) {
    const text = await (await fetch(node.metricsUrl)).text();
    const m = /^livekit_participant_join_total\{[^}]*state="signal_connected"[^}]*\} (\S+)$/m.exec(text);
    total += m !== null ? Number(m[1]) : 0;
  }
  return total;
}
