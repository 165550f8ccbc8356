import { describe, expect, it } from "vitest";
import { DATASOURCE_INPUT, dashboards, renderDashboards, renderShareableDashboards } from "./index.js";
import { panelsOf } from "./lint.js";

/** Every `datasource` value anywhere in a dashboard's JSON. */
function datasourceRefs(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) datasourceRefs(v, found);
  else if (typeof value === "object" && value !== null) {
    for (const [key, v] of Object.entries(value)) {
      if (key === "datasource") found.push(JSON.stringify(v));
      datasourceRefs(v, found);
    }
  }
  return found;
}

interface Shared {
  __inputs: { name: string; type: string; pluginId: string }[];
  __requires: { type: string; id: string }[];
  id: unknown;
  uid: string;
  panels: { type: string; panels?: { type: string }[] }[];
  templating: { list: { type: string; name: string; current?: { value: string } }[] };
}

describe("shareable exports", () => {
  const provisioned = renderDashboards();
  const shared = renderShareableDashboards();

  it("one per provisioned dashboard, same uid and panels", () => {
    expect([...shared.keys()]).toEqual([...provisioned.keys()]);
    for (const [path, text] of shared) {
      const s = JSON.parse(text) as Shared;
      const p = JSON.parse(provisioned.get(path) ?? "{}") as Shared;
      expect(s.uid).toBe(p.uid);
      expect(s.panels).toEqual(p.panels);
      expect(s.id).toBeNull();
      // the provisioning shape stays free of import-time placeholders
      expect(provisioned.get(path)).not.toContain("__inputs");
      expect(provisioned.get(path)).not.toContain(DATASOURCE_INPUT);
    }
  });

  it("ask for one Prometheus input, the datasource variable's default, and reference no concrete datasource", () => {
    for (const text of shared.values()) {
      const s = JSON.parse(text) as Shared;
      expect(s.__inputs).toEqual([
        expect.objectContaining({ name: DATASOURCE_INPUT, type: "datasource", pluginId: "prometheus" }),
      ]);
      const variable = s.templating.list.find((v) => v.type === "datasource");
      expect(variable?.current?.value).toBe(`\${${DATASOURCE_INPUT}}`);
      const refs = new Set(datasourceRefs(s));
      expect(refs.size).toBeGreaterThan(0);
      for (const ref of refs) expect(ref).toMatch(/\$\{(datasource|DS_PROMETHEUS)\}|"-- Grafana --"|grafana/);
    }
  });

  it("require Grafana, the Prometheus plugin and every panel type they use", () => {
    for (const [path, d] of dashboards()) {
      const s = JSON.parse(shared.get(path) ?? "{}") as Shared;
      const used = new Set(panelsOf(d).map((p) => p.type));
      const required = s.__requires.filter((r) => r.type === "panel").map((r) => r.id);
      expect(new Set(required)).toEqual(used);
      expect(s.__requires.map((r) => r.id)).toEqual(expect.arrayContaining(["grafana", "prometheus"]));
    }
  });
});
