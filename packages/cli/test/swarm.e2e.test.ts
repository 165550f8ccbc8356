import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { livekitMetrics } from "@livekit-swarm/schema";
import { Testbed } from "@livekit-swarm/testbed";
import { expectCodeOrCrowded, swarm, testbedEnv, type CliResult } from "@livekit-swarm/test-kit";

interface Summary {
  run: { endReason: string; participants: number; durationS: number };
  participants: { planned: number; joined: number; joinFailures: Record<string, number> };
  tracks: {
    expected: { audio: number; video: number };
    receiving: { audio: number; video: number };
    decodingVideo: number;
  };
  loss: Record<"audio" | "video", { lost: number; expected: number; ratio: number | undefined }>;
  figures: { metric: string; kind?: string; n: number; p50?: number; p95?: number; population: string }[];
}

const figure = (s: Summary, metric: string, kind?: string): Summary["figures"][number] | undefined =>
  s.figures.find((f) => f.metric === metric && f.kind === kind);

/**
 * Metric families that have at least one sample on a Prometheus text page. Families come from the
 * `# TYPE` lines: stripping _count/_sum from sample names would mangle a gauge named *_count.
 */
function families(text: string): Set<string> {
  const lines = text.split("\n");
  const declared = lines.filter((l) => l.startsWith("# TYPE ")).map((l) => l.split(" ")[2] ?? "");
  const sampled = new Set(
    lines.filter((l) => !l.startsWith("#") && l.trim() !== "").map((l) => l.split(/[{ ]/)[0] ?? ""),
  );
  return new Set(
    declared.filter((name) =>
      [name, `${name}_bucket`, `${name}_count`].some((sample) => sampled.has(sample)),
    ),
  );
}

// 3 rooms x (1 audio+video publisher + 2 subscribers), held 14.5 s: long enough for three 5 s stats
// windows and for the server's own 5 s connection-stats window to feed its histograms
describe("swarm against a real one-node LiveKit", () => {
  let tb: Testbed;
  let out: string;
  let result: CliResult;
  let summary: Summary;
  let metricsDuringRun = "";
  let metricsAfterRun: string;

  beforeAll(async () => {
    tb = await Testbed.start({ name: `e2e-swarm-${process.pid}` });
    out = mkdtempSync(join(tmpdir(), "swarm-e2e-"));
    const running = swarm(
      [
        "--rooms",
        "3",
        "--video-publishers",
        "1",
        "--audio-publishers",
        "1",
        "--subscribers",
        "2",
        "--duration",
        "14.5s",
        "--num-per-second",
        "10",
        "-o",
        out,
        "--json",
        "--threshold",
        "lkswarm_inbound_loss_ratio p95 over participants < 2%",
      ],
      testbedEnv(tb),
    );
    // mid-hold (1 s start + ~1 s ramp + 14.5 s hold): gauges of open signal streams exist only now
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    metricsDuringRun = await (await fetch(tb.nodes[0]?.metricsUrl ?? "")).text();
    result = await running;
    metricsAfterRun = await (await fetch(tb.nodes[0]?.metricsUrl ?? "")).text();
    summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as Summary;
  }, 180_000);

  afterAll(async () => {
    await tb.stop();
  });

  it("every participant joins and every subscriber receives every expected track", () => {
    // or inconclusive because a neighbour crowded the machine (in a clean-clone suite run, 2026-11-29,
    // beside an image build: 1 of 9 joined after 5 s, exit 2); every other check below still holds
    expectCodeOrCrowded(result, 0, out);
    expect(summary.run.endReason).toBe("completed");
    // the ramp (9 joins at 10/s) and the 14.5 s hold asked, at least; that the end is not rounded
    // up to the next progress tick is holdEnd's unit test (end-reason.test.ts): a bound on this
    // wall-clock length read 15.825 s against 15.8 in a CI run beside other work
    expect(summary.run.durationS).toBeGreaterThanOrEqual(14.5);
    expect(summary.participants).toMatchObject({ planned: 9, joined: 9, joinFailures: {} });
    // each of 6 subscribers expects its room's one audio and one video track
    expect(summary.tracks.expected).toEqual({ audio: 6, video: 6 });
    expect(summary.tracks.receiving).toEqual({ audio: 6, video: 6 });
    expect(summary.tracks.decodingVideo).toBe(6);
  });

  it("measures loss under 1% on loopback, join time, first frame and probe latency", () => {
    for (const kind of ["audio", "video"] as const) {
      const loss = summary.loss[kind];
      expect(loss.expected, `${kind} packets expected`).toBeGreaterThan(1000);
      expect(loss.ratio, `${kind} loss ${JSON.stringify(loss)}`).toBeLessThan(0.01);
    }
    expect(figure(summary, "lkswarm_join_duration_seconds")).toMatchObject({
      n: 9,
      population: "participants",
    });
    expect(figure(summary, "lkswarm_time_to_first_frame_seconds", "video")?.n).toBe(6);
    const latency = figure(summary, "lkswarm_end_to_end_latency_seconds", "video");
    expect(latency?.n, "latency windows from the 3 probes").toBeGreaterThanOrEqual(3);
    expect(latency?.p50, "probe latency p50 on loopback").toBeGreaterThan(0);
    expect(latency?.p50).toBeLessThan(1);
  });

  it("passes the same loss gate that injected loss fails (fidelity.e2e.test.ts)", () => {
    const junit = readFileSync(join(out, "junit.xml"), "utf8");
    // a crowded run (exit 2, the first test) fails its generator check and nothing else: the loss
    // gate and the other health checks still pass (a clean-clone CI run, 2026-11-30, read failures="1")
    expectCodeOrCrowded(result, 0, out);
    const failing = junit
      .split("<testcase ")
      .filter((c) => c.includes("<failure"))
      .map((c) => /name="([^"]*)"/.exec(c)?.[1]);
    expect(failing).toEqual(result.code === 2 ? ["swarm health: generator"] : []);
    expect(junit).toMatch(new RegExp(`tests="\\d+" failures="${String(failing.length)}"`));
    expect(junit).toContain('name="swarm health: tracks"');
    expect(junit).toContain(
      "PASS: lkswarm_inbound_loss_ratio p95 over participants &lt; 2%: observed 0.00% over 6 participants",
    );
  });

  it("writes report files that parse", () => {
    const samples = readFileSync(join(out, "samples.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { participant: string; inbound: unknown[] });
    expect(samples.length, "one sample per participant per 5 s window").toBeGreaterThanOrEqual(9 * 2);
    expect(new Set(samples.map((s) => s.participant)).size).toBeGreaterThanOrEqual(3);
    expect(existsSync(join(out, "events.jsonl"))).toBe(true);
    const html = readFileSync(join(out, "report.html"), "utf8");
    // uPlot inlined (the page opens offline) and the charts' data embedded
    expect(html).toContain("<script>/*! https://github.com/leeoniya/uPlot (v1.6.32) */");
    expect(html).toContain('<script type="application/json" id="report-data">');
    expect(html).toContain("Join time");
    // never print an API secret
    expect(
      result.stdout + result.stderr + html + readFileSync(join(out, "summary.json"), "utf8"),
    ).not.toContain(tb.apiSecret);
  });

  it("every catalogued LiveKit metric that must always exist is on the node's /metrics, and nothing unknown is", () => {
    // union: some series exist only during the call (open streams), some only after (session durations)
    const present = new Set([...families(metricsDuringRun), ...families(metricsAfterRun)]);
    const always = livekitMetrics()
      .filter((m) => m.presence === "always")
      .map((m) => m.name);
    const missing = always.filter((name) => !present.has(name));
    expect(missing, "catalogued as always present but absent: fix the catalog or the server version").toEqual(
      [],
    );
    const catalogued = new Set(livekitMetrics().map((m) => m.name));
    const uncatalogued = [...present].filter((name) => name.startsWith("livekit_") && !catalogued.has(name));
    expect(uncatalogued, "served by livekit-server but not in the catalog").toEqual([]);
  });
});
