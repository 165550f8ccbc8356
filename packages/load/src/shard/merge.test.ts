import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Measurements, loadRunRecord } from "@livekit-swarm/gate";
import { ExitCode, parseScenario, type Scenario } from "@livekit-swarm/schema";
import { percentiles } from "@livekit-swarm/stats";
import { inboundTrack, windowSample } from "@livekit-swarm/test-kit";
import { RunAggregator } from "../run/aggregate.js";
import { lineFile } from "../run/line-file.js";
import type { ParticipantPlan, WindowSample, WorkerMessage } from "../run/messages.js";
import { planRun, shapeOf } from "../run/plan.js";
import { runReport } from "../session/outputs.js";
import { writeManifest, type ShardManifest } from "./manifest.js";
import { mergeShards } from "./merge.js";
import { inTimeOrder, type Observation } from "./observations.js";
import { scenarioHash, shardPlan } from "./split.js";

const START = Date.parse("2026-11-23T06:00:00Z");
const END = START + 60_000;
const scenario = parseScenario(
  "name: merge-test\nrooms: 5\nvideo-publishers: 0\naudio-publishers: 1\nsubscribers: 2\nnum-per-second: 10\n" +
    'thresholds: ["lkswarm_inbound_jitter_seconds{kind=audio} p95 over windows < 30ms"]\n',
  "test",
);

/** A participant's observations: joined, then six windows whose loss and jitter depend on who it is. */
function observe(
  p: ParticipantPlan,
  seed: number,
  jitterScale = 1,
): { events: WorkerMessage[]; samples: WindowSample[] } {
  const t0 = START + p.joinAtMs + 300;
  const events: WorkerMessage[] = [
    {
      type: "event",
      t: t0,
      worker: 0,
      room: p.room,
      participant: p.identity,
      role: p.role,
      event: { type: "joined", joinS: 0.1 + seed / 100 },
    },
  ];
  const samples = Array.from({ length: 6 }, (_, w) =>
    windowSample({
      t: t0 + (w + 1) * 5000,
      room: p.room,
      participant: p.identity,
      role: p.role,
      inbound:
        p.role === "subscriber"
          ? [
              inboundTrack({
                key: "a1",
                kind: "audio",
                expected: 250,
                lost: (seed + w) % 4,
                bytes: 4000,
                jitterS: 0.001 * jitterScale * ((seed * 7 + w) % 23),
                totalSamples: 48_000,
              }),
            ]
          : [],
    }),
  );
  return { events, samples };
}

function writeShard(
  dir: string,
  sc: Scenario,
  index: number,
  count: number,
  over: Partial<ShardManifest> = {},
  jitterScale = 1,
) {
  const plan = shardPlan(planRun(shapeOf(sc)), { index, count });
  const folder = join(dir, `shard-${index}`);
  mkdirSync(folder, { recursive: true });
  const all = plan.participants.map((p) => observe(p, p.joinAtMs / 100, jitterScale));
  writeFileSync(
    join(folder, "events.jsonl"),
    all
      .flatMap((o) => o.events)
      .map((e) => `${JSON.stringify(e)}\n`)
      .join(""),
  );
  writeFileSync(
    join(folder, "samples.jsonl"),
    all
      .flatMap((o) => o.samples)
      .map((s) => `${JSON.stringify(s)}\n`)
      .join(""),
  );
  writeManifest(folder, {
    shard: index,
    shards: count,
    runId: "run-1",
    scenarioHash: scenarioHash(sc),
    scenario: sc,
    statsIntervalMs: 5000,
    thresholds: [],
    url: "ws://127.0.0.1:7880",
    startAt: new Date(START).toISOString(),
    rooms: plan.rooms,
    participants: plan.participants.length,
    workers: 1,
    status: "done",
    exitCode: 0,
    endReason: "completed",
    startedAt: new Date(START).toISOString(),
    endedAt: new Date(END).toISOString(),
    ...over,
  });
  return { plan, samples: all.flatMap((o) => o.samples), events: all.flatMap((o) => o.events) };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lkswarm-merge-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Observations at these times (samples unless `kind`), counting how many were read. */
function stream(times: readonly number[], kind: Observation["kind"] = "sample") {
  const read = { n: 0 };
  async function* lines(): AsyncGenerator<Observation> {
    for (const t of times) {
      await Promise.resolve();
      read.n++;
      yield kind === "sample"
        ? ({ kind, t, sample: { t } } as unknown as Observation)
        : ({ kind, t, event: { t } } as unknown as Observation);
    }
  }
  return { lines: lines(), read };
}

describe("inTimeOrder", () => {
  it("gives the lines of several files in the order a sort of all of them would, ties by file then line", async () => {
    const files = [
      stream([1000, 3000, 2000, 2000, 5000], "event"),
      stream([500, 2000, 1500, 4000]),
      stream([2000, 900, 6000]),
    ];
    const out: Observation[] = [];
    for await (const o of inTimeOrder(
      files.map((f) => f.lines),
      10_000,
    ))
      out.push(o);
    expect(out.map((o) => `${o.kind[0]}${o.t}`)).toEqual([
      "s500",
      "s900",
      "e1000",
      "s1500",
      "e2000",
      "e2000",
      "s2000",
      "s2000",
      "e3000",
      "s4000",
      "e5000",
      "s6000",
    ]);
  });

  it("holds only the reorder window: the first line comes out before a long file is read past it", async () => {
    const long = stream(Array.from({ length: 10_000 }, (_, i) => i * 1000));
    const short = stream([0, 1000]);
    const lines = inTimeOrder([long.lines, short.lines], 10_000);
    const first = await lines.next();
    expect((first.value as Observation | undefined)?.t).toBe(0);
    // read until 10 s past the line given out, and one more
    expect(long.read.n).toBeLessThanOrEqual(12);
    let n = 1;
    while (!(await lines.next()).done) n++;
    expect(n).toBe(10_002);
  });

  it("refuses a line older than one already given out (merge then sorts every line in memory)", async () => {
    const files = [stream([0, 1000, 50_000, 100_000, 5000]), stream([0])];
    const out: number[] = [];
    await expect(
      (async () => {
        for await (const o of inTimeOrder(
          files.map((f) => f.lines),
          10_000,
        ))
          out.push(o.t);
      })(),
    ).rejects.toThrow();
    expect(out.at(-1)).toBeGreaterThan(5000);
  });
});

describe("mergeShards", () => {
  it("folds a shard whose lines were shuffled far out of time order as it folds the ordered one", async () => {
    writeShard(dir, scenario, 0, 2);
    writeShard(dir, scenario, 1, 2);
    const ordered = await mergeShards({ inputs: [dir], outputDir: join(dir, "a") });
    // the samples file reversed: lines minutes out of order, as a hand edit or a concatenation leaves them
    const samples = join(dir, "shard-1", "samples.jsonl");
    const lines = readFileSync(samples, "utf8").split("\n").filter(Boolean).reverse();
    writeFileSync(samples, lines.map((l) => `${l}\n`).join(""));
    const shuffled = await mergeShards({ inputs: [dir], outputDir: join(dir, "b") });
    const strip = (r: typeof ordered.report) => JSON.stringify({ ...r, run: undefined, files: undefined });
    expect(strip(shuffled.report)).toBe(strip(ordered.report));
    expect(shuffled.report.participants.joined).toBe(15);
  });

  it("sums counts over shards and takes percentiles over the concatenated raw windows", async () => {
    const shards = [0, 1, 2].map((i) => writeShard(dir, scenario, i, 3));
    const merged = await mergeShards({ inputs: [dir] });
    expect(merged.exitCode).toBe(ExitCode.ok);
    expect(merged.report.participants.joined).toBe(15);
    const samples = shards.flatMap((s) => s.samples);
    const lost = samples.flatMap((s) => s.inbound).reduce((n, t) => n + t.lost, 0);
    expect(merged.report.loss.audio.lost).toBe(lost);
    expect(merged.report.tracks.receiving.audio).toBe(10);
    const jitters = samples.flatMap((s) => s.inbound.map((t) => t.jitterS ?? 0));
    const [p95] = percentiles(jitters, [95], "windows");
    const figure = merged.report.figures.find(
      (f) => f.metric === "lkswarm_inbound_jitter_seconds" && f.kind === "audio",
    );
    expect(figure?.p95).toBe(p95?.value);
    expect(merged.report.thresholds?.[0]?.observed).toBe(p95?.value);
    expect(merged.report.shards).toMatchObject({ count: 3, covered: [0, 1, 2], missing: [], failed: [] });
    const junit = readFileSync(join(dir, "junit.xml"), "utf8");
    // the run's health checks ahead of the one threshold, none failed
    expect(junit).toMatch(/tests="\d+" failures="0"/);
    expect(junit).toContain('name="swarm health: participants"');
    expect(merged.report.health?.status).toBe("healthy");
  });

  it("reports a 1-shard run in the shape of the unsharded run, with the same figures", async () => {
    const { plan, samples, events } = writeShard(dir, scenario, 0, 1);
    const merged = await mergeShards({ inputs: [join(dir, "shard-0")] });
    const measurements = new Measurements();
    measurements.setRunWindow(START);
    const agg = new RunAggregator(plan.participants, 5000, measurements);
    for (const e of events) {
      if (e.type !== "event") continue;
      agg.onEvent(e.room, e.participant, e.event, e.t);
      measurements.onEvent(e, e.event);
    }
    for (const s of samples) {
      agg.onSample(s);
      measurements.onSample(s);
    }
    measurements.setRunWindow(START, END);
    const unsharded = runReport({
      runId: "run-1",
      scenario,
      url: "ws://127.0.0.1:7880",
      participants: plan.participants.length,
      workers: 1,
      outcome: {
        summary: agg.summary(END),
        endReason: "completed",
        startedAt: new Date(START).toISOString(),
        endedAt: new Date(END).toISOString(),
        durationMs: END - START,
        workersLost: [],
        workerPids: [],
      },
      verdict: undefined,
    });
    const { shards, verdict, thresholds, health, ...rest } = JSON.parse(
      JSON.stringify(merged.report),
    ) as Record<string, unknown>;
    expect(shards).toBeDefined();
    expect([verdict, thresholds, health].every((x) => x !== undefined)).toBe(true);
    expect(shapeOf_(rest)).toEqual(shapeOf_(JSON.parse(JSON.stringify(unsharded))));
    // percentiles are exact; a mean sums in file order, which may differ in the last bit
    const exact = (figures: unknown) =>
      (figures as Record<string, unknown>[]).map(({ avg, ...f }) => ({
        ...f,
        avg: typeof avg === "number" ? avg.toPrecision(12) : avg,
      }));
    expect(exact(rest.figures)).toEqual(exact(JSON.parse(JSON.stringify(unsharded.figures))));
  });

  it("says why when no shard finished: each shard's status, exit code and end reason", async () => {
    const only = mkdtempSync(join(tmpdir(), "merge-none-"));
    writeShard(only, scenario, 0, 2, { exitCode: ExitCode.error, endReason: "no-participant-joined" });
    writeShard(only, scenario, 1, 2, { status: "running", exitCode: undefined, endReason: undefined });
    await expect(mergeShards({ inputs: [only] })).rejects.toThrow(
      /nothing to merge: shard 0\/2 failed: ended in an error, exit 1 \(no-participant-joined\); shard 1\/2 failed: never finished \(killed, or still running\)$/,
    );
  });

  it("names a missing and a killed shard, leaves them out, and exits 1 unless --allow-partial", async () => {
    writeShard(dir, scenario, 0, 4);
    writeShard(dir, scenario, 1, 4, {
      status: "running",
      exitCode: undefined,
      endReason: undefined,
      endedAt: undefined,
    });
    writeShard(dir, scenario, 3, 4);
    const strict = await mergeShards({ inputs: [dir] });
    expect(strict.exitCode).toBe(ExitCode.error);
    expect(strict.shards).toMatchObject({
      count: 4,
      covered: [0, 3],
      missing: [2],
      failed: [{ shard: 1, status: "running" }],
    });
    // its banner names the code the merge exits with (1: shards missing, no --allow-partial)
    expect(strict.table).toMatch(/^health: INCONCLUSIVE \(exit 1\)/m);
    expect(strict.report.health?.exitCode).toBe(ExitCode.error);
    expect(strict.table).toMatch(/figures cover 2 of 4 shard\(s\)/);
    expect(strict.table).toMatch(/shard 2\/4 is missing/);
    expect(strict.table).toMatch(/shard 1\/4 failed: never finished/);
    const junit = readFileSync(join(dir, "junit.xml"), "utf8");
    expect(junit).toContain("shard 1/4 failed");
    // the two shards, and the health's lost shards (the swarm's side)
    expect(junit).toContain('failures="3"');
    expect(readFileSync(join(dir, "report.html"), "utf8")).toContain("shard 2/4 is missing");
    // judged over the whole run: the lost shards' participants are planned, never joined, and lost
    // on the swarm's side, so a partial merge is inconclusive, never a pass
    const partial = await mergeShards({ inputs: [dir], allowPartial: true });
    expect(partial.exitCode).toBe(ExitCode.inconclusive);
    expect(partial.report.health?.status).toBe("generator");
    const people = partial.report.health?.checks.find((c) => c.name === "participants");
    expect(people?.text).toMatch(
      /^\d+ of 15 planned joined, \d+ in 2 shards that did not finish \(1, 2\), in no figure$/,
    );
    expect(partial.table).toMatch(/^health: INCONCLUSIVE \(exit 2\)/);
    expect(partial.report.run.participants).toBe(partial.report.participants.planned);
    expect(partial.report.shards?.plannedParticipants).toBe(15);
  });

  it("merges a shard whose every worker died (exit 2, workers-lost): its people count, the merge is inconclusive, and it says why the shard ended", async () => {
    writeShard(dir, scenario, 0, 2);
    writeShard(dir, scenario, 1, 2, {
      exitCode: ExitCode.inconclusive,
      endReason: "workers-lost",
      workersLost: [{ worker: 0, code: null, signal: "SIGKILL" }],
    });
    const merged = await mergeShards({ inputs: [dir] });
    // a finished shard: merged, not missing, and judged with the run (its lost workers are the swarm's side)
    expect(merged.shards).toMatchObject({ count: 2, covered: [0, 1], missing: [], failed: [] });
    expect(merged.exitCode).toBe(ExitCode.inconclusive);
    expect(merged.report.health?.status).toBe("generator");
    expect(merged.report.health?.checks.find((c) => c.name === "workers")?.text).toBe(
      "1 worker process died",
    );
    expect(merged.table).toMatch(/^health: INCONCLUSIVE \(exit 2\)/m);
    // the merged run's end reason is the first shard's that did not complete, as for any other reason
    expect(merged.report.run.endReason).toBe("workers-lost");
  });

  it("judges the merged windows against the scenario's and the shards' own thresholds: a breach exits 99", async () => {
    const own = "lkswarm_inbound_jitter_seconds{kind=audio} p95 over windows < 5ms";
    for (const i of [0, 1]) writeShard(dir, scenario, i, 2, { thresholds: [own] });
    const merged = await mergeShards({ inputs: [dir] });
    expect(merged.exitCode).toBe(ExitCode.thresholdsFailed);
    expect(merged.report.thresholds?.map((t) => [t.threshold, t.status])).toEqual([
      [scenario.thresholds[0], "pass"],
      [own, "fail"],
    ]);
  });

  it("--baseline: the shards' relative thresholds and every figure against a baseline merge", async () => {
    const relative = "lkswarm_inbound_jitter_seconds{kind=audio} p95 over windows <= baseline + 10%";
    const a = join(dir, "a");
    for (const i of [0, 1]) writeShard(a, scenario, i, 2);
    expect((await mergeShards({ inputs: [a] })).exitCode).toBe(ExitCode.ok);
    const baseline = await loadRunRecord(a);
    // the same observations again: the relative threshold holds and nothing differs
    const same = join(dir, "same");
    for (const i of [0, 1]) writeShard(same, scenario, i, 2, { thresholds: [relative] });
    const passed = await mergeShards({ inputs: [same], baseline });
    expect(passed.exitCode).toBe(ExitCode.ok);
    expect(passed.report.thresholds?.find((t) => t.threshold === relative)?.status).toBe("pass");
    expect(passed.report.comparison?.counts).toMatchObject({ worse: 0, better: 0 });
    expect(passed.report.comparison?.baseline.file).toBe(join(a, "summary.json"));
    // three times the jitter in every window: the threshold breaks (99) and the comparison says worse
    const worse = join(dir, "worse");
    for (const i of [0, 1]) writeShard(worse, scenario, i, 2, { thresholds: [relative] }, 3);
    const failed = await mergeShards({ inputs: [worse], baseline });
    expect(failed.exitCode).toBe(ExitCode.thresholdsFailed);
    const result = failed.report.thresholds?.find((t) => t.threshold === relative);
    expect(result?.status).toBe("fail");
    expect(result?.baseline?.deltaRatio).toBeCloseTo(2, 1);
    const jitter = failed.report.comparison?.rows.find(
      (r) => r.label === "jitter" && r.kind === "audio" && r.stat === "p95",
    );
    expect(jitter?.change).toBe("worse");
    expect(jitter?.noise?.withinNoise).toBe(false);
    const files = ["report.html", "report.md", "junit.xml"].map((f) => readFileSync(join(worse, f), "utf8"));
    expect(files[0]).toContain('<table id="comparison"');
    expect(files[1]).toContain("### Against the baseline: ");
    expect(files[2]).toMatch(/name="lkswarm_inbound_jitter_seconds.*\[baseline .*delta \+/);
  });

  it("--baseline: a relative threshold without one, and a baseline of another workload, are refused", async () => {
    const relative = "lkswarm_join_duration_seconds p95 <= baseline + 20%";
    for (const i of [0, 1]) writeShard(dir, scenario, i, 2, { thresholds: [relative] });
    await expect(mergeShards({ inputs: [dir] })).rejects.toThrow(
      /compares with a baseline: pass --baseline <summary.json or run folder>$/,
    );
    const other = join(dir, "other");
    const bigger = { ...scenario, rooms: 6 };
    for (const i of [0, 1]) writeShard(other, bigger, i, 2);
    await mergeShards({ inputs: [other] });
    const baseline = await loadRunRecord(other);
    await expect(
      mergeShards({ inputs: [join(dir, "shard-0"), join(dir, "shard-1")], baseline }),
    ).rejects.toThrow(/ran different workloads \(rooms 6 vs 5\).*--force-compare$/);
    const forced = await mergeShards({
      inputs: [join(dir, "shard-0"), join(dir, "shard-1")],
      baseline,
      forceCompare: true,
      outputDir: join(dir, "forced"),
    });
    expect(forced.report.comparison?.rows.find((r) => r.label === "participants joined")).toMatchObject({
      baseline: 18,
      current: 15,
      change: "worse",
    });
  });

  it("refuses shards of two runs or two scenarios in one line naming both", async () => {
    writeShard(dir, scenario, 0, 2);
    writeShard(dir, scenario, 1, 2, { runId: "run-2" });
    await expect(mergeShards({ inputs: [dir] })).rejects.toThrow(
      /^cannot merge run run-1 with run run-2 .*pass the shard folders of one run only$/,
    );
    writeShard(dir, scenario, 1, 2, { scenarioHash: "0123456789ab" });
    await expect(mergeShards({ inputs: [dir] })).rejects.toThrow(
      /cannot merge scenario [0-9a-f]{12} \(2 shards\) with scenario 0123456789ab/,
    );
  });

  it("refuses a shard.json far larger than a shard writes before reading it", async () => {
    writeShard(dir, scenario, 0, 1);
    truncateSync(join(dir, "shard-0", "shard.json"), 3 * 2 ** 20);
    await expect(mergeShards({ inputs: [dir] })).rejects.toThrow(
      /shard-0\/shard\.json: is 3145728 bytes, larger than a shard\.json a shard writes \(at most 2097152\)/,
    );
  });

  it("refuses a summary.json far larger than a run writes before reading it", async () => {
    const file = join(dir, "summary.json");
    writeFileSync(file, "");
    truncateSync(file, 300 * 2 ** 20);
    await expect(loadRunRecord(file)).rejects.toThrow(
      /summary\.json: is 300 MiB, larger than a summary\.json the swarm writes/,
    );
    await expect(loadRunRecord(dir)).rejects.toThrow(/summary\.json: is 300 MiB/);
  });

  it("reads a shard's lines one by one, refusing a bad one by its number", async () => {
    writeShard(dir, scenario, 0, 1);
    const samples = join(dir, "shard-0", "samples.jsonl");
    const lines = readFileSync(samples, "utf8").split("\n").filter(Boolean);
    writeFileSync(samples, `${lines[0]}\r\n\n${lines[1]}\n{nope\n`);
    await expect(mergeShards({ inputs: [dir] })).rejects.toThrow(
      /shard-0\/samples\.jsonl:4: not a JSON line$/,
    );
    writeFileSync(samples, `${lines[0]}\n${"x".repeat(2 ** 20 + 1)}\n`);
    await expect(mergeShards({ inputs: [dir] })).rejects.toThrow(
      /samples\.jsonl:2: a line of 1048577 characters is not one a shard writes$/,
    );
  });

  it("reads a shard's gzip line files (--gzip-lines) as the plain ones; refuses both forms at once and a cut-short .gz", async () => {
    [0, 1].forEach((i) => writeShard(dir, scenario, i, 2));
    const plain = await mergeShards({ inputs: [dir], outputDir: join(dir, "a") });
    // shard 1's files rewritten as a run with --gzip-lines writes them
    for (const name of ["events.jsonl", "samples.jsonl"]) {
      const path = join(dir, "shard-1", name);
      const out = lineFile(path, true);
      for (const line of readFileSync(path, "utf8").split("\n").filter(Boolean)) out.write(`${line}\n`);
      await out.end();
      expect(out.path).toBe(`${path}.gz`);
      expect(statSync(out.path).size).toBeLessThan(statSync(path).size / 3);
      rmSync(path);
    }
    const gz = await mergeShards({ inputs: [dir], outputDir: join(dir, "b") });
    const strip = (r: typeof plain.report) => JSON.stringify({ ...r, run: undefined, files: undefined });
    expect(strip(gz.report)).toBe(strip(plain.report));
    expect(gz.report.participants.joined).toBe(15);

    const samplesGz = join(dir, "shard-1", "samples.jsonl.gz");
    writeFileSync(join(dir, "shard-1", "samples.jsonl"), "");
    await expect(mergeShards({ inputs: [dir] })).rejects.toThrow(
      /shard-1\/samples\.jsonl and .*samples\.jsonl\.gz are both there: .*remove the other/,
    );
    rmSync(join(dir, "shard-1", "samples.jsonl"));
    const whole = readFileSync(samplesGz);
    writeFileSync(samplesGz, whole.subarray(0, Math.floor(whole.length / 2)));
    await expect(mergeShards({ inputs: [dir] })).rejects.toThrow(/samples\.jsonl\.gz: not a whole gzip file/);
  });

  it("names a shard's missing raw observations and what to copy", async () => {
    [0, 1].forEach((i) => writeShard(dir, scenario, i, 2));
    rmSync(join(dir, "shard-1", "samples.jsonl"));
    await expect(mergeShards({ inputs: [dir] })).rejects.toThrow(
      /shard-1\/samples\.jsonl: missing: .*copy the whole shard-<i> folder/,
    );
  });

  it("says what to pass when no shard is found", async () => {
    await expect(mergeShards({ inputs: [dir] })).rejects.toThrow(
      /no shard.json in .*pass a sharded run's output folder/,
    );
  });
});

/** The keys of a JSON value, recursively (array shapes by their first element): its shape. */
function shapeOf_(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? [] : [shapeOf_(value[0])];
  if (value !== null && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .map(([k, v]) => [k, shapeOf_(v)])
        .sort(([a], [b]) => String(a).localeCompare(String(b))),
    );
  return typeof value;
}
