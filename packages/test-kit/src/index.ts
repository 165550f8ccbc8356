// Helpers for end-to-end tests only: never a dependency of a shipped package.
export * from "./cli.js";
export { leftovers } from "./leftovers.js";
export { chromiumBrowsers, descendants, processGroup, type SeenProcess } from "./processes.js";
// the one wait: product code (the testbed) needs it too, so it lives there
export { waitFor, type WaitOptions } from "@livekit-swarm/testbed";
export { drillWorkload, writeDrill } from "./drills.js";
export { inboundTrack, runLines, windowSample } from "./samples.js";
export { clientNamespaces, isRoot, netnsTestbed, signalJoins, testbedUp } from "./testbeds.js";
export { drawnPixels, readPng, type Drawn, type Pixels } from "./png.js";
