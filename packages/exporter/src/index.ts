export { DEFAULT_JOB, SwarmExporter, type ExporterOptions, type Subject } from "./exporter.js";
export { ExporterError, type ExporterErrorReason } from "./errors.js";
export type { HttpRoute, MetricsServer, ServeOptions } from "./serve.js";
