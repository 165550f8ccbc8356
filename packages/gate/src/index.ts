export { parseThreshold, defaultThresholds, compare, ThresholdError } from "./threshold.js";
export type { Threshold, Op, Severity } from "./threshold.js";
export { Measurements } from "./measurements.js";
export type { CensoredObservation, Selection } from "./measurements.js";
export type { Distribution, Statistic } from "./distribution.js";
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
  assertComparableScenario,
  assertWholeBaseline,
  baselineValue,
  BaselineError,
  formatFigure,
  noiseText,
  loadBaseline,
  loadRunRecord,
  parseRunRecord,
  runRecordOf,
  sampleSets,
  workloadDifferences,
} from "./baseline.js";
export type { RecordedFigure, RunRecord, SampleSet } from "./baseline.js";
export {
  COMPARISON_COLUMNS,
  changeOf,
  changeText,
  compareRuns,
  comparedValue,
  comparedRunName,
  comparisonHeadline,
  comparisonMarkdown,
  comparisonTable,
  deltaText,
  relativeText,
} from "./comparison.js";
export type { Change, ComparedFigure, Comparison } from "./comparison.js";
export { TOTALS, runTotals } from "./totals.js";
export type { Direction, RunTotals, TotalDefinition } from "./totals.js";
export { mannWhitney, NOISE_ALPHA } from "./noise.js";
export type { NoiseTest } from "./noise.js";
export type { BaselineComparison } from "./verdict.js";
export type { RelativeLimit, ResolvedBaseline } from "./threshold.js";
export { relativeLimit } from "./threshold.js";
export * from "./prometheus-gate.js";
