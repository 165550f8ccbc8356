/**
 * The exit codes of every `swarm` command, one table for the CLI, the run session and chaos
 * drills; the README's exit-code table lists the same codes.
 */
export const ExitCode = {
  /** The run completed; a drill passed. */
  ok: 0,
  /** Bad input, an unusable server, a run that could not go on; a drill that failed or deviated. */
  error: 1,
  /**
   * A drill with no steady state to start from, an unconfirmed fault, or too little data; a
   * capacity search stopped by its own load generator (generator-bound); a run or merge whose own
   * generator did not keep up (a worker starved of CPU or its event loop full, a worker or browser
   * lost): its figures are not LiveKit's.
   */
  inconclusive: 2,
  /** A drill ended by one of its abort conditions. */
  aborted: 3,
  /**
   * A `fail` quality threshold was breached or had no data; LiveKit did not serve every planned
   * participant or owed track while the generator kept up; a capacity search where even 1 room broke one.
   */
  thresholdsFailed: 99,
  /** SIGINT (Ctrl-C): 128 + 2, as shells report it. */
  interrupted: 130,
  /** SIGTERM: 128 + 15. */
  terminated: 143,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The code a process stopped by this signal exits with (after draining). */
export function exitCodeForSignal(signal: "SIGINT" | "SIGTERM"): ExitCode {
  return signal === "SIGTERM" ? ExitCode.terminated : ExitCode.interrupted;
}
