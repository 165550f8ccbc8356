import { execFileSync, spawnSync } from "node:child_process";
import {
  accessSync,
  chmodSync,
  constants,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { TOOL } from "@livekit-swarm/schema";
import { TOOLS_BIN } from "@livekit-swarm/testbed";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const ACTION = join(ROOT, "action.yml");
const EXAMPLE = join(ROOT, "examples/github-actions/livekit-quality-gate.yml");

interface Step {
  readonly name?: string;
  readonly id?: string;
  readonly run?: string;
  readonly uses?: string;
}

function steps(): Step[] {
  const action = parse(readFileSync(ACTION, "utf8")) as { runs: { using: string; steps: Step[] } };
  expect(action.runs.using).toBe("composite");
  return action.runs.steps;
}

function script(name: string): string {
  const step = steps().find((s) => s.name === name);
  if (step?.run === undefined) throw new Error(`action.yml has no run step named ${name}`);
  return step.run;
}

const work = mkdtempSync(join(tmpdir(), "lkswarm-action-"));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** A stand-in command on PATH that records its arguments (one per line) and the secret's presence. */
function fake(name: string, exitCode: number): string {
  const bin = join(work, `bin-${name}-${String(exitCode)}`);
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, name),
    `#!/bin/sh\nprintf '%s\\n' "$@" > "${bin}/argv"\n[ -n "$LIVEKIT_API_SECRET" ] && echo set > "${bin}/secret"\nexit ${String(exitCode)}\n`,
  );
  chmodSync(join(bin, name), 0o755);
  return bin;
}

/** Runs one step's script as the runner does (`bash --noprofile --norc -eo pipefail`), with its env, GITHUB_OUTPUT and PATH. */
function runStep(
  name: string,
  bin: string,
  env: Record<string, string>,
): { code: number | null; output: string; stdout: string } {
  const output = join(bin, "github-output");
  writeFileSync(output, "");
  const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script(name)], {
    env: {
      PATH: `${bin}${delimiter}${process.env.PATH ?? ""}`,
      GITHUB_OUTPUT: output,
      RUNNER_TEMP: work,
      ...env,
    },
    encoding: "utf8",
  });
  return { code: result.status, output: readFileSync(output, "utf8"), stdout: result.stdout + result.stderr };
}

describe("action.yml, its composite steps run here with stand-ins", () => {
  it("Swarm: every input becomes an option, the secret stays in the environment, the exit code is an output", () => {
    const bin = fake("swarm", 99);
    const secret = "s3cr3t-not-on-any-command-line";
    const { code, output } = runStep("Swarm", bin, {
      LIVEKIT_URL: "wss://staging.example.com",
      LIVEKIT_API_KEY: "APIkey",
      LIVEKIT_API_SECRET: secret,
      SWARM_SCENARIO: "scenarios/audio-radio.yaml",
      SWARM_THRESHOLDS:
        "lkswarm_inbound_loss_ratio{kind=audio} p95 over participants < 2% warmup=20s\n\n  lkswarm_join_failures_total count == 0\n",
      SWARM_GATE: "default",
      SWARM_BASELINE: "",
      SWARM_ARGS: "--rooms 2  --duration 30s",
      SWARM_OUTPUT: "swarm-results/gate",
    });
    // the step itself succeeds, so the reports are published; the last step fails the job
    expect(code).toBe(0);
    expect(output).toBe("exit-code=99\n");
    const argv = readFileSync(join(bin, "argv"), "utf8").split("\n").slice(0, -1);
    expect(argv).toEqual([
      "run",
      "--output",
      "swarm-results/gate",
      "--scenario",
      "scenarios/audio-radio.yaml",
      "--gate",
      "default",
      "--threshold",
      "lkswarm_inbound_loss_ratio{kind=audio} p95 over participants < 2% warmup=20s",
      "--threshold",
      "lkswarm_join_failures_total count == 0",
      "--rooms",
      "2",
      "--duration",
      "30s",
    ]);
    expect(argv.join(" ")).not.toContain(secret);
    expect(readFileSync(join(bin, "secret"), "utf8")).toBe("set\n");
  });

  it("Swarm: with no optional inputs, only run and the output folder", () => {
    const bin = fake("swarm", 0);
    const empty = {
      SWARM_SCENARIO: "",
      SWARM_THRESHOLDS: "",
      SWARM_GATE: "",
      SWARM_BASELINE: "",
      SWARM_ARGS: "",
    };
    const { code, output } = runStep("Swarm", bin, { ...empty, SWARM_OUTPUT: "out" });
    expect([code, output]).toEqual([0, "exit-code=0\n"]);
    expect(readFileSync(join(bin, "argv"), "utf8")).toBe("run\n--output\nout\n");
  });

  it("Install: the version defaults to this ref's published package version", () => {
    const bin = fake("npm", 0);
    const { code } = runStep("Install livekit-swarm", bin, {
      VERSION: "",
      ACTION_PATH: ROOT,
      GITHUB_PATH: join(bin, "path"),
    });
    expect(code).toBe(0);
    expect(readFileSync(join(bin, "argv"), "utf8")).toContain(`livekit-swarm@${TOOL.version}\n`);
    expect(readFileSync(join(bin, "path"), "utf8")).toBe(`${work}/livekit-swarm/node_modules/.bin\n`);
  });

  it("Install: a version not on npm that is not this ref's fails in one line naming the fix, building nothing", () => {
    const bin = fake("npm", 1);
    const { code, stdout } = runStep("Install livekit-swarm", bin, {
      VERSION: "9.9.9",
      ACTION_PATH: ROOT,
      GITHUB_PATH: join(bin, "path"),
    });
    expect(code).toBe(1);
    expect(stdout).toContain(
      `::error title=livekit-swarm::livekit-swarm@9.9.9 is not on npm, and this action's ref builds ${TOOL.version}: leave version empty, or use the action at a ref of 9.9.9`,
    );
    expect(readFileSync(join(bin, "argv"), "utf8")).toBe(
      `install\n--no-audit\n--no-fund\n--prefix\n${work}/livekit-swarm\nlivekit-swarm@9.9.9\n`,
    );
  });

  it("Fail on a breach or an error: fails for 99 and 1, passes for 0", () => {
    const bin = fake("unused", 0);
    expect(runStep("Fail on a breach or an error", bin, { CODE: "99" }).code).toBe(1);
    expect(runStep("Fail on a breach or an error", bin, { CODE: "1" }).code).toBe(1);
    expect(runStep("Fail on a breach or an error", bin, { CODE: "0" }).code).toBe(0);
  });
});

function findActionlint(): string | undefined {
  const candidates = [
    process.env.ACTIONLINT,
    join(TOOLS_BIN, "actionlint"),
    ...(process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, "actionlint")),
  ];
  for (const candidate of candidates) {
    if (candidate === undefined || candidate === "" || candidate === "actionlint") continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

const actionlint = findActionlint();

describe("the release workflow", () => {
  const RELEASE = join(ROOT, ".github/workflows/release.yml");

  it("publishes with provenance only with an NPM_TOKEN, and otherwise runs npm's dry run", () => {
    const text = readFileSync(RELEASE, "utf8");
    expect(text).toContain("npm publish -w livekit-swarm --provenance --access public");
    expect(text).toContain("npm publish -w livekit-swarm --dry-run");
    expect(text).toMatch(/id-token: write/);
    expect(text).toMatch(/tags: \["livekit-swarm@\*"\]/);
  });

  it.skipIf(actionlint === undefined)(
    actionlint === undefined ? "skipped: actionlint is not installed (scripts/setup)" : "passes actionlint",
    () => {
      const project = join(work, "lint-release");
      mkdirSync(join(project, ".github", "workflows"), { recursive: true });
      writeFileSync(join(project, ".github", "workflows", "release.yml"), readFileSync(RELEASE));
      execFileSync("git", ["init", "-q"], { cwd: project });
      const r = spawnSync(actionlint ?? "actionlint", ["-no-color"], { cwd: project, encoding: "utf8" });
      expect({ code: r.status, out: r.stdout + r.stderr }).toEqual({ code: 0, out: "" });
    },
  );
});

describe("actionlint v1.7.7", () => {
  it.skipIf(actionlint === undefined)(
    actionlint === undefined
      ? "skipped: actionlint is not in LIVEKIT_SWARM_TOOLS or on PATH (scripts/setup installs it with go install)"
      : "passes the example workflow, its `with:` checked against action.yml's inputs",
    () => {
      // the example calls the action by its published name; here by path, so actionlint reads
      // action.yml and checks every input the example passes
      const project = join(work, "lint");
      mkdirSync(join(project, ".github", "workflows"), { recursive: true });
      writeFileSync(join(project, "action.yml"), readFileSync(ACTION));
      const example = readFileSync(EXAMPLE, "utf8");
      expect(example).toMatch(/uses: your-org\/livekit-swarm@v\d/);
      const local = example.replace(/uses: your-org\/livekit-swarm@\S+/, "uses: ./");
      writeFileSync(join(project, ".github", "workflows", "gate.yml"), local);
      execFileSync("git", ["init", "-q"], { cwd: project });
      const lint = (): { code: number | null; out: string } => {
        const r = spawnSync(actionlint ?? "actionlint", ["-no-color"], { cwd: project, encoding: "utf8" });
        return { code: r.status, out: r.stdout + r.stderr };
      };
      const clean = lint();
      expect(clean, clean.out).toEqual({ code: 0, out: "" });
      // and it would notice: an input the action does not have
      writeFileSync(
        join(project, ".github", "workflows", "gate.yml"),
        local.replace("api-secret:", "api-secrt:"),
      );
      const broken = lint();
      expect(broken.code).toBe(1);
      expect(broken.out).toContain('input "api-secrt" is not defined in action');
    },
  );
});
