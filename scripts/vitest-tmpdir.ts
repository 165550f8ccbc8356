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

export default function setup(): () => void {
  sweepOrphans(tmpdir());
  const dir = mkdtempSync(join(tmpdir(), PREFIX));
  writeFileSync(join(dir, OWNER), `${process.pid}\n`);
  const before = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
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
