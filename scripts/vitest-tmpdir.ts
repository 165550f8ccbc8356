import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Every temporary folder a test makes (mkdtemp under tmpdir()), and every testbed run directory,
// Chromium profile and bench scratch folder the processes it starts make there, goes into one
// folder per test run, removed when the run ends: a suite run used to leave ~500 folders in /tmp.
// Workers and the processes tests spawn inherit TMPDIR, and Node's tmpdir() reads it on each call.
// LIVEKIT_SWARM_KEEP_TEST_TMP=1 keeps the folder (its path is printed) to read a failed run's logs.
export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "livekit-swarm-test-"));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    if (process.env.LIVEKIT_SWARM_KEEP_TEST_TMP === "1") {
      process.stdout.write(`\ntest run's temporary folder kept: ${dir}\n`);
      return;
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
}
