import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const config = join(root, ".dependency-cruiser.cjs");
const depcruise = join(root, "node_modules/.bin/depcruise");

interface Cruise {
  code: number;
  output: string;
}

function cruise(cwd: string): Promise<Cruise> {
  return new Promise((done) => {
    execFile(
      depcruise,
      ["packages", "--config", config, "--output-type", "err-long"],
      { cwd, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        done({ code, output: stdout + stderr });
      },
    );
  });
}

describe("package arrows (.dependency-cruiser.cjs)", () => {
  // A tree of its own in the temp directory: the probe is never written under packages/.
  let tree = "";

  beforeAll(async () => {
    tree = await mkdtemp(join(tmpdir(), "swarm-deps-"));
    await mkdir(join(tree, "packages/schema/src"), { recursive: true });
    await mkdir(join(tree, "packages/load/dist"), { recursive: true });
    await mkdir(join(tree, "node_modules/@livekit-swarm"), { recursive: true });
    await writeFile(
      join(tree, "packages/load/package.json"),
      JSON.stringify({ name: "@livekit-swarm/load", type: "module", main: "dist/index.js" }),
    );
    await writeFile(join(tree, "packages/load/dist/index.js"), "export const engine = 1;\n");
    await symlink("../../packages/load", join(tree, "node_modules/@livekit-swarm/load"));
    await writeFile(
      join(tree, "packages/schema/src/forbidden-import.probe.ts"),
      'import { engine } from "@livekit-swarm/load";\nexport const probe = engine;\n',
    );
    // inside load, a file that starts the orchestrator itself (not through run/run.ts), and one
    // that only reads its types, which the run-api-only rule allows
    await mkdir(join(tree, "packages/load/src/run"), { recursive: true });
    await mkdir(join(tree, "packages/load/src/session"), { recursive: true });
    await writeFile(
      join(tree, "packages/load/src/run/orchestrator.ts"),
      "export interface RunOutcome { readonly ok: boolean }\nexport function orchestrate(): RunOutcome {\n  return { ok: true };\n}\n",
    );
    await writeFile(
      join(tree, "packages/load/src/session/starts-a-run.probe.ts"),
      'import { orchestrate } from "../run/orchestrator.js";\nexport const probe = orchestrate;\n',
    );
    await writeFile(
      join(tree, "packages/load/src/session/reads-types.probe.ts"),
      'import type { RunOutcome } from "../run/orchestrator.js";\nexport type Probe = RunOutcome;\n',
    );
    await copyFile(join(root, "tsconfig.base.json"), join(tree, "tsconfig.base.json"));
  });

  afterAll(async () => {
    if (tree !== "") await rm(tree, { recursive: true, force: true });
  });

  it("fails an upward import and prints the rule's reason", async () => {
    const { code, output } = await cruise(tree);
    expect(code, output).not.toBe(0);
    expect(output).toContain("schema-arrows");
    expect(output).toContain("packages/schema/src/forbidden-import.probe.ts");
    // err-long wraps the comment, so match on words rather than the whole sentence.
    expect(output.replace(/\s+/g, " ")).toContain("schema is the bottom of the stack");
  }, 60_000);

  it("fails a file in load that starts the orchestrator other than through the run API, not one reading its types", async () => {
    const { code, output } = await cruise(tree);
    expect(code, output).not.toBe(0);
    const flagged = output.split("\n").filter((l) => l.includes("run-api-only"));
    expect(flagged.join("\n"), output).toContain("packages/load/src/session/starts-a-run.probe.ts");
    expect(output).not.toContain("reads-types.probe.ts");
    expect(output.replace(/\s+/g, " ")).toContain(
      "only the run API (run/run.ts: prepareRun, startRun) starts the orchestrator",
    );
  }, 60_000);

  it("passes on the real tree", async () => {
    const { code, output } = await cruise(root);
    expect(code, output).toBe(0);
    expect(output).toContain("no dependency violations found");
  }, 60_000);
});
