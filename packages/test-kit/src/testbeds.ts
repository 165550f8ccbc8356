import { afterAll, beforeAll } from "vitest";
import { Testbed } from "@livekit-swarm/testbed";

/** Network namespaces, nftables rules and tc qdiscs need root; without it a fault test skips and says why. */
export const isRoot = process.getuid?.() === 0;

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
