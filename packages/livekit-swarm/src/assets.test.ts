import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { DATASOURCE_INPUT } from "@livekit-swarm/dashboards";
import { releaseAssets, writeReleaseAssets } from "./assets.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "lkswarm-assets-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("release assets", () => {
  const assets = releaseAssets();
  const dashboards = readdirSync(join(ROOT, "dashboards")).filter((f) => f.endsWith(".json"));

  it("hold every dashboard in both shapes: provisioning as committed, shareable with the datasource input", () => {
    expect(dashboards.length).toBeGreaterThan(0);
    for (const file of dashboards) {
      expect(assets.get(`dashboards/provisioning/${file}`)).toBe(
        readFileSync(join(ROOT, "dashboards", file), "utf8"),
      );
      const shared = assets.get(`dashboards/shareable/${file}`) ?? "";
      expect((JSON.parse(shared) as { __inputs: { name: string }[] }).__inputs.map((i) => i.name)).toEqual([
        DATASOURCE_INPUT,
      ]);
    }
  });

  it("hold the alert and recording rules as committed, not their tests", () => {
    const rules = [...assets.keys()].filter((p) => p.startsWith("alerts/"));
    expect(rules).toEqual(["alerts/livekit.rules.yaml", "alerts/swarm.rules.yaml"]);
    for (const path of rules) expect(assets.get(path)).toBe(readFileSync(join(ROOT, path), "utf8"));
  });

  it("are written to a folder and a tarball that lists the same files", () => {
    const tarball = writeReleaseAssets(dir, "livekit-swarm-observability-test");
    const listed = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" })
      .split("\n")
      .filter((l) => l !== "" && !l.endsWith("/"))
      .sort();
    expect(listed).toEqual([...assets.keys()].map((p) => `livekit-swarm-observability-test/${p}`).sort());
  });
});
