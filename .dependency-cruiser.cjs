// The package arrows of docs/architecture.md, enforced by `npm run lint:deps` (part of `npm test`).
// Each rule's comment is printed with a violation, so it says why the arrow points the way it does.

/** Files that only tests load: they may reach the testbed and test-kit from any package. */
const TESTS = ["\\.test\\.ts$", "^packages/[^/]+/test/"];

/** A package's own files plus the packages it may import (by `@livekit-swarm/<name>`). */
function arrows(name, allowed, comment) {
  return {
    name: `${name}-arrows`,
    severity: "error",
    comment,
    from: { path: `^packages/${name}/`, pathNot: TESTS },
    to: { path: "^packages/", pathNot: [`^packages/(${[name, ...allowed].join("|")})/`] },
  };
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    arrows("schema", [], "schema is the bottom of the stack: the catalog and schemas every other package derives from; it imports nothing of ours, or a catalog change would drag in runtime code"),
    arrows("stats", ["schema"], "stats is pure arithmetic over samples (no clock, no I/O); it may read schema's shapes and nothing else of ours"),
    arrows("lean", ["schema", "stats"], "lean is an engine of pre-encoded participants (werift, LiveKit signalling over ws); it emits schema's sample and event shapes and may use stats, nothing else of ours, so load can import it behind its Engine interface without a cycle"),
    arrows("browser", ["schema", "lean"], "browser runs one participant in headless Chromium (livekit-client in a page it bundles, puppeteer-core driving it); the page draws lean's test pattern and reads its stamps, and speaks schema's event shapes; nothing else of ours, so load can drive it behind its Engine interface"),
    arrows("testbed", ["schema"], "testbed starts a local LiveKit deployment; it knows schema's shapes and nothing about load, chaos or the CLI, so any tool can use it"),
    arrows("gate", ["stats", "schema"], "gate turns statistics into verdicts; it reads stats and schema only, so a verdict never depends on how load was generated"),
    arrows("exporter", ["schema", "stats"], "exporter registers the catalog's metrics with prom-client; it reads schema and stats only"),
    arrows("load", ["stats", "gate", "testbed", "lean", "browser", "schema"], "load is the engine (participants behind its Engine interface, workers, orchestrator, run session); it may use stats, gate, testbed, lean, browser and schema, never chaos, the CLI or the generators"),
    arrows("k8s", ["schema"], "k8s renders a sharded run as Kubernetes manifests and collects the shards' results for the merge over HTTP; it reads schema's scenario and nothing that runs participants, so rendering loads no media stack"),
    arrows("chaos", ["load", "gate", "testbed", "stats", "schema"], "chaos drives load while injecting faults; it sits above load, gate, testbed, stats and schema, never the CLI"),
    arrows("alerts", ["schema"], "alerts are generated from the catalog alone (schema), so an alert can only query a catalogued metric"),
    arrows("dashboards", ["schema"], "dashboards are generated from the catalog alone (schema), so a panel can only query a catalogued metric"),
    arrows("bench", ["load", "testbed", "stats", "schema"], "bench measures the load engine's cost on a local testbed; it uses load, testbed, stats and schema, never the CLI"),
    arrows("capacity", ["bench", "load", "gate", "testbed", "stats", "schema"], "capacity searches for the rooms one node holds at a given quality: it runs load's sessions, judges them with gate, reuses bench's generator accounting and kept-up checks, and may start a testbed; never the CLI"),
    arrows("test-kit", ["testbed", "schema"], "test-kit holds end-to-end helpers over testbed processes and sample fixtures; it uses testbed and schema only"),
    arrows("livekit-swarm", ["dashboards"], "livekit-swarm is the published package and its release tooling: the bundle takes the built CLI by path at pack time (no import), and the release assets read the dashboards; nothing else of ours"),
    arrows("cli", ["schema", "stats", "testbed", "gate", "exporter", "load", "chaos", "alerts", "dashboards", "bench", "k8s", "capacity"], "cli is the top: it parses, calls a library, renders and exits; it may use every package except test-kit, which is for tests"),
    {
      name: "run-api-only",
      severity: "error",
      comment: "inside load, only the run API (run/run.ts: prepareRun, startRun) starts the orchestrator; every other file imports its types only, so a run is started one way whoever starts it (the session, a drill, a bench point), and the orchestrator is not exported",
      from: { path: "^packages/load/src/", pathNot: ["^packages/load/src/run/run\\.ts$", ...TESTS] },
      to: { path: "^packages/load/src/run/orchestrator\\.ts$", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "test-kit-only-in-tests",
      severity: "error",
      comment: "test-kit is private end-to-end tooling: only test files (packages/*/test/**, *.test.ts) may import it, so no shipped code depends on it",
      from: { path: "^packages/", pathNot: [...TESTS, "^packages/test-kit/"] },
      to: { path: "^packages/test-kit/" },
    },
    {
      name: "nothing-imports-cli",
      severity: "error",
      comment: "cli is the top of the stack: behaviour lives in a library package, so nothing (not even a test of another package) imports cli",
      from: { path: "^packages/", pathNot: "^packages/cli/" },
      to: { path: "^packages/cli/" },
    },
    {
      name: "no-deep-imports",
      severity: "error",
      comment: "import another package only as `@livekit-swarm/<name>` (its dist/index entry): a path into its src/ or dist/ bypasses its public API and breaks when files move",
      from: { path: "^packages/([^/]+)/" },
      to: { path: "^packages/", pathNot: ["^packages/$1/", "^packages/[^/]+/dist/index\\.(js|d\\.ts)$"] },
    },
    {
      name: "resolvable",
      severity: "error",
      comment: "every import must resolve; `@livekit-swarm/<name>` resolves to the package's dist/, so build first (`npx tsc -b`), or the arrows above cannot be checked",
      from: { path: "^packages/" },
      to: { couldNotResolve: true, path: "^@livekit-swarm/" },
    },
    {
      name: "no-cycles",
      severity: "error",
      comment: "a cycle makes two modules one: neither can be built, tested or understood alone; move the shared part down",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: ["node_modules", "/dist/"] },
    exclude: { path: ["\\.d\\.ts$"] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.base.json" },
    combinedDependencies: false,
    preserveSymlinks: false,
  },
};
