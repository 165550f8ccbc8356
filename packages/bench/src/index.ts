export { keptUp, keptUpFigures, type KeptUp, type KeptUpFigures } from "./kept-up.js";
// for `swarm capacity`, which runs its steps as point processes of its own and samples them alike
export {
  emitPointEvent,
  parsePointEvent,
  progressEvent,
  targetFromEnv,
  type PointEvent,
} from "./progress.js";
export { Sampler, type WindowMeasure } from "./proc.js";
export { exitWord, RunProcess, RunWatch, type RunExit, type RunProcessTarget } from "./run-process.js";
export { joinGraceMs, PAUSE_MS } from "./workloads.js";
