// Fault kinds are checked by the compiler: `npm run lint:types` (part of `npm test`) fails on a
// `@ts-expect-error` line that no longer errs, so the lines below are type tests that a backend's
// table missing a kind, or holding a client fault the runner carries out itself, does not compile.
import { describe, expect, it } from "vitest";
import { clientFaultTypes, faultTypes, type DeploymentFault } from "@livekit-swarm/schema";
import type { FaultTable } from "../backend.js";
import { describeLocalFault } from "./local-plan.js";

const fault = (type: DeploymentFault["type"]): DeploymentFault => ({
  id: `${type}-1`,
  type,
  target: { kind: "node", index: 0 },
  at: 0,
  duration: 10_000,
  confirmWithin: 5_000,
  params: {},
});

describe("a backend's fault table", () => {
  it("does not compile without an entry per deployment fault kind, nor with a client fault", () => {
    const partial: Partial<FaultTable<number>> = { "node.kill": 1 };
    // @ts-expect-error a table missing kinds (every one but node.kill) is a type error
    const missing: FaultTable<number> = partial;
    // @ts-expect-error client faults are the runner's, never a backend's
    const client: FaultTable<number>["client.join"] = 1;
    expect([missing, client]).toEqual([partial, 1]);
  });

  it("gives the local backend words for every deployment fault kind", () => {
    const kinds = faultTypes.filter((t) => !(clientFaultTypes as readonly string[]).includes(t));
    for (const type of kinds as DeploymentFault["type"][])
      expect(describeLocalFault(fault(type), ["node-a"]).length, type).toBeGreaterThan(0);
  });
});
