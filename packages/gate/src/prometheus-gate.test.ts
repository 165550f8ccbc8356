import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { GateRequestError, requestedThresholds, runWindow, timeOf } from "./prometheus-gate.js";

const NOW = Date.parse("2026-11-23T07:00:00Z");
const P = "http://127.0.0.1:9090";
let dir = "";
const file = (name: string): string => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gate-request-"));
  const run = {
    id: "20261123-0650-ab12",
    startedAt: "2026-11-23T06:50:00Z",
    endedAt: "2026-11-23T06:55:00Z",
  };
  await writeFile(file("summary.json"), JSON.stringify({ run }));
  await writeFile(file("other.json"), JSON.stringify({ figures: [] }));
  await writeFile(file("broken.json"), "{ not json");
  await writeFile(file("list.yaml"), "- lkswarm_join_duration_seconds p95 < 1s\n");
  await writeFile(
    file("scenario.yaml"),
    "rooms: 2\nthresholds:\n  - lkswarm_join_duration_seconds p95 < 2s\n",
  );
  await writeFile(file("numbers.yaml"), "thresholds: [1, 2]\n");
});

describe("runWindow", () => {
  it("takes the run id and times from the summary", async () => {
    expect(await runWindow({ prometheus: P, summary: file("summary.json") }, NOW)).toEqual({
      runId: "20261123-0650-ab12",
      startMs: Date.parse("2026-11-23T06:50:00Z"),
      endMs: Date.parse("2026-11-23T06:55:00Z"),
    });
  });

  it("lets --run-id, --from and --to override the summary; the end defaults to now", async () => {
    const w = await runWindow(
      { prometheus: P, summary: file("summary.json"), runId: "mine", from: "10m" },
      NOW,
    );
    expect(w).toMatchObject({ runId: "mine", startMs: NOW - 600_000 });
    expect(await runWindow({ prometheus: P, from: "2026-11-23T06:00:00Z" }, NOW)).toEqual({
      runId: undefined,
      startMs: Date.parse("2026-11-23T06:00:00Z"),
      endMs: NOW,
    });
  });

  it("names the fix for a window it cannot know or that runs backwards", async () => {
    await expect(runWindow({ prometheus: P }, NOW)).rejects.toThrow(/pass --summary summary.json or --from/);
    await expect(runWindow({ prometheus: P, from: "5m", to: "10m" }, NOW)).rejects.toThrow(
      new GateRequestError("gate: --from must be before --to"),
    );
  });

  it("says what is wrong with a summary in one line naming the file", async () => {
    const cases: [string, RegExp][] = [
      [file("missing.json"), /missing\.json.*no such file/],
      [dir, /a folder, not a file/],
      [file("broken.json"), /broken\.json.*not JSON/],
      [file("other.json"), /other\.json.*not a swarm summary/],
    ];
    for (const [summary, says] of cases)
      await expect(runWindow({ prometheus: P, summary }, NOW), summary).rejects.toThrow(says);
  });
});

describe("timeOf", () => {
  it("reads an ISO time or a duration ago, and names the flag otherwise", () => {
    expect(timeOf("from", "30s", NOW)).toBe(NOW - 30_000);
    expect(timeOf("to", "2026-11-23T06:59:00Z", NOW)).toBe(NOW - 60_000);
    expect(() => timeOf("from", "yesterday", NOW)).toThrow(/--from: expected an ISO time or a duration ago/);
  });
});

describe("requestedThresholds", () => {
  it("takes expressions, then a file's list or its thresholds: key", async () => {
    const list = await requestedThresholds({
      prometheus: P,
      threshold: ["lkswarm_join_failures_total count < 1"],
      thresholds: file("list.yaml"),
    });
    expect(list.map((t) => t.text)).toEqual([
      "lkswarm_join_failures_total count < 1",
      "lkswarm_join_duration_seconds p95 < 1s",
    ]);
    const fromScenario = await requestedThresholds({ prometheus: P, thresholds: file("scenario.yaml") });
    expect(fromScenario.map((t) => t.text)).toEqual(["lkswarm_join_duration_seconds p95 < 2s"]);
  });

  it("refuses a request without thresholds, a missing file, and a file of something else", async () => {
    await expect(requestedThresholds({ prometheus: P })).rejects.toThrow(
      /no thresholds: pass --threshold EXPR/,
    );
    await expect(requestedThresholds({ prometheus: P, thresholds: file("t.yaml") })).rejects.toThrow(
      /--thresholds .*t\.yaml/,
    );
    await expect(requestedThresholds({ prometheus: P, thresholds: file("numbers.yaml") })).rejects.toThrow(
      /expected a list of threshold expressions/,
    );
  });
});
