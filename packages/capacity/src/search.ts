/**
 * The knee search, as a pure function of the steps tried so far: ramp rooms from `start` by
 * `step` up to `max`, then bisect between the largest good step and the smallest bad one until
 * they are `resolution` rooms apart. No clock, no I/O: the caller runs each step and asks again.
 */

export type StepOutcome = "good" | "bad" | "generator-bound";

export interface SearchPlan {
  readonly start: number;
  readonly step: number;
  readonly max: number;
  /** Bisection stops when the good and bad steps are this close (rooms). */
  readonly resolution: number;
}

export interface Tried {
  readonly rooms: number;
  readonly outcome: StepOutcome;
}

export type Knee =
  /** The largest good step and the smallest bad one, `resolution` or fewer rooms apart. */
  | { readonly kind: "found"; readonly good: number; readonly bad: number }
  /** Even the smallest room count tried (1) broke a threshold. */
  | { readonly kind: "none-good"; readonly bad: number }
  /** Every step up to `max` was good: the knee is above it. */
  | { readonly kind: "above-max"; readonly good: number }
  /** The generator saturated at `rooms`: no server capacity can be read from this search. */
  | { readonly kind: "generator-bound"; readonly rooms: number; readonly good: number | undefined };

export type Next =
  | { readonly kind: "run"; readonly rooms: number; readonly phase: "ramp" | "bisect" }
  | { readonly kind: "done"; readonly knee: Knee };

/** A bisection of `step` rooms down to about a quarter of a step: two or three steps more. */
export function defaultResolution(step: number): number {
  return Math.max(1, Math.ceil(step / 4));
}

export function nextStep(plan: SearchPlan, tried: readonly Tried[]): Next {
  const bound = tried.find((t) => t.outcome === "generator-bound");
  const goods = tried.filter((t) => t.outcome === "good").map((t) => t.rooms);
  const bads = tried.filter((t) => t.outcome === "bad").map((t) => t.rooms);
  const bad = bads.length > 0 ? Math.min(...bads) : undefined;
  // a good step above a bad one is noise: the knee lies below the smallest bad step
  const goodBelow = goods.filter((g) => bad === undefined || g < bad);
  const good = goodBelow.length > 0 ? Math.max(...goodBelow) : undefined;
  if (bound !== undefined)
    return { kind: "done", knee: { kind: "generator-bound", rooms: bound.rooms, good } };
  if (bad === undefined) {
    const last = tried.length > 0 ? Math.max(...tried.map((t) => t.rooms)) : undefined;
    if (last === undefined) return { kind: "run", rooms: Math.min(plan.start, plan.max), phase: "ramp" };
    if (last >= plan.max) return { kind: "done", knee: { kind: "above-max", good: last } };
    return { kind: "run", rooms: Math.min(last + plan.step, plan.max), phase: "ramp" };
  }
  const low = good ?? 0;
  if (bad - low <= plan.resolution) {
    return {
      kind: "done",
      knee: good === undefined ? { kind: "none-good", bad } : { kind: "found", good, bad },
    };
  }
  return { kind: "run", rooms: Math.floor((low + bad) / 2), phase: "bisect" };
}

/** Every step the search would run, given an oracle for the outcome of each (for tests and --dry-run). */
export function simulate(
  plan: SearchPlan,
  outcome: (rooms: number) => StepOutcome,
): { tried: Tried[]; knee: Knee } {
  const tried: Tried[] = [];
  for (;;) {
    const next = nextStep(plan, tried);
    if (next.kind === "done") return { tried, knee: next.knee };
    if (tried.some((t) => t.rooms === next.rooms))
      throw new Error(`search repeated ${String(next.rooms)} rooms`);
    tried.push({ rooms: next.rooms, outcome: outcome(next.rooms) });
  }
}
