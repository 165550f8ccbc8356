import { join } from "node:path";
import { TestbedError } from "./errors.js";
import { processStartTime, spawnDetached, tailLines, type SpawnedProcess } from "./processes.js";
import { writeState, type ProcessRecord, type RunState } from "./state.js";

/** How long a testbed process may take to prove it is ready, unless the caller says otherwise. */
export const DEFAULT_READY_TIMEOUT_MS = 30_000;

/** Spawns one of the testbed's processes detached and records it in the run state before returning. */
export function launch(
  state: RunState,
  role: ProcessRecord["role"],
  name: string,
  command: string,
  args: readonly string[],
  logFile = join(state.runDir, `${name}.log`),
): SpawnedProcess {
  const proc = spawnDetached(command, args, logFile);
  if (proc.pid < 0)
    throw new TestbedError("server-exited", `${command} could not be started`, tailLines(logFile, 10));
  state.processes.push({ role, name, pid: proc.pid, startTime: processStartTime(proc.pid), logFile });
  writeState(state);
  return proc;
}
