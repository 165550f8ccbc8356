import { VariableType } from "@grafana/grafana-foundation-sdk/dashboard";
import type { ClassicDashboard } from "./common.js";
import { panelsOf } from "./lint.js";

/** The import-time input Grafana asks for: which Prometheus the dashboard reads. */
export const DATASOURCE_INPUT = "DS_PROMETHEUS";
/** The Grafana the dashboards are written for (docker-compose.yml runs this one). */
export const GRAFANA_VERSION = "11.3.0";

interface Requirement {
  readonly type: "grafana" | "datasource" | "panel";
  readonly id: string;
  readonly name: string;
  readonly version: string;
}

/** Grafana's "export for sharing externally" shape: the dashboard plus what importing it asks for. */
export type ShareableDashboard = ClassicDashboard & {
  readonly __inputs: readonly {
    readonly name: string;
    readonly label: string;
    readonly description: string;
    readonly type: "datasource";
    readonly pluginId: "prometheus";
    readonly pluginName: "Prometheus";
  }[];
  readonly __elements: Readonly<Record<string, never>>;
  readonly __requires: readonly Requirement[];
  readonly id: null;
};

/**
 * The shareable export of a provisioned dashboard. Panels keep reading the `datasource` variable;
 * the variable's default becomes the input, so the Prometheus picked at import is the one shown,
 * and a user can still switch it.
 */
export function shareableDashboard(d: ClassicDashboard): ShareableDashboard {
  const input = `\${${DATASOURCE_INPUT}}`;
  const list = (d.templating.list ?? []).map((v) =>
    v.type === VariableType.Datasource ? { ...v, current: { selected: true, text: input, value: input } } : v,
  );
  return {
    __inputs: [
      {
        name: DATASOURCE_INPUT,
        label: "Prometheus",
        description: "The Prometheus that scrapes the swarm's /metrics (and LiveKit's, for the server dashboard)",
        type: "datasource",
        pluginId: "prometheus",
        pluginName: "Prometheus",
      },
    ],
    __elements: {},
    __requires: [
      { type: "grafana", id: "grafana", name: "Grafana", version: GRAFANA_VERSION },
      { type: "datasource", id: "prometheus", name: "Prometheus", version: "1.0.0" },
      ...[...new Set(panelsOf(d).map((p) => p.type))].sort().map((id): Requirement => ({ type: "panel", id, name: id, version: "" })),
    ],
    ...d,
    id: null,
    templating: { ...d.templating, list },
  };
}
