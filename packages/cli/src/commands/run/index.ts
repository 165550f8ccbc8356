import { randomBytes } from "node:crypto";
import { appendFile, readFile, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { loadScenario, parseDuration, parseScenarioObject, type Scenario } from "@livekit-swarm/schema";
import { Testbed, down, listTestbeds } from "@livekit-swarm/testbed";
import { SwarmExporter, type MetricsServer } from "@livekit-swarm/exporter";
import {
  Measurements,
  applyBaseline,
  defaultThresholds,
  evaluate,
  loadBaseline,
  githubAnnotations,
  junitXml,
  markdownSummary,
  parseThreshold,
  type Threshold,
  type Verdict,
} from "@livekit-swarm/gate";
import { ExitCode } from "../../exit-codes.js";
import { helpText, parseOptions, UsageError, type CommandSpec, type OptionValues } from "../../options.js";
import {
  defaultWorkers,
  formatValue,
  mediaPlanFor,
  orchestrate,
  planRun,
  reportHtml,
  shapeOf,
  shardByRoom,
  summaryTable,
  type ProgressView,
  type RunOutcome,
  type RunTarget,
} from "@livekit-swarm/load";
import { preflight } from "@livekit-swarm/load";

/** Flags that set scenario keys: flag name -> key path in the scenario file. */
const SCENARIO_FLAGS: Record<string, string> = {
  rooms: "rooms",
  "video-publishers": "video-publishers",
  "audio-publishers": "audio-publishers",
  subscribers: "subscribers",
  "publishers-subscribe": "publishers-subscribe",
  duration: "duration",
  "num-per-second": "num-per-second",
  "video-resolution": "video.resolution",
  "video-codec": "video.codec",
  "video-fps": "video.fps",
  "subscribe-limit": "subscribe-limit",
  "room-prefix": "room-prefix",
  "identity-prefix": "identity-prefix",
  "latency-probes": "latency-probes",
  data: "data",
  name: "name",
};

export const SPEC: CommandSpec = {
  name: "run",
  summary:
    "Runs a swarm of headless participants (native @livekit/rtc-node engine) in many rooms, publishing audio and " +
    "video, and reports what users would feel: join time, first frame, loss, jitter, RTT, freezes, bitrate, " +
    "reconnects, end-to-end latency. Without --url it starts an embedded local LiveKit and runs against it. " +
    "Flags override the scenario file. Writes summary.json, samples.jsonl, events.jsonl and report.html.",
  usage: "swarm [run] [options]",
  options: [
    {
      name: "url",
      type: "string",
      env: "LIVEKIT_URL",
      placeholder: "ws://host:7880",
      description: "LiveKit server; none: start an embedded local testbed",
    },
    { name: "api-key", type: "string", env: "LIVEKIT_API_KEY", description: "API key" },
    {
      name: "api-secret",
      type: "string",
      env: "LIVEKIT_API_SECRET",
      description: "API secret (never printed)",
    },
    {
      name: "scenario",
      type: "string",
      placeholder: "file.yaml",
      description: "scenario file (see scenarios/)",
    },
    { name: "rooms", type: "integer", description: "rooms (default 1)" },
    {
      name: "video-publishers",
      type: "integer",
      description: "publishers per room sending video (default 1)",
    },
    {
      name: "audio-publishers",
      type: "integer",
      description: "publishers per room sending audio, the same participants as video first (default 1)",
    },
    { name: "subscribers", type: "integer", description: "receive-only participants per room (default 1)" },
    {
      name: "publishers-subscribe",
      type: "boolean",
      description: "publishers also receive each other (a conference)",
    },
    {
      name: "duration",
      type: "string",
      placeholder: "30s",
      description: "how long the full swarm holds after the last join (default 30s)",
    },
    { name: "num-per-second", type: "number", description: "joins per second (default 5)" },
    {
      name: "video-resolution",
      type: "string",
      placeholder: "360p",
      description: "180p, 360p, 540p, 720p, 1080p or WxH",
    },
    { name: "video-codec", type: "string", placeholder: "vp8", description: "vp8, h264, vp9 or av1" },
    { name: "video-fps", type: "integer", description: "video frames per second" },
    {
      name: "no-simulcast",
      type: "boolean",
      description: "publish one video layer (cheaper for bulk publishers)",
    },
    { name: "simulcast", type: "boolean", description: "publish simulcast layers (the default)" },
    {
      name: "subscribe-limit",
      type: "integer",
      description: "publishers each subscriber subscribes to at most",
    },
    { name: "data", type: "boolean", description: "publishers send a reliable data packet every second" },
    {
      name: "latency-probes",
      type: "integer",
      description: "subscribers per room that decode video to measure latency (default 1)",
    },
    { name: "room-prefix", type: "string", description: "room name prefix (default: lkswarm-<run id>-)" },
    { name: "identity-prefix", type: "string", description: "participant identity prefix" },
    { name: "name", type: "string", description: "run name, the scenario label of metrics" },
    {
      name: "threshold",
      type: "strings",
      placeholder: "expr",
      description:
        'quality gate, repeatable: "lkswarm_inbound_loss_ratio{kind=video} p95 over participants < 2%"; a fail breach exits 99',
    },
    {
      name: "gate",
      type: "string",
      placeholder: "default",
      description: "add the catalog's default thresholds",
    },
    {
      name: "baseline",
      type: "string",
      placeholder: "file|dir",
      description: 'an earlier run\'s summary.json or folder, for thresholds like "<= baseline + 20%"',
    },
    {
      name: "force-compare",
      type: "boolean",
      description: "compare with a --baseline of a different workload (rooms, roles, media)",
    },
    {
      name: "metrics-port",
      type: "integer",
      description: "serve Prometheus /metrics on this port during the run (0: pick one)",
    },
    { name: "metrics-host", type: "string", default: "127.0.0.1", description: "address /metrics binds" },
    {
      name: "linger",
      type: "string",
      placeholder: "15s",
      description: "keep /metrics up this long after the run, for a final scrape",
    },
    {
      name: "pushgateway",
      type: "string",
      placeholder: "url",
      description: "push final metrics to a Pushgateway",
    },
    {
      name: "per-participant-labels",
      type: "boolean",
      description: "room and participant labels on metrics (small runs only: cardinality)",
    },
    {
      name: "output",
      type: "string",
      short: "o",
      placeholder: "dir",
      description: "where reports go (default swarm-results/<run id>)",
    },
    { name: "json", type: "boolean", description: "print summary.json to stdout instead of the table" },
    {
      name: "workers",
      type: "integer",
      description: "worker processes (default: one per ~100 participants, at most one per core)",
    },
    {
      name: "stats-interval",
      type: "string",
      placeholder: "5s",
      default: "5s",
      description: "getStats sampling interval (every 1 s costs +39% CPU)",
    },
  ],
  examples: [
    "swarm                                          # 1 room against an embedded local LiveKit",
    "swarm --rooms 500 --video-publishers 1 --subscribers 4 --duration 5m",
    "swarm --scenario scenarios/conference-720p.yaml --url wss://lk.example.com",
    "LIVEKIT_URL=ws://127.0.0.1:7880 LIVEKIT_API_KEY=k LIVEKIT_API_SECRET=s swarm --rooms 10 --no-simulcast",
    "swarm --rooms 3 --json > summary.json",
    'swarm --rooms 20 --gate default --threshold "lkswarm_join_duration_seconds p99 < 2s"   # exit 99 on a breach',
    'swarm --rooms 20 -o out/v2 --baseline out/v1 --threshold "lkswarm_join_duration_seconds p95 <= baseline + 20%"',
  ],
};

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const [head, tail] = path.split(".", 2) as [string, string | undefined];
  if (tail === undefined) {
    obj[head] = value;
    return;
  }
  const child = (obj[head] ?? {}) as Record<string, unknown>;
  obj[head] = child;
  child[tail] = value;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const cur = out[k];
    out[k] =
      typeof cur === "object" &&
      cur !== null &&
      !Array.isArray(cur) &&
      typeof v === "object" &&
      v !== null &&
      !Array.isArray(v)
        ? deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** The scenario from file and flags; flags win. Problems name the file or "command line". */
async function resolveScenario(values: OptionValues, runId: string): Promise<Scenario> {
  const fromFlags: Record<string, unknown> = {};
  for (const [flag, path] of Object.entries(SCENARIO_FLAGS)) {
    if (values[flag] !== undefined) setPath(fromFlags, path, values[flag]);
  }
  if (values["no-simulcast"] === true && values.simulcast === true) {
    throw new UsageError("run: --simulcast and --no-simulcast contradict each other: pass one");
  }
  if (values["no-simulcast"] === true) setPath(fromFlags, "video.simulcast", false);
  if (values.simulcast === true) setPath(fromFlags, "video.simulcast", true);
  parseScenarioObject(fromFlags, "command line");
  const file = values.scenario as string | undefined;
  let merged = fromFlags;
  let source = "command line";
  if (file !== undefined) {
    await loadScenario(file); // reports the file's own problems against the file
    const raw = parseYaml(await readFile(file, "utf8")) as Record<string, unknown>;
    merged = deepMerge(raw, fromFlags);
    source = Object.keys(fromFlags).length > 0 ? `${file} with command-line overrides` : file;
  }
  if (merged["room-prefix"] === undefined) merged = { ...merged, "room-prefix": `lkswarm-${runId}-` };
  return parseScenarioObject(merged, source);
}

async function resolveTarget(values: OptionValues): Promise<{ target: RunTarget; testbed?: Testbed }> {
  const url = values.url as string | undefined;
  if (url === undefined || url === "") {
    await sweepOrphanedTestbeds();
    const testbed = await Testbed.start({ name: `swarm-${process.pid}` });
    return { target: { url: testbed.url, apiKey: testbed.apiKey, apiSecret: testbed.apiSecret }, testbed };
  }
  if (!/^wss?:\/\//.test(url) && !/^https?:\/\//.test(url)) {
    throw new UsageError(
      `run: --url: expected ws://, wss://, http:// or https://, got ${JSON.stringify(url)}`,
    );
  }
  const apiKey = values["api-key"] as string | undefined;
  const apiSecret = values["api-secret"] as string | undefined;
  if (apiKey === undefined || apiSecret === undefined) {
    throw new UsageError(
      "run: --url needs --api-key and --api-secret (or LIVEKIT_API_KEY and LIVEKIT_API_SECRET)",
    );
  }
  const wsUrl = url.replace(/^http/, "ws");
  await preflight(wsUrl, apiKey, apiSecret);
  return { target: { url: wsUrl, apiKey, apiSecret } };
}

/**
 * Embedded testbeds are named swarm-<pid of the run>. A run killed hard (SIGKILL, a closed pipe)
 * cannot stop its own; the next embedded run takes down those whose run is gone.
 */
async function sweepOrphanedTestbeds(): Promise<void> {
  for (const tb of listTestbeds()) {
    const owner = /^swarm-(\d+)$/.exec(tb.name);
    if (owner === null) continue;
    const pid = Number(owner[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) await down(tb.runDir);
  }
}

function progressLine(p: ProgressView): string {
  const clock =
    p.totalMs > 1e12
      ? `[${(p.elapsedMs / 1000).toFixed(0).padStart(4)} s]`
      : `[${(p.elapsedMs / 1000).toFixed(0).padStart(4)} s / ${(p.totalMs / 1000).toFixed(0)} s]`;
  const eta =
    p.phase === "ramp" ? `, ramp ETA ${Math.max(0, (p.rampMs - p.elapsedMs) / 1000).toFixed(0)} s` : "";
  return (
    `${clock} ${p.phase}${eta}: ` +
    `${p.joined}/${p.planned} joined, ${p.connected} connected, ${p.failed} failed; ` +
    `loss p95 ${formatValue(p.lossP95, "ratio")}, jitter p95 ${formatValue(p.jitterP95S, "s")}, in ${formatValue(p.bitrateInBps, "bps")}`
  );
}

/** What distinguishes a canary from a run: it never ends by itself and brings participants back. */
export interface RunProfile {
  readonly rejoin: boolean;
  readonly forever: boolean;
}

export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parseOptions(SPEC, argv);
  if (values.help === true) {
    process.stdout.write(helpText(SPEC));
    return ExitCode.ok;
  }
  return execute(values, { rejoin: false, forever: false });
}

export async function execute(values: OptionValues, profile: RunProfile): Promise<number> {
  const runId = `${new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15)}-${randomBytes(2).toString("hex")}`;
  const scenario = await resolveScenario(values, runId);
  const baseline = await loadBaseline(
    values.baseline as string | undefined,
    scenario,
    values["force-compare"] === true,
  );
  const thresholds = applyBaseline(resolveThresholds(scenario, values), baseline);
  const plan = planRun(shapeOf(scenario));
  if (plan.participants.length === 0) {
    throw new UsageError(
      "run: the scenario has no participants: set --video-publishers, --audio-publishers or --subscribers above 0",
    );
  }
  const url = values.url as string | undefined;
  if (url !== undefined && isLivekitCloud(url) && plan.participants.length > 50) {
    throw new UsageError(
      `run: ${plan.participants.length} participants against LiveKit Cloud: its acceptable-use policy allows at most 50 in a load test (as lk load-test enforces); lower --rooms/--subscribers or test a self-hosted server`,
    );
  }
  const statsIntervalMs = parseInterval(values["stats-interval"] as string);
  const outputDir = resolve((values.output as string | undefined) ?? join("swarm-results", runId));
  const workers =
    (values.workers as number | undefined) ??
    defaultWorkers(plan.participants.length, availableParallelism());
  const json = values.json === true;
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };

  const interrupt = new AbortController();
  const force = new AbortController();
  let signalName: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalName !== undefined) {
      log("second signal: stopping now");
      force.abort();
      return;
    }
    signalName = sig;
    log(`${sig}: stopping joins, disconnecting everyone and writing the report (again to force)`);
    interrupt.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const measurements = new Measurements();
  const exporter =
    values["metrics-port"] !== undefined || values.pushgateway !== undefined
      ? new SwarmExporter({
          scenario: scenario.name,
          runId,
          perParticipant: values["per-participant-labels"] === true,
        })
      : undefined;
  const lingerMs = values.linger !== undefined ? parseDurationFlag("linger", values.linger as string) : 0;
  const watchAbort = abortWatcher(thresholds, measurements, (t) => {
    log(`threshold breached for its abort window, ending the run: ${t.text}`);
    interrupt.abort("threshold");
  });

  let testbed: Testbed | undefined;
  let metricsServer: MetricsServer | undefined;
  try {
    // every series at zero before the first join, so rate() sees each participant's first event
    exporter?.prepare(
      shardByRoom(plan, workers).flatMap((shard, worker) =>
        shard.map((p) => ({ worker, role: p.role, room: p.room, participant: p.identity })),
      ),
    );
    if (exporter !== undefined && values["metrics-port"] !== undefined) {
      metricsServer = await exporter.serve({
        port: values["metrics-port"] as number,
        host: values["metrics-host"] as string,
      });
      log(`metrics: ${metricsServer.url}`);
    }
    if (url === undefined || url === "") log("no --url: starting an embedded local LiveKit (testbed)...");
    const resolved = await resolveTarget(values);
    testbed = resolved.testbed;
    if (interrupt.signal.aborted)
      return signalName === "SIGTERM" ? ExitCode.terminated : ExitCode.interrupted;
    log(
      `run ${runId}: ${plan.rooms.length} room(s), ${plan.participants.length} participants against ${resolved.target.url}, ` +
        `${workers} worker(s); ramp ${(plan.rampMs / 1000).toFixed(1)} s then ${profile.forever ? "hold until stopped, rejoining" : `hold ${(scenario.duration / 1000).toFixed(0)} s`}; reports in ${outputDir}`,
    );
    const tty = process.stderr.isTTY;
    let lastPlain = 0;
    const outcome = await orchestrate({
      target: resolved.target,
      plan,
      media: { ...mediaPlanFor(scenario), ...(profile.rejoin ? { rejoin: true } : {}) },
      // forever: about 285 000 years, and setTimeout-safe because nothing waits on it directly
      holdMs: profile.forever ? Number.MAX_SAFE_INTEGER : scenario.duration,
      persistent: profile.forever,
      statsIntervalMs,
      workers,
      outputDir,
      signal: interrupt.signal,
      forceSignal: force.signal,
      measurements,
      ...(exporter !== undefined ? { observers: [exporter] } : {}),
      onProgress: (p) => {
        watchAbort();
        if (tty) process.stderr.write(`\r\x1b[2K${progressLine(p)}`);
        else if (p.elapsedMs - lastPlain >= 5000) {
          lastPlain = p.elapsedMs;
          log(progressLine(p));
        }
      },
    });
    if (tty) process.stderr.write("\n");
    const verdict = thresholds.length > 0 ? evaluate(thresholds, measurements) : undefined;
    await writeReports(
      outcome,
      outputDir,
      runId,
      scenario,
      resolved.target.url,
      plan.participants.length,
      workers,
      json,
      verdict,
    );
    if (exporter !== undefined) {
      const gateway = values.pushgateway as string | undefined;
      if (gateway !== undefined) {
        await exporter.push(gateway);
        log(`metrics pushed to ${gateway}`);
      }
      await writeFile(join(outputDir, "metrics.prom"), await exporter.metrics());
    }
    // a final scrape after a completed (or threshold-aborted) run; Ctrl-C means stop now
    if (metricsServer !== undefined && lingerMs > 0 && signalName === undefined) {
      log(`keeping ${metricsServer.url} up for ${lingerMs / 1000} s for a final scrape`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, lingerMs);
        force.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        });
        interrupt.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return exitCodeFor(outcome, signalName, log, verdict);
  } finally {
    await metricsServer?.close();
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    if (testbed !== undefined) await testbed.stop();
  }
}

function exitCodeFor(
  outcome: RunOutcome,
  signalName: NodeJS.Signals | undefined,
  log: (l: string) => void,
  verdict: Verdict | undefined,
): number {
  if (outcome.workersLost.length > 0) {
    log(
      `${outcome.workersLost.length} worker process(es) died during the run; their participants are counted as disconnected (worker_died)`,
    );
  }
  switch (outcome.endReason) {
    case "interrupted":
      return signalName === "SIGTERM" ? ExitCode.terminated : ExitCode.interrupted;
    case "server-unreachable":
      log("the server became unreachable during the run: the report holds what was measured until then");
      return ExitCode.error;
    case "no-participant-joined":
      log("no participant could join: see join failures above and events.jsonl");
      return ExitCode.error;
    case "aborted":
    case "completed":
      return verdict !== undefined && !verdict.passed ? ExitCode.thresholdsFailed : ExitCode.ok;
  }
}

/** Scenario thresholds, then --threshold flags, then the catalog's defaults with --gate default. */
function resolveThresholds(scenario: Scenario, values: OptionValues): Threshold[] {
  const gate = values.gate as string | undefined;
  if (gate !== undefined && gate !== "default") {
    throw new UsageError(
      `run: --gate: expected "default" (the catalog's thresholds), got ${JSON.stringify(gate)}`,
    );
  }
  const written = [...scenario.thresholds, ...((values.threshold as string[] | undefined) ?? [])].map((t) =>
    parseThreshold(t),
  );
  const all = [...written, ...(gate === "default" ? defaultThresholds() : [])];
  // the scenario's warm-up applies to every threshold that sets none of its own
  return all.map((t) =>
    t.warmupMs === undefined && scenario.warmup > 0 ? { ...t, warmupMs: scenario.warmup } : t,
  );
}

/**
 * Returns a check, called about once a second, that ends the run when a fail threshold with abort=
 * has been breached without a break for its abort window.
 */
function abortWatcher(
  thresholds: readonly Threshold[],
  measurements: Measurements,
  abort: (t: Threshold) => void,
): () => void {
  const watched = thresholds.filter((t) => t.abortAfterMs !== undefined);
  const breachedSince = new Map<Threshold, number>();
  let fired = false;
  return () => {
    if (fired || watched.length === 0) return;
    const now = Date.now();
    for (const r of evaluate(watched, measurements).results.map((res, i) => ({ res, t: watched[i] }))) {
      if (r.t === undefined) continue;
      if (r.res.status !== "fail") {
        breachedSince.delete(r.t);
        continue;
      }
      const since = breachedSince.get(r.t) ?? now;
      breachedSince.set(r.t, since);
      if (now - since >= (r.t.abortAfterMs ?? Infinity)) {
        fired = true;
        abort(r.t);
        return;
      }
    }
  };
}

async function writeReports(
  outcome: RunOutcome,
  outputDir: string,
  runId: string,
  scenario: Scenario,
  url: string,
  participants: number,
  workers: number,
  json: boolean,
  verdict: Verdict | undefined,
): Promise<void> {
  const table = summaryTable(outcome) + (verdict !== undefined ? `\n${verdictLines(verdict)}` : "");
  const summary = {
    run: {
      id: runId,
      scenario: scenario.name,
      url,
      engine: "native",
      startedAt: outcome.startedAt,
      endedAt: outcome.endedAt,
      durationS: outcome.durationMs / 1000,
      endReason: outcome.endReason,
      participants,
      workers,
      workersLost: outcome.workersLost,
      workerPids: outcome.workerPids,
    },
    scenario,
    ...(verdict !== undefined
      ? { verdict: verdict.passed ? "pass" : "fail", thresholds: verdict.results }
      : {}),
    ...outcome.summary,
  };
  if (verdict !== undefined) {
    const title = `livekit-swarm ${scenario.name} (run ${runId})`;
    await writeFile(
      join(outputDir, "junit.xml"),
      junitXml(verdict, "livekit-swarm", outcome.durationMs / 1000),
    );
    const md = markdownSummary(verdict, title);
    await writeFile(join(outputDir, "report.md"), md);
    const stepSummary = process.env.GITHUB_STEP_SUMMARY;
    if (stepSummary !== undefined && stepSummary !== "") await appendFile(stepSummary, `${md}\n`);
    if (process.env.GITHUB_ACTIONS === "true")
      for (const line of githubAnnotations(verdict)) process.stdout.write(`${line}\n`);
  }
  await writeFile(join(outputDir, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
  await writeFile(
    join(outputDir, "report.html"),
    reportHtml(outcome, `livekit-swarm run ${runId} (${scenario.name})`, table),
  );
  if (json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    const files = ["summary.json", "report.html", "samples.jsonl", "events.jsonl"];
    if (verdict !== undefined) files.push("junit.xml", "report.md");
    process.stdout.write(`\n${table}\nreports: ${outputDir}/{${files.join(",")}}\n`);
  }
}

function verdictLines(verdict: Verdict): string {
  const mark = { pass: "pass   ", fail: "FAIL   ", warn: "warn   ", "no-data": "NO DATA" } as const;
  const lines = verdict.results.map((r) => `  ${mark[r.status]} ${r.message}`);
  return `thresholds: ${verdict.passed ? "passed" : "FAILED (exit 99)"}\n${lines.join("\n")}\n`;
}

function isLivekitCloud(url: string): boolean {
  try {
    return new URL(url.replace(/^ws/, "http")).hostname.endsWith(".livekit.cloud");
  } catch {
    return false;
  }
}

function parseDurationFlag(flag: string, text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new UsageError(`run: --${flag}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function parseInterval(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text);
  if (match === null)
    throw new UsageError(
      `run: --stats-interval: expected a duration like 5s or 500ms, got ${JSON.stringify(text)}`,
    );
  const ms = Number(match[1]) * (match[2] === "ms" ? 1 : 1000);
  if (ms < 200) throw new UsageError(`run: --stats-interval: ${text} is too short; 200ms is the least`);
  return ms;
}
