import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Measurements, evaluate, parseThreshold } from "@livekit-swarm/gate";
import { ExitCode, TOOL, parseScenarioObject } from "@livekit-swarm/schema";
import { RunAggregator } from "../run/aggregate.js";
import type { RunOutcome } from "../run/orchestrator.js";
import { withExitCode } from "../run/health.js";
import { runOutputs, runReport, writeRunOutputs, type RunFacts } from "./outputs.js";

const dir = mkdtempSync(join(tmpdir(), "lkswarm-outputs-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function facts(): RunFacts {
  const measurements = new Measurements();
  measurements.setRunWindow(0);
  const outcome: RunOutcome = {
    summary: new RunAggregator([], 5000, measurements).summary(10_000),
    endReason: "completed",
    startedAt: "2026-11-23T06:00:00.000Z",
    endedAt: "2026-11-23T06:00:10.000Z",
    durationMs: 10_000,
    workersLost: [],
    workerPids: [],
  };
  return {
    runId: "20261123-060000-abcd",
    scenario: parseScenarioObject({ rooms: 1 }, "outputs.test.yaml"),
    url: "ws://127.0.0.1:7880",
    participants: 0,
    workers: 1,
    outcome,
    verdict: evaluate([parseThreshold("lkswarm_join_failures_total count == 0")], measurements),
  };
}

describe("writeRunOutputs", () => {
  it("names the tool and its published version in summary.json, junit.xml, report.md and report.html", async () => {
    const outputs = await writeRunOutputs(facts(), dir, undefined);
    const read = (file: string): string => readFileSync(join(dir, file), "utf8");
    expect(outputs.files).toEqual(
      expect.arrayContaining(["summary.json", "junit.xml", "report.md", "report.html"]),
    );
    const summary: unknown = JSON.parse(read("summary.json"));
    expect(summary).toMatchObject({ tool: { name: "livekit-swarm", version: TOOL.version } });
    expect(read("junit.xml")).toContain(
      `<property name="tool-version" value="livekit-swarm ${TOOL.version}"/>`,
    );
    expect(read("report.md")).toContain(`livekit-swarm ${TOOL.version}`);
    expect(read("report.html")).toContain(`livekit-swarm ${TOOL.version}`);
  });

  it("plans the same table and files before writing as it writes (a run whose folder is gone still shows them)", async () => {
    const planned = runOutputs(facts(), dir);
    const written = await writeRunOutputs(facts(), dir, undefined);
    expect(planned.files).toEqual(written.files);
    expect(planned.table).toBe(written.table);
    expect(planned.table).toMatch(/^thresholds: /m);
    const gone = join(dir, "removed");
    await expect(writeRunOutputs(facts(), gone, undefined)).rejects.toMatchObject({ code: "ENOENT" });
    expect(runOutputs(facts(), gone).table).toBe(planned.table);
  });

  it("names one exit code in the table, report.md and report.html: the run's, in the health banner and the failed thresholds alike", async () => {
    const f = facts();
    const fail = evaluate([parseThreshold("lkswarm_join_duration_seconds count > 5")], new Measurements());
    expect(fail.passed).toBe(false);
    const health = withExitCode(
      { status: "generator", checks: [{ name: "generator", ok: false, side: "generator", text: "behind" }] },
      ExitCode.inconclusive,
    );
    const inconclusive = { ...f, verdict: fail, health };
    const out = join(dir, "inconclusive");
    mkdirSync(out);
    const written = await writeRunOutputs(inconclusive, out, undefined);
    expect(written.table).toMatch(/^health: INCONCLUSIVE \(exit 2\)/m);
    expect(written.table).toMatch(/^thresholds: FAILED \(the run exits 2: see health\)$/m);
    expect(written.table).not.toContain("exit 99");
    expect(readFileSync(join(out, "report.html"), "utf8")).toContain("failed (the run exits 2: see health)");
    expect(readFileSync(join(out, "report.html"), "utf8")).not.toContain("exit 99");
    // thresholds alone failed the run: 99 in both
    const failed = runOutputs(
      {
        ...f,
        verdict: fail,
        health: withExitCode({ ...health, status: "healthy", checks: [] }, ExitCode.thresholdsFailed),
      },
      out,
    );
    expect(failed.table).toMatch(/^thresholds: FAILED \(exit 99\)$/m);
  });

  it.each(["native", "lean", "mixed", "browser"] as const)(
    "says the run's engine in summary.json as the scenario chose it (%s), never a fixed one",
    (engine) => {
      const f = facts();
      const report = runReport({ ...f, scenario: parseScenarioObject({ rooms: 1, engine }, "engine.yaml") });
      expect(report.run.engine).toBe(engine);
    },
  );
});
