// Helpers for end-to-end tests only: never a dependency of a shipped package.
export * from "./cli.js";
export { leftovers } from "./leftovers.js";
