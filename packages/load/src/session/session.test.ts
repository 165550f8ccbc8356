import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseScenarioObject } from "@livekit-swarm/schema";
import { Interruption } from "./interruption.js";
import { newRunId } from "./clock.js";
import { nobodyJoinedLine, serveFolder } from "./ending.js";
import type { ResultsRoute } from "./options.js";
import { runSession } from "./session.js";
import { RunSessionError, checkCloudLimit, isLivekitCloud, outputNotWritten } from "./target.js";

const target = (url: string) => ({ url, apiKey: "k", apiSecret: "s" });

describe("newRunId", () => {
  it("is the UTC time to the second and four hex digits, sortable by time", () => {
    const id = newRunId(new Date("2026-11-22T21:05:09Z"));
    expect(id).toMatch(/^20261122-210509-[0-9a-f]{4}$/);
    expect(newRunId(new Date("2026-11-22T21:06:00Z")) > id).toBe(true);
  });
});

describe("the LiveKit Cloud limit", () => {
  it("knows a cloud URL in any scheme", () => {
    expect(isLivekitCloud("wss://x.livekit.cloud")).toBe(true);
    expect(isLivekitCloud("https://x.livekit.cloud")).toBe(true);
    expect(isLivekitCloud("ws://livekit.example.com")).toBe(false);
    expect(isLivekitCloud("not a url")).toBe(false);
  });

  it("refuses more than 50 participants there, and nothing elsewhere", () => {
    expect(() => {
      checkCloudLimit(target("wss://x.livekit.cloud"), 50);
    }).not.toThrow();
    expect(() => {
      checkCloudLimit(target("ws://127.0.0.1:7880"), 5000);
    }).not.toThrow();
    expect(() => {
      checkCloudLimit(undefined, 5000);
    }).not.toThrow();
    expect(() => {
      checkCloudLimit(target("wss://x.livekit.cloud"), 51);
    }).toThrow(/51 participants against LiveKit Cloud: .* at most 50/);
  });
});

describe("a report that cannot be written after the run", () => {
  const errno = (code: string, path?: string): NodeJS.ErrnoException =>
    Object.assign(new Error(`${code}: failed`), { code, ...(path !== undefined ? { path } : {}) });

  it.each([
    [
      "ENOENT",
      /\(ENOENT at \/out\/run\/summary\.json\): it was removed while the run went on, .*Keep the folder in place/,
    ],
    ["ENOSPC", /\(ENOSPC at \/out\/run\/summary\.json\): its disk is full; .*Free space there/],
    ["EROFS", /\(EROFS at \/out\/run\/summary\.json\): it became unwritable .*Keep it writable/],
    [
      "ENOTDIR",
      /\(ENOTDIR at \/out\/run\/summary\.json\): it \(or a folder above it\) was replaced by a file .*Keep the folder in place/,
    ],
    ["EIO", /\(EIO at \/out\/run\/summary\.json\): it could not be written; .*Check the folder/],
  ])("%s: names the folder, the file, what happened and the fix (--output)", (code, says) => {
    const lost = outputNotWritten(errno(code, "/out/run/summary.json"), "/out/run");
    expect(lost).toBeInstanceOf(RunSessionError);
    expect(lost?.reason).toBe("output");
    expect(lost?.message).toMatch(/^the run's reports could not be written to the output folder \/out\/run /);
    expect(lost?.message).toMatch(says);
    expect(lost?.message).toMatch(
      /the summary shown is what was measured\. .*or pass another with --output$/,
    );
  });

  it("names the folder where the error has no path, and leaves an error that is not the filesystem's alone", () => {
    expect(outputNotWritten(errno("ENOENT"), "/out/run")?.message).toContain("(ENOENT at /out/run)");
    expect(outputNotWritten(new TypeError("x is undefined"), "/out/run")).toBeUndefined();
    expect(outputNotWritten("ENOENT", "/out/run")).toBeUndefined();
  });
});

describe("runSession refuses before starting anything", () => {
  it("a scenario without participants", async () => {
    // the schema refuses this too; the session must not rely on every caller having used it
    const scenario = {
      ...parseScenarioObject({}, "t"),
      videoPublishers: 0,
      audioPublishers: 0,
      subscribers: 0,
    };
    const refused = runSession({ scenario, target: target("ws://127.0.0.1:1") });
    await expect(refused).rejects.toBeInstanceOf(RunSessionError);
    await expect(refused).rejects.toMatchObject({ reason: "no-participants" });
    expect(process.listenerCount("SIGINT"), "signal handlers left behind").toBe(0);
  });

  it("a run over MAX_RUN_PARTICIPANTS, whatever the scenario file says", async () => {
    // the most rooms and per-room counts the schema takes, multiplied past the run's cap
    const huge = parseScenarioObject({ rooms: 10_000, subscribers: 10 }, "t");
    await expect(runSession({ scenario: huge, target: target("ws://127.0.0.1:1") })).rejects.toThrow(
      /110000 participants \(10000 rooms x 11\): one run plans at most 100000/,
    );
  });

  it("a ramp that would outlast a week (MAX_DURATION)", async () => {
    const slow = parseScenarioObject(
      { rooms: 100, subscribers: 99, "num-per-second": 0.01, duration: "1h" },
      "t",
    );
    await expect(runSession({ scenario: slow, target: target("ws://127.0.0.1:1") })).rejects.toThrow(
      "joining 10000 participants at 0.01 per second takes 277h46m40s, and with the 1h hold the run would last over 168h; raise --num-per-second or shorten --duration",
    );
  });

  it("a storm: block in a sharded run, and a storm script that does not exist", async () => {
    const storm = parseScenarioObject({ rooms: 2, storm: { duration: "5s" } }, "t");
    await expect(
      runSession({
        scenario: storm,
        target: target("ws://127.0.0.1:1"),
        shard: { index: 0, count: 2 },
        startAtMs: Date.now() + 60_000,
      }),
    ).rejects.toMatchObject({ reason: "storm" });
    const missing = parseScenarioObject({ storm: { script: "./no-such-storm.js", duration: "5s" } }, "t");
    await expect(runSession({ scenario: missing, target: target("ws://127.0.0.1:1") })).rejects.toThrow(
      /no such scenario or script "\.\/no-such-storm\.js"/,
    );
    expect(process.listenerCount("SIGINT"), "signal handlers left behind").toBe(0);
  });

  it("an output folder that is a file", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "session-")), "summary.json");
    writeFileSync(file, "{}");
    await expect(
      runSession({
        scenario: parseScenarioObject({}, "t"),
        target: target("ws://127.0.0.1:1"),
        outputDir: file,
      }),
    ).rejects.toMatchObject({ reason: "output" });
  });

  it("a load test over LiveKit Cloud's limit, and a malformed scenario threshold", async () => {
    const big = parseScenarioObject({ rooms: 20, subscribers: 4 }, "t");
    await expect(
      runSession({ scenario: big, target: target("wss://a.livekit.cloud") }),
    ).rejects.toMatchObject({
      reason: "cloud-limit",
    });
    const bad = parseScenarioObject({ thresholds: ["lkswarm_nope p95 < 1s"] }, "t");
    await expect(runSession({ scenario: bad, target: target("ws://127.0.0.1:1") })).rejects.toThrow(
      /unknown metric lkswarm_nope/,
    );
  });
});

describe("Interruption", () => {
  it("drains on the first signal, forces on the second, and maps SIGTERM to 143", () => {
    const lines: string[] = [];
    const interruption = new Interruption((l) => lines.push(l)).listen();
    try {
      expect(interruption.interrupt.aborted).toBe(false);
      process.emit("SIGTERM", "SIGTERM");
      expect(interruption.interrupt.aborted).toBe(true);
      expect(interruption.force.aborted).toBe(false);
      expect(interruption.exitCode).toBe(143);
      process.emit("SIGINT", "SIGINT");
      expect(interruption.force.aborted).toBe(true);
      expect(interruption.signal).toBe("SIGTERM");
      expect(lines).toEqual([
        "SIGTERM: stopping joins, disconnecting everyone and writing the report (again to force)",
        "second signal: stopping now",
      ]);
    } finally {
      interruption.close();
    }
    expect(process.listenerCount("SIGTERM")).toBe(0);
  });

  it("stop() ends the run without a signal", () => {
    const interruption = new Interruption(() => {});
    interruption.stop("threshold");
    expect(interruption.interrupt.reason).toBe("threshold");
    expect(interruption.signal).toBeUndefined();
    expect(interruption.exitCode).toBe(130);
  });

  it("a shard without --url, without --start-at or --run-id, or with more shards than rooms", async () => {
    const scenario = parseScenarioObject({ rooms: 3 }, "t");
    const shard = { index: 0, count: 3 };
    await expect(runSession({ scenario, shard, runId: "r" })).rejects.toMatchObject({ reason: "no-target" });
    await expect(runSession({ scenario, shard, target: target("ws://127.0.0.1:1") })).rejects.toThrow(
      /needs --start-at .* or --run-id/,
    );
    await expect(
      runSession({ scenario, shard: { index: 0, count: 4 }, runId: "r", target: target("ws://127.0.0.1:1") }),
    ).rejects.toThrow(/3 room\(s\) cannot fill 4 shards/);
    expect(process.listenerCount("SIGINT"), "signal handlers left behind").toBe(0);
  });
});

describe("nobodyJoinedLine: why a run ended with nobody in", () => {
  it("points at the join failures when some join failed", () => {
    expect(nobodyJoinedLine({ planned: 4, joinFailures: { timeout: 1, run_ended: 3 } }, true)).toBe(
      "no participant could join: see join failures above and events.jsonl",
    );
  });

  it("asks for a longer run when every join was still under way at the end", () => {
    const line =
      "no participant joined before the run ended: all 2 joins were still under way (the hold starts after the ramp, not after the joins): give the run a longer --duration";
    expect(nobodyJoinedLine({ planned: 2, joinFailures: { run_ended: 2 } }, true)).toBe(line);
    // joins nobody said anything of (workers that had not started yet) are under way too
    expect(nobodyJoinedLine({ planned: 2, joinFailures: {} }, true)).toBe(line);
  });

  it("says the generator never started them when no join began (a worker still loading its engines)", () => {
    expect(nobodyJoinedLine({ planned: 16, joinFailures: { not_started: 16 } }, true)).toBe(
      "no participant joined: 16 of 16 never began to join, waiting for the generator (see the workers and generator checks above)",
    );
    expect(nobodyJoinedLine({ planned: 4, joinFailures: { not_started: 2, run_ended: 2 } }, true)).toMatch(
      /^no participant joined: 2 of 4 never began/,
    );
    // a join LiveKit answered is still the first thing to read
    expect(nobodyJoinedLine({ planned: 4, joinFailures: { not_started: 2, unauthorized: 2 } }, true)).toBe(
      "no participant could join: see join failures above and events.jsonl",
    );
  });

  it("says the joins were hanging when the run gave up on them before its end", () => {
    // nobody in 45 s after the ramp: a longer run would not have helped
    expect(nobodyJoinedLine({ planned: 2, joinFailures: { run_ended: 2 } }, false)).toBe(
      "no participant joined and none had failed when the run gave up on them: all 2 joins were still hanging (counted as run_ended); see events.jsonl",
    );
  });
});

describe("serveFolder: a finished run's folder served until collected", () => {
  function recordingRoute(ends: "collected" | "expired" | Error) {
    const calls: { folder: string; end: unknown; holdMs: number; stops: readonly AbortSignal[] }[] = [];
    const route: ResultsRoute = {
      path: "/results",
      handle: () => undefined,
      serve: (folder, end, holdMs, stops) => {
        calls.push({ folder, end, holdMs, stops });
        return ends instanceof Error ? Promise.reject(ends) : Promise.resolve(ends);
      },
    };
    return { route, calls };
  }

  it("serves the folder with the run's exit code and shard status, and says when nothing collected it", async () => {
    const { route, calls } = recordingRoute("expired");
    const lines: string[] = [];
    const interruption = new Interruption(() => undefined);
    await serveFolder(
      { route, holdMs: 1_800_000 },
      "http://0.0.0.0:9464/metrics",
      "/results/shard-2",
      { exitCode: 99, status: "done" },
      interruption,
      (l) => lines.push(l),
    );
    expect(calls).toEqual([
      {
        folder: "/results/shard-2",
        end: { exitCode: 99, status: "done" },
        holdMs: 1_800_000,
        stops: [interruption.interrupt, interruption.force],
      },
    ]);
    expect(lines).toEqual([
      "serving /results/shard-2 at http://0.0.0.0:9464/results until it is collected, at most 30m",
      "nothing collected the results in 30m; ending without (a merge counts this shard missing)",
    ]);
  });

  it("still serves a run a threshold ended (only a signal stops it), and a failure to serve leaves the run as it was", async () => {
    const { route, calls } = recordingRoute(new Error("EACCES: cannot read samples.jsonl"));
    const lines: string[] = [];
    const interruption = new Interruption(() => undefined);
    interruption.stop("threshold");
    await serveFolder(
      { route, holdMs: 60_000 },
      "http://127.0.0.1:9464/metrics",
      "/out",
      { exitCode: 0, status: undefined },
      interruption,
      (l) => lines.push(l),
    );
    expect(calls[0]?.stops).toEqual([interruption.force]);
    expect(calls[0]?.end).toEqual({ exitCode: 0 });
    expect(lines.at(-1)).toBe("cannot serve the results: EACCES: cannot read samples.jsonl");
  });
});
