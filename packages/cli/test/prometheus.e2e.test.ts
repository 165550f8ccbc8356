import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { metric } from "@livekit-swarm/schema";
import { Testbed } from "@livekit-swarm/testbed";
import { freePort, swarm, testbedEnv, gateOverPrometheus } from "@livekit-swarm/test-kit";
import { queryInstant } from "@livekit-swarm/gate";

/** An instant query through the gate's Prometheus client, as `swarm gate --prometheus` makes it. */
const promql = (base: string, query: string): Promise<number | undefined> =>
  queryInstant(base, query, { timeoutMs: 10_000 });

/**
 * A series' last scraped value, once the swarm has exited: Prometheus marks every series of a
 * target stale at the first scrape that fails, so a plain instant query after the exporter went
 * away reads nothing (CI read audio's count, then no video series 2 s later); a range selection
 * skips the staleness marker.
 */
const last = (selector: string): string => `last_over_time(${selector}[5m])`;

interface Summary {
  run: { id: string };
  loss: Record<"audio" | "video", { lost: number; expected: number }>;
  figures: { metric: string; p95?: number; n: number }[];
  thresholds: { threshold: string; status: string }[];
}

const THRESHOLDS = [
  "lkswarm_inbound_loss_ratio p95 over windows < 2%",
  "lkswarm_join_duration_seconds p95 over participants < 1ms",
  "lkswarm_join_failures_total count == 0",
  "lkswarm_time_to_first_frame_seconds p50 over tracks < 10s",
];

describe("the swarm's /metrics in a real Prometheus", () => {
  let tb: Testbed | undefined;
  afterAll(async () => {
    await tb?.stop();
  });

  it("PromQL over the scraped series agrees with the in-process summary", async () => {
    const port = await freePort();
    tb = await Testbed.start({
      name: `e2e-prom-${process.pid}`,
      prometheus: true,
      scrapeTargets: [`127.0.0.1:${port}`],
    });
    const out = mkdtempSync(join(tmpdir(), "swarm-prom-"));
    // --linger outlasts three 2 s scrape intervals, so the last scrape sees the final samples
    const result = await swarm(
      [
        "--rooms",
        "2",
        "--subscribers",
        "2",
        "--duration",
        "15s",
        "--num-per-second",
        "10",
        "--metrics-port",
        String(port),
        "--linger",
        "7s",
        "-o",
        out,
        ...THRESHOLDS.flatMap((t) => ["--threshold", t]),
      ],
      testbedEnv(tb),
    );
    // one threshold is impossible on purpose: both gates must fail it, and only it
    expect(result.code, result.stderr).toBe(99);
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as Summary;
    const prom = tb.prometheusUrl ?? "";
    const run = `run_id="${summary.run.id}"`;

    // loss: the same packet counts, exactly, so the PromQL ratio is the in-process ratio of sums
    for (const kind of ["audio", "video"] as const) {
      const expected = await promql(
        prom,
        `sum(${last(`lkswarm_inbound_packets_expected_total{${run},kind="${kind}"}`)})`,
      );
      const lost = await promql(
        prom,
        `sum(${last(`lkswarm_inbound_packets_lost_total{${run},kind="${kind}"}`)})`,
      );
      expect(expected, `${kind} expected packets`).toBe(summary.loss[kind].expected);
      expect(lost, `${kind} lost packets`).toBe(summary.loss[kind].lost);
    }

    // p95 join time: Prometheus interpolates inside a bucket; nearest rank picks a real value.
    // Both must land in the same bucket of the catalog's boundaries, or its neighbour.
    const p95 = await promql(
      prom,
      `histogram_quantile(0.95, sum by (le) (${last(`lkswarm_join_duration_seconds_bucket{${run}}`)}))`,
    );
    const inProcess = summary.figures.find((f) => f.metric === "lkswarm_join_duration_seconds")?.p95;
    expect(p95).toBeDefined();
    expect(inProcess).toBeDefined();
    const buckets = metric("lkswarm_join_duration_seconds").buckets ?? [];
    const bucketOf = (v: number): number => buckets.findIndex((b) => v <= b);
    expect(
      Math.abs(bucketOf(p95 ?? NaN) - bucketOf(inProcess ?? NaN)),
      `PromQL p95 ${p95} vs in-process ${inProcess} over buckets ${buckets.join(",")}`,
    ).toBeLessThanOrEqual(1);
    // every participant's join was observed once
    expect(await promql(prom, `sum(${last(`lkswarm_join_duration_seconds_count{${run}}`)})`)).toBe(6);

    // swarm gate --prometheus: the same thresholds over PromQL reach the same verdict, threshold by threshold
    const gate = await gateOverPrometheus(prom, join(out, "summary.json"), THRESHOLDS);
    expect(gate.code, gate.stderr).toBe(99);
    const inProcessVerdict = summary.thresholds.map((r) => [r.threshold, r.status]);
    expect(gate.statuses).toEqual(inProcessVerdict);
    expect(inProcessVerdict.map(([, status]) => status)).toEqual(["pass", "fail", "pass", "pass"]);
  }, 120_000);
});
