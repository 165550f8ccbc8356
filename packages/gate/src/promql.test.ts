import { describe, expect, it } from "vitest";
import { toPromQL } from "./promql.js";
import { parseThreshold, ThresholdError } from "./threshold.js";

const q = (text: string, run: string | undefined = "r1") =>
  toPromQL(parseThreshold(text, { allowServerMetrics: true }), 120, run);

describe("toPromQL", () => {
  it("escapes a run id read from a file, so it cannot rewrite the query", () => {
    expect(q("lkswarm_join_failures_total count == 0", 'x"}) or vector(1) #\n').value).toBe(
      '(sum(max_over_time(lkswarm_join_failures_total{run_id="x\\"}) or vector(1) #\\n"}[120s])) or vector(0))',
    );
  });

  it("swarm counters: exact final counts with max_over_time, 0 when no series exists", () => {
    expect(q("lkswarm_join_failures_total count == 0").value).toBe(
      '(sum(max_over_time(lkswarm_join_failures_total{run_id="r1"}[120s])) or vector(0))',
    );
    expect(q("lkswarm_reconnects_total rate < 1").value).toBe(
      '(sum(max_over_time(lkswarm_reconnects_total{run_id="r1"}[120s])) or vector(0)) / 120',
    );
  });

  it("swarm histograms: quantiles over the final bucket counts, with label filters", () => {
    expect(q("lkswarm_inbound_jitter_seconds{kind=audio} p95 over windows < 30ms")).toEqual({
      value:
        'histogram_quantile(0.95, sum by (le) (max_over_time(lkswarm_inbound_jitter_seconds_bucket{kind="audio",run_id="r1"}[120s])))',
      n: 'sum(max_over_time(lkswarm_inbound_jitter_seconds_count{kind="audio",run_id="r1"}[120s]))',
    });
  });

  it("loss over participants needs per-participant counters", () => {
    expect(q("lkswarm_inbound_loss_ratio p95 over participants < 2%").value).toBe(
      'quantile(0.95, (sum by (room, participant) (max_over_time(lkswarm_inbound_packets_lost_total{run_id="r1"}[120s])) / sum by (room, participant) (max_over_time(lkswarm_inbound_packets_expected_total{run_id="r1"}[120s]))))',
    );
  });

  it("LiveKit server metrics use increase() over the window and carry no run_id", () => {
    expect(q("livekit_packet_loss_total count < 100").value).toBe(
      "(sum(increase(livekit_packet_loss_total{}[120s])) or vector(0))",
    );
    expect(q("livekit_jitter_us p95 < 30000").value).toBe(
      "histogram_quantile(0.95, sum by (le) (increase(livekit_jitter_us_bucket{}[120s])))",
    );
    expect(q("livekit_room_total max < 10").value).toBe("max_over_time(sum(livekit_room_total{})[120s:])");
  });

  it.each([
    [
      "lkswarm_inbound_jitter_seconds p95 over participants < 30ms",
      'Prometheus holds lkswarm_inbound_jitter_seconds as one observation per track-window: write "over windows"',
    ],
    [
      "lkswarm_join_duration_seconds max < 2s",
      "max cannot be read back from a Prometheus histogram's buckets",
    ],
    ["lkswarm_join_duration_seconds p95 < 2s warmup=10s", "warmup is evaluated in-process only"],
  ])("refuses what Prometheus cannot answer faithfully: %s", (text, message) => {
    expect(() => q(text)).toThrow(ThresholdError);
    expect(() => q(text)).toThrow(message);
  });
});
