import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pickFreePort } from "@livekit-swarm/testbed";
import { fileURLToPath } from "node:url";

export const CLI = fileURLToPath(new URL("../../cli/dist/cli.js", import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A `swarm` CLI process started by a test, with what it has printed so far. */
export interface SwarmProcess {
  readonly child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves with the exit code once the process ends. */
  readonly exited: Promise<number | null>;
}

/**
 * Starts the built `swarm` CLI as a user would (an empty variable in `env` unsets it); `cli` is
 * another build of it, such as the published package's bundle.
 */
export function startSwarm(args: readonly string[], env: NodeJS.ProcessEnv = {}, cli = CLI): SwarmProcess {
  if (!existsSync(cli))
    throw new Error(`${cli} is missing: run \`npm run build\` before the end-to-end tests`);
  const child = spawn(process.execPath, [cli, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
  };
}

/** Runs the built `swarm` CLI to its end; the build is `npm run build` (npm test does it). */
export async function swarm(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 120_000,
  cli = CLI,
): Promise<CliResult> {
  const run = startSwarm(args, env, cli);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      run.child.kill("SIGKILL");
      reject(
        new Error(
          `swarm ${args.join(" ")} did not finish within ${timeoutMs} ms\nstdout: ${run.stdout}\nstderr: ${run.stderr}`,
        ),
      );
    }, timeoutMs);
  });
  try {
    const code = await Promise.race([run.exited, timedOut]);
    return { code, stdout: run.stdout, stderr: run.stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a process still exists (our tests check that runs leave none behind). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A port free right now, for a server the test is about to start. Picked outside the kernel's
 * ephemeral range (testbed's pickFreePort): a port the kernel handed out (listen on 0) is in that
 * range, where any outgoing connection of a test running beside may take it before the server binds
 * it (CI: a storm's --metrics-port, picked 40 s before the storm started, was gone and it exited 1);
 * and reserved against the test files beside, which pick from the same range (PortReservations).
 */
export async function freePort(): Promise<number> {
  return pickFreePort();
}

/** The environment variables every LiveKit tool reads, pointing at a testbed. */
export function testbedEnv(tb: { url: string; apiKey: string; apiSecret: string }): NodeJS.ProcessEnv {
  return { LIVEKIT_URL: tb.url, LIVEKIT_API_KEY: tb.apiKey, LIVEKIT_API_SECRET: tb.apiSecret };
}

/**
 * The environment of a swarm that must start its own embedded LiveKit, its testbeds under `runRoot`:
 * the LIVEKIT_* variables empty (empty is unset), so exported ones cannot point it elsewhere.
 */
export function embeddedEnv(runRoot: string): NodeJS.ProcessEnv {
  return { LIVEKIT_URL: "", LIVEKIT_API_KEY: "", LIVEKIT_API_SECRET: "", LIVEKIT_SWARM_RUN_ROOT: runRoot };
}

/**
 * `swarm gate --prometheus` over a run's summary.json (its run id and window) with `thresholds`:
 * the exit code and stderr, and each threshold's [threshold, status] in order, to hold against the
 * verdict the run itself reached. `statuses` is empty when the gate printed no JSON verdict.
 */
export async function gateOverPrometheus(
  prometheusUrl: string,
  summaryFile: string,
  thresholds: readonly string[],
): Promise<CliResult & { statuses: [string, string][] }> {
  const gate = await swarm([
    "gate",
    "--prometheus",
    prometheusUrl,
    "--summary",
    summaryFile,
    "--json",
    ...thresholds.flatMap((t) => ["--threshold", t]),
  ]);
  let statuses: [string, string][] = [];
  try {
    const verdict = JSON.parse(gate.stdout) as { results: { threshold: string; status: string }[] };
    statuses = verdict.results.map((r) => [r.threshold, r.status]);
  } catch {
    // no JSON: the caller's check of the exit code shows stderr
  }
  return { ...gate, statuses };
}

/**
 * Any command to its end without blocking the worker (a test's other timers keep running): its exit
 * code (null when killed at `timeoutMs`) and its output. `env` is added to this process's.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 * 2 ** 20, encoding: "utf8" },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * The run's exit code is `expected`, or 2 because the machine was crowded by other processes while
 * the swarm's event loop ran late (the suite runs two e2e files at once on two cores, and a
 * neighbour building images or a cluster can take both): the run rightly calls itself inconclusive
 * then, every other health check held, and what the test checks beyond the exit code is still
 * checked. Any other code, or a 2 for another reason, fails with the run's output.
 */
export function expectCodeOrCrowded(
  result: { readonly code: number | null; readonly stdout: string; readonly stderr: string },
  expected: number,
  outputDir: string,
  /**
   * Also take a 2 whose one failed check is the machine used up by the run's own processes: for a
   * test of what the run reads, not of its load, whose scenario the machine cannot carry (the
   * browser's E2EE rooms: Chromium alone took 1.7-1.8 of this machine's 2 cores)
   */
  orUsedUp = false,
): void {
  if (result.code === expected) return;
  const crowdedOnly =
    result.code === 2 &&
    (() => {
      try {
        const health = (
          JSON.parse(readFileSync(join(outputDir, "summary.json"), "utf8")) as {
            health?: { checks: { name: string; ok: boolean; text: string }[] };
          }
        ).health;
        const failed = health?.checks.filter((c) => !c.ok) ?? [];
        return (
          failed.length === 1 &&
          failed[0]?.name === "generator" &&
          (failed[0].text.includes(
            "other processes (LiveKit beside the swarm, other work) held the cores it needed",
          ) ||
            (orUsedUp && failed[0].text.includes("mean over the hold: the machine was used up")))
        );
      } catch {
        return false;
      }
    })();
  if (crowdedOnly) {
    process.stdout.write(
      `inconclusive run (exit 2): the machine was crowded${orUsedUp ? " or used up" : " by other processes"}; the test's other checks still run\n`,
    );
    return;
  }
  throw new Error(`exit ${String(result.code)}, expected ${expected}\n${result.stdout}\n${result.stderr}`);
}
