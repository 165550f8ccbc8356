export type {
  AlertOptions,
  AlertRule,
  RecordingRule,
  RuleFile,
  RuleGroup,
  Severity,
  ThresholdSource,
} from "./rules.js";
export { defaultOptions } from "./rules.js";
export { GENERATED_HEADER, alertRules, renderRules, ruleFiles, runbookPath } from "./render.js";
export { metricNamesIn } from "./promql.js";
export { TABLE_END, TABLE_START, alertsTable, withAlertsTable } from "./table.js";
