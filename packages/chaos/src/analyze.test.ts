import type { InboundTrackSample, ParticipantEvent, Role, WindowSample } from "@livekit-swarm/schema";
import { inboundTrack, windowSample } from "@livekit-swarm/test-kit";
import { describe, expect, it } from "vitest";
import {
  analyzeDrill,
  SIGNAL_PATHS_FROM_BALANCER,
  type DrillAnalysis,
  type DrillObservations,
  type FaultTiming,
  type ObservedEvent,
  type ServerView,
} from "./analyze.js";
import { NO_EXPECTATIONS, untouchedOutcome } from "../test/journal-fixture.js";
import type { ParticipantOutcome, RoomOutcome } from "./journal.js";
import { judgeExpectations } from "./verdict.js";

/** Epoch ms of the first fault's confirmation (T0): every time below is an offset from it. */
const T0 = 1_000_000;
const at = (ms: number): number => T0 + ms;

const KILL: FaultTiming = { id: "kill-node2", injectedAt: at(-50), confirmedAt: T0, revertedAt: null };

const WINDOWS: DrillObservations["windows"] = {
  baselineStart: at(-30_000),
  faultPhaseStart: at(-10_000),
  observeEnd: at(60_000),
  afterStart: at(60_000),
  end: at(90_000),
};

/** `room/identity` as the analysis keys participants: identities repeat across rooms. */
function split(who: string): { room: string; identity: string } {
  const slash = who.indexOf("/");
  return { room: who.slice(0, slash), identity: who.slice(slash + 1) };
}

function roleOf(identity: string): Role {
  return identity.startsWith("pub") ? "publisher" : "subscriber";
}

function on(ms: number, who: string, event: ParticipantEvent): ObservedEvent {
  const { room, identity } = split(who);
  return { t: at(ms), room, participant: identity, role: roleOf(identity), event };
}

function media(track: string, flowing: boolean, atMs: number): ParticipantEvent {
  return { type: "media", track, kind: track.endsWith("/video") ? "video" : "audio", flowing, atMs };
}

/** The watcher reports a stall two 250 ms looks after the last packet, at that packet's look. */
function stall(who: string, track: string, lastPacketMs: number): ObservedEvent {
  return on(lastPacketMs + 500, who, media(track, false, at(lastPacketMs)));
}

function resume(who: string, track: string, firstPacketMs: number): ObservedEvent {
  return on(firstPacketMs, who, media(track, true, at(firstPacketMs)));
}

/** Joined 20 s before T0 with `sid`, receiving `tracks` (`<publisher>/<kind>`) from then on. */
function steady(who: string, sid: string, tracks: readonly string[] = []): ObservedEvent[] {
  return [
    on(-20_000, who, { type: "joined", joinS: 0.4 }),
    on(-19_990, who, { type: "session", sid }),
    ...tracks.map((track) => resume(who, track, -19_000)),
  ];
}

/** reconnecting at `detect`, reconnected at `back`; a new sid (reported with Reconnected) when given. */
function reconnects(
  who: string,
  detect: number,
  back: number,
  path: "resume" | "full",
  newSid?: string,
): ObservedEvent[] {
  return [
    on(detect, who, { type: "reconnecting" }),
    ...(newSid === undefined ? [] : [on(back, who, { type: "session", sid: newSid })]),
    on(back, who, { type: "reconnected", durationS: (back - detect) / 1000, path }),
  ];
}

function observe(
  who: readonly string[],
  events: readonly ObservedEvent[],
  more: Partial<DrillObservations> = {},
): DrillObservations {
  return {
    participants: who.map((w) => {
      const { room, identity } = split(w);
      return { room, identity, role: roleOf(identity) };
    }),
    events,
    samples: [],
    faults: [KILL],
    serverViews: [],
    roomNodes: { before: {}, after: {} },
    windows: WINDOWS,
    ...more,
  };
}

function outcome(analysis: DrillAnalysis, who: string): ParticipantOutcome {
  const { room, identity } = split(who);
  const found = analysis.participants.find((p) => p.room === room && p.identity === identity);
  if (found === undefined) {
    const known = analysis.participants.map((p) => `${p.room}/${p.identity}`).join(", ");
    throw new Error(`no outcome for ${who} (have ${known})`);
  }
  return found;
}

function roomOf(analysis: DrillAnalysis, room: string): RoomOutcome {
  const found = analysis.rooms.find((r) => r.room === room);
  if (found === undefined)
    throw new Error(`no room ${room} (have ${analysis.rooms.map((r) => r.room).join(", ")})`);
  return found;
}

describe("analyzeDrill: a node kill", () => {
  // room-0 lives on node2, which is killed; room-1 on node1 repeats room-0's identities
  const who = ["room-0/pub-1", "room-0/sub-1", "room-0/sub-2", "room-1/pub-1", "room-1/sub-1"];
  const analysis = analyzeDrill(
    observe(
      who,
      [
        ...steady("room-0/pub-1", "PA_0pub1"),
        ...steady("room-0/sub-1", "PA_0sub1"),
        ...steady("room-0/sub-2", "PA_0sub2"),
        ...steady("room-1/pub-1", "PA_1pub1"),
        ...steady("room-1/sub-1", "PA_1sub1"),
        ...reconnects("room-0/pub-1", 10, 3400, "full", "PA_0pub1b"),
        ...reconnects("room-0/sub-1", 10, 3400, "full", "PA_0sub1b"),
        // its signal connection ran through node1: it notices only when the relay times out
        ...reconnects("room-0/sub-2", 9000, 9600, "full", "PA_0sub2b"),
      ],
      {
        roomNodes: {
          before: { "room-0": "node2", "room-1": "node1" },
          after: { "room-0": "node1", "room-1": "node1" },
        },
      },
    ),
  );

  it("takes T0 from the fault's confirmation", () => {
    expect(analysis.t0).toBe(T0);
    expect(analysis.timeline).toContainEqual({
      tMs: 0,
      kind: "fault",
      subject: "kill-node2",
      detail: "kill-node2 confirmed",
    });
  });

  it("times the killed room's participants from T0, with the full path and their new sid", () => {
    expect(outcome(analysis, "room-0/pub-1")).toEqual({
      identity: "pub-1",
      room: "room-0",
      role: "publisher",
      fault: "kill-node2",
      // no balancer log in these observations: the signal path is unknown, not guessed
      signalNode: null,
      population: "unknown",
      roomNodeBefore: "node2",
      roomNodeAfter: "node1",
      affected: true,
      detectMs: 10,
      reconnectMs: 3400,
      path: "full",
      episodes: 1,
      mediaResumeMs: null,
      connectedAtEnd: true,
      lostReason: null,
      sidBefore: "PA_0pub1",
      sidAfter: "PA_0pub1b",
      // these events carry no room SID: where its instance was is unknown
      roomSidBefore: null,
      roomSidAfter: null,
      lateJoiner: null,
    });
    expect(outcome(analysis, "room-0/sub-1")).toMatchObject({
      detectMs: 10,
      reconnectMs: 3400,
      path: "full",
    });
  });

  it("times a participant whose signal was elsewhere from its late detection", () => {
    expect(outcome(analysis, "room-0/sub-2")).toMatchObject({
      fault: "kill-node2",
      detectMs: 9000,
      reconnectMs: 9600,
      path: "full",
      episodes: 1,
    });
  });

  it("keeps the same identities in another room apart, and unaffected", () => {
    expect(outcome(analysis, "room-1/pub-1")).toEqual(
      untouchedOutcome({ identity: "pub-1", room: "room-1", role: "publisher" }, "node1", "PA_1pub1"),
    );
    expect(outcome(analysis, "room-1/sub-1")).toMatchObject({ affected: false, sidAfter: "PA_1sub1" });
  });

  it("aggregates each participant's disruption", () => {
    expect(analysis.aggregates).toEqual({
      participants: 5,
      affected: 3,
      detect: { n: 3, p50: 10, p95: 9000, max: 9000 },
      reconnect: { n: 3, p50: 3400, p95: 9600, max: 9600 },
      mediaResume: { n: 0, p50: null, p95: null, max: null },
      tracksNotResumed: 0,
      paths: { resume: 0, full: 3, rejoin: 0 },
      lostByReason: {},
      ghosts: 0,
      consistentMs: null,
      signalPaths: null,
      byPopulation: [
        {
          population: "unknown",
          participants: 5,
          affected: 3,
          detect: { n: 3, p50: 10, p95: 9000, max: 9000 },
          reconnect: { n: 3, p50: 3400, p95: 9600, max: 9600 },
        },
      ],
    });
    expect(analysis.findings).toEqual([]);
  });

  it("puts each disruption on the timeline relative to T0", () => {
    const rows = analysis.timeline.filter((e) => e.subject === "room-0/sub-2");
    expect(rows.map((e) => [e.tMs, e.kind, e.detail])).toEqual([
      [-20_000, "joined", "joined"],
      [9000, "reconnecting", "reconnecting"],
      [9600, "reconnected", "reconnected (full)"],
    ]);
  });
});

describe("analyzeDrill: knocked down twice by the same fault", () => {
  const analysis = analyzeDrill(
    observe(
      ["room-0/sub-1"],
      [
        ...steady("room-0/sub-1", "PA_sub1"),
        ...reconnects("room-0/sub-1", 10, 1200, "resume"),
        // an abandoned resume completing late knocks it down again
        ...reconnects("room-0/sub-1", 4000, 6500, "resume"),
      ],
    ),
  );

  it("has one outcome with two episodes, back at the second reconnected", () => {
    expect(analysis.participants).toHaveLength(1);
    expect(outcome(analysis, "room-0/sub-1")).toMatchObject({
      fault: "kill-node2",
      detectMs: 10,
      reconnectMs: 6500,
      path: "resume",
      episodes: 2,
      connectedAtEnd: true,
    });
    expect(analysis.aggregates.reconnect).toEqual({ n: 1, p50: 6500, p95: 6500, max: 6500 });
  });

  it("reports it as a finding at its first detection", () => {
    expect(analysis.findings).toEqual([
      {
        id: "reconnect-cycles",
        severity: "medium",
        accepted: false,
        title: "knocked down again after recovering",
        detail:
          "room-0/sub-1 went through 2 reconnect cycles for fault kill-node2 (an abandoned resume completing late is a known cause: docs/livekit-behaviour.md 4.3)",
        atMs: 10,
      },
    ]);
  });
});

describe("analyzeDrill: a rolling restart", () => {
  const first: FaultTiming = {
    id: "restart-node1",
    injectedAt: at(-50),
    confirmedAt: T0,
    revertedAt: at(2000),
  };
  const second: FaultTiming = {
    id: "restart-node2",
    injectedAt: at(29_950),
    confirmedAt: at(30_000),
    revertedAt: at(32_000),
  };
  const who = ["room-a/sub-1", "room-b/sub-1", "room-c/sub-1", "room-d/sub-1"];
  const analysis = analyzeDrill(
    observe(
      who,
      [
        // room-a is on node1: the first restart only
        ...steady("room-a/sub-1", "PA_a", ["pub-1/audio"]),
        ...reconnects("room-a/sub-1", 20, 2500, "resume"),
        stall("room-a/sub-1", "pub-1/audio", -100),
        resume("room-a/sub-1", "pub-1/audio", 3000),
        // room-b is on node2: the second restart only, its last packet just before it was issued
        ...steady("room-b/sub-1", "PA_b", ["pub-1/audio"]),
        ...reconnects("room-b/sub-1", 30_020, 34_000, "resume"),
        stall("room-b/sub-1", "pub-1/audio", 29_900),
        resume("room-b/sub-1", "pub-1/audio", 35_000),
        // room-c feels both, the second one longer
        ...steady("room-c/sub-1", "PA_c", ["pub-1/audio"]),
        ...reconnects("room-c/sub-1", 10, 1500, "resume"),
        stall("room-c/sub-1", "pub-1/audio", 0),
        resume("room-c/sub-1", "pub-1/audio", 1600),
        ...reconnects("room-c/sub-1", 30_010, 36_000, "resume"),
        stall("room-c/sub-1", "pub-1/audio", 30_000),
        resume("room-c/sub-1", "pub-1/audio", 36_500),
        // room-d feels both, the first one longer
        ...steady("room-d/sub-1", "PA_d"),
        ...reconnects("room-d/sub-1", 10, 8000, "resume"),
        ...reconnects("room-d/sub-1", 30_010, 31_000, "resume"),
      ],
      { faults: [second, first] },
    ),
  );

  it("attributes each disruption to the restart before it, timed from that restart's T0", () => {
    expect(outcome(analysis, "room-a/sub-1")).toMatchObject({
      fault: "restart-node1",
      detectMs: 20,
      reconnectMs: 2500,
      episodes: 1,
      mediaResumeMs: 3000,
    });
    expect(outcome(analysis, "room-b/sub-1")).toMatchObject({
      fault: "restart-node2",
      detectMs: 20,
      reconnectMs: 4000,
      episodes: 1,
      mediaResumeMs: 5000,
    });
  });

  it("lets the worst disruption speak for a participant hit by both", () => {
    expect(outcome(analysis, "room-c/sub-1")).toMatchObject({
      fault: "restart-node2",
      detectMs: 10,
      reconnectMs: 6000,
      path: "resume",
      episodes: 2,
      // the second restart's track only
      mediaResumeMs: 6500,
    });
    expect(outcome(analysis, "room-d/sub-1")).toMatchObject({
      fault: "restart-node1",
      detectMs: 10,
      reconnectMs: 8000,
      episodes: 2,
    });
    // two faults are not "knocked down again"
    expect(analysis.findings).toEqual([]);
  });

  it("attributes each stall to its own restart", () => {
    expect(analysis.tracks).toEqual([
      {
        subscriber: "room-a/sub-1",
        fault: "restart-node1",
        track: "pub-1/audio",
        stalledMs: -100,
        resumedMs: 3000,
        resumed: true,
      },
      {
        subscriber: "room-b/sub-1",
        fault: "restart-node2",
        track: "pub-1/audio",
        stalledMs: -100,
        resumedMs: 5000,
        resumed: true,
      },
      {
        subscriber: "room-c/sub-1",
        fault: "restart-node1",
        track: "pub-1/audio",
        stalledMs: 0,
        resumedMs: 1600,
        resumed: true,
      },
      {
        subscriber: "room-c/sub-1",
        fault: "restart-node2",
        track: "pub-1/audio",
        stalledMs: 0,
        resumedMs: 6500,
        resumed: true,
      },
    ]);
  });

  it("counts every recovery by path, and every track's resume", () => {
    expect(analysis.aggregates.paths).toEqual({ resume: 6, full: 0, rejoin: 0 });
    expect(analysis.aggregates.detect).toEqual({ n: 4, p50: 10, p95: 20, max: 20 });
    expect(analysis.aggregates.reconnect).toEqual({ n: 4, p50: 4000, p95: 8000, max: 8000 });
    expect(analysis.aggregates.mediaResume).toEqual({ n: 4, p50: 3000, p95: 6500, max: 6500 });
  });

  it("takes T0 from the first restart and places the second one on the timeline after it", () => {
    expect(analysis.t0).toBe(T0);
    expect(analysis.timeline.filter((e) => e.kind === "fault" || e.kind === "revert")).toEqual([
      { tMs: 0, kind: "fault", subject: "restart-node1", detail: "restart-node1 confirmed" },
      { tMs: 2000, kind: "revert", subject: "restart-node1", detail: "restart-node1 reverted" },
      { tMs: 30_000, kind: "fault", subject: "restart-node2", detail: "restart-node2 confirmed" },
      { tMs: 32_000, kind: "revert", subject: "restart-node2", detail: "restart-node2 reverted" },
    ]);
  });
});

describe("analyzeDrill: reconnect paths", () => {
  const analysis = analyzeDrill(
    observe(
      ["room-0/sub-1", "room-0/sub-2", "room-0/sub-3"],
      [
        ...steady("room-0/sub-1", "PA_sub1"),
        ...steady("room-0/sub-2", "PA_sub2"),
        ...steady("room-0/sub-3", "PA_sub3"),
        // the new sid shows up seconds after Reconnected
        ...reconnects("room-0/sub-1", 10, 1000, "resume"),
        on(4500, "room-0/sub-1", { type: "session", sid: "PA_sub1b" }),
        ...reconnects("room-0/sub-2", 10, 1000, "resume"),
        // the SDK gives up; the app rejoins as a new participant
        on(10, "room-0/sub-3", { type: "reconnecting" }),
        on(15_000, "room-0/sub-3", { type: "disconnected", reason: "join_failure" }),
        on(16_000, "room-0/sub-3", { type: "joined", joinS: 0.5 }),
        on(16_000, "room-0/sub-3", { type: "session", sid: "PA_sub3b" }),
      ],
    ),
  );

  it("upgrades a resume to full when the sid changes after reconnected", () => {
    expect(outcome(analysis, "room-0/sub-1")).toMatchObject({
      reconnectMs: 1000,
      path: "full",
      sidBefore: "PA_sub1",
      sidAfter: "PA_sub1b",
    });
  });

  it("keeps a resume when the sid stays", () => {
    expect(outcome(analysis, "room-0/sub-2")).toMatchObject({ reconnectMs: 1000, path: "resume" });
  });

  it("calls a disconnect followed by a join a rejoin, back when it joined", () => {
    expect(outcome(analysis, "room-0/sub-3")).toMatchObject({
      detectMs: 10,
      reconnectMs: 16_000,
      path: "rejoin",
      episodes: 1,
      connectedAtEnd: true,
      lostReason: null,
      sidAfter: "PA_sub3b",
    });
    expect(analysis.aggregates.paths).toEqual({ resume: 1, full: 1, rejoin: 1 });
    expect(analysis.aggregates.lostByReason).toEqual({});
  });
});

describe("analyzeDrill: media", () => {
  const analysis = analyzeDrill(
    observe(
      ["room-0/pub-1", "room-0/sub-1", "room-0/sub-2", "room-0/sub-3"],
      [
        ...steady("room-0/pub-1", "PA_pub1"),
        ...steady("room-0/sub-1", "PA_sub1", ["pub-1/audio"]),
        stall("room-0/sub-1", "pub-1/audio", -200),
        resume("room-0/sub-1", "pub-1/audio", 9500),
        ...steady("room-0/sub-2", "PA_sub2", ["pub-1/audio", "pub-1/video"]),
        stall("room-0/sub-2", "pub-1/audio", -200),
        resume("room-0/sub-2", "pub-1/audio", 9500),
        stall("room-0/sub-2", "pub-1/video", -150),
        // a blip in the baseline, long before the fault: not the fault's
        ...steady("room-0/sub-3", "PA_sub3", ["pub-1/audio"]),
        stall("room-0/sub-3", "pub-1/audio", -5000),
        resume("room-0/sub-3", "pub-1/audio", -4000),
      ],
    ),
  );

  it("times a stall from its last packet and a resume from its first, both against T0", () => {
    expect(analysis.tracks.filter((t) => t.subscriber === "room-0/sub-1")).toEqual([
      {
        subscriber: "room-0/sub-1",
        fault: "kill-node2",
        track: "pub-1/audio",
        stalledMs: -200,
        resumedMs: 9500,
        resumed: true,
      },
    ]);
    expect(outcome(analysis, "room-0/sub-1")).toMatchObject({
      fault: "kill-node2",
      affected: true,
      detectMs: null,
      reconnectMs: null,
      mediaResumeMs: 9500,
    });
  });

  it("keeps a stall that never resumes, and then has no media resume for its subscriber", () => {
    expect(analysis.tracks).toContainEqual({
      subscriber: "room-0/sub-2",
      fault: "kill-node2",
      track: "pub-1/video",
      stalledMs: -150,
      resumedMs: null,
      resumed: false,
    });
    expect(outcome(analysis, "room-0/sub-2")).toMatchObject({ affected: true, mediaResumeMs: null });
    expect(analysis.aggregates.tracksNotResumed).toBe(1);
    expect(analysis.aggregates.mediaResume).toEqual({ n: 2, p50: 9500, p95: 9500, max: 9500 });
  });

  it("reports a track that never resumed between two connected participants", () => {
    expect(analysis.findings).toEqual([
      {
        id: "media-never-resumed",
        severity: "high",
        accepted: false,
        title: "media never resumed between connected participants",
        detail:
          "room-0/sub-2 <- pub-1/video: subscriber and publisher both report connected, yet no packet arrived after the fault (they are likely in different instances of the room)",
        atMs: null,
      },
    ]);
  });

  it("ignores a stall that ended before the fault was issued", () => {
    expect(analysis.tracks.filter((t) => t.subscriber === "room-0/sub-3")).toEqual([]);
    expect(outcome(analysis, "room-0/sub-3")).toMatchObject({ affected: false, fault: null });
  });

  it("puts stalls and resumes on the timeline at the packet times", () => {
    const rows = analysis.timeline.filter((e) => e.subject === "room-0/sub-1" && e.kind.startsWith("media"));
    expect(rows.map((e) => [e.tMs, e.kind, e.detail])).toEqual([
      [-200, "media-stalled", "pub-1/audio stalled"],
      [9500, "media-resumed", "pub-1/audio resumed"],
    ]);
  });
});

describe("analyzeDrill: participants lost", () => {
  const analysis = analyzeDrill(
    observe(
      ["room-0/pub-1", "room-0/sub-1", "room-0/sub-2", "room-0/sub-3"],
      [
        ...steady("room-0/pub-1", "PA_pub1"),
        ...steady("room-0/sub-1", "PA_sub1"),
        ...steady("room-0/sub-2", "PA_sub2"),
        ...steady("room-0/sub-3", "PA_sub3"),
        on(10, "room-0/pub-1", { type: "disconnected", reason: "server_shutdown" }),
        on(10, "room-0/sub-1", { type: "reconnecting" }),
        on(10, "room-0/sub-2", { type: "reconnecting" }),
        on(15_000, "room-0/sub-2", { type: "disconnected", reason: "signal_close" }),
        on(10, "room-0/sub-3", { type: "reconnecting" }),
        on(15_000, "room-0/sub-3", { type: "disconnected", reason: "signal_close" }),
      ],
    ),
  );

  it("calls a participant still reconnecting at the end stuck, with a high finding", () => {
    expect(outcome(analysis, "room-0/sub-1")).toMatchObject({
      affected: true,
      detectMs: 10,
      reconnectMs: null,
      path: null,
      episodes: 1,
      connectedAtEnd: false,
      lostReason: "stuck_reconnecting",
    });
    expect(analysis.findings).toEqual([
      {
        id: "stuck-reconnecting",
        severity: "high",
        accepted: false,
        title: "stuck reconnecting",
        detail:
          "room-0/sub-1 was still reconnecting at the end of the drill without giving up (no SDK event tells the app to act)",
        atMs: null,
      },
    ]);
  });

  it("gives a disconnected participant its reason, and counts the lost by reason", () => {
    expect(outcome(analysis, "room-0/pub-1")).toMatchObject({
      detectMs: 10,
      reconnectMs: null,
      path: null,
      connectedAtEnd: false,
      lostReason: "server_shutdown",
    });
    expect(outcome(analysis, "room-0/sub-2")).toMatchObject({ detectMs: 10, lostReason: "signal_close" });
    expect(analysis.aggregates.lostByReason).toEqual({
      server_shutdown: 1,
      stuck_reconnecting: 1,
      signal_close: 2,
    });
    expect(analysis.aggregates.paths).toEqual({ resume: 0, full: 0, rejoin: 0 });
    // the lost never came back: they are in detect, not in reconnect
    expect(analysis.aggregates.detect.n).toBe(4);
    expect(analysis.aggregates.reconnect.n).toBe(0);
  });

  it("draws no finding from a drill stopped early: its end is a snapshot mid-recovery", () => {
    const stopped = analyzeDrill({
      ...observe(
        ["room-0/sub-1"],
        [...steady("room-0/sub-1", "PA_sub1"), on(10, "room-0/sub-1", { type: "reconnecting" })],
      ),
      settled: false,
    });
    expect(outcome(stopped, "room-0/sub-1").lostReason).toBe("stuck_reconnecting");
    expect(stopped.findings).toEqual([]);
  });
});

function listed(...entries: [identity: string, sid: string][]): ServerView["participants"] {
  return entries.map(([identity, sid]) => ({ identity, sid }));
}

function view(ms: number, room: string, participants: ServerView["participants"]): ServerView {
  return {
    t: at(ms),
    room,
    participants,
    error: participants === null ? "ListParticipants timed out" : null,
  };
}

describe("analyzeDrill: the server's view", () => {
  const who = ["room-0/pub-1", "room-0/sub-1", "room-1/sub-1", "room-2/sub-1", "room-3/sub-1"];
  const events = [
    ...steady("room-0/pub-1", "PA_pub1"),
    ...steady("room-0/sub-1", "PA_0sub1"),
    ...reconnects("room-0/pub-1", 10, 3400, "full", "PA_pub1b"),
    ...steady("room-1/sub-1", "PA_1sub1"),
    ...steady("room-2/sub-1", "PA_2sub1"),
    // no session event: the swarm does not know its sid
    on(-20_000, "room-3/sub-1", { type: "joined", joinS: 0.4 }),
  ];
  const room0 = [
    // before T0: not judged
    view(-2000, "room-0", listed(["pub-1", "PA_pub1"])),
    // pub-1 is reconnecting, the server still lists it
    view(1000, "room-0", listed(["pub-1", "PA_pub1"], ["sub-1", "PA_0sub1"])),
    view(4000, "room-0", listed(["pub-1", "PA_pub1b"], ["sub-1", "PA_0sub1"])),
    // the old session shows up again for a moment
    view(6000, "room-0", listed(["pub-1", "PA_pub1"], ["sub-1", "PA_0sub1"])),
    view(8000, "room-0", listed(["pub-1", "PA_pub1b"], ["sub-1", "PA_0sub1"])),
    view(10_000, "room-0", listed(["pub-1", "PA_pub1b"], ["sub-1", "PA_0sub1"])),
  ];
  const analysis = analyzeDrill(
    observe(who, events, {
      serverViews: [
        ...room0,
        view(1000, "room-1", listed(["sub-1", "PA_1sub1"])),
        view(10_000, "room-1", listed(["sub-1", "PA_1sub1old"])),
        view(1000, "room-2", listed(["sub-1", "PA_2sub1"])),
        view(10_000, "room-2", listed()),
        view(10_000, "room-3", listed(["sub-1", "PA_3a"], ["sub-1", "PA_3b"])),
      ],
    }),
  );

  it("dates a room's consistency from the first view of its final agreeing run", () => {
    expect(roomOf(analysis, "room-0")).toMatchObject({
      consistentMs: 8000,
      ghosts: [],
      duplicates: [],
      missing: [],
    });
  });

  it("calls a listed identity with a stale sid a ghost, and the room never consistent", () => {
    expect(roomOf(analysis, "room-1")).toMatchObject({
      consistentMs: null,
      ghosts: ["sub-1"],
      duplicates: [],
      missing: [],
    });
  });

  it("calls a connected client the server omits missing, with a finding", () => {
    expect(roomOf(analysis, "room-2")).toMatchObject({
      consistentMs: null,
      ghosts: [],
      duplicates: [],
      missing: ["sub-1"],
    });
    expect(analysis.findings).toContainEqual({
      id: "missing-from-server-view",
      severity: "high",
      accepted: false,
      title: "live participants missing from the server's view",
      detail:
        "room-2: sub-1 are connected, but ListParticipants omits them (the room's state in Redis was lost or deleted)",
      atMs: null,
    });
  });

  it("calls an identity listed twice a duplicate, and the entry its client does not own a ghost", () => {
    expect(roomOf(analysis, "room-3")).toMatchObject({
      consistentMs: null,
      ghosts: ["sub-1"],
      duplicates: ["sub-1"],
      missing: [],
    });
  });

  it("counts ghosts and duplicates, with a finding per room, and no overall consistency", () => {
    expect(analysis.aggregates.ghosts).toBe(2);
    expect(analysis.aggregates.consistentMs).toBeNull();
    expect(analysis.findings.filter((f) => f.title === "ghost participants")).toEqual([
      {
        id: "ghost-participants",
        severity: "high",
        accepted: false,
        title: "ghost participants",
        detail:
          "room-1: the server still lists sub-1 that no connected client owns (a stale sid, a duplicate, or a participant that is gone)",
        atMs: null,
      },
      {
        id: "ghost-participants",
        severity: "high",
        accepted: false,
        title: "ghost participants",
        detail:
          "room-3: the server still lists sub-1 that no connected client owns (a stale sid, a duplicate, or a participant that is gone)",
        atMs: null,
      },
    ]);
  });

  it("takes the slowest room when every room came to agree", () => {
    const agreeing = analyzeDrill(
      observe(["room-0/pub-1", "room-0/sub-1", "room-1/sub-1"], events, {
        serverViews: [...room0, view(1000, "room-1", listed(["sub-1", "PA_1sub1"]))],
      }),
    );
    expect(agreeing.rooms.map((r) => [r.room, r.consistentMs])).toEqual([
      ["room-0", 8000],
      ["room-1", 1000],
    ]);
    expect(agreeing.aggregates.consistentMs).toBe(8000);
    expect(agreeing.aggregates.ghosts).toBe(0);
  });

  // one stale entry next to the live one is one ghost (and a duplicate), not two ghosts
  it("counts a stale duplicate of a live participant as one ghost", () => {
    const stale = analyzeDrill(
      observe(["room-0/sub-1"], steady("room-0/sub-1", "PA_new"), {
        serverViews: [view(1000, "room-0", listed(["sub-1", "PA_new"], ["sub-1", "PA_old"]))],
      }),
    );
    expect(roomOf(stale, "room-0")).toMatchObject({ ghosts: ["sub-1"], duplicates: ["sub-1"] });
    expect(stale.aggregates.ghosts).toBe(1);
  });

  // pub-1 listed while it reconnects (+1 s) is no disagreement: either answer is right then
  it("shows each run of a disagreement on the timeline, and none while a participant reconnects", () => {
    const rows = analysis.timeline.filter((e) => e.kind === "server" && e.subject === "room-0");
    expect(rows.map((e) => e.tMs)).toEqual([6000]);
    const again = analyzeDrill(
      observe(["room-1/sub-1"], steady("room-1/sub-1", "PA_1sub1"), {
        serverViews: [
          view(1000, "room-1", listed(["sub-1", "PA_old"])),
          view(2000, "room-1", listed(["sub-1", "PA_1sub1"])),
          view(3000, "room-1", listed(["sub-1", "PA_old"])),
        ],
      }),
    );
    expect(again.timeline.filter((e) => e.kind === "server").map((e) => e.tMs)).toEqual([1000, 3000]);
  });

  // an error as the last answer keeps the last real answer's ghosts
  it("does not let a failed last ListParticipants clear the ghosts seen before it", () => {
    const failedLast = analyzeDrill(
      observe(["room-1/sub-1"], steady("room-1/sub-1", "PA_1sub1"), {
        serverViews: [view(1000, "room-1", listed(["sub-1", "PA_1sub1old"])), view(3000, "room-1", null)],
      }),
    );
    const [ghosts] = judgeExpectations({ ...NO_EXPECTATIONS, ghosts: 0 }, failedLast);
    expect(ghosts?.met).not.toBe(true);
  });

  // a room with no ListParticipants answer after T0 is unjudged (inconclusive), not "never agreed"
  it("leaves consistency unjudged when the server's view was never sampled", () => {
    const unsampled = analyzeDrill(observe(["room-0/sub-1"], steady("room-0/sub-1", "PA_sub1")));
    expect(roomOf(unsampled, "room-0").serverViews).toBe(0);
    const [consistent] = judgeExpectations({ ...NO_EXPECTATIONS, consistentWithin: 20_000 }, unsampled);
    expect(consistent).toMatchObject({ observed: "no ListParticipants answer for room-0", met: null });
  });
});

function inbound(expected: number, lost: number, bytes: number, jitterS?: number): InboundTrackSample {
  return inboundTrack({ key: "ssrc-1", kind: "audio", expected, lost, bytes, jitterS });
}

function sample(
  endMs: number,
  who: string,
  tracks: readonly InboundTrackSample[],
  rttS?: number,
): WindowSample {
  const { room, identity } = split(who);
  return windowSample({
    t: at(endMs),
    rttS,
    durationMs: 2000,
    room,
    participant: identity,
    role: roleOf(identity),
    inbound: tracks,
  });
}

describe("analyzeDrill: quality windows", () => {
  const analysis = analyzeDrill(
    observe(
      ["room-0/pub-1", "room-0/sub-1"],
      [...steady("room-0/pub-1", "PA_pub1"), ...steady("room-0/sub-1", "PA_sub1")],
      {
        samples: [
          // baseline: 1 Mbit/s, 1% loss
          sample(-28_000, "room-0/sub-1", [inbound(1000, 10, 250_000, 0.01)]),
          sample(-26_000, "room-0/sub-1", [inbound(1000, 10, 250_000, 0.03)]),
          // straddles the fault phase's start: in no window
          sample(-9000, "room-0/sub-1", [inbound(1000, 500, 0)]),
          sample(2000, "room-0/sub-1", [inbound(1000, 100, 50_000)]),
          // after: 500 kbit/s, 3% of 1000 and 1% of 3000 packets lost
          sample(62_000, "room-0/sub-1", [inbound(1000, 30, 125_000, 0.02)]),
          sample(64_000, "room-0/sub-1", [inbound(3000, 30, 125_000, 0.02)]),
          // a publisher receives nothing: not in the bitrate
          sample(64_000, "room-0/pub-1", []),
        ],
      },
    ),
  );

  it("takes the round trip's median over the participant-windows inside each window (a delay shows there)", () => {
    const delayed = analyzeDrill(
      observe(
        ["room-0/pub-1", "room-0/sub-1"],
        [...steady("room-0/pub-1", "PA_pub1"), ...steady("room-0/sub-1", "PA_sub1")],
        {
          samples: [
            sample(-28_000, "room-0/sub-1", [], 0.001),
            sample(-26_000, "room-0/pub-1", [], 0.003),
            sample(-24_000, "room-0/sub-1", [], 0.002),
            // 100 ms of delay during: a publisher's window too, and one without a measurement
            sample(20_000, "room-0/sub-1", [], 0.101),
            sample(22_000, "room-0/pub-1", [], 0.115),
            sample(24_000, "room-0/sub-1", [], 0.108),
            sample(26_000, "room-0/sub-1", []),
          ],
        },
      ),
    );
    expect(delayed.quality.before?.rttP50S).toBe(0.002);
    expect(delayed.quality.during?.rttP50S).toBe(0.108);
    expect(delayed.quality.after?.rttP50S).toBeNull();
  });

  it("measures loss as a ratio of sums over the samples wholly inside each window", () => {
    expect(analysis.quality.before).toEqual({
      fromMs: -30_000,
      toMs: -10_000,
      lossRatio: 0.01,
      jitterP95S: 0.03,
      rttP50S: null,
      bitrateInBps: 1_000_000,
      // these samples carry no video and no RTP header bytes: unknown, never 0
      wireBitrateInBps: null,
      videoFpsP50: null,
      videoHeightP50: null,
      samples: 2,
    });
    expect(analysis.quality.during).toEqual({
      fromMs: 0,
      toMs: 60_000,
      lossRatio: 0.1,
      jitterP95S: null,
      rttP50S: null,
      bitrateInBps: 200_000,
      // these samples carry no video and no RTP header bytes: unknown, never 0
      wireBitrateInBps: null,
      videoFpsP50: null,
      videoHeightP50: null,
      samples: 1,
    });
    expect(analysis.quality.after).toEqual({
      fromMs: 60_000,
      toMs: 90_000,
      lossRatio: 0.015,
      jitterP95S: 0.02,
      rttP50S: null,
      bitrateInBps: 500_000,
      // these samples carry no video and no RTP header bytes: unknown, never 0
      wireBitrateInBps: null,
      videoFpsP50: null,
      videoHeightP50: null,
      samples: 3,
    });
  });

  it("compares the after window with the baseline", () => {
    expect(analysis.quality.lossRatioVsBaseline).toBe(1.5);
    expect(analysis.quality.bitrateVsBaseline).toBe(0.5);
  });

  it("measures each room's loss in the same windows", () => {
    expect(roomOf(analysis, "room-0").loss).toEqual({ before: 0.01, during: 0.1, after: 0.015 });
  });
});

describe("analyzeDrill: frame rate where lean assembles and native decodes", () => {
  it("reads the decoding participants' frame rate, lean's only where none decodes, from each participant's engine", () => {
    const video = (framesDecoded: number): InboundTrackSample[] => [
      inboundTrack({ key: "v", kind: "video", expected: 100, framesDecoded }),
    ];
    const who = ["room-0/pub-1", "room-0/sub-1", "room-0/sub-2", "room-0/probe-1"];
    const steadyAll = who.flatMap((w, i) => steady(w, `PA_${i}`));
    const obs = (engines: Record<string, string>) => {
      const base = observe(who, steadyAll, {
        samples: [
          // during the fault: the probe decodes 8 fps, the lean subscribers assemble 19.5
          sample(4000, "room-0/probe-1", video(16)),
          sample(4000, "room-0/sub-1", video(39)),
          sample(4000, "room-0/sub-2", video(39)),
        ],
      });
      return {
        ...base,
        participants: base.participants.map((p) => ({ ...p, engine: engines[p.identity] ?? "lean" })),
      };
    };
    const mixed = analyzeDrill(obs({ "probe-1": "native" })).quality.during;
    expect(mixed?.videoFpsP50).toBe(8);
    expect(mixed?.videoFpsAssembled).toBeUndefined();
    // the probe on lean too: three assembled tracks, their median, marked
    const leanOnly = analyzeDrill(obs({})).quality.during;
    expect(leanOnly?.videoFpsP50).toBe(19.5);
    expect(leanOnly?.videoFpsAssembled).toBe(true);
  });
});

describe("analyzeDrill: no fault confirmed", () => {
  const analysis = analyzeDrill(
    observe(
      ["room-0/sub-1"],
      [...steady("room-0/sub-1", "PA_sub1"), on(100, "room-0/sub-1", { type: "reconnecting" })],
      {
        faults: [{ id: "kill-node2", injectedAt: at(-50), confirmedAt: null, revertedAt: null }],
      },
    ),
  );

  it("has no T0, attributes nothing, and times the timeline from the fault phase's start", () => {
    expect(analysis.t0).toBeNull();
    expect(outcome(analysis, "room-0/sub-1")).toMatchObject({
      fault: null,
      detectMs: null,
      episodes: 0,
      lostReason: "stuck_reconnecting",
    });
    expect(analysis.quality.during).toBeNull();
    expect(analysis.timeline.find((e) => e.kind === "reconnecting")?.tMs).toBe(10_100);
  });
});

describe("analyzeDrill: populations, attribution and room recovery from the balancer's log", () => {
  // 3 nodes; node1 and node2 are killed together (kill-a issued 5 ms before kill-b).
  // room-a is on node1, room-b on node2, room-c on node3.
  const KILL_A: FaultTiming = {
    id: "kill-a",
    injectedAt: at(-50),
    confirmedAt: T0,
    revertedAt: null,
    nodes: ["node1"],
  };
  const KILL_B: FaultTiming = {
    id: "kill-b",
    injectedAt: at(-45),
    confirmedAt: at(20),
    revertedAt: null,
    nodes: ["node2"],
  };
  const ROOMS = { "room-a": "node1", "room-b": "node2", "room-c": "node3" };
  /** Who signalled through which node from 20 s before T0 (as the balancer logged it). */
  const SIGNAL: Record<string, string> = {
    "room-a/pub-1": "node3", // room on node1, signal elsewhere: notices at the relay timeout
    "room-a/sub-1": "node3",
    "room-a/sub-2": "node1", // room and signal on node1: notices at once
    "room-b/pub-1": "node3",
    "room-b/sub-1": "node2",
    "room-c/pub-1": "node3",
    "room-c/sub-1": "node2", // room healthy, signal through node2: resumes at once
    "room-c/sub-2": "node3", // untouched
  };
  const who = Object.keys(SIGNAL);
  const signalConnections = who.map((w) => ({ at: at(-20_000), node: SIGNAL[w] ?? "", ...split(w) }));
  const events = [
    ...steady("room-a/pub-1", "PA_ap"),
    ...steady("room-a/sub-1", "PA_as1", ["pub-1/audio"]),
    ...steady("room-a/sub-2", "PA_as2", ["pub-1/audio"]),
    ...steady("room-b/pub-1", "PA_bp"),
    ...steady("room-b/sub-1", "PA_bs1", ["pub-1/audio"]),
    ...steady("room-c/pub-1", "PA_cp"),
    ...steady("room-c/sub-1", "PA_cs1", ["pub-1/audio"]),
    ...steady("room-c/sub-2", "PA_cs2", ["pub-1/audio"]),
    ...reconnects("room-a/pub-1", 9100, 9600, "full", "PA_ap2"),
    ...reconnects("room-a/sub-1", 7800, 8300, "full", "PA_as12"),
    ...reconnects("room-a/sub-2", 40, 3400, "full", "PA_as22"),
    ...reconnects("room-b/pub-1", 8000, 8900, "full", "PA_bp2"),
    ...reconnects("room-b/sub-1", 60, 3500, "full", "PA_bs12"),
    ...reconnects("room-c/sub-1", 50, 1100, "resume"),
    // room-a's audio stops with node1 and is back once its publisher is: 9.7 s and 10.2 s
    stall("room-a/sub-1", "pub-1/audio", 100),
    stall("room-a/sub-2", "pub-1/audio", 100),
    resume("room-a/sub-1", "pub-1/audio", 9700),
    resume("room-a/sub-2", "pub-1/audio", 10_200),
    // room-b's one subscriber never has media again
    stall("room-b/sub-1", "pub-1/audio", 120),
  ];
  const roomNodes = { before: ROOMS, after: { "room-a": "node3", "room-b": "node3", "room-c": "node3" } };
  const analysis = analyzeDrill(
    observe(who, events, { faults: [KILL_A, KILL_B], roomNodes, signalConnections }),
  );

  it("attributes each participant to the fault that failed its room's node or its signal node, not the latest", () => {
    expect(
      analysis.participants.map((p) => [`${p.room}/${p.identity}`, p.fault, p.signalNode, p.population]),
    ).toEqual([
      ["room-a/pub-1", "kill-a", "node3", "room-on-failed-node"],
      ["room-a/sub-1", "kill-a", "node3", "room-on-failed-node"],
      ["room-a/sub-2", "kill-a", "node1", "signal-via-failed-node"],
      ["room-b/pub-1", "kill-b", "node3", "room-on-failed-node"],
      ["room-b/sub-1", "kill-b", "node2", "signal-via-failed-node"],
      ["room-c/pub-1", null, "node3", "other"],
      ["room-c/sub-1", "kill-b", "node2", "signal-via-failed-node"],
      ["room-c/sub-2", null, "node3", "other"],
    ]);
    // each is timed from its own fault's T0: room-b's from kill-b's, 20 ms after kill-a's
    expect(outcome(analysis, "room-b/pub-1")).toMatchObject({ detectMs: 7980, reconnectMs: 8880 });
    expect(analysis.tracks.map((t) => [t.subscriber, t.fault])).toEqual([
      ["room-a/sub-1", "kill-a"],
      ["room-a/sub-2", "kill-a"],
      ["room-b/sub-1", "kill-b"],
    ]);
  });

  it("reports detect and reconnect for the two populations apart", () => {
    expect(analysis.aggregates.signalPaths).toBe(SIGNAL_PATHS_FROM_BALANCER);
    expect(analysis.aggregates.byPopulation).toEqual([
      {
        population: "signal-via-failed-node",
        participants: 3,
        affected: 3,
        // from each one's own fault: 40, 60 - 20 and 50 - 20 ms
        detect: { n: 3, p50: 40, p95: 40, max: 40 },
        reconnect: { n: 3, p50: 3400, p95: 3480, max: 3480 },
      },
      {
        population: "room-on-failed-node",
        participants: 3,
        affected: 3,
        detect: { n: 3, p50: 7980, p95: 9100, max: 9100 },
        reconnect: { n: 3, p50: 8880, p95: 9600, max: 9600 },
      },
      {
        population: "other",
        participants: 2,
        affected: 0,
        detect: { n: 0, p50: null, p95: null, max: null },
        reconnect: { n: 0, p50: null, p95: null, max: null },
      },
    ]);
  });

  it("times each room's recovery: when every stalled subscriber has media again", () => {
    expect(analysis.rooms.map((r) => [r.room, r.recoveries])).toEqual([
      ["room-a", [{ fault: "kill-a", subscribers: 2, recoveredMs: 10_200 }]],
      ["room-b", [{ fault: "kill-b", subscribers: 1, recoveredMs: null }]],
      ["room-c", []],
    ]);
  });

  it("judges a population's bounds over its members only", () => {
    const results = judgeExpectations(
      {
        ...NO_EXPECTATIONS,
        detect: [
          { population: "signal-via-failed-node", p50: null, p95: 1000, max: null },
          { population: "room-on-failed-node", p50: null, p95: 8000, max: null },
          { population: null, p50: null, p95: 15_000, max: null },
        ],
      },
      analysis,
    );
    expect(results.map((r) => [r.name, r.observed, r.met])).toEqual([
      ["detect (signal-via-failed-node) p95", "0.0 s (n=3)", true],
      ["detect (room-on-failed-node) p95", "9.1 s (n=3)", false],
      ["detect p95", "9.1 s (n=6)", true],
    ]);
  });

  it("takes the signal node at the fault, not a reconnect's after it", () => {
    const later = [...signalConnections, { at: at(3000), node: "node3", room: "room-a", identity: "sub-2" }];
    const again = analyzeDrill(
      observe(who, events, { faults: [KILL_A, KILL_B], roomNodes, signalConnections: later }),
    );
    expect(outcome(again, "room-a/sub-2")).toMatchObject({
      signalNode: "node1",
      population: "signal-via-failed-node",
    });
  });

  it("takes a room's node from the placement seen when the fault was chosen", () => {
    // room-c had moved to node1 by the time kill-a was chosen
    const moved = { ...KILL_A, roomNodes: { ...ROOMS, "room-c": "node1" } };
    const again = analyzeDrill(
      observe(who, events, { faults: [moved, KILL_B], roomNodes, signalConnections }),
    );
    expect(outcome(again, "room-c/sub-2")).toMatchObject({ population: "room-on-failed-node" });
  });

  it("attributes a disruption to the signal node's fault and a stall to the room node's when both were hit", () => {
    // room-a is on node1 (kill-a); sub-3 signalled through node2 (kill-b): it noticed kill-b at
    // once, while its media stopped with kill-a's SFU
    const both = [...who, "room-a/sub-3"];
    const log = [...signalConnections, { at: at(-20_000), node: "node2", room: "room-a", identity: "sub-3" }];
    const r = analyzeDrill(
      observe(
        both,
        [
          ...events,
          ...steady("room-a/sub-3", "PA_as3", ["pub-1/audio"]),
          ...reconnects("room-a/sub-3", 60, 3500, "full", "PA_as32"),
          stall("room-a/sub-3", "pub-1/audio", 100),
          resume("room-a/sub-3", "pub-1/audio", 9900),
        ],
        { faults: [KILL_A, KILL_B], roomNodes, signalConnections: log },
      ),
    );
    expect(outcome(r, "room-a/sub-3")).toMatchObject({
      fault: "kill-b",
      population: "signal-via-failed-node",
      detectMs: 40,
    });
    expect(r.tracks.filter((t) => t.subscriber === "room-a/sub-3").map((t) => t.fault)).toEqual(["kill-a"]);
    expect(roomOf(r, "room-a").recoveries).toEqual([
      { fault: "kill-a", subscribers: 3, recoveredMs: 10_200 },
    ]);
  });

  it("says unknown without a balancer log, attributes by room node alone, and cannot judge a population", () => {
    const blind = analyzeDrill(observe(who, events, { faults: [KILL_A, KILL_B], roomNodes }));
    expect(blind.aggregates.signalPaths).toBeNull();
    expect(new Set(blind.participants.map((p) => p.population))).toEqual(new Set(["unknown"]));
    expect(blind.participants.every((p) => p.signalNode === null)).toBe(true);
    // the room's node is known on every backend; a participant whose room was spared is the latest fault's
    expect(outcome(blind, "room-a/sub-1")).toMatchObject({ fault: "kill-a" });
    expect(outcome(blind, "room-c/sub-1")).toMatchObject({ fault: "kill-b" });
    const [result] = judgeExpectations(
      {
        ...NO_EXPECTATIONS,
        detect: [{ population: "room-on-failed-node", p50: null, p95: 15_000, max: null }],
      },
      blind,
    );
    expect(result).toMatchObject({
      observed: "signal paths unknown for this backend: the populations cannot be told apart",
      met: null,
    });
  });

  it("puts a fault that failed no node's participants in other", () => {
    const redis: FaultTiming = {
      id: "redis",
      injectedAt: at(-50),
      confirmedAt: T0,
      revertedAt: null,
      nodes: [],
    };
    const r = analyzeDrill(observe(who, events, { faults: [redis], roomNodes, signalConnections }));
    expect(new Set(r.participants.map((p) => p.population))).toEqual(new Set(["other"]));
  });
});
