import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { PartialJournalWriter } from "./partial.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("the partial journal", () => {
  it("says it is partial, names the rollback command, lists faults and log lines", () => {
    const dir = mkdtempSync(join(tmpdir(), "partial-test-"));
    dirs.push(dir);
    const file = join(dir, "journal.json");
    const writer = new PartialJournalWriter(file, {
      drill: { name: "freeze", file: "freeze.yaml" },
      runId: "r1",
      start: "2026-11-22T10:00:00.000Z",
    });
    writer.write("journal: here", [], null);
    const fault = {
      id: "freeze",
      type: "node.freeze" as const,
      selection: "node2",
      injectedAt: "2026-11-22T10:00:40.000Z",
      confirmedAt: "2026-11-22T10:00:40.010Z",
      error: null,
      revertedAtMs: null,
    };
    writer.write("freeze: confirmed", [fault], { backend: "local", testbed: "chaos-42" });
    const j = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    expect(j).toMatchObject({
      partial: true,
      runId: "r1",
      faults: [{ id: "freeze", reverted: false }],
      log: [{ line: "journal: here" }, { line: "freeze: confirmed" }],
    });
    expect(j.note).toContain("swarm chaos rollback --testbed chaos-42");
    expect(readdirSync(dir)).toEqual(["journal.json"]);
  });
});
