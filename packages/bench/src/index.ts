export { keptUp } from "./kept-up.js";
