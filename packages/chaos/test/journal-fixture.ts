/**
 * A realistic journal for tests of the report and JUnit renderers: node2, hosting room-0, is killed on a
 * 3-node cluster with 4 rooms × (1 publisher, 2 subscribers). room-0's clients notice only when the
 * signal relay times out (~8-9 s, as measured in a hand-run node-kill study) and come back by a full
 * reconnect; one subscriber stays stuck reconnecting. Nobody's signalling ran through node2.
 */
import { EXPECT_DEFAULT, TOOL, type Expectations } from "@livekit-swarm/schema";
import { JOURNAL_SCHEMA } from "../src/journal.js";
import type { DrillJournal, ParticipantOutcome, TimelineEvent } from "../src/journal.js";

const START = "2026-11-22T10:00:00.000Z";
const T0 = "2026-11-22T10:00:40.000Z";
const END = "2026-11-22T10:01:40.000Z";

const NODES = ["node1", "node2", "node3"] as const;
/** node_selector sort_by: rooms spreads 4 rooms 2/1/1. */
const ROOM_NODE: Readonly<Record<string, string>> = {
  "room-0": "node2",
  "room-1": "node1",
  "room-2": "node3",
  "room-3": "node1",
};

/** Every expectation left out: what a drill without `expect:` parses to (the schema's own default). */
export const NO_EXPECTATIONS: Expectations = EXPECT_DEFAULT;

/** A participant no fault touched: on the same node and session from start to end. */
export function untouchedOutcome(
  who: Pick<ParticipantOutcome, "identity" | "room" | "role">,
  node: string | null,
  sid: string,
  reach: Pick<ParticipantOutcome, "signalNode" | "population"> = { signalNode: null, population: "unknown" },
): ParticipantOutcome {
  return {
    ...who,
    fault: null,
    ...reach,
    roomNodeBefore: node,
    roomNodeAfter: node,
    affected: false,
    detectMs: null,
    reconnectMs: null,
    path: null,
    episodes: 0,
    mediaResumeMs: null,
    connectedAtEnd: true,
    lostReason: null,
    sidBefore: sid,
    sidAfter: sid,
    roomSidBefore: null,
    roomSidAfter: null,
    lateJoiner: null,
  };
}

/**
 * The balancer spread signalling round-robin; nobody's ran through node2, so only room-0's
 * participants were reached (their room was on it) and they noticed late.
 */
function unaffected(room: number, identity: string, role: ParticipantOutcome["role"]): ParticipantOutcome {
  const node = ROOM_NODE[`room-${String(room)}`] ?? null;
  return untouchedOutcome(
    { identity, room: `room-${String(room)}`, role },
    node,
    `PA_${identity.replace(/-/g, "")}`,
    {
      signalNode: identity.endsWith("a") ? "node3" : "node1",
      population: node === "node2" ? "room-on-failed-node" : "other",
    },
  );
}

function roomMembers(room: number): ParticipantOutcome[] {
  return [
    unaffected(room, `pub-${String(room)}`, "publisher"),
    unaffected(room, `sub-${String(room)}a`, "subscriber"),
    unaffected(room, `sub-${String(room)}b`, "subscriber"),
  ];
}

const participants: readonly ParticipantOutcome[] = [
  {
    ...unaffected(0, "pub-0", "publisher"),
    fault: "kill-busiest",
    roomNodeAfter: "node1",
    affected: true,
    detectMs: 9100,
    reconnectMs: 9600,
    path: "full",
    episodes: 1,
    sidAfter: "PA_pub0new",
  },
  {
    ...unaffected(0, "sub-0a", "subscriber"),
    fault: "kill-busiest",
    roomNodeAfter: "node1",
    affected: true,
    detectMs: 7800,
    reconnectMs: 9200,
    path: "full",
    episodes: 1,
    mediaResumeMs: 10_100,
    sidAfter: "PA_sub0anew",
  },
  {
    ...unaffected(0, "sub-0b", "subscriber"),
    fault: "kill-busiest",
    roomNodeAfter: "node1",
    affected: true,
    detectMs: 7900,
    episodes: 1,
    connectedAtEnd: false,
    lostReason: "stuck_reconnecting",
    sidAfter: null,
  },
  ...roomMembers(1),
  ...roomMembers(2),
  ...roomMembers(3),
];

/** Rooms 0-2 join during the observation, 5 s apart; room-3 was already connected when it started. */
function joins(): TimelineEvent[] {
  return [0, 1, 2].flatMap((room) =>
    [`pub-${String(room)}`, `sub-${String(room)}a`, `sub-${String(room)}b`].map((identity, i) => ({
      tMs: -30_000 + room * 5000 + i * 300,
      kind: "joined" as const,
      subject: identity,
      detail: `room-${String(room)} via ${NODES[(room + i) % NODES.length] ?? "node1"}`,
    })),
  );
}

const timeline: readonly TimelineEvent[] = [
  ...joins(),
  { tMs: -12_000, kind: "phase", subject: "drill", detail: "steady state before" },
  { tMs: -50, kind: "phase", subject: "drill", detail: "fault kill-busiest issued" },
  { tMs: 0, kind: "fault", subject: "node2", detail: "node.kill: pid 41873 gone" },
  { tMs: 100, kind: "media-stalled", subject: "sub-0a", detail: "pub-0/audio" },
  { tMs: 100, kind: "media-stalled", subject: "sub-0b", detail: "pub-0/audio" },
  { tMs: 1100, kind: "server", subject: "node2", detail: "balancer marked node2 down" },
  { tMs: 7800, kind: "reconnecting", subject: "sub-0a", detail: "signal relay timed out" },
  { tMs: 7900, kind: "reconnecting", subject: "sub-0b", detail: "signal relay timed out" },
  { tMs: 8400, kind: "server", subject: "node1", detail: "room-0 moved node2 → node1" },
  { tMs: 9100, kind: "reconnecting", subject: "pub-0", detail: "signal relay timed out" },
  { tMs: 9200, kind: "reconnected", subject: "sub-0a", detail: "full reconnect, new sid PA_sub0anew" },
  { tMs: 9600, kind: "reconnected", subject: "pub-0", detail: "full reconnect, new sid PA_pub0new" },
  { tMs: 10_100, kind: "media-resumed", subject: "sub-0a", detail: "pub-0/audio" },
  { tMs: 30_000, kind: "revert", subject: "node2", detail: "node2 restarted as ND_9xQ2mPv" },
  { tMs: 45_000, kind: "finding", subject: "sub-0b", detail: "still reconnecting at the recovery deadline" },
  { tMs: 50_000, kind: "phase", subject: "drill", detail: "steady state after" },
];

export function sampleJournal(overrides: Partial<DrillJournal> = {}): DrillJournal {
  return {
    schema: JOURNAL_SCHEMA,
    drill: {
      name: "kill-busiest-node",
      file: "chaos/kill-busiest-node.yaml",
      description: "Kill the node hosting the busiest room; everyone must be back with media within 20 s.",
      backend: "local",
    },
    runId: "20261122T100000Z-7f3a",
    toolVersion: TOOL.version,
    host: "ci-runner-2",
    start: START,
    end: END,
    durationMs: 100_000,
    t0: T0,
    status: "completed",
    verdict: "fail",
    reason: "participants lost: observed 1 (stuck_reconnecting), expected max 0",
    exitCode: 1,
    deployment: {
      url: "ws://127.0.0.1:37080",
      nodes: { node1: "ND_a1b2c3", node2: "ND_7fQk2", node3: "ND_z9y8x7" },
      balancer: "haproxy roundrobin, inter 1s fall 2",
    },
    workload: { rooms: 4, publishers: 1, subscribers: 2, audio: "48 kHz sine, dtx off" },
    steadyState: {
      before: [
        { name: "connected share", observed: 1, tolerance: ">= 1", met: true, detail: null },
        { name: "loss ratio", observed: 0.002, tolerance: "<= 0.02", met: true, detail: null },
      ],
      after: [
        {
          name: "connected share",
          observed: 0.9167,
          tolerance: ">= 0.9",
          met: true,
          detail: "11 of 12 connected",
        },
        { name: "loss ratio", observed: 0.0024, tolerance: "<= 0.02", met: true, detail: null },
      ],
    },
    faults: [
      {
        id: "kill-busiest",
        type: "node.kill",
        selection: "node hosting the busiest room (room-0, 3 participants)",
        subjects: [{ kind: "node", name: "node2", nodeId: "ND_7fQk2", pid: 41873 }],
        actions: ["kill -KILL 41873"],
        injectedAt: "2026-11-22T10:00:39.950Z",
        confirmedAt: T0,
        confirmedMs: 0,
        injectLatencyMs: 50,
        evidence: "pid 41873 gone",
        revertedAt: "2026-11-22T10:01:10.000Z",
        revertedMs: 30_000,
        error: null,
      },
    ],
    rollbacks: [
      {
        fault: "kill-busiest",
        action: "start node2",
        at: "2026-11-22T10:01:10.000Z",
        ok: true,
        error: null,
      },
    ],
    timeline,
    participants,
    tracks: [
      {
        subscriber: "sub-0a",
        fault: "kill-busiest",
        track: "pub-0/audio",
        stalledMs: 100,
        resumedMs: 10_100,
        resumed: true,
      },
      {
        subscriber: "sub-0b",
        fault: "kill-busiest",
        track: "pub-0/audio",
        stalledMs: 100,
        resumedMs: null,
        resumed: false,
      },
    ],
    rooms: Object.entries(ROOM_NODE).map(([room, node]) => ({
      room,
      nodeBefore: node,
      nodeAfter: room === "room-0" ? "node1" : node,
      redisNodeAfter: room === "room-0" ? "node1" : node,
      relocated: room === "room-0",
      // the SID survives a kill: the room is re-created lazily under its old SID
      roomSidsBefore: [`RM_${room.replace("-", "")}`],
      instances: [
        {
          sid: `RM_${room.replace("-", "")}`,
          node: room === "room-0" ? "node1" : node,
          participants: [`pub-${room.slice(-1)}`, `sub-${room.slice(-1)}a`, `sub-${room.slice(-1)}b`],
        },
      ],
      loss: { before: 0, during: room === "room-0" ? 0.12 : 0.001, after: 0.0005 },
      serverViews: 60,
      consistentMs: room === "room-0" ? 12_500 : -20_000,
      recoveries: room === "room-0" ? [{ fault: "kill-busiest", subscribers: 2, recoveredMs: null }] : [],
      ghosts: [],
      duplicates: [],
      missing: [],
    })),
    quality: {
      before: {
        fromMs: -30_000,
        toMs: 0,
        lossRatio: 0.002,
        jitterP95S: 0.0041,
        rttP50S: 0.0124,
        bitrateInBps: 1_450_000,
        wireBitrateInBps: 1_532_000,
        videoFpsP50: 20,
        videoHeightP50: 360,
        samples: 120,
      },
      during: {
        fromMs: 0,
        toMs: 20_000,
        lossRatio: 0.081,
        jitterP95S: 0.0312,
        rttP50S: 0.1855,
        bitrateInBps: 980_000,
        wireBitrateInBps: 1_041_000,
        videoFpsP50: 3,
        videoHeightP50: 180,
        samples: 60,
      },
      after: {
        fromMs: 30_000,
        toMs: 60_000,
        lossRatio: 0.0024,
        jitterP95S: 0.0045,
        bitrateInBps: 1_420_000,
        samples: 90,
      },
      lossRatioVsBaseline: 1.2,
      bitrateVsBaseline: 0.98,
    },
    aggregates: {
      participants: 12,
      affected: 3,
      detect: { n: 3, p50: 7900, p95: 9100, max: 9100 },
      reconnect: { n: 2, p50: 9200, p95: 9600, max: 9600 },
      mediaResume: { n: 1, p50: 10_100, p95: 10_100, max: 10_100 },
      tracksNotResumed: 1,
      paths: { resume: 0, full: 2, rejoin: 0 },
      lostByReason: { stuck_reconnecting: 1 },
      ghosts: 0,
      consistentMs: 12_500,
      signalPaths: "the testbed's balancer log (HAProxy)",
      byPopulation: [
        {
          population: "room-on-failed-node",
          participants: 3,
          affected: 3,
          detect: { n: 3, p50: 7900, p95: 9100, max: 9100 },
          reconnect: { n: 2, p50: 9200, p95: 9600, max: 9600 },
        },
        {
          population: "other",
          participants: 9,
          affected: 0,
          detect: { n: 0, p50: null, p95: null, max: null },
          reconnect: { n: 0, p50: null, p95: null, max: null },
        },
      ],
    },
    expectations: [
      { name: "detect", expected: "p95 <= 15s", observed: "9.1 s (n=3)", met: true },
      { name: "reconnect", expected: "p95 <= 20s", observed: "9.6 s (n=2)", met: true },
      { name: "participants lost", expected: "max 0", observed: "1 (stuck_reconnecting)", met: false },
      { name: "media resume", expected: "p95 <= 20s", observed: "10.1 s (n=1)", met: true },
      {
        name: "quality after",
        expected: "loss after <= 2 × before",
        observed: "not enough samples after recovery (90 < 120)",
        met: null,
      },
    ],
    findings: [
      {
        id: "stuck-reconnecting",
        severity: "high",
        accepted: false,
        title: "subscriber stuck reconnecting after node kill",
        detail:
          "room-0/sub-0b entered reconnecting at +7.9 s and was still reconnecting at the end (+60.0 s); the SDK neither recovered nor gave up",
        atMs: 7900,
      },
    ],
    abort: null,
    artifacts: {
      journal: "journal.json",
      report: "report.md",
      junit: "junit.xml",
      "server logs": "logs/",
    },
    ...overrides,
  };
}
