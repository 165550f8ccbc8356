import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { prometheusConfig } from "./configs.js";
import { launch } from "./launch.js";
import { pickFreePort } from "./ports.js";
import { writeState, type RunState } from "./state.js";
import { waitFor } from "./wait.js";

/** Starts a Prometheus scraping every node (and `extraTargets`) and waits for its /-/ready. */
export async function startPrometheus(
  state: RunState,
  prometheusBin: string,
  extraTargets: readonly string[],
  ruleFiles: readonly string[],
  readyTimeoutMs: number,
): Promise<void> {
  const port = await pickFreePort();
  const cfg = join(state.runDir, "prometheus.yml");
  writeFileSync(
    cfg,
    prometheusConfig({
      nodes: state.nodes.map((n) => ({ name: n.name, ip: n.ip, port: n.prometheusPort })),
      extraTargets,
      ruleFiles,
    }),
  );
  const proc = launch(state, "prometheus", "prometheus", prometheusBin, [
    `--config.file=${cfg}`,
    `--storage.tsdb.path=${join(state.runDir, "prometheus-data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--web.enable-lifecycle",
  ]);
  state.prometheus = { url: `http://127.0.0.1:${port}` };
  writeState(state);
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/-/ready`)).ok, {
    timeoutMs: readyTimeoutMs,
    debugName: "prometheus /-/ready",
    exited: proc.exited,
    logFile: join(state.runDir, "prometheus.log"),
  });
}
