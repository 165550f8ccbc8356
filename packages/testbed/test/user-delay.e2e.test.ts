import { execFile } from "node:child_process";
import { createSocket } from "node:dgram";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRoot } from "@livekit-swarm/test-kit";
import { delayNode, delayProcesses, delayRules, UserDelay } from "../src/index.js";
import { createNodeNetwork, deleteNodeNetwork, nodeNetwork, pickSubnetOctet, type NodeNetwork } from "../src/netns.js";

const run = promisify(execFile);
const skipped = isRoot ? "" : " [SKIPPED: needs root for a network namespace and a netfilter queue]";

/**
 * Sends `count` UDP datagrams, `gapMs` apart, from inside `namespace` to `to`, each carrying the
 * epoch time (ms, fractional) it left at; resolves with how long each took to arrive, in ms.
 * Same host, same clock: the difference is what the path held it.
 */
async function oneWayDelays(namespace: string, from: string, to: string, count: number, gapMs: number): Promise<number[]> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, to, resolve));
  const port = socket.address().port;
  const took: number[] = [];
  socket.on("message", (msg) => {
    took.push(performance.timeOrigin + performance.now() - Number(msg.toString("utf8")));
  });
  const sender = [
    'const s = require("node:dgram").createSocket("udp4");',
    `let i = 0; s.bind(0, ${JSON.stringify(from)}, () => {`,
    "  const t = setInterval(() => {",
    `    s.send(String(performance.timeOrigin + performance.now()), ${port}, ${JSON.stringify(to)});`,
    `    if (++i >= ${count}) { clearInterval(t); setTimeout(() => s.close(), 50); }`,
    `  }, ${gapMs});`,
    "});",
  ].join("\n");
  try {
    await run("ip", ["netns", "exec", namespace, process.execPath, "-e", sender], { timeout: 30_000 });
    // the last one may still be held
    const until = Date.now() + 3000;
    while (took.length < count && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    return took;
  } finally {
    socket.close();
  }
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

describe("lkswarm-delay on a bare veth (tools/net-delay)", () => {
  let net: NodeNetwork | undefined;
  beforeAll(() => {
    if (!isRoot) return;
    net = nodeNetwork(`ud${process.pid % 10_000}`, 0, pickSubnetOctet());
    createNodeNetwork(net);
  });
  afterAll(() => {
    if (net !== undefined) deleteNodeNetwork(net);
  });

  it.skipIf(!isRoot)(
    `holds every packet its delay, and its closing line is read on every stop, ten delays in a row${skipped}`,
    async () => {
      const n = net as NodeNetwork;
      for (let round = 0; round < 10; round++) {
        const delayMs = 10 + 10 * round;
        const delay = await UserDelay.inject(n.namespace, n.nodeInterface, delayMs, { tag: `bare_${round}` });
        const took = await oneWayDelays(n.namespace, n.nodeIp, n.hostIp, 12, 3);
        const done = await delay.remove();
        expect(done, `round ${round}: the closing line (stderr ${JSON.stringify(delay.stderr)})`).toMatchObject({
          packets: 12,
          releasedEarly: 0,
          lostMessages: 0,
          verdictErrors: 0,
        });
        expect(done?.holdMinMs, `round ${round}: the shortest hold`).toBeGreaterThanOrEqual(delayMs - 0.1);
        expect(took.length, `round ${round}: datagrams through`).toBe(12);
        // arrival against departure on one clock: the hold, plus the sender's and receiver's own time
        expect(Math.min(...took), `round ${round}: fastest datagram`).toBeGreaterThanOrEqual(delayMs - 0.1);
        expect(median(took), `round ${round}: median datagram`).toBeLessThan(delayMs + 15);
        expect(delayRules(n.namespace), "rules left").toEqual([]);
        expect(delayProcesses({ namespace: n.namespace }), "delayers left").toEqual([]);
      }
    },
    120_000,
  );

  it.skipIf(!isRoot)(
    `a delayer killed mid-fault lets packets by undelayed, and the revert says when it died${skipped}`,
    async () => {
      const n = net as NodeNetwork;
      const node = await delayNode(n.namespace, n.nodeInterface, 200, 0, "bare_killed");
      try {
        expect(node.describe()).toMatch(/^lkswarm-delay holding queue \d+ \(200 ms, jitter 0 ms\)/);
        const before = await oneWayDelays(n.namespace, n.nodeIp, n.hostIp, 5, 5);
        expect(Math.min(...before), "held while the delayer runs").toBeGreaterThanOrEqual(199.9);
        const [pid] = delayProcesses({ namespace: n.namespace });
        expect(pid, "the delayer's pid").toBeDefined();
        process.kill(pid as number, "SIGKILL");
        const until = Date.now() + 5000;
        while (node.present() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
        expect(node.present(), "present once its delayer is dead").toBe(false);
        // --queue-bypass: its rule stays, nobody listens, packets go straight through
        const after = await oneWayDelays(n.namespace, n.nodeIp, n.hostIp, 5, 5);
        expect(after.length).toBe(5);
        expect(median(after), "undelayed once the delayer died").toBeLessThan(50);
        await new Promise((r) => setTimeout(r, 1100));
      } finally {
        await node.remove();
      }
      const said = /the delayer exited (\d+\.\d) s before the revert.*packets passed undelayed from then/.exec(node.lapse() ?? "");
      expect(said, `the revert's evidence: ${node.lapse()}`).not.toBeNull();
      expect(node.held(), "no closing line from a killed delayer").toBeUndefined();
      // it died before the second send and the 1.1 s pause
      expect(Number(said?.[1])).toBeGreaterThanOrEqual(1.1);
      expect(delayRules(n.namespace), "rules left").toEqual([]);
    },
    60_000,
  );
});
