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

describe("what is published", () => {
  it("is livekit-swarm alone: every other workspace package is private, so changesets versions only it", () => {
    const root: unknown = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8"));
    const workspaces =
      typeof root === "object" && root !== null && "workspaces" in root && Array.isArray(root.workspaces)
        ? root.workspaces.map(String)
        : [];
    expect(workspaces).toContain("packages/livekit-swarm");
    const published = workspaces.filter((dir) => {
      const manifest: unknown = JSON.parse(
        readFileSync(new URL(`../../../${dir}/package.json`, import.meta.url), "utf8"),
      );
      return !(
        typeof manifest === "object" &&
        manifest !== null &&
        "private" in manifest &&
        manifest.private === true
      );
    });
    expect(published).toEqual(["packages/livekit-swarm"]);
  });
});
