import { KnownError } from "./known-error.js";

/** A span of time in milliseconds. */
export type Milliseconds = number;

const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const PLAIN_NUMBER = /^\d+(?:\.\d+)?$/;

export const DURATION_EXPECTED = "expected a duration like 30s, 5m or 1h30m (units h, m, s, ms)";

/**
 * The longest duration anything accepts: a week. A soak runs up to it with `--duration 168h`; a
 * hold longer than that is almost always a typo (`99999h` is eleven years), and monitoring that
 * never ends is `swarm canary`, which runs until stopped.
 */
export const MAX_DURATION: Milliseconds = 7 * 24 * 3_600_000;
export const DURATION_TOO_LONG = "expected a duration of at most 168h (a week)";

/** How much of a user's value an error message repeats: enough to recognise it, never a whole file. */
const ECHO_CHARACTERS = 60;

/**
 * A user's text quoted for an error message: control characters escaped, cut after
 * {@link ECHO_CHARACTERS} characters with the count of the rest, and called binary when it is not
 * text at all, so a wrong file or a pasted blob gives one readable line.
 */
export function quoted(text: string, max = ECHO_CHARACTERS): string {
  const bin = binary(text);
  if (bin !== undefined) return bin;
  const chars = Array.from(text);
  if (chars.length <= max) return visible(JSON.stringify(text));
  const rest = chars.length - max;
  return `${visible(JSON.stringify(chars.slice(0, max).join("")))}... (${rest === 1 ? "1 more character" : `${rest} more characters`})`;
}

/** "1 character", "2 characters". */
function characters(n: number): string {
  return n === 1 ? "1 character" : `${n} characters`;
}

/** "binary data (N characters)" when the text is not text at all (over 10% of its start unreadable). */
export function binary(text: string): string | undefined {
  const sample = text.slice(0, 512);
  let unreadable = 0;
  for (const ch of sample) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === "\ufffd" || (code < 0x20 && ch !== "\n" && ch !== "\r" && ch !== "\t")) unreadable += 1;
  }
  return sample.length >= 32 && unreadable / sample.length > 0.1
    ? `binary data (${characters(text.length)})`
    : undefined;
}

/**
 * A path the user gave, quoted for an error message like {@link quoted}, but a long one keeps its
 * end, where the file's name is, and drops the start: `/home/me/projects/load/scenarios/500.yaml`
 * cut after 60 characters would name a folder, not the file that is wrong.
 */
export function quotedPath(path: string, max = ECHO_CHARACTERS): string {
  const chars = Array.from(path);
  if (chars.length <= max) return quoted(path, max);
  return (
    binary(path) ??
    `(${characters(chars.length - max)} before) ...${visible(JSON.stringify(chars.slice(-max).join("")))}`
  );
}

/** Invisible and direction-changing characters (a right-to-left override) escaped, so a message reads as it is. */
function visible(text: string): string {
  return text.replace(
    /[\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/gu,
    (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`,
  );
}

/** Shows a value the way the user wrote it: strings quoted (and cut), lists and mappings named. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string") return quoted(value);
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
    return String(value);
  }
  return typeof value;
}

export class DurationError extends KnownError<"invalid-duration"> {
  override readonly name = "DurationError";

  constructor(
    readonly expected: string,
    readonly input: unknown,
  ) {
    super("invalid-duration", `${expected}, got ${describeValue(input)}`);
  }

  override toJSON(): { name: string; reason: "invalid-duration"; message: string; expected: string } {
    return { name: this.name, reason: this.reason, message: this.message, expected: this.expected };
  }
}

function fromSeconds(seconds: number, input: unknown): Milliseconds {
  const ms = Math.round(seconds * 1000);
  if (ms > MAX_DURATION) throw new DurationError(DURATION_TOO_LONG, input);
  if (!Number.isSafeInteger(ms)) throw new DurationError(DURATION_EXPECTED, input);
  return ms;
}

/**
 * Parses `30s`, `5m`, `1h30m`, `250ms` or `1.5s` into milliseconds. A bare number, written as a
 * number or a string, counts seconds, matching what `--duration 30` means on a command line.
 * Results are rounded to whole milliseconds and at most {@link MAX_DURATION}.
 */
export function parseDuration(input: string | number): Milliseconds {
  if (typeof input === "number") {
    if (!Number.isFinite(input)) throw new DurationError(DURATION_EXPECTED, input);
    if (input < 0) throw new DurationError("expected a duration that is not negative", input);
    return fromSeconds(input, input);
  }
  const text = input.trim();
  if (text.startsWith("-")) throw new DurationError("expected a duration that is not negative", input);
  if (PLAIN_NUMBER.test(text)) return fromSeconds(Number(text), input);
  if (text === "") throw new DurationError(DURATION_EXPECTED, input);
  const part = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;
  let total = 0;
  while (part.lastIndex < text.length) {
    const match = part.exec(text);
    const [, amount, unit] = match ?? [];
    const scale = unit === undefined ? undefined : UNIT_MS[unit];
    if (amount === undefined || scale === undefined) throw new DurationError(DURATION_EXPECTED, input);
    total += Number(amount) * scale;
  }
  return fromSeconds(total / 1000, input);
}

/** The shortest of `1h30m`, `45s`, `1.5s`, `250ms` that reads back to the same milliseconds. */
export function formatDuration(ms: Milliseconds): string {
  if (ms === 0) return "0s";
  if (ms < 1000) return `${ms}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = (ms % 60_000) / 1000;
  return [
    hours > 0 ? `${hours}h` : "",
    minutes > 0 ? `${minutes}m` : "",
    seconds > 0 ? `${seconds}s` : "",
  ].join("");
}
