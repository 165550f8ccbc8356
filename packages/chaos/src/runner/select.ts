import type { NodeRef } from "../backend.js";
import type { DrillFault } from "@livekit-swarm/schema";

export interface ChosenParticipant {
  readonly room: string;
  readonly identity: string;
}

export interface Selection {
  readonly nodes: readonly NodeRef[];
  readonly participants: readonly ChosenParticipant[];
  /** The choice in words, for the journal. */
  readonly selection: string;
}

/** What a fault's target is chosen from, looked up beforehand so that the choice itself is pure. */
export interface SelectionView {
  readonly nodes: readonly NodeRef[];
  /** Connected participants' identities by room. */
  readonly byRoom: ReadonlyMap<string, readonly string[]>;
  /** The node hosting each room in byRoom (read only for busiest-room-node). */
  readonly roomNodes: ReadonlyMap<string, NodeRef | undefined>;
  /** Faults already run, for a target that refers to one. */
  readonly earlier: readonly { readonly id: string; readonly nodes: readonly NodeRef[] }[];
  /** An integer in [0, n): crypto's randomInt in a drill, a fixed sequence in a test. */
  readonly randomInt: (n: number) => number;
}

/** Resolves a fault's target to nodes (and participants, for client.simulate), described in words. */
export function selectTargets(fault: DrillFault, view: SelectionView): Selection {
  const target = fault.target;
  const { nodes, byRoom } = view;
  const pick = <T>(items: readonly T[], n: number): T[] => {
    const pool = [...items];
    const out: T[] = [];
    while (out.length < n && pool.length > 0) out.push(...pool.splice(view.randomInt(pool.length), 1));
    return out;
  };
  switch (target.kind) {
    case "busiest-room-node": {
      // the node whose rooms hold the most connected participants: the busiest room's, and on a tie
      // the one with more such rooms, so the fault hits as many people as it can
      const load = new Map<string, { node: NodeRef; rooms: string[]; participants: number }>();
      for (const [room, members] of byRoom) {
        const node = view.roomNodes.get(room);
        if (node === undefined) continue;
        const entry = load.get(node.name) ?? { node, rooms: [], participants: 0 };
        entry.rooms.push(room);
        entry.participants += members.length;
        load.set(node.name, entry);
      }
      const best = [...load.values()].sort(
        (a, b) => b.participants - a.participants || a.node.index - b.node.index,
      )[0];
      if (best === undefined)
        throw new Error(
          `${fault.id}: no room is placed on a known node, so there is no busiest room's node to hit`,
        );
      return {
        nodes: [best.node],
        participants: [],
        selection: `${best.node.name}, hosting ${best.rooms.sort().join(", ")} (${best.participants} connected participants)`,
      };
    }
    case "random-node": {
      const [node] = pick(nodes, 1);
      if (node === undefined) throw new Error(`${fault.id}: no nodes to choose from`);
      return { nodes: [node], participants: [], selection: `${node.name} (chosen at random)` };
    }
    case "all-nodes":
      return { nodes, participants: [], selection: `all nodes (${nodes.map((n) => n.name).join(", ")})` };
    case "node": {
      const node = nodes[target.index - 1];
      if (node === undefined)
        throw new Error(`${fault.id}: no node ${target.index}: the deployment has ${nodes.length}`);
      return { nodes: [node], participants: [], selection: node.name };
    }
    case "share-of-nodes": {
      const chosen = pick(nodes, Math.max(1, Math.ceil(target.share * nodes.length)));
      return {
        nodes: chosen,
        participants: [],
        selection: `${chosen.map((n) => n.name).join(", ")} (${Math.round(target.share * 100)}% of nodes, at random)`,
      };
    }
    case "ref": {
      const ref = view.earlier.find((r) => r.id === target.fault);
      if (ref === undefined)
        throw new Error(`${fault.id}: fault ${target.fault} has not run, so its nodes are unknown`);
      return {
        nodes: ref.nodes,
        participants: [],
        selection: `${ref.nodes.map((n) => n.name).join(", ")} (as ${target.fault})`,
      };
    }
    case "redis":
      return { nodes: [], participants: [], selection: "redis" };
    case "every-room":
      return { nodes: [], participants: [], selection: `every room (${byRoom.size})` };
    case "participants": {
      let rooms = [...byRoom.entries()];
      if (target.busiestRoomOnly)
        rooms = rooms.sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0])).slice(0, 1);
      const pool = rooms.flatMap(([room, members]) => members.map((identity) => ({ room, identity })));
      const chosen = pick(pool, Math.max(1, Math.ceil(target.share * pool.length)));
      return {
        nodes: [],
        participants: chosen,
        selection: `${chosen.length} participant(s) (${Math.round(target.share * 100)}% of ${pool.length}${target.busiestRoomOnly ? ` in ${rooms[0]?.[0] ?? "?"}` : ""})`,
      };
    }
  }
}
