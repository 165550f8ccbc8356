import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PINNED_ENV, pinEnvironment, sweepOrphans } from "./vitest-tmpdir.js";

const parent = mkdtempSync(join(tmpdir(), "sweep-"));
afterAll(() => {
  rmSync(parent, { recursive: true, force: true });
});

function folder(name: string, owner?: number): string {
  const dir = join(parent, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "left-behind.log"), "x");
  if (owner !== undefined) writeFileSync(join(dir, ".owner-pid"), `${owner}\n`);
  return dir;
}

describe("the test run's temporary folder", () => {
  it("a later run removes the folder of a run that died, and nothing else", () => {
    // a pid that was a process and is no more
    const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
      encoding: "utf8",
    });
    const deadPid = Number(gone.stdout);
    expect(deadPid).toBeGreaterThan(0);
    const dead = folder("livekit-swarm-test-dead01", deadPid);
    const running = folder("livekit-swarm-test-live01", process.pid);
    const kept = folder("livekit-swarm-test-kept01");
    const garbled = folder("livekit-swarm-test-bad001", Number.NaN);
    const other = folder("someone-elses-folder", deadPid);
    expect(sweepOrphans(parent)).toEqual(["livekit-swarm-test-dead01"]);
    expect(existsSync(dead)).toBe(false);
    for (const stays of [running, kept, garbled, other]) expect(existsSync(stays), stays).toBe(true);
  });

  it("a parent it cannot read sweeps nothing", () => {
    expect(sweepOrphans(join(parent, "no-such-folder"))).toEqual([]);
  });
});

describe("the suite's environment", () => {
  it("unsets what would send a run elsewhere (run root, LiveKit's URL and keys), keeps where binaries are, and says what it held", () => {
    const env: NodeJS.ProcessEnv = {
      LIVEKIT_SWARM_RUN_ROOT: "/ci/testbeds",
      LIVEKIT_URL: "wss://prod.example",
      LIVEKIT_API_SECRET: "s",
      LIVEKIT_SERVER_BIN: "/opt/livekit-server",
      PATH: "/usr/bin",
    };
    const held = pinEnvironment(env);
    expect(env).toEqual({ LIVEKIT_SERVER_BIN: "/opt/livekit-server", PATH: "/usr/bin" });
    expect(Object.fromEntries(held)).toEqual({
      LIVEKIT_SWARM_RUN_ROOT: "/ci/testbeds",
      LIVEKIT_URL: "wss://prod.example",
      LIVEKIT_API_SECRET: "s",
    });
    expect(PINNED_ENV).toContain("LIVEKIT_API_KEY");
  });
});
