export { keptUp, keptUpFigures, type KeptUp, type KeptUpFigures } from "./kept-up.js";
