/**
 * What the runner hands assembleJournal for the sample journal's run (journal-fixture.ts): node2
 * killed on a 3-node testbed, for tests of the journal and of the phases that feed it.
 */
import { parseDrill } from "@livekit-swarm/schema";
import { sampleJournal } from "./journal-fixture.js";
import type { FaultRun } from "../src/journal.js";
import type { FaultRecord, JournalInput } from "../src/runner/assemble.js";

export const DRILL_ENV = {
  LIVEKIT_URL: "ws://127.0.0.1:7880",
  LIVEKIT_API_KEY: "k",
  LIVEKIT_API_SECRET: "s",
};
const FIXTURE = sampleJournal();
const KILL = ((): FaultRun => {
  const [kill] = FIXTURE.faults;
  if (kill === undefined) throw new Error("the journal fixture has no fault");
  return kill;
})();
const at = (iso: string | null): number => Date.parse(iso ?? "");
const START = at(FIXTURE.start);
const T0 = at(FIXTURE.t0);

const DRILL = parseDrill(
  [
    `name: ${FIXTURE.drill.name}`,
    "workload: { rooms: 4, subscribers: 2 }",
    "faults:",
    `  - { id: ${KILL.id}, type: node.kill }`,
  ].join("\n"),
  "kill-busiest-node.yaml",
  { env: DRILL_ENV },
);

/** The fixture's fault as the runner records it while it runs (epoch ms, relative times unknown). */
function killRecord(): FaultRecord {
  return {
    ...KILL,
    confirmedMs: null,
    revertedAt: null,
    revertedMs: null,
    injectedAtMs: at(KILL.injectedAt),
    confirmedAtMs: at(KILL.confirmedAt),
    revertedAtMs: at(KILL.revertedAt),
    nodes: [{ name: "node2", index: 1, nodeId: "ND_7fQk2" }],
    roomNodes: {},
  };
}

export function sampleJournalInput(over: Partial<JournalInput> = {}): JournalInput {
  return {
    drill: DRILL,
    runId: FIXTURE.runId,
    host: FIXTURE.host,
    scenarioName: "kill",
    startedAt: START,
    endedAt: at(FIXTURE.end),
    stopped: undefined,
    problem: null,
    deployment: FIXTURE.deployment,
    rooms: ["room-0", "room-1", "room-2", "room-3"],
    workerPids: [101, 102],
    serverViewIntervalMs: 1000,
    observations: {
      participants: [],
      events: [],
      samples: [],
      serverViews: [],
      roomNodes: { before: {}, after: {} },
      windows: {
        baselineStart: START + 10_000,
        faultPhaseStart: START + 39_000,
        observeEnd: T0 + 30_000,
        afterStart: T0 + 30_000,
        end: at(FIXTURE.end),
      },
    },
    faultRuns: [killRecord()],
    rollbacks: FIXTURE.rollbacks,
    before: FIXTURE.steadyState.before,
    after: FIXTURE.steadyState.after,
    artifacts: FIXTURE.artifacts,
    ...over,
  };
}
