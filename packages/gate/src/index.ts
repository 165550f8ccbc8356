export { parseThreshold, defaultThresholds, compare, ThresholdError } from "./threshold.js";
export type { Threshold, Op, Severity } from "./threshold.js";
export { Measurements } from "./measurements.js";
export type { CensoredObservation, Distribution, Selection, Statistic } from "./measurements.js";
export { evaluate, observe } from "./verdict.js";
export type { Verdict, ThresholdResult, ThresholdStatus } from "./verdict.js";
export { junitXml, markdownSummary, githubAnnotations } from "./outputs.js";
export { judge } from "./verdict.js";
export { toPromQL, evaluateThroughPrometheus } from "./promql.js";
export { queryInstant, prometheusUrl, PrometheusError } from "./prometheus.js";
export type { InstantQueryOptions } from "./prometheus.js";
export type { PromQuery, RunWindow } from "./promql.js";
export { AbortWatch } from "./abort-watch.js";
export {
  applyBaseline,
  assertComparable,
  baselineValue,
  BaselineError,
  compareRuns,
  comparisonTable,
  formatFigure,
  noiseText,
  loadBaseline,
  loadRunRecord,
  parseRunRecord,
  sampleSets,
  workloadDifferences,
} from "./baseline.js";
export type { ComparisonRow, RecordedFigure, RunRecord, SampleSet } from "./baseline.js";
export { mannWhitney, NOISE_ALPHA } from "./noise.js";
export type { NoiseTest } from "./noise.js";
export type { BaselineComparison } from "./verdict.js";
export type { RelativeLimit, ResolvedBaseline } from "./threshold.js";
export { relativeLimit } from "./threshold.js";
export * from "./prometheus-gate.js";
