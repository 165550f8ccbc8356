#!/usr/bin/env node
/**
 * `npm run bench:merge`: how much memory and time `swarm merge` takes over a long, wide run
 * (issue 49). It writes a synthetic one-shard run from a real plan (rooms of one audio publisher
 * and `--subscribers` subscribers, a window every 5 s for `--minutes`), then merges it in a child
 * process and prints the child's peak RSS (getrusage's maxrss) and wall time. Not a test: figures
 * go to bench/results.md by hand, with the machine's load beside them.
 *
 *   npm run bench:merge -- --participants 10000 --minutes 60
 */
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "@commander-js/extra-typings";
import { mergeShards, planRun, scenarioHash, shapeOf, shardPlan, writeManifest } from "@livekit-swarm/load";
import { inboundTrackSample, messageOf, parseScenario } from "@livekit-swarm/schema";

const WINDOW_MS = 5000;
const START = Date.parse("2026-11-29T06:00:00Z");

interface Shape {
  readonly participants: number;
  readonly subscribers: number;
  readonly minutes: number;
}

/** Writes the synthetic shard under `dir`; returns how many sample lines it holds. */
async function writeShard(dir: string, shape: Shape): Promise<{ participants: number; samples: number }> {
  const rooms = Math.max(1, Math.round(shape.participants / (1 + shape.subscribers)));
  const scenario = parseScenario(
    `name: merge-bench\nrooms: ${rooms}\nvideo-publishers: 0\naudio-publishers: 1\nsubscribers: ${shape.subscribers}\nnum-per-second: 1000\n`,
    "merge-bench",
  );
  const plan = shardPlan(planRun(shapeOf(scenario)), { index: 0, count: 1 });
  const shard = join(dir, "shard-0");
  mkdirSync(shard, { recursive: true });
  const events = createWriteStream(join(shard, "events.jsonl"));
  for (const p of plan.participants) {
    const joined = { type: "joined", joinS: 0.2 + (p.joinAtMs % 97) / 1000 };
    events.write(
      `${JSON.stringify({ type: "event", t: START + p.joinAtMs + 300, worker: 0, room: p.room, participant: p.identity, role: p.role, event: joined })}\n`,
    );
  }
  await new Promise((resolve) => events.end(resolve));
  const samples = createWriteStream(join(shard, "samples.jsonl"));
  const windows = Math.round((shape.minutes * 60_000) / WINDOW_MS);
  let n = 0;
  for (let w = 1; w <= windows; w++) {
    for (const [i, p] of plan.participants.entries()) {
      const inbound =
        p.role === "subscriber"
          ? [
              inboundTrackSample({
                key: "a1",
                kind: "audio",
                expected: 250,
                received: 250 - (i % 3),
                lost: i % 3,
                bytes: 8000,
                jitterS: 0.001 * ((i * 7 + w) % 23),
                totalSamples: 240_000,
              }),
            ]
          : [];
      const line = JSON.stringify({
        type: "sample",
        t: START + 2000 + w * WINDOW_MS + (i % 50),
        durationMs: WINDOW_MS,
        room: p.room,
        participant: p.identity,
        role: p.role,
        worker: 0,
        inbound,
        outbound: [],
        rttS: 0.001 * (1 + (i % 5)),
        dataSent: 0,
        dataReceived: 0,
      });
      if (!samples.write(`${line}\n`))
        await new Promise<void>((resolve) =>
          samples.once("drain", () => {
            resolve();
          }),
        );
      n++;
    }
  }
  await new Promise((resolve) => samples.end(resolve));
  const end = START + 2000 + (windows + 1) * WINDOW_MS;
  // the manifest as a shard writes it (load's writeManifest), so the merge reads what a run leaves
  writeManifest(shard, {
    shard: 0,
    shards: 1,
    runId: "merge-bench",
    scenarioHash: scenarioHash(scenario),
    scenario,
    statsIntervalMs: WINDOW_MS,
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
    endedAt: new Date(end).toISOString(),
  });
  return { participants: plan.participants.length, samples: n };
}

/** In the child: merges `dir` and prints one JSON line of what it took. */
async function mergeChild(dir: string): Promise<void> {
  const t0 = performance.now();
  const out = join(dir, `out-${process.pid}`);
  const r = await mergeShards({ inputs: [dir], outputDir: out });
  const jitter = r.report.figures.find((f) => f.metric === "lkswarm_inbound_jitter_seconds");
  process.stdout.write(
    `${JSON.stringify({
      seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      joined: r.report.participants.joined,
      jitterP95S: jitter?.p95,
      sketched: jitter?.sketched !== undefined,
    })}\n`,
  );
  rmSync(out, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const command = new Command("bench:merge")
    .option("--participants <n>", "participants in the synthetic run", "10000")
    .option("--subscribers <n>", "subscribers per room (one audio publisher each)", "4")
    .option("--minutes <n>", "the run's length, one window every 5 s", "60")
    .option("--dir <path>", "where to write the run (kept for another merge when given)")
    .option("--child <dir>", "internal: merge this run and report")
    .parse();
  const o = command.opts();
  if (o.child !== undefined) return mergeChild(o.child);
  const shape = {
    participants: Number(o.participants),
    subscribers: Number(o.subscribers),
    minutes: Number(o.minutes),
  };
  for (const [name, v] of Object.entries(shape))
    if (!(Number.isFinite(v) && v > 0)) throw new Error(`--${name} ${String(v)}: expected a number over 0`);
  const dir = o.dir ?? join(tmpdir(), `merge-bench-${process.pid}`);
  if (!existsSync(join(dir, "shard-0", "shard.json"))) {
    const t0 = performance.now();
    const written = await writeShard(dir, shape);
    process.stdout.write(
      `wrote ${written.participants} participants, ${written.samples} samples in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${dir}\n`,
    );
  }
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--child", dir], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  if (o.dir === undefined) rmSync(dir, { recursive: true, force: true });
  if (code !== 0) throw new Error(`the merge exited ${String(code)}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:merge: ${messageOf(err)}\n`);
  process.exitCode = 1;
});
