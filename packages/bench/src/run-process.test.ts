import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exitWord, RunProcess, RunWatch } from "./run-process.js";

const TARGET = { url: "ws://127.0.0.1:7880", apiKey: "key", apiSecret: "a-secret-of-32-characters-or-so" };

/** A stand-in run: says started and all in, then drains on SIGINT, saying ended; its env on stderr. */
const RUN = `
const say = (e) => process.stdout.write(JSON.stringify(e) + "\\n");
const spec = JSON.parse(process.argv[2]);
process.stderr.write("url " + process.env.LIVEKIT_URL + " rooms " + spec.rooms + "\\n");
say({ type: "started", participants: 4, workers: 1, rampMs: 500 });
say({ type: "progress", startedAtMs: 1000, phase: "hold", planned: 4, joined: 3, connected: 3, failed: 1 });
process.stdout.write("not an event\\n");
process.on("SIGINT", () => {
  say({ type: "ended", endReason: "interrupted", workers: 2, summary: { fake: true } });
  process.exit(0);
});
setInterval(() => {}, 1000);
`;

describe("RunProcess: a bench point's or a capacity step's run, in a process of its own", () => {
  it("follows its events, keeps its logs, and ends it with SIGINT so it reports", async () => {
    const dir = mkdtempSync(join(tmpdir(), "run-process-"));
    const script = join(dir, "run.mjs");
    writeFileSync(script, RUN);
    const logs = { stderr: join(dir, "stderr.log"), progress: join(dir, "progress.jsonl") };
    const run = RunProcess.start(script, { rooms: 2 }, TARGET, logs);
    if (run === undefined) throw new Error("no process");
    const never = new AbortController().signal;
    await run.until(() => run.watch.allInAtMs !== undefined, Date.now() + 10_000, never);
    expect(run.watch).toMatchObject({ startedAtMs: 1000, rampMs: 500, participants: 4, joined: 3 });
    expect(run.exit).toBeUndefined();
    expect(await run.end(10_000)).toEqual({ code: 0, signal: null });
    expect(run.watch.workers).toBe(2);
    expect(run.watch.summary).toEqual({ fake: true });
    run.closeLogs();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(readFileSync(logs.stderr, "utf8")).toBe("url ws://127.0.0.1:7880 rooms 2\n");
    // every stdout line, events or not
    expect(readFileSync(logs.progress, "utf8").split("\n")).toHaveLength(5);
  });

  it("SIGKILLs a run that does not drain within the grace", async () => {
    const dir = mkdtempSync(join(tmpdir(), "run-process-"));
    const script = join(dir, "stuck.mjs");
    writeFileSync(script, 'process.on("SIGINT", () => {}); setInterval(() => {}, 1000);\n');
    const run = RunProcess.start(script, {}, TARGET, { stderr: join(dir, "stderr.log") });
    if (run === undefined) throw new Error("no process");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const ended = await run.end(500);
    expect(ended).toEqual({ code: null, signal: "SIGKILL" });
    expect(exitWord(ended)).toBe("SIGKILL");
    expect(exitWord({ code: 0, signal: null })).toBe("0");
    run.closeLogs();
  });
});

describe("RunWatch", () => {
  it("counts everyone in once joins and failures reach the plan, not before", () => {
    const w = new RunWatch();
    const progress = (joined: number, failed: number): string =>
      JSON.stringify({
        type: "progress",
        startedAtMs: 5,
        phase: "ramp",
        planned: 4,
        joined,
        connected: joined,
        failed,
      });
    w.onLine(progress(2, 1));
    expect(w.allInAtMs).toBeUndefined();
    w.onLine(progress(3, 1));
    expect(w.allInAtMs).toBeTypeOf("number");
    expect(w.startedAtMs).toBe(5);
  });
});
