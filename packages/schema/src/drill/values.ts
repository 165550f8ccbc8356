/**
 * The zod pieces every drill section is built from. Each failure carries its whole message (what
 * was expected and what was written), so an issue becomes a problem line without rewording.
 */
import * as z from "zod";
import type { ConfigProblem, KeyPath } from "../config.js";
import { problemAt } from "../config.js";
import type { Milliseconds } from "../duration.js";
import {
  DURATION_EXPECTED,
  DurationError,
  describeValue,
  formatDuration,
  parseDuration,
} from "../duration.js";
import { closestMatches } from "../suggest.js";

export type Env = Readonly<Record<string, string | undefined>>;
export type Mapping = Readonly<Record<string, unknown>>;

export function isMapping(value: unknown): value is Mapping {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function valueAt(root: unknown, path: KeyPath): unknown {
  let value = root;
  for (const segment of path) {
    if (!isMapping(value) && !Array.isArray(value)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

/** An error map: `<expected>, got <what was written>`. */
export function got(expected: string): { error: (issue: { input?: unknown }) => string } {
  return { error: (issue) => `${expected}, got ${describeValue(issue.input)}` };
}

/** A value that must be written; `missing` says what to write. */
export function required<T extends z.ZodType>(schema: T, missing: string): z.ZodPipe<z.ZodAny, T> {
  return z
    .any()
    .refine((value) => value !== undefined, { error: missing, abort: true })
    .pipe(schema);
}

/** One custom issue from inside a transform, with its full message. */
export function fail(ctx: z.core.$RefinementCtx, input: unknown, message: string): never {
  ctx.issues.push({ code: "custom", message, input });
  return z.NEVER;
}

export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const [best] = closestMatches(key, known, 1);
  return `unknown key (${best === undefined ? `known keys: ${known.join(", ")}` : `did you mean "${best}"?`})`;
}

/** Marks the issues that name an unknown key, so they can be listed first as the user reads them. */
const UNKNOWN_KEY = "unknown-key";

/**
 * One mapping of the file: its keys, strict. A key outside `shape` is reported with a "did you
 * mean"; `elsewhere` may instead say which sibling (another backend, another fault type) takes it.
 */
export function section<Shape extends z.ZodRawShape>(
  shape: Shape,
  expected: string,
  elsewhere?: (key: string) => string | undefined,
) {
  const known = Object.keys(shape);
  return z.looseObject(shape, got(expected)).superRefine(
    (value, ctx) => {
      for (const [key, input] of Object.entries(value)) {
        if (known.includes(key)) continue;
        ctx.issues.push({
          code: "custom",
          path: [key],
          message: elsewhere?.(key) ?? unknownKeyMessage(key, known),
          input,
          params: { [UNKNOWN_KEY]: true },
        });
      }
    },
    { when: (payload) => isMapping(payload.value) },
  );
}

/**
 * The problems of a failed parse, at `prefix` in `file`. A mapping's unknown keys come before the
 * problems with its values, the order a reader fixes them in.
 */
export function problemsOf(error: z.ZodError, file: string, prefix: KeyPath = []): ConfigProblem[] {
  const isUnknownKey = (issue: z.core.$ZodIssue): boolean =>
    issue.code === "custom" && issue.params?.[UNKNOWN_KEY] === true;
  const under = (path: readonly PropertyKey[], parent: readonly PropertyKey[]): boolean =>
    path.length > parent.length && parent.every((segment, i) => segment === path[i]);
  const ordered: z.core.$ZodIssue[] = [];
  for (const issue of error.issues) {
    const parent = issue.path.slice(0, -1);
    const before = isUnknownKey(issue)
      ? ordered.findIndex(
          (other) =>
            under(other.path, parent) && !(isUnknownKey(other) && other.path.length === issue.path.length),
        )
      : -1;
    if (before < 0) ordered.push(issue);
    else ordered.splice(before, 0, issue);
  }
  return ordered.map((issue) => problemAt(file, [...prefix, ...issue.path], issue.message));
}

export const bool = z.boolean(got("expected true or false"));
export const positiveInt = z
  .int(got("expected a positive integer"))
  .min(1, got("expected a positive integer"));
export const count = z
  .int(got("expected a whole number, 0 or more"))
  .min(0, got("expected a whole number, 0 or more"));
export const finiteNumber = z.number(got("expected a number"));
export const positiveRatio = z
  .number(got("expected a ratio above 0, such as 2 or 0.8"))
  .positive(got("expected a ratio above 0, such as 2 or 0.8"));

export function nonEmpty(expected: string) {
  return z.string(got(expected)).refine((value) => value.trim() !== "", got(expected));
}

export function matching(regex: RegExp, expected: string) {
  return z.string(got(expected)).regex(regex, got(expected));
}

/** One of `options`; a near miss gets a "did you mean". */
export function choice<const T extends readonly [string, ...string[]]>(options: T, what: string) {
  const list = options.join(", ");
  return z.enum(options, {
    error: ({ input }) => {
      if (typeof input !== "string") return `expected one of ${list}, got ${describeValue(input)}`;
      const [best] = closestMatches(input, options, 1);
      const hint = best === undefined ? "" : ` (did you mean "${best}"?)`;
      return `unknown ${what} ${describeValue(input)}${hint}; one of ${list}`;
    },
  });
}

/** `30s`, `5m`, `1h30m` or seconds, in milliseconds. */
export function duration(options: { readonly positive?: boolean; readonly min?: Milliseconds } = {}) {
  return z
    .unknown()
    .optional()
    .transform((value, ctx): Milliseconds => {
      if (typeof value !== "string" && typeof value !== "number") {
        return fail(ctx, value, `${DURATION_EXPECTED}, got ${describeValue(value)}`);
      }
      let ms: Milliseconds;
      try {
        ms = parseDuration(value);
      } catch (error) {
        if (error instanceof DurationError) return fail(ctx, value, error.message);
        throw error;
      }
      if (options.positive === true && ms === 0) {
        return fail(ctx, value, `expected a duration above 0, got ${describeValue(value)}`);
      }
      if (options.min !== undefined && ms < options.min) {
        return fail(
          ctx,
          value,
          `expected at least ${formatDuration(options.min)}, got ${describeValue(value)}`,
        );
      }
      return ms;
    });
}

const SHARE_EXPECTED = "expected a share such as 25% or 0.25";
const PERCENT = /^(\d+(?:\.\d+)?)\s*%$/;

/** `25%` or `0.25`, as a ratio in [0, 1]; `positive` also refuses 0. */
export function share(options: { readonly positive: boolean }) {
  return z
    .unknown()
    .optional()
    .transform((value, ctx): number => {
      let ratio: number;
      if (typeof value === "number" && Number.isFinite(value)) {
        // `max-loss: 5` almost certainly means 5%, not 500%.
        if (value > 1 && value <= 100) {
          return fail(ctx, value, `expected a share from 0 to 1, got ${value} (did you mean ${value}%?)`);
        }
        ratio = value;
      } else {
        const [, percent] = typeof value === "string" ? (PERCENT.exec(value.trim()) ?? []) : [];
        if (percent === undefined) return fail(ctx, value, `${SHARE_EXPECTED}, got ${describeValue(value)}`);
        ratio = Number(percent) / 100;
      }
      if (ratio < 0 || ratio > 1)
        return fail(ctx, value, `expected a share from 0% to 100%, got ${describeValue(value)}`);
      if (options.positive && ratio === 0)
        return fail(ctx, value, `expected a share above 0%, got ${describeValue(value)}`);
      return ratio;
    });
}

export function formatShare(ratio: number): string {
  return `${Math.round(ratio * 10_000) / 100}%`;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** What a value is, without showing it: credentials must never reach a message or a journal. */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `a ${typeof value}`;
}

/** A string whose `${NAME}` references are filled from `env`; a secret is never shown back. */
export function withEnv(env: Env, expected: string, secret: boolean) {
  return z
    .unknown()
    .optional()
    .transform((value, ctx): string => {
      if (typeof value !== "string" || value.trim() === "") {
        return fail(ctx, value, `${expected}, got ${secret ? kindOf(value) : describeValue(value)}`);
      }
      const unset: string[] = [];
      const resolved = value.replace(ENV_REF, (_, name: string) => {
        const found = env[name];
        if (found === undefined || found === "") unset.push(name);
        return found ?? "";
      });
      if (unset.length === 1) return fail(ctx, value, `environment variable ${unset.join("")} is not set`);
      if (unset.length > 1) return fail(ctx, value, `environment variables ${unset.join(", ")} are not set`);
      return resolved;
    });
}

/** Parses `value` with `schema` inside a transform, its issues moved under `path`. */
export function nested<S extends z.ZodType>(
  ctx: z.core.$RefinementCtx,
  schema: S,
  value: unknown,
  path: readonly PropertyKey[] = [],
): z.output<S> | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    ctx.issues.push({
      code: "custom",
      path: [...path, ...issue.path],
      message: issue.message,
      input: undefined,
      params: issue.code === "custom" ? issue.params : undefined,
    });
  }
  return undefined;
}

/** The problems of one file, gathered section by section so that every one is reported at once. */
export class Problems {
  readonly list: ConfigProblem[] = [];

  constructor(readonly file: string) {}

  /** Records a problem; undefined stands for "no usable value" to the caller. */
  at(path: KeyPath, message: string): undefined {
    this.list.push(problemAt(this.file, path, message));
    return undefined;
  }

  /** The value `schema` makes of `value`, or undefined after recording why it cannot be used. */
  read<S extends z.ZodType>(schema: S, value: unknown, path: KeyPath): z.output<S> | undefined {
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    this.list.push(...problemsOf(result.error, this.file, path));
    return undefined;
  }
}
