import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadScenario } from "@livekit-swarm/schema";
import { planRun, shapeOf } from "./plan.js";

const DIR = fileURLToPath(new URL("../../../../scenarios", import.meta.url));
const files = readdirSync(DIR).filter((f) => f.endsWith(".yaml"));

describe("ready-made scenarios", () => {
  it("exist", () => {
    expect(files.length).toBeGreaterThanOrEqual(7);
  });

  it.each(files)("%s parses and plans at least one participant per room", async (file) => {
    const s = await loadScenario(join(DIR, file));
    const plan = planRun(shapeOf(s));
    expect(plan.rooms).toHaveLength(s.rooms);
    expect(plan.participants.length).toBeGreaterThanOrEqual(s.rooms);
  });
});
