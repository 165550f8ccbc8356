import { Testbed } from "@livekit-swarm/testbed";
import { swarm } from "./cli.js";

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
