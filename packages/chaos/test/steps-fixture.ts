/**
 * What the compose and Kubernetes backends' unit tests share: a drill fault, the argv and confirm
 * patterns of built steps, a recording StepRunner, and an assertion on a FaultError's message.
 */
import type { DeploymentFault, FaultParams, DeploymentFaultType } from "@livekit-swarm/schema";
import { FaultError, type ShellStep, type StepRunner } from "../src/backend.js";

export function fault(
  type: DeploymentFaultType,
  params: FaultParams = {},
  more: Partial<DeploymentFault> = {},
): DeploymentFault {
  return {
    id: `${type}-1`,
    type,
    target: { kind: "busiest-room-node" },
    at: 0,
    duration: 30_000,
    confirmWithin: 10_000,
    params,
    ...more,
  };
}

export const argv = (steps: readonly ShellStep[]): string[][] => steps.map((s) => [...s.argv]);

/** Does `step`'s expect accept this stdout? */
export function accepts(step: ShellStep | undefined, stdout: string): boolean {
  if (step?.expect === undefined) throw new Error("step has no expect");
  return new RegExp(step.expect).test(stdout);
}

/** Fails unless `run` throws a FaultError whose message contains every one of `parts`. */
export function expectFaultError(run: () => unknown, ...parts: string[]): void {
  let caught: unknown;
  try {
    run();
  } catch (err) {
    caught = err;
  }
  if (!(caught instanceof FaultError)) throw new Error(`expected a FaultError, got ${String(caught)}`);
  const missing = parts.filter((p) => !caught.message.includes(p));
  if (missing.length > 0) {
    throw new Error(
      `the FaultError "${caught.message}" does not say ${missing.map((p) => `"${p}"`).join(", ")}`,
    );
  }
}

export type Respond = (
  argv: readonly string[],
  call: number,
) => { code?: number; stdout?: string; stderr?: string };

/** A StepRunner that records every step and answers from `respond` (call: how often this argv ran before). */
export function recorder(respond: Respond): { run: StepRunner; steps: ShellStep[]; lines: () => string[] } {
  const steps: ShellStep[] = [];
  const seen = new Map<string, number>();
  const run: StepRunner = (step) => {
    steps.push(step);
    const key = step.argv.join(" ");
    const call = seen.get(key) ?? 0;
    seen.set(key, call + 1);
    const r = respond(step.argv, call);
    return Promise.resolve({ code: r.code ?? 0, stdout: r.stdout ?? "", stderr: r.stderr ?? "" });
  };
  return { run, steps, lines: () => steps.map((s) => s.argv.join(" ")) };
}
