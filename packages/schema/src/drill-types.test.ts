import { describe, expect, it } from "vitest";
import { clientFaultTypes, faultTypes, isDeploymentFault, type DrillFault } from "./drill-types.js";

const fault = (type: DrillFault["type"]): DrillFault => ({
  id: "f",
  type,
  target: { kind: "all-nodes" },
  at: 0,
  duration: null,
  confirmWithin: 1000,
  params: {},
});

describe("isDeploymentFault: what a backend is handed, and what the runner's participants do", () => {
  it.each(faultTypes.filter((t) => !(clientFaultTypes as readonly string[]).includes(t)))(
    "%s is a backend's",
    (type) => {
      expect(isDeploymentFault(fault(type))).toBe(true);
    },
  );

  it.each(clientFaultTypes)("%s is the swarm's own", (type) => {
    expect(isDeploymentFault(fault(type))).toBe(false);
  });

  it("every client fault is a fault type", () => {
    for (const t of clientFaultTypes) expect(faultTypes).toContain(t);
  });
});
