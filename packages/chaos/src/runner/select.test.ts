import { parseDrill, type DrillFault } from "@livekit-swarm/schema";
import { describe, expect, it } from "vitest";
import type { NodeRef } from "../backend.js";
import { selectTargets, type SelectionView } from "./select.js";

const ENV = { LIVEKIT_URL: "ws://127.0.0.1:7880", LIVEKIT_API_KEY: "k", LIVEKIT_API_SECRET: "s" };

function fault(spec: string): DrillFault {
  const drill = parseDrill(
    [
      "name: d",
      "workload: { rooms: 1 }",
      "faults:",
      "  - { id: first, type: node.kill, target: { node: 2 } }",
      `  - { id: f, ${spec}, at: 10s }`,
    ].join("\n"),
    "d.yaml",
    { env: ENV },
  );
  const found = drill.faults.find((f) => f.id === "f");
  if (found === undefined) throw new Error(`no fault parsed from ${spec}`);
  return found;
}

const NODES: readonly NodeRef[] = [1, 2, 3].map((i) => ({
  name: `node${i}`,
  index: i - 1,
  nodeId: `ND_${i}`,
}));
const [N1, N2, N3] = NODES as [NodeRef, NodeRef, NodeRef];

/** Three rooms: room-a (3 people) and room-c (2) on node2, room-b (4) on node1. */
function view(over: Partial<SelectionView> = {}): SelectionView {
  return {
    nodes: NODES,
    byRoom: new Map([
      ["room-a", ["a1", "a2", "a3"]],
      ["room-b", ["b1", "b2", "b3", "b4"]],
      ["room-c", ["c1", "c2"]],
    ]),
    roomNodes: new Map([
      ["room-a", N2],
      ["room-b", N1],
      ["room-c", N2],
    ]),
    earlier: [],
    // always the last item of the pool: the draw is visible in the result
    randomInt: (n) => n - 1,
    ...over,
  };
}

describe("selectTargets", () => {
  it("busiest-room-node takes the node whose rooms hold the most connected participants", () => {
    const s = selectTargets(fault("type: node.kill"), view());
    expect(s.nodes).toEqual([N2]);
    expect(s.selection).toBe("node2, hosting room-a, room-c (5 connected participants)");
  });

  it("busiest-room-node breaks a tie by node order and skips rooms on no known node", () => {
    const roomNodes = new Map<string, NodeRef | undefined>([
      ["room-a", N3],
      ["room-b", undefined],
      ["room-c", N2],
    ]);
    const byRoom = new Map([
      ["room-a", ["a1", "a2"]],
      ["room-b", ["b1", "b2", "b3"]],
      ["room-c", ["c1", "c2"]],
    ]);
    expect(selectTargets(fault("type: node.kill"), view({ roomNodes, byRoom })).nodes).toEqual([N2]);
  });

  it("busiest-room-node names the fault when no room is placed", () => {
    expect(() => selectTargets(fault("type: node.kill"), view({ roomNodes: new Map() }))).toThrow(
      "f: no room is placed on a known node, so there is no busiest room's node to hit",
    );
  });

  it("random-node draws from the injected randomness", () => {
    const s = selectTargets(fault("type: node.kill, target: random-node"), view({ randomInt: () => 1 }));
    expect(s).toEqual({ nodes: [N2], participants: [], selection: "node2 (chosen at random)" });
    expect(() => selectTargets(fault("type: node.kill, target: random-node"), view({ nodes: [] }))).toThrow(
      "f: no nodes to choose from",
    );
  });

  it("all-nodes takes every node", () => {
    const s = selectTargets(fault("type: node.kill, target: all-nodes"), view());
    expect(s.nodes).toEqual(NODES);
    expect(s.selection).toBe("all nodes (node1, node2, node3)");
  });

  it("a numbered node is 1-based and must exist", () => {
    expect(selectTargets(fault("type: node.kill, target: { node: 3 }"), view()).nodes).toEqual([N3]);
    expect(() => selectTargets(fault("type: node.kill, target: { node: 3 }"), view({ nodes: [N1] }))).toThrow(
      "f: no node 3: the deployment has 1",
    );
  });

  it("a share of nodes rounds up to at least one, at random", () => {
    const s = selectTargets(fault("type: node.kill, target: { share: 50% }"), view());
    expect(s.nodes).toEqual([N3, N2]);
    expect(s.selection).toBe("node3, node2 (50% of nodes, at random)");
  });

  it("a ref takes the nodes an earlier fault hit, and fails before it ran", () => {
    const spec = "type: net.loss, ratio: 5%, target: { ref: first }";
    const s = selectTargets(fault(spec), view({ earlier: [{ id: "first", nodes: [N2] }] }));
    expect(s).toEqual({ nodes: [N2], participants: [], selection: "node2 (as first)" });
    expect(() => selectTargets(fault(spec), view())).toThrow(
      "f: fault first has not run, so its nodes are unknown",
    );
  });

  it("redis hits no node", () => {
    expect(selectTargets(fault("type: redis.kill"), view())).toEqual({
      nodes: [],
      participants: [],
      selection: "redis",
    });
  });

  it("participants: a share of everyone connected, or of the busiest room only", () => {
    const all = selectTargets(
      fault("type: client.simulate, scenario: migration, target: { participants: 25% }"),
      view(),
    );
    expect(all.participants).toEqual([
      { room: "room-c", identity: "c2" },
      { room: "room-c", identity: "c1" },
      { room: "room-b", identity: "b4" },
    ]);
    expect(all.selection).toBe("3 participant(s) (25% of 9)");
    const busiest = selectTargets(
      fault("type: client.simulate, scenario: migration, target: { participants: 50%, room: busiest }"),
      view(),
    );
    expect(busiest.participants).toEqual([
      { room: "room-b", identity: "b4" },
      { room: "room-b", identity: "b3" },
    ]);
    expect(busiest.selection).toBe("2 participant(s) (50% of 4 in room-b)");
  });
});
