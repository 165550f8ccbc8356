/** `steady-state:`, `abort:` and `expect:`: what healthy means, when to give up, what must hold. */
import * as z from "zod";
import type { Expectations, Percentiles, RecoveryBounds, SteadyState } from "../drill-types.js";
import { findingIds, recoveryPopulations } from "../drill-types.js";
import type { Milliseconds } from "../duration.js";
import { describeValue, formatDuration } from "../duration.js";
import {
  choice,
  count,
  duration,
  fail,
  finiteNumber,
  got,
  isMapping,
  nested,
  nonEmpty,
  positiveInt,
  positiveRatio,
  required,
  section,
  share,
} from "./values.js";

const probe = section(
  {
    query: required(
      nonEmpty("expected a PromQL query"),
      "missing: expected a PromQL query such as count(up == 1)",
    ),
    min: finiteNumber.nullable().default(null),
    max: finiteNumber.nullable().default(null),
  },
  "expected a mapping with query, min and max",
).superRefine(({ min, max }, ctx) => {
  if (min === null && max === null) {
    ctx.issues.push({ code: "custom", message: "expected min, max or both, got neither", input: undefined });
  } else if (min !== null && max !== null && min > max) {
    ctx.issues.push({
      code: "custom",
      path: ["min"],
      message: `expected no more than max (${max}), got ${min}`,
      input: min,
    });
  }
});

const ratio = share({ positive: false }).nullable();

export const steadyStateSchema = section(
  {
    connected: ratio.default(1),
    "media-flowing": ratio.default(1),
    "max-loss": ratio.default(null),
    prometheus: z.array(probe, got("expected a list of {query, min, max} checks")).default([]),
  },
  "expected a mapping with connected, media-flowing, max-loss or prometheus",
).transform((s): SteadyState => ({
  connected: s.connected,
  mediaFlowing: s["media-flowing"],
  maxLoss: s["max-loss"],
  prometheus: s.prometheus,
}));

export const STEADY_STATE_DEFAULT: SteadyState = {
  connected: 1,
  mediaFlowing: 1,
  maxLoss: null,
  prometheus: [],
};

const abortFields = {
  "max-duration": duration({ positive: true }).nullable().default(null),
  "max-nodes": positiveInt.nullable().default(null),
  "max-participants-down": share({ positive: true }).nullable().default(null),
  "down-for": duration({ positive: true }).default(10_000),
};

/** `abort:` as written; a missing max-duration is derived from the drill's phases once they are known. */
export interface AbortDraft {
  readonly maxDuration: Milliseconds | null;
  readonly maxNodes: number | null;
  readonly maxParticipantsDown: number | null;
  readonly downFor: Milliseconds;
}

export const abortSchema = section(
  abortFields,
  `expected a mapping with ${Object.keys(abortFields).join(", ")}`,
).transform((a): AbortDraft => ({
  maxDuration: a["max-duration"],
  maxNodes: a["max-nodes"],
  maxParticipantsDown: a["max-participants-down"],
  downFor: a["down-for"],
}));

export const ABORT_DEFAULT: AbortDraft = {
  maxDuration: null,
  maxNodes: null,
  maxParticipantsDown: null,
  downFor: 10_000,
};

/** A mapping of which at least one key must be written. */
function someOf<Shape extends z.ZodRawShape, T>(
  shape: Shape,
  expected: string,
  then: (
    values: z.output<z.ZodObject<Shape>>,
    raw: Readonly<Record<string, unknown>>,
    ctx: z.core.$RefinementCtx,
  ) => T,
) {
  const keys = section(shape, expected);
  return z
    .unknown()
    .optional()
    .transform((value, ctx): T => {
      const read = nested(ctx, keys, value);
      if (!isMapping(value)) return z.NEVER;
      if (!Object.keys(shape).some((key) => value[key] !== undefined))
        return fail(ctx, value, `${expected}, got none`);
      return read === undefined ? z.NEVER : then(read, value, ctx);
    });
}

const PERCENTILE_KEYS = ["p50", "p95", "max"] as const;
const bound = duration({ positive: true }).nullable().default(null);

/** Each bound must leave room for the next: a p95 above the max can never be met together with it. */
function ordered(
  bounds: Percentiles,
  raw: Readonly<Record<string, unknown>>,
  ctx: z.core.$RefinementCtx,
): boolean {
  const given = PERCENTILE_KEYS.flatMap((key) => {
    const ms = bounds[key];
    return typeof ms === "number" ? [{ key, ms }] : [];
  });
  for (const [i, { key, ms }] of given.entries()) {
    const next = given[i + 1];
    if (next !== undefined && ms > next.ms) {
      ctx.issues.push({
        code: "custom",
        path: [key],
        message: `expected no more than ${next.key} (${formatDuration(next.ms)}), got ${describeValue(raw[key])}`,
        input: raw[key],
      });
      return false;
    }
  }
  return true;
}

const percentiles = someOf(
  { p50: bound, p95: bound, max: bound },
  "expected a mapping with p50, p95 or max, such as {p95: 20s}",
  (bounds, raw, ctx): Percentiles => (ordered(bounds, raw, ctx) ? bounds : z.NEVER),
);

const recoveryBound = someOf(
  {
    population: choice(recoveryPopulations, "population").nullable().default(null),
    p50: bound,
    p95: bound,
    max: bound,
  },
  "expected a mapping with population, p50, p95 or max, such as {population: room-on-failed-node, p95: 15s}",
  (bounds, raw, ctx): RecoveryBounds => {
    if (PERCENTILE_KEYS.every((key) => bounds[key] === null))
      return fail(ctx, raw, "expected p50, p95 or max beside population, got none");
    return ordered(bounds, raw, ctx) ? bounds : z.NEVER;
  },
);

/** One mapping of bounds, or a list of them, one per population (at most one over everyone). */
const recoveryBounds = z.unknown().transform((value, ctx): readonly RecoveryBounds[] => {
  if (!Array.isArray(value)) {
    const one = nested(ctx, recoveryBound, value);
    return one === undefined ? z.NEVER : [one];
  }
  if (value.length === 0)
    return fail(
      ctx,
      value,
      "expected a mapping such as {p95: 20s}, or a list of them by population, got an empty list",
    );
  const out: RecoveryBounds[] = [];
  for (const [i, item] of value.entries()) {
    const read = nested(ctx, recoveryBound, item, [i]);
    if (read === undefined) return z.NEVER;
    const twice = out.find((b) => b.population === read.population);
    if (twice !== undefined) {
      ctx.issues.push({
        code: "custom",
        path: [i, "population"],
        message: `expected each population once, got ${read.population ?? "no population (everyone)"} again`,
        input: item,
      });
      return z.NEVER;
    }
    out.push(read);
  }
  return out;
});

const qualityAfter = someOf(
  {
    "max-loss": share({ positive: false }).nullable().default(null),
    "max-loss-vs-baseline": positiveRatio.nullable().default(null),
    "min-bitrate-vs-baseline": positiveRatio.nullable().default(null),
  },
  "expected a mapping with max-loss, max-loss-vs-baseline, min-bitrate-vs-baseline",
  (q): NonNullable<Expectations["qualityAfter"]> => ({
    maxLoss: q["max-loss"],
    maxLossVsBaseline: q["max-loss-vs-baseline"],
    minBitrateVsBaseline: q["min-bitrate-vs-baseline"],
  }),
);

const expectFields = {
  detect: recoveryBounds.nullable().default(null),
  reconnect: recoveryBounds.nullable().default(null),
  "media-resume": percentiles.nullable().default(null),
  "participants-lost": count.nullable().default(null),
  ghosts: count.nullable().default(null),
  "consistent-within": duration({ positive: true }).nullable().default(null),
  "quality-after": qualityAfter.nullable().default(null),
  // high-severity findings this drill expects and accepts (shown as accepted, not failing the drill)
  "accept-findings": z
    .array(choice(findingIds, "finding id"), got(`expected a list of finding ids (${findingIds.join(", ")})`))
    .default([]),
};

export const expectSchema = section(
  expectFields,
  `expected a mapping with ${Object.keys(expectFields).join(", ")}`,
).transform((e): Expectations => ({
  detect: e.detect,
  reconnect: e.reconnect,
  mediaResume: e["media-resume"],
  participantsLost: e["participants-lost"],
  ghosts: e.ghosts,
  consistentWithin: e["consistent-within"],
  qualityAfter: e["quality-after"],
  acceptFindings: e["accept-findings"],
}));

export const EXPECT_DEFAULT: Expectations = {
  detect: null,
  reconnect: null,
  mediaResume: null,
  participantsLost: null,
  ghosts: null,
  consistentWithin: null,
  qualityAfter: null,
  acceptFindings: [],
};
