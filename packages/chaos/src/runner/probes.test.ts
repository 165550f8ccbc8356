import type { Drill } from "@livekit-swarm/schema";
import { describe, expect, it } from "vitest";
import { describeProbe, probeSwarm, type SwarmReadings } from "./probes.js";

/** A recorder standing in for a swarm: 10 planned, 9 connected, 18 of 20 tracks flowing, 1 % loss. */
function recorder(
  lossSince: (from: number) => number | null = () => 0.01,
): SwarmReadings & { from: number[] } {
  const from: number[] = [];
  return {
    planned: 10,
    connected: () => 9,
    tracks: () => ({ expected: 20, flowing: 18 }),
    lossSince: (t) => {
      from.push(t);
      return lossSince(t);
    },
    from,
  };
}

const steadyState: Drill["steadyState"] = {
  connected: 0.9,
  mediaFlowing: 0.95,
  maxLoss: 0.02,
  prometheus: [],
};

describe("probeSwarm", () => {
  it("judges what the recorder saw since the window's start against the tolerances", async () => {
    const swarm = recorder();
    const results = await probeSwarm(steadyState, swarm, undefined, 1234);
    expect(swarm.from).toEqual([1234]);
    expect(results.map((p) => [p.name, p.met])).toEqual([
      ["participants connected", true],
      ["subscribed tracks receiving media", false],
      ["packet loss", true],
    ]);
    const media = results.find((p) => p.name === "subscribed tracks receiving media");
    expect(media === undefined ? undefined : describeProbe(media)).toBe(
      "subscribed tracks receiving media 18 of 20 (>= 95.00%) NOT MET",
    );
  });

  it("fails a Prometheus probe when the target has no Prometheus, naming why", async () => {
    const results = await probeSwarm(
      {
        connected: null,
        mediaFlowing: null,
        maxLoss: null,
        prometheus: [{ query: "up", min: 1, max: null }],
      },
      recorder(),
      undefined,
      0,
    );
    expect(results).toHaveLength(1);
    expect(results[0]?.met).toBe(false);
    expect(results[0]?.detail).toContain("no Prometheus for this target");
  });

  it("fails the loss probe when no media arrived in the window", async () => {
    const results = await probeSwarm(
      { connected: null, mediaFlowing: null, maxLoss: 0.02, prometheus: [] },
      recorder(() => null),
      undefined,
      0,
    );
    expect(results[0]).toMatchObject({
      name: "packet loss",
      met: false,
      detail: "no media received in the window",
    });
  });
});
