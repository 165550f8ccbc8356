/**
 * What a net.loss drill's end-to-end tests hold to ground truth, whatever the engine: the rooms on
 * the node the drop was applied to read it while the rule is in place, the other rooms nothing.
 */
import { expect } from "vitest";
import type { DrillJournal } from "@livekit-swarm/chaos";

/**
 * Every room on the first fault's node reads a loss in (`above`, `below`) during it; the others
 * under 1%. Returns how many rooms were on that node.
 */
export function expectLossOnFaultedNode(j: DrillJournal, above: number, below: number): number {
  const node = j.faults[0]?.subjects[0]?.name ?? "?";
  let lossy = 0;
  for (const room of j.rooms) {
    const during = room.loss.during ?? NaN;
    if (room.nodeBefore === node) {
      lossy++;
      expect(during, `${room.room} on the lossy ${node}`).toBeGreaterThan(above);
      expect(during, `${room.room} on the lossy ${node}`).toBeLessThan(below);
    } else {
      expect(during, `${room.room} on ${String(room.nodeBefore)}`).toBeLessThan(0.01);
    }
  }
  return lossy;
}
