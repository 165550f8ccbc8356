/** Just enough PromQL lexing to find metric names and what rate-like functions wrap. */

const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "offset",
  "and",
  "or",
  "unless",
  "inf",
  "nan",
  "atan2",
]);

const GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g;
const STRINGS = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g;
const MATCHERS = /\{[^}]*\}/g;
const RANGES = /\[[^\]]*\]/g;
const MODIFIERS = /\boffset\s+-?(?:\d+(?:ms|[smhdwy]))+|@\s*(?:start\(\)|end\(\)|[\d.]+)/g;
const VARIABLES = /\$\{[^}]*\}|\$\w+/g;
const NUMBERS = /(?<![\w:])(?:0x[0-9a-f]+|\d+(?:\.\d*)?(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?)(?![\w:])/gi;
const IDENTIFIER = /[a-zA-Z_:][\w:]*/g;

function stripped(expr: string): string {
  return expr
    .replace(STRINGS, '""')
    .replace(MATCHERS, " ")
    .replace(RANGES, " ")
    .replace(GROUPING, " ")
    .replace(MODIFIERS, " ")
    .replace(VARIABLES, " ")
    .replace(NUMBERS, " ");
}

/** Metric names in an expression: identifiers that are not functions, keywords or label names. */
export function metricNames(expr: string): string[] {
  const text = stripped(expr);
  const names: string[] = [];
  for (const m of text.matchAll(IDENTIFIER)) {
    const after = text.slice(m.index + m[0].length).trimStart();
    if (after.startsWith("(")) continue;
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    names.push(m[0]);
  }
  return [...new Set(names)];
}

export interface RangeCall {
  readonly fn: string;
  readonly metric: string;
}

const RATE_LIKE = /\b(rate|irate|increase)\s*\(\s*([a-zA-Z_:][\w:]*)/g;

/** Each rate()/irate()/increase() with the metric of its range selector. */
export function rangeCalls(expr: string): RangeCall[] {
  const text = expr.replace(STRINGS, '""');
  return [...text.matchAll(RATE_LIKE)].map((m) => ({ fn: m[1] ?? "", metric: m[2] ?? "" }));
}

/** `$var`, `${var}` and `${var:format}` references, builtins (`$__...`) included. */
export function variableRefs(text: string): string[] {
  return [...text.matchAll(/\$\{(\w+)(?::[^}]*)?\}|\$(\w+)/g)].map((m) => m[1] ?? m[2] ?? "");
}
