/** The process exit codes, documented in the README. */
export const ExitCode = {
  ok: 0,
  error: 1,
  inconclusive: 2,
  aborted: 3,
  thresholdsFailed: 99,
  interrupted: 130,
  terminated: 143,
} as const;
