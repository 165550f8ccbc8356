/**
 * The GitHub Action's install as a workflow meets it today: `livekit-swarm` is not on npm (E404),
 * so the step builds the toolkit from the action's own checkout (npm ci, tsc -b, npm pack) and
 * installs that; then the Swarm and Fail steps run against an embedded LiveKit. The steps'
 * scripts are action.yml's own, run as the runner runs them (`bash --noprofile --norc -eo pipefail`).
 */
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { TOOL } from "@livekit-swarm/schema";
import { TOOLS_BIN, processesMentioning } from "@livekit-swarm/testbed";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "lkswarm-action-install-"));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

interface Step {
  readonly name?: string;
  readonly run?: string;
}

function script(name: string): string {
  const action = parse(readFileSync(join(ROOT, "action.yml"), "utf8")) as { runs: { steps: Step[] } };
  const run = action.runs.steps.find((s) => s.name === name)?.run;
  if (run === undefined) throw new Error(`action.yml has no run step named ${name}`);
  return run;
}

/** One step's script as the runner runs it, asynchronously (a synchronous spawn would stall vitest's worker for minutes). */
function step(
  name: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script(name)], {
      env: { ...process.env, RUNNER_TEMP: work, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe("the action from a checkout, with nothing on npm", () => {
  it("Install builds livekit-swarm from the action's checkout after npm's 404, and Swarm and Fail run with it", async () => {
    // the action's checkout: this repository at its commit, as `uses: <owner>/livekit-swarm@<ref>` fetches it
    const checkout = join(work, "action");
    await run("git", ["clone", "--quiet", "--no-hardlinks", ROOT, checkout]);
    const githubPath = join(work, "github-path");
    writeFileSync(githubPath, "");
    const install = await step(
      "Install livekit-swarm",
      { VERSION: "", ACTION_PATH: checkout, GITHUB_PATH: githubPath },
      600_000,
    );
    expect(install.code, install.out.slice(-4000)).toBe(0);
    expect(install.out).toMatch(/E404|404 Not Found/);
    expect(install.out).toContain(
      `::notice title=livekit-swarm::livekit-swarm@${TOOL.version} is not on npm: building it from this action's checkout (${checkout})`,
    );
    const bin = readFileSync(githubPath, "utf8").trim();
    expect(bin).toBe(join(work, "livekit-swarm", "node_modules", ".bin"));
    expect(existsSync(join(bin, "swarm"))).toBe(true);
    expect((await run(join(bin, "swarm"), ["--version"])).stdout).toBe(`${TOOL.version}\n`);

    const output = join(work, "results");
    const githubOutput = join(work, "github-output");
    writeFileSync(githubOutput, "");
    const runRoot = join(work, "testbeds");
    const swarm = await step(
      "Swarm",
      {
        PATH: `${bin}${delimiter}${process.env.PATH ?? ""}`,
        GITHUB_OUTPUT: githubOutput,
        LIVEKIT_URL: "",
        LIVEKIT_API_KEY: "",
        LIVEKIT_API_SECRET: "",
        SWARM_SCENARIO: "",
        SWARM_THRESHOLDS: "lkswarm_join_failures_total count == 0",
        SWARM_GATE: "",
        SWARM_BASELINE: "",
        SWARM_ARGS: "--rooms 1 --duration 5s",
        SWARM_OUTPUT: output,
        LIVEKIT_SWARM_TOOLS: TOOLS_BIN,
        LIVEKIT_SWARM_RUN_ROOT: runRoot,
      },
      180_000,
    );
    expect(swarm.code, swarm.out.slice(-4000)).toBe(0);
    expect(readFileSync(githubOutput, "utf8")).toBe("exit-code=0\n");
    expect(existsSync(join(output, "junit.xml"))).toBe(true);
    expect(processesMentioning(runRoot)).toEqual([]);
    expect((await step("Fail on a breach or an error", { CODE: "0" }, 10_000)).code).toBe(0);
  }, 900_000);
});
