export type { LossCounts, LossRatioOfSums, Percentile, Population, Summary, Ratio } from "./statistics.js";
export {
  lossRatioByGroup,
  lossRatioOfSums,
  lossRatioPercentile,
  percentile,
  percentiles,
  summarize,
} from "./statistics.js";
export { parseThreshold, defaultThresholds, compare, ThresholdError } from "./threshold.js";
export type { Threshold, Op, Severity } from "./threshold.js";
export { Measurements } from "./measurements.js";
export type { Distribution, Selection } from "./measurements.js";
export { evaluate, observe } from "./verdict.js";
export type { Verdict, ThresholdResult, ThresholdStatus } from "./verdict.js";
export { junitXml, markdownSummary, githubAnnotations } from "./outputs.js";
export { judge } from "./verdict.js";
export { toPromQL, evaluateThroughPrometheus, PrometheusError } from "./promql.js";
export type { PromQuery, RunWindow } from "./promql.js";
