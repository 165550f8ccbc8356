import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { expectCodeOrCrowded } from "./cli.js";

const dir = mkdtempSync(join(tmpdir(), "crowded-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const summary = (checks: { name: string; ok: boolean; text: string }[]): string => {
  const out = mkdtempSync(join(dir, "run-"));
  writeFileSync(join(out, "summary.json"), JSON.stringify({ health: { checks } }));
  return out;
};
const CROWDED =
  "the swarm's own worker did not keep up: worker 0 (...: other processes (LiveKit beside the swarm, other work) held the cores it needed)";
const ok = (name: string) => ({ name, ok: true, text: "ok" });

describe("expectCodeOrCrowded", () => {
  it("takes the expected code, or 2 when only the generator check failed and for crowding by others", () => {
    const res = (code: number) => ({ code, stdout: "", stderr: "" });
    expect(() => {
      expectCodeOrCrowded(res(0), 0, dir);
    }).not.toThrow();
    const crowded = summary([
      ok("participants"),
      ok("tracks"),
      { name: "generator", ok: false, text: CROWDED },
    ]);
    expect(() => {
      expectCodeOrCrowded(res(2), 0, crowded);
    }).not.toThrow();
  });

  it("fails for another code, a 2 for another cause, or a 2 beside another failed check", () => {
    const res = (code: number) => ({ code, stdout: "out", stderr: "err" });
    expect(() => {
      expectCodeOrCrowded(res(99), 0, dir);
    }).toThrow(/^exit 99, expected 0\nout\nerr$/);
    const quota = summary([{ name: "generator", ok: false, text: "its CPU quota ran out" }]);
    expect(() => {
      expectCodeOrCrowded(res(2), 0, quota);
    }).toThrow(/exit 2, expected 0/);
    const both = summary([
      { name: "tracks", ok: false, text: "2 of 4" },
      { name: "generator", ok: false, text: CROWDED },
    ]);
    expect(() => {
      expectCodeOrCrowded(res(2), 0, both);
    }).toThrow(/exit 2, expected 0/);
    expect(() => {
      expectCodeOrCrowded(res(2), 0, join(dir, "none"));
    }).toThrow(/exit 2, expected 0/);
  });
});
