import { join } from "node:path";
import { launch } from "./launch.js";
import { redisCommand } from "./redis.js";
import type { RunState } from "./state.js";
import { waitFor } from "./wait.js";

/**
 * Starts the testbed's Redis on `port` (no persistence: a restart comes back empty) listening on
 * `bind`, and waits until it answers PING.
 */
export async function startRedis(
  state: RunState,
  redisBin: string,
  port: number,
  bind: readonly string[],
  timeoutMs: number,
  debugName: string,
): Promise<void> {
  const proc = launch(state, "redis", "redis", redisBin, redisArgs(state.runDir, port, bind));
  await waitFor(async () => (await redisCommand("127.0.0.1", port, ["PING"]).catch(() => null)) === "PONG", {
    timeoutMs,
    debugName,
    exited: proc.exited,
    logFile: join(state.runDir, "redis.log"),
  });
}

function redisArgs(runDir: string, port: number, bind: readonly string[]): string[] {
  const redisDir = join(runDir, "redis");
  return [
    "--port",
    String(port),
    "--bind",
    ...bind,
    "--save",
    "",
    "--appendonly",
    "no",
    "--protected-mode",
    "no",
    "--dir",
    redisDir,
    // redis rewrites its title: keep the run dir in it, so `down` can find an unrecorded one
    "--proc-title-template",
    `{title} {listen-addr} ${redisDir}/`,
  ];
}
