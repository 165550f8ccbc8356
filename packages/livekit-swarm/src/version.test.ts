import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { TOOL } from "@livekit-swarm/schema";
import { TOOL_MODULE, publishedVersion, toolModule } from "./tool-module.js";

describe("the version", () => {
  it("in packages/schema/src/tool.ts is the published package's, as `npm run release:version` writes it", () => {
    expect(readFileSync(TOOL_MODULE, "utf8")).toBe(toolModule(publishedVersion()));
  });

  it("is what the built packages report (rebuild with `npx tsc -b` after a bump)", () => {
    expect(TOOL).toEqual({ name: "livekit-swarm", version: publishedVersion() });
  });
});
