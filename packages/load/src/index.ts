// The run engine: plans, worker processes and their participants, the aggregate and the run's
// reports. Importing this module never loads the media stack (workers load it in their own process).
export * from "./run/messages.js";
export * from "./run/plan.js";
export * from "./run/orchestrator.js";
export * from "./run/aggregate.js";
export { FIRST_MEDIA_WINDOW_MS } from "./engine/participant.js";
export { preflight, TargetError } from "./preflight.js";
export { summaryTable } from "./report/table.js";
export { reportHtml } from "./report/html.js";
export { formatValue } from "./report/format.js";
