import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { swarmCommand } from "./self.js";

const dir = mkdtempSync(join(tmpdir(), "self-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("swarmCommand: how a hint names this command", () => {
  const cli = join(dir, "pkg", "dist", "cli.js");
  mkdirSync(join(dir, "pkg", "dist"), { recursive: true });
  writeFileSync(cli, "");
  mkdirSync(join(dir, "bin"));
  mkdirSync(join(dir, "project", "node_modules", ".bin"), { recursive: true });
  symlinkSync(cli, join(dir, "bin", "swarm"));
  symlinkSync(cli, join(dir, "project", "node_modules", ".bin", "swarm"));

  it("`swarm` when that name on PATH is this program (a global install)", () => {
    expect(swarmCommand(join(dir, "bin", "swarm"), `/usr/bin:${join(dir, "bin")}`)).toBe("swarm");
  });

  it("`npx swarm` when only npx's node_modules/.bin has it (a clone, a project's dependency), or nothing does", () => {
    expect(swarmCommand(cli, `${join(dir, "project", "node_modules", ".bin")}:/usr/bin`)).toBe("npx swarm");
    expect(swarmCommand(cli, "/usr/bin")).toBe("npx swarm");
    expect(swarmCommand(join(dir, "gone.js"), join(dir, "bin"))).toBe("npx swarm");
  });
});
