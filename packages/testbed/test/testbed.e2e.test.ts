import { setTimeout as delay } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { Testbed } from "../src/index.js";
import { leftovers } from "@livekit-swarm/test-kit";

const unique = (tag: string): string => `e2e-${tag}-${process.pid}-${Date.now().toString(36)}`;

async function metricValue(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(url)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("testbed with one node", () => {
  let tb: Testbed | undefined;
  afterAll(async () => {
    await tb?.stop();
  });

  it("creates, lists and deletes a room through RoomService, and serves livekit_* metrics", async () => {
    tb = await Testbed.start({ name: unique("one") });
    const rooms = tb.roomService();
    const created = await rooms.createRoom({ name: "alpha" });
    expect(created.sid).toMatch(/^RM_/);
    expect((await rooms.listRooms()).map((r) => r.name)).toEqual(["alpha"]);
    await rooms.deleteRoom("alpha");
    expect(await rooms.listRooms()).toEqual([]);

    const node = tb.nodes[0];
    expect(node?.nodeId).toMatch(/^ND_/);
    const metrics = await (await fetch(node?.metricsUrl ?? "")).text();
    const series = metrics.split("\n").filter((l) => l.startsWith("livekit_"));
    expect(series.length, "livekit_* series on /metrics").toBeGreaterThan(10);
    expect(metrics).toContain(`node_id="${node?.nodeId ?? ""}"`);

    await tb.stop();
    expect(leftovers(tb.runDir)).toEqual([]);
  });
});

describe("testbed with three nodes, Redis and HAProxy", () => {
  let tb: Testbed | undefined;
  afterAll(async () => {
    await tb?.stop();
  });

  it("spreads rooms over the nodes and knows which node hosts each room", async () => {
    tb = await Testbed.start({ name: unique("three"), nodes: 3 });
    expect(tb.status().balancer).toBeDefined();
    const rooms = tb.roomService();
    const names = ["r1", "r2", "r3"];
    for (const name of names) {
      await rooms.createRoom({ name });
      // nodes publish their room counts every 2 s; without the pause sort_by: rooms sees stale counts
      await delay(2500);
    }
    expect((await rooms.listRooms()).map((r) => r.name).sort()).toEqual(names);

    const placement = new Map<string, string>();
    for (const name of names) {
      const node = await tb.roomNode(name);
      expect(node, `node hosting ${name}`).toBeDefined();
      placement.set(name, node?.name ?? "");
    }
    const distinct = new Set(placement.values());
    expect(distinct.size, `placement ${JSON.stringify([...placement])}`).toBe(3);

    // ground truth from each node itself: its livekit_room_total must match what the testbed says
    for (const node of tb.nodes) {
      const expected = [...placement.values()].filter((n) => n === node.name).length;
      expect(
        await metricValue(node.metricsUrl, "livekit_room_total"),
        `${node.name} livekit_room_total`,
      ).toBe(expected);
    }
    await tb.stop();
    expect(leftovers(tb.runDir)).toEqual([]);
  });
});
