import { describe, expect, it } from "vitest";
import { sampleJournal } from "../test/journal-fixture.js";
import { journalSummary } from "./summary.js";

describe("journalSummary", () => {
  it("opens with the verdict and reason, lists each expectation with its mark and ends with the artifacts", () => {
    const j = sampleJournal();
    const lines = journalSummary(j).split("\n");
    expect(lines[0]).toBe(`FAIL (completed): ${j.reason}`);
    expect(lines[1]).toMatch(
      /^participants: \d+ of \d+ affected; paths resume \d+, full \d+, rejoin \d+; lost /,
    );
    for (const e of j.expectations) {
      const mark = e.met === true ? "ok  " : e.met === false ? "FAIL" : "n/a ";
      expect(lines, e.name).toContain(`  ${mark} ${e.name}: ${e.observed} (expected ${e.expected})`);
    }
    expect(lines.slice(-4)).toEqual([
      `journal ${j.artifacts.journal ?? ""}`,
      `report  ${j.artifacts.report ?? ""}`,
      `junit   ${j.artifacts.junit ?? ""}`,
      "",
    ]);
  });

  it("writes an unmeasured duration as a dash and no losses as 0", () => {
    const j = sampleJournal();
    const quiet = sampleJournal({
      aggregates: { ...j.aggregates, lostByReason: {}, detect: { ...j.aggregates.detect, p50: null } },
    });
    const text = journalSummary(quiet);
    expect(text).toContain("; lost 0\n");
    expect(text).toContain("detect p50 –");
  });
});
