/** PromQL words that look like metric names: functions, aggregations, keywords. */
const NOT_METRICS = new Set([
  "abs",
  "absent",
  "absent_over_time",
  "avg",
  "avg_over_time",
  "bool",
  "bottomk",
  "by",
  "ceil",
  "changes",
  "clamp",
  "clamp_max",
  "clamp_min",
  "count",
  "count_over_time",
  "count_values",
  "delta",
  "deriv",
  "exp",
  "floor",
  "group",
  "group_left",
  "group_right",
  "histogram_quantile",
  "humanizeDuration",
  "humanizePercentage",
  "idelta",
  "ignoring",
  "increase",
  "irate",
  "label_replace",
  "last_over_time",
  "ln",
  "max",
  "max_over_time",
  "min",
  "min_over_time",
  "offset",
  "on",
  "or",
  "and",
  "unless",
  "predict_linear",
  "quantile",
  "quantile_over_time",
  "rate",
  "resets",
  "round",
  "scalar",
  "sort",
  "sort_desc",
  "stddev",
  "stdvar",
  "sum",
  "sum_over_time",
  "time",
  "timestamp",
  "topk",
  "vector",
  "without",
  "inf",
  "nan",
]);

/**
 * Metric names a PromQL expression selects: identifiers (recording-rule names may hold colons)
 * outside label matchers and strings, that are not functions, keywords or grouping labels.
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "{}")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "")
    .replace(/\[[^\]]*\]/g, "[]");
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.])([a-zA-Z_:][\w:]*)(?![\w:]*\s*\()/g)) {
    const name = m[1];
    if (name === undefined || NOT_METRICS.has(name.toLowerCase())) continue;
    if (/^\d/.test(name)) continue;
    names.add(name);
  }
  return [...names];
}
