export { runCapacity, machineDescription, type CapacityOptions, type CapacityRun } from "./capacity.js";
export { CapacityError } from "./errors.js";
export {
  judgeStep,
  GENERATOR_SATURATED,
  SERVER_SATURATED,
  type StepJudgement,
  type StepReading,
} from "./judge.js";
export { DEFAULT_QUALITY, QUALITY_ALIASES, qualityTexts, qualityThresholds } from "./quality.js";
export {
  capacityReport,
  capacityRow,
  kneeLine,
  CAPACITY_HEADER,
  markdownTable,
  type CapacityResult,
} from "./report.js";
export {
  defaultResolution,
  nextStep,
  simulate,
  type Knee,
  type SearchPlan,
  type StepOutcome,
  type Tried,
} from "./search.js";
export { ServerMetricsError } from "./server-metrics.js";
export type { Step, StepTiming } from "./step.js";
