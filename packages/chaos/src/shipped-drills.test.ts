import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadDrill } from "@livekit-swarm/schema";
import { describe, expect, it } from "vitest";

const CHAOS = join(dirname(fileURLToPath(import.meta.url)), "../../../chaos");
const FILES = readdirSync(CHAOS).filter((f) => f.endsWith(".yaml"));

describe("the shipped drills (chaos/*.yaml)", () => {
  it("are all here", () => {
    expect(FILES.length, CHAOS).toBeGreaterThanOrEqual(6);
  });

  // a drill that never looks at the server's view passes while ListParticipants lies (issue 12)
  it.each(FILES)("%s expects the server's view to agree with the clients", async (file) => {
    const drill = await loadDrill(join(CHAOS, file));
    expect(drill.expect.ghosts, `${file}: expect.ghosts`).toBe(0);
    expect(drill.expect.consistentWithin, `${file}: expect.consistent-within`).not.toBeNull();
  });
});
