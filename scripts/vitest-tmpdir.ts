import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Every temporary folder a test makes (mkdtemp under tmpdir()), and every testbed run directory,
// Chromium profile and bench scratch folder the processes it starts make there, goes into one
// folder per test run, removed when the run ends: a suite run used to leave ~500 folders in /tmp.
// Workers and the processes tests spawn inherit TMPDIR, and Node's tmpdir() reads it on each call.
// LIVEKIT_SWARM_KEEP_TEST_TMP=1 keeps the folder (its path is printed) to read a failed run's logs.
// A run killed before its end (Ctrl-C twice, SIGKILL, a CI timeout) cannot remove its folder: the
// folder names its run's pid in .owner-pid, and the next run removes those whose run is gone.

const PREFIX = "livekit-swarm-test-";
const OWNER = ".owner-pid";

/**
 * Variables the tool reads that change what a run does or where it goes: a caller's shell that
 * exports them (a CI job isolating its testbeds with LIVEKIT_SWARM_RUN_ROOT, a developer's
 * LIVEKIT_URL) would make the suite's result depend on it (browser-sigint.e2e looked for its run
 * under the default root while the run wrote under the variable's). The suite unsets them; tests
 * set what they need per spawned process. Left alone: where binaries are (LIVEKIT_SERVER_BIN,
 * LIVEKIT_SWARM_TOOLS, LIVEKIT_SWARM_CHROMIUM, LKSWARM_DELAY_BIN), which change no figure.
 */
export const PINNED_ENV = [
  "LIVEKIT_URL",
  "LIVEKIT_API_KEY",
  "LIVEKIT_API_SECRET",
  "LIVEKIT_SWARM_RUN_ROOT",
  "LKSWARM_E2EE_KEY",
  "LKSWARM_JUDGE_CPU_WAIT",
  "LKSWARM_LEAN_SIMULCAST",
  "LKSWARM_LEAN_NATIVE",
  "LKSWARM_TESTBED_NODE",
  "LKSWARM_SERVICE_ACCOUNT_DIR",
  "GITHUB_STEP_SUMMARY",
] as const;

/** Unsets PINNED_ENV in `env`; returns what was set, to put back. */
export function pinEnvironment(env: NodeJS.ProcessEnv = process.env): Map<string, string> {
  const held = new Map<string, string>();
  for (const name of PINNED_ENV) {
    const value = env[name];
    if (value === undefined) continue;
    held.set(name, value);
    Reflect.deleteProperty(env, name);
  }
  return held;
}

export default function setup(): () => void {
  const held = pinEnvironment();
  if (held.size > 0)
    process.stdout.write(
      `the suite unset ${[...held.keys()].join(", ")} for its run (scripts/vitest-tmpdir.ts PINNED_ENV)\n`,
    );
  sweepOrphans(tmpdir());
  const dir = mkdtempSync(join(tmpdir(), PREFIX));
  writeFileSync(join(dir, OWNER), `${process.pid}\n`);
  const before = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
    for (const [name, value] of held) process.env[name] = value;
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    if (process.env.LIVEKIT_SWARM_KEEP_TEST_TMP === "1") {
      // kept on purpose: no owner, so no later run sweeps it
      rmSync(join(dir, OWNER), { force: true });
      process.stdout.write(`\ntest run's temporary folder kept: ${dir}\n`);
      return;
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
}

/** Removes the folders of earlier test runs that died without removing them (their owner pid is gone). */
export function sweepOrphans(parent: string): string[] {
  const swept: string[] = [];
  let names: string[];
  try {
    names = readdirSync(parent).filter((n) => n.startsWith(PREFIX));
  } catch {
    return swept;
  }
  for (const name of names) {
    let pid: number;
    try {
      pid = Number(readFileSync(join(parent, name, OWNER), "utf8").trim());
    } catch {
      continue; // no owner: kept on purpose, or not ours
    }
    if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) continue;
    rmSync(join(parent, name), { recursive: true, force: true, maxRetries: 3 });
    swept.push(name);
  }
  return swept;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, another user's
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
