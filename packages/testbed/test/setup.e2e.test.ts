import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SETUP = fileURLToPath(new URL("../../../scripts/setup", import.meta.url));

describe("scripts/setup", () => {
  it("is idempotent: a second run finds everything in place and changes nothing", () => {
    const out = execFileSync("bash", [SETUP], { encoding: "utf8" });
    expect(out).toContain(
      "setup: everything is in place (livekit-server v1.13.5, k6 v1.8.1, k8s-validate, libice-scope.so and lkswarm-delay in",
    );
  });

  it("--kubernetes: a second run finds the cluster testbed's binaries in place; an unknown option exits 2 naming the known one", () => {
    const out = execFileSync("bash", [SETUP, "--kubernetes"], { encoding: "utf8" });
    expect(out).toContain(
      "setup: the cluster testbed is in place (Kubernetes v1.34.2, etcd v3.6.4 and pause in",
    );
    const wrong = spawnSync("bash", [SETUP, "--kubernets"], { encoding: "utf8" });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain("setup: unknown option --kubernets (known: --demo, only what the demo needs; --kubernetes");
  });

  it("without Go it names what is missing and how to get it, and still succeeds", () => {
    const tools = mkdtempSync(join(tmpdir(), "swarm-tools-"));
    // PATH without the Go toolchain; an empty tools folder, so livekit-server is missing
    const path = (process.env.PATH ?? "")
      .split(":")
      .filter((d) => !d.includes("go"))
      .join(":");
    const result = spawnSync("bash", [SETUP], {
      encoding: "utf8",
      env: { ...process.env, PATH: path, LIVEKIT_SWARM_TOOLS: tools },
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      `setup: MISSING livekit-server v1.13.5: install Go 1.26+ and run this again, or put the binary at ${tools}/livekit-server (or set LIVEKIT_SERVER_BIN)`,
    );
    expect(result.stdout).toContain(
      "setup: MISSING k8s-validate (the Kubernetes manifests' schema check): install Go 1.26+ and run this again",
    );
    expect(result.stdout).toContain("the parts that need these will say so when used");
    // the preload library and the delayer need only cc, which this PATH still has
    // what it installed, one item per line
    expect(result.stdout).toMatch(/^setup: installed:\n(setup: {3}.*\n)*setup: {3}libice-scope\.so\n/m);
    expect(existsSync(join(tools, "libice-scope.so"))).toBe(true);
    expect(result.stdout).toMatch(/^setup: installed:\n(setup: {3}.*\n)*setup: {3}lkswarm-delay\n/m);
    expect(existsSync(join(tools, "lkswarm-delay"))).toBe(true);
  });
});
