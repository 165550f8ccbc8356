import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { haproxyConfig } from "./configs.js";
import { launch } from "./launch.js";
import { pickFreePort } from "./ports.js";
import { writeState, type RunState } from "./state.js";
import { waitFor } from "./wait.js";

/**
 * Starts HAProxy in front of the nodes' signalling ports, on `port` (or a free one), points the
 * testbed's URL at it, and waits until it reports every node UP.
 */
export async function startBalancer(
  state: RunState,
  haproxyBin: string,
  port: number | undefined,
  readyTimeoutMs: number,
  extraHosts: readonly string[] = [],
): Promise<void> {
  const listenPort = port ?? (await pickFreePort());
  const statsPort = await pickFreePort();
  const cfg = join(state.runDir, "haproxy.cfg");
  writeFileSync(
    cfg,
    haproxyConfig({
      listenPort,
      listenHosts: ["127.0.0.1", ...extraHosts],
      statsPort,
      backends: state.nodes.map((n) => ({ name: n.name, ip: n.ip, port: n.httpPort })),
    }),
  );
  const proc = launch(state, "haproxy", "haproxy", haproxyBin, ["-db", "-f", cfg]);
  state.balancer = { port: listenPort, statsPort };
  state.url = `ws://127.0.0.1:${listenPort}`;
  writeState(state);
  // every backend must be UP (2 health checks at 1 s) before clients are pointed at it
  await waitFor(async () => (await balancerServerStates(statsPort)).every((s) => s.status === "UP"), {
    timeoutMs: readyTimeoutMs,
    debugName: "haproxy marks every node UP",
    exited: proc.exited,
    logFile: join(state.runDir, "haproxy.log"),
  });
}

/** HAProxy's view of each backend server, from its stats CSV. */
export async function balancerServerStates(statsPort: number): Promise<{ name: string; status: string }[]> {
  const res = await fetch(`http://127.0.0.1:${statsPort}/;csv`);
  const rows = (await res.text()).split("\n").filter((l) => l !== "" && !l.startsWith("#"));
  return rows
    .map((l) => l.split(","))
    .filter((cols) => cols[0] === "livekit_nodes" && cols[1] !== "BACKEND" && cols[1] !== "FRONTEND")
    .map((cols) => ({ name: cols[1] ?? "", status: cols[17] ?? "" }));
}
