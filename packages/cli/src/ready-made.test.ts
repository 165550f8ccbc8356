import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readyMade, readyMadeFile, readyMadeRoot, readyMadeText } from "./ready-made.js";

const dir = mkdtempSync(join(tmpdir(), "ready-made-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("ready-made scenarios and drills, by name", () => {
  const root = readyMadeRoot();

  it("finds the repository's scenarios/ and chaos/ from this module, capacity's one folder down, k6 scripts aside", () => {
    expect(root).toBeDefined();
    const names = readyMade("scenarios", root).map((r) => r.name);
    expect(names).toEqual(
      expect.arrayContaining(["smoke", "voice-ai", "turn-only", "capacity/audio-2party"]),
    );
    expect(names.some((n) => n.startsWith("k6"))).toBe(false);
    expect(readyMade("chaos", root).map((r) => r.name)).toContain("kill-room-node");
    expect(readyMadeText(root)).toMatch(/^ {2}voice-ai +Voice AI \(seed 002\)/m);
  });

  it("a name, with or without .yaml, is the ready-made file; a path is itself", () => {
    expect(readyMadeFile("scenarios", "voice-ai", "run: --scenario", root)).toBe(
      join(root ?? "", "scenarios/voice-ai.yaml"),
    );
    expect(readyMadeFile("scenarios", "capacity/audio-2party.yaml", "x", root)).toBe(
      join(root ?? "", "scenarios/capacity/audio-2party.yaml"),
    );
    expect(readyMadeFile("chaos", "kill-room-node", "x", root)).toBe(
      join(root ?? "", "chaos/kill-room-node.yaml"),
    );
    // not a name: the reader reports what is wrong with the path (missing, a loop, too large)
    expect(readyMadeFile("scenarios", "/nonexistent/s.yaml", "x", root)).toBe("/nonexistent/s.yaml");
    expect(readyMadeFile("scenarios", "../voice-ai", "x", root)).toBe("../voice-ai");
  });

  it("something at a name's path is read as it is, a link loop included; a name with nothing anywhere is one line", () => {
    const file = join(dir, "voice-ai");
    writeFileSync(file, "rooms: 1\n");
    const here = process.cwd();
    process.chdir(dir);
    try {
      expect(readyMadeFile("scenarios", "voice-ai", "x", root)).toBe("voice-ai");
      symlinkSync("loop-b", "loop-a");
      symlinkSync("loop-a", "loop-b");
      expect(readyMadeFile("scenarios", "loop-a", "x", root)).toBe("loop-a");
      expect(() => readyMadeFile("scenarios", "voice-aii", "run: --scenario", root)).toThrow(
        /^run: --scenario "voice-aii": no such file, and no ready-made one of that name \(ready-made: audio-lean, .*voice-ai; `swarm scenarios` lists them\)$/,
      );
    } finally {
      process.chdir(here);
    }
  });
});
