import { describe, expect, it } from "vitest";
import type { Panel } from "@grafana/grafana-foundation-sdk/dashboard";
import * as prometheus from "@grafana/grafana-foundation-sdk/prometheus";
import * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";
import { buildDashboard, datasourceVariable, type ClassicDashboard } from "./common.js";
import { dashboards } from "./index.js";
import { lintDashboard, lintDashboards } from "./lint.js";
import { metricNames, rangeCalls, variableRefs } from "./promql.js";

describe("PromQL lexing", () => {
  it("finds metric names, not functions, keywords, label names, numbers or variables", () => {
    const expr =
      'histogram_quantile(0.95, sum by (le, kind) (rate(lkswarm_inbound_jitter_seconds_bucket{run_id=~"$run_id", kind!="a b"}[$__rate_interval]))) * 1e3 / on (kind) group_left sum without (x) (up offset 5m) > bool 2';
    expect(metricNames(expr)).toEqual(["lkswarm_inbound_jitter_seconds_bucket", "up"]);
  });

  it("pairs each rate-like call with the metric of its range selector", () => {
    expect(rangeCalls("sum(rate(a_total[1m])) / increase( b{x='rate(c[1m])'}[5m])")).toEqual([
      { fn: "rate", metric: "a_total" },
      { fn: "increase", metric: "b" },
    ]);
  });

  it("reads $var, ${var} and ${var:format}", () => {
    expect(variableRefs('x{a=~"$a", b="${b}", c="${c:regex}"}[$__range]')).toEqual(["a", "b", "c", "__range"]);
  });
});

describe("the generated dashboards", () => {
  it("lint clean", () => {
    expect(lintDashboards([...dashboards().values()])).toEqual([]);
  });

  it("have stable, distinct uids", () => {
    const uids = [...dashboards().values()].map((d) => d.uid);
    expect(uids).toEqual(["lkswarm-quality", "lkswarm-livekit-server", "lkswarm-chaos-drill"]);
  });

  it("take threshold lines from the catalog", () => {
    const quality = dashboards().get("dashboards/swarm-quality.json");
    // rows are expanded: their panels follow them at the top level
    const panels = (quality?.panels ?? []).filter((p): p is Panel => p.type !== "row");
    const loss = panels.find((p) => p.title === "Packet loss");
    expect(loss?.fieldConfig?.defaults.unit).toBe("percentunit");
    expect(loss?.fieldConfig?.defaults.thresholds?.steps).toEqual([
      { value: null, color: "green" },
      { value: 0.01, color: "yellow" },
      { value: 0.02, color: "red" },
    ]);
  });
});

function broken(title: string, uid: string, panels: timeseries.PanelBuilder[]): ClassicDashboard {
  return buildDashboard({
    uid,
    title,
    description: "broken on purpose",
    tags: [],
    variables: [datasourceVariable()],
    rows: [{ title: "Row", panels }],
  });
}

describe("a broken dashboard", () => {
  it("yields one problem per fault, by rule", () => {
    const hardCoded = { type: "prometheus", uid: "P1809F7CD0C75ACF3" };
    const d = broken("Broken", "broken", [
      new timeseries.PanelBuilder()
          .title("Unknown metric")
          .description("d")
          .unit("short")
          .datasource({ type: "prometheus", uid: "${datasource}" })
          .withTarget(
            new prometheus.DataqueryBuilder()
              .expr("sum(rate(lkswarm_made_up_total[$__rate_interval]))")
              .datasource({ type: "prometheus", uid: "${datasource}" }),
          ),
        new timeseries.PanelBuilder()
          .title("Rate on a gauge, no unit")
          .description("d")
          .datasource({ type: "prometheus", uid: "${datasource}" })
          .withTarget(
            new prometheus.DataqueryBuilder()
              .expr('sum(rate(livekit_room_total{job=~"$job"}[$__rate_interval]))')
              .datasource({ type: "prometheus", uid: "${datasource}" }),
          ),
        new timeseries.PanelBuilder()
          .title("Hard-coded datasource")
          .description("d")
          .unit("short")
          .datasource(hardCoded)
          .withTarget(new prometheus.DataqueryBuilder().expr("sum(livekit_room_total)").datasource(hardCoded)),
    ]);
    const problems = lintDashboard(d).map((p) => [p.rule, p.panel, p.message]);
    expect(problems).toEqual([
      [
        "target-metric-known",
        "Unknown metric",
        "query 1: lkswarm_made_up_total is not in the catalog",
      ],
      ["panel-units", "Rate on a gauge, no unit", "panel has no unit"],
      [
        "template-variable-defined",
        "Rate on a gauge, no unit",
        "query 1 uses $job, which no template variable defines",
      ],
      [
        "target-rate-counter",
        "Rate on a gauge, no unit",
        "query 1: rate() over livekit_room_total, a gauge",
      ],
      [
        "panel-datasource",
        "Hard-coded datasource",
        'panel datasource {"type":"prometheus","uid":"P1809F7CD0C75ACF3"} is not $datasource',
      ],
      [
        "panel-datasource",
        "Hard-coded datasource",
        'query 1 datasource {"type":"prometheus","uid":"P1809F7CD0C75ACF3"} is not $datasource',
      ],
    ]);
  });

  it("flags a missing legend, a fixed rate window, a bad uid and a missing notice", () => {
    const d: ClassicDashboard = {
      ...broken("Sloppy", "Not A Slug", [
        new timeseries.PanelBuilder()
          .title("By role")
          .description("d")
          .unit("short")
          .datasource({ type: "prometheus", uid: "${datasource}" })
          .withTarget(
            new prometheus.DataqueryBuilder()
              .expr("sum by (role) (rate(lkswarm_reconnects_total[5m]))")
              .datasource({ type: "prometheus", uid: "${datasource}" }),
          ),
      ]),
      description: "hand-made",
    };
    expect(lintDashboard(d).map((p) => p.rule)).toEqual([
      "dashboard-uid",
      "dashboard-generated-notice",
      "panel-legend",
      "target-rate-interval",
    ]);
  });
});
