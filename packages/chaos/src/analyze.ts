/**
 * What a drill measured, from what it observed: the swarm's events and samples, the server's
 * ListParticipants answers, and when each fault was confirmed. Pure: no clock, no I/O.
 *
 * Every disruption is attributed to the latest fault injected before it began, and timed from that
 * fault's T0 (its confirmation). A participant knocked down twice by one fault has one outcome with
 * two episodes; a rolling restart gives one outcome per participant and node restart it felt.
 */
import { lossRatioOfSums, percentile } from "@livekit-swarm/stats";
import type { ParticipantEvent, Role, WindowSample } from "@livekit-swarm/schema";
import type {
  Distribution,
  DrillQuality,
  RecoveryAggregates,
  Finding,
  ParticipantOutcome,
  QualityWindow,
  ReconnectPath,
  RoomOutcome,
  TimelineEvent,
  TrackOutcome,
} from "./journal.js";

export interface ObservedEvent {
  readonly t: number;
  readonly room: string;
  readonly participant: string;
  readonly role: Role;
  readonly event: ParticipantEvent;
}

export interface ServerView {
  readonly t: number;
  readonly room: string;
  readonly participants: readonly { readonly identity: string; readonly sid: string }[] | null;
  readonly error: string | null;
}

export interface FaultTiming {
  readonly id: string;
  /** Epoch ms the fault was issued. */
  readonly injectedAt: number;
  /** Epoch ms it was confirmed (its T0); null when it never was. */
  readonly confirmedAt: number | null;
  readonly revertedAt: number | null;
}

export interface DrillObservations {
  readonly participants: readonly { readonly identity: string; readonly room: string; readonly role: Role }[];
  readonly events: readonly ObservedEvent[];
  readonly samples: readonly WindowSample[];
  readonly faults: readonly FaultTiming[];
  readonly serverViews: readonly ServerView[];
  readonly roomNodes: {
    readonly before: Readonly<Record<string, string | null>>;
    readonly after: Readonly<Record<string, string | null>>;
  };
  /** Epoch ms: the baseline's start, the fault phase's start, the end of observation, the after window. */
  /**
   * False when the drill stopped early (Ctrl-C, an abort, an error): the end state is then a
   * snapshot mid-recovery, and no finding is drawn from it.
   */
  readonly settled?: boolean;
  readonly windows: {
    readonly baselineStart: number;
    readonly faultPhaseStart: number;
    readonly observeEnd: number;
    readonly afterStart: number;
    readonly end: number;
  };
}

export interface DrillAnalysis {
  /** Epoch ms of the first confirmed fault; null when none was. */
  readonly t0: number | null;
  readonly participants: readonly ParticipantOutcome[];
  readonly tracks: readonly TrackOutcome[];
  readonly rooms: readonly RoomOutcome[];
  readonly quality: DrillQuality;
  readonly aggregates: RecoveryAggregates;
  readonly findings: readonly Finding[];
  readonly timeline: readonly TimelineEvent[];
}

/** A sid change this long after a recovery still tells about that recovery. */
const SID_LAG_MS = 5000;
/** A stall whose last packet came this long before the fault was issued still counts as the fault's. */
const STALL_LEAD_MS = 500;

type Lifecycle = "none" | "connected" | "reconnecting" | "gone";

function distribution(values: readonly number[]): Distribution {
  if (values.length === 0) return { n: 0, p50: null, p95: null, max: null };
  return {
    n: values.length,
    p50: percentile(values, 50, "participants").value ?? null,
    p95: percentile(values, 95, "participants").value ?? null,
    max: Math.max(...values),
  };
}

/** The latest fault issued at or before `t` (with `leadMs` of slack), or undefined. */
function attribute(faults: readonly FaultTiming[], t: number, leadMs = 0): FaultTiming | undefined {
  let found: FaultTiming | undefined;
  for (const f of faults) if (f.confirmedAt !== null && f.injectedAt - leadMs <= t) found = f;
  return found;
}

interface Episode {
  readonly fault: FaultTiming;
  readonly startT: number;
  endT: number | null;
  path: ReconnectPath | null;
  count: number;
}

export function analyzeDrill(obs: DrillObservations): DrillAnalysis {
  const faults = [...obs.faults].sort((a, b) => a.injectedAt - b.injectedAt);
  const confirmed = faults.filter((f) => f.confirmedAt !== null);
  const t0 = confirmed[0]?.confirmedAt ?? null;
  const settled = obs.settled ?? true;
  const w = obs.windows;
  const rel = (t: number): number => (t0 === null ? t - obs.windows.faultPhaseStart : t - t0);
  const firstInjection = confirmed[0]?.injectedAt ?? Infinity;
  const end = obs.windows.end;

  const byParticipant = new Map<string, ObservedEvent[]>();
  for (const e of [...obs.events].sort((a, b) => a.t - b.t)) {
    // identities repeat across rooms (lkswarm-sub-1 in every room): a participant is room/identity
    const key = `${e.room}/${e.participant}`;
    const list = byParticipant.get(key) ?? [];
    list.push(e);
    byParticipant.set(key, list);
  }

  const timeline: TimelineEvent[] = [];
  const findings: Finding[] = [];
  const participants: ParticipantOutcome[] = [];
  const tracks: TrackOutcome[] = [];
  const resumes: number[] = [];
  let tracksNotResumed = 0;
  const paths: Record<ReconnectPath, number> = { resume: 0, full: 0, rejoin: 0 };
  const lostByReason: Record<string, number> = {};
  /** Per participant: lifecycle and sid over time, for the server-view comparison. */
  const stateAt = new Map<string, { t: number; state: Lifecycle; sid: string | null }[]>();

  for (const p of obs.participants) {
    const who = `${p.room}/${p.identity}`;
    const events = byParticipant.get(who) ?? [];
    let state: Lifecycle = "none";
    let sid: string | null = null;
    let sidBefore: string | null = null;
    let lastReason: string | null = null;
    const history: { t: number; state: Lifecycle; sid: string | null }[] = [];
    const episodes: Episode[] = [];
    let open: Episode | undefined;
    const flows = new Map<string, { flowing: boolean; stall: { at: number; fault: FaultTiming } | null }>();

    const record = (t: number): void => {
      history.push({ t, state, sid });
    };
    for (const { t, event } of events) {
      switch (event.type) {
        case "joined": {
          const wasDown = state === "gone" || state === "reconnecting";
          state = "connected";
          timeline.push({ tMs: rel(t), kind: "joined", subject: who, detail: "joined" });
          if (open !== undefined && wasDown) {
            // the app rejoined as a new participant after the SDK gave up
            open.endT = t;
            open.path = "rejoin";
            open = undefined;
          }
          break;
        }
        case "join-failed":
          lastReason = event.reason;
          if (state === "none") state = "gone";
          break;
        case "reconnecting":
        case "disconnected": {
          const fault = attribute(faults, t);
          if (event.type === "disconnected") lastReason = event.reason;
          const wasUp = state === "connected";
          state = event.type === "reconnecting" ? "reconnecting" : "gone";
          timeline.push({
            tMs: rel(t),
            kind: event.type,
            subject: who,
            detail: event.type === "disconnected" ? `disconnected (${event.reason})` : "reconnecting",
          });
          if (fault === undefined || !wasUp) break;
          const last = episodes[episodes.length - 1];
          if (open === undefined && last?.fault === fault) {
            // knocked down again by the same fault: one outcome, another episode
            open = last;
            open.endT = null;
            open.count++;
          } else if (open === undefined) {
            open = { fault, startT: t, endT: null, path: null, count: 1 };
            episodes.push(open);
          }
          break;
        }
        case "reconnected":
          state = "connected";
          timeline.push({
            tMs: rel(t),
            kind: "reconnected",
            subject: who,
            detail: `reconnected (${event.path ?? "resume"})`,
          });
          if (open !== undefined) {
            open.endT = t;
            if (open.path !== "full") open.path = event.path ?? "resume";
            open = undefined;
          }
          break;
        case "session":
          if (sid !== null && sid !== event.sid) {
            // a new sid (it lags Reconnected by up to 3.5 s): the recovery just before it was full
            const recovered = episodes.findLast((ep) => ep.endT !== null && t - ep.endT <= SID_LAG_MS);
            if (recovered !== undefined && recovered.path !== "rejoin") recovered.path = "full";
          }
          sid = event.sid;
          if (t < firstInjection) sidBefore = event.sid;
          break;
        case "media": {
          const flow = flows.get(event.track) ?? { flowing: false, stall: null };
          flows.set(event.track, flow);
          if (!event.flowing && flow.flowing) {
            const fault = attribute(faults, event.atMs, STALL_LEAD_MS);
            if (fault !== undefined) {
              flow.stall = { at: event.atMs, fault };
              timeline.push({
                tMs: rel(event.atMs),
                kind: "media-stalled",
                subject: who,
                detail: `${event.track} stalled`,
              });
            }
          } else if (event.flowing && !flow.flowing && flow.stall !== null) {
            const faultT0 = flow.stall.fault.confirmedAt ?? flow.stall.fault.injectedAt;
            const resumedMs = event.atMs - faultT0;
            tracks.push({
              subscriber: who,
              fault: flow.stall.fault.id,
              track: event.track,
              stalledMs: flow.stall.at - faultT0,
              resumedMs,
              resumed: true,
            });
            resumes.push(Math.max(0, resumedMs));
            timeline.push({
              tMs: rel(event.atMs),
              kind: "media-resumed",
              subject: who,
              detail: `${event.track} resumed`,
            });
            flow.stall = null;
          }
          flow.flowing = event.flowing;
          break;
        }
        default:
          break;
      }
      if (event.type !== "media") record(t);
    }
    for (const [track, flow] of flows) {
      if (flow.stall === null) continue;
      const faultT0 = flow.stall.fault.confirmedAt ?? flow.stall.fault.injectedAt;
      tracks.push({
        subscriber: who,
        fault: flow.stall.fault.id,
        track,
        stalledMs: flow.stall.at - faultT0,
        resumedMs: null,
        resumed: false,
      });
      tracksNotResumed++;
    }
    stateAt.set(who, history);

    const connectedAtEnd = state === "connected";
    const lostReason = connectedAtEnd
      ? null
      : state === "reconnecting"
        ? "stuck_reconnecting"
        : state === "none"
          ? "never_joined"
          : (lastReason ?? "unknown");
    if (lostReason !== null) lostByReason[lostReason] = (lostByReason[lostReason] ?? 0) + 1;

    // the worst disruption speaks for the participant (in the distributions too); paths count
    // every recovery
    let worst: Episode | undefined;
    for (const ep of episodes) {
      if (ep.endT !== null) paths[ep.path ?? "resume"]++;
      if (ep.count > 1) {
        findings.push({
          id: "reconnect-cycles",
          severity: "medium",
          accepted: false,
          title: "knocked down again after recovering",
          detail: `${who} went through ${ep.count} reconnect cycles for fault ${ep.fault.id} (an abandoned resume completing late is a known cause: docs/livekit-behaviour.md 4.3)`,
          atMs: rel(ep.startT),
        });
      }
      if (worst === undefined || episodeSpan(ep) > episodeSpan(worst)) worst = ep;
    }
    const myTracks = tracks.filter(
      (t) => t.subscriber === who && (worst === undefined || t.fault === worst.fault.id),
    );
    const worstT0 = worst === undefined ? null : (worst.fault.confirmedAt ?? worst.fault.injectedAt);
    const stalled = myTracks.filter((t) => t.stalledMs !== null);
    participants.push({
      identity: p.identity,
      room: p.room,
      role: p.role,
      fault: worst?.fault.id ?? stalled[0]?.fault ?? null,
      roomNodeBefore: obs.roomNodes.before[p.room] ?? null,
      roomNodeAfter: obs.roomNodes.after[p.room] ?? null,
      affected: worst !== undefined || stalled.length > 0 || (!connectedAtEnd && state !== "none"),
      detectMs: worst === undefined || worstT0 === null ? null : Math.max(0, worst.startT - worstT0),
      reconnectMs:
        worst?.endT === null || worst === undefined || worstT0 === null || !connectedAtEnd
          ? null
          : Math.max(0, worst.endT - worstT0),
      path: worst?.endT != null ? (worst.path ?? "resume") : null,
      episodes: episodes.reduce((n, e) => n + e.count, 0),
      mediaResumeMs:
        stalled.length === 0 || stalled.some((t) => !t.resumed)
          ? null
          : Math.max(0, ...stalled.map((t) => t.resumedMs ?? 0)),
      connectedAtEnd,
      lostReason,
      sidBefore,
      sidAfter: sid,
    });
    if (lostReason === "stuck_reconnecting" && settled) {
      findings.push({
        id: "stuck-reconnecting",
        severity: "high",
        accepted: false,
        title: "stuck reconnecting",
        detail: `${who} was still reconnecting at the end of the drill without giving up (no SDK event tells the app to act)`,
        atMs: null,
      });
    }
  }

  // a subscriber and its publisher both connected, yet the track never came back: they are in
  // different instances of the room (a split brain the SDK does not report)
  const connectedAtEnd = new Set(
    participants.filter((p) => p.connectedAtEnd).map((p) => `${p.room}/${p.identity}`),
  );
  const silent = tracks.filter((t) => {
    if (t.resumed || !connectedAtEnd.has(t.subscriber)) return false;
    const room = t.subscriber.slice(0, t.subscriber.lastIndexOf("/"));
    const publisher = t.track.slice(0, t.track.lastIndexOf("/"));
    return connectedAtEnd.has(`${room}/${publisher}`);
  });
  if (silent.length > 0 && settled) {
    findings.push({
      id: "media-never-resumed",
      severity: "high",
      accepted: false,
      title: "media never resumed between connected participants",
      detail: `${silent.map((t) => `${t.subscriber} <- ${t.track}`).join(", ")}: subscriber and publisher both report connected, yet no packet arrived after the fault (they are likely in different instances of the room)`,
      atMs: null,
    });
  }

  // the server's view against the swarm's, room by room
  const rooms: RoomOutcome[] = [];
  const roomNames = [...new Set(obs.participants.map((p) => p.room))].sort();
  /** The swarm's view of a room at `t`: connected participants with their sid, and those in flux. */
  const swarmViewAt = (
    room: string,
    t: number,
  ): { connected: Map<string, string | null>; reconnecting: Set<string> } => {
    const connected = new Map<string, string | null>();
    const reconnecting = new Set<string>();
    for (const p of obs.participants) {
      if (p.room !== room) continue;
      let last: { state: Lifecycle; sid: string | null } | undefined;
      for (const h of stateAt.get(`${p.room}/${p.identity}`) ?? []) {
        if (h.t > t) break;
        last = h;
      }
      if (last?.state === "connected") connected.set(p.identity, last.sid);
      if (last?.state === "reconnecting") reconnecting.add(p.identity);
    }
    return { connected, reconnecting };
  };
  interface Comparison {
    readonly ok: boolean;
    /** One entry per server-side participant no connected client owns. */
    readonly ghosts: string[];
    readonly duplicates: string[];
    readonly missing: string[];
  }
  /**
   * A server answer against the swarm at that moment. A participant in the middle of reconnecting
   * may be listed or not: either is right, so it is neither a ghost nor missing.
   */
  const compare = (v: ServerView & { participants: NonNullable<ServerView["participants"]> }): Comparison => {
    const { connected, reconnecting } = swarmViewAt(v.room, v.t);
    const entries = new Map<string, string[]>();
    for (const sp of v.participants) entries.set(sp.identity, [...(entries.get(sp.identity) ?? []), sp.sid]);
    const ghosts: string[] = [];
    for (const [identity, sids] of entries) {
      if (reconnecting.has(identity)) continue;
      const mine = connected.get(identity);
      // a connected client owns one entry: the one with its sid, or any while its sid is unknown
      const owned =
        connected.has(identity) && (mine === null || mine === undefined || sids.includes(mine)) ? 1 : 0;
      for (let n = owned; n < sids.length; n++) ghosts.push(identity);
    }
    const duplicates = [...entries].filter(([, sids]) => sids.length > 1).map(([id]) => id);
    const missing = [...connected.keys()].filter((id) => !entries.has(id));
    return {
      ok: ghosts.length === 0 && duplicates.length === 0 && missing.length === 0,
      ghosts,
      duplicates,
      missing,
    };
  };
  let ghostTotal = 0;
  const consistency: number[] = [];
  let everConsistent = true;
  for (const room of roomNames) {
    const views = obs.serverViews.filter((v) => v.room === room).sort((a, b) => a.t - b.t);
    const from = t0 ?? obs.windows.faultPhaseStart;
    let consistentSince: number | null = null;
    let answered = 0;
    // the end state is the last answer the server gave: a failed call at the end does not clear it
    let last: Comparison = { ok: false, ghosts: [], duplicates: [], missing: [] };
    let previousDetail = "";
    for (const v of views) {
      if (v.t < from) continue;
      if (v.participants === null) {
        consistentSince = null;
        previousDetail = "";
        continue;
      }
      answered++;
      last = compare({ ...v, participants: v.participants });
      if (last.ok) {
        consistentSince ??= v.t;
        previousDetail = "";
        continue;
      }
      consistentSince = null;
      const detail = `server view differs: ghosts [${last.ghosts.join(", ")}] duplicates [${last.duplicates.join(", ")}] missing [${last.missing.join(", ")}]`;
      // one row per run of the same disagreement
      if (detail !== previousDetail) timeline.push({ tMs: rel(v.t), kind: "server", subject: room, detail });
      previousDetail = detail;
    }
    const consistentMs = consistentSince === null ? null : Math.max(0, rel(consistentSince));
    if (answered > 0) {
      if (consistentMs === null) everConsistent = false;
      else consistency.push(consistentMs);
    }
    ghostTotal += last.ghosts.length;
    const before = obs.roomNodes.before[room] ?? null;
    const after = obs.roomNodes.after[room] ?? null;
    const roomSamples = obs.samples.filter((sample) => sample.room === room);
    rooms.push({
      room,
      nodeBefore: before,
      nodeAfter: after,
      relocated: before !== null && after !== null && before !== after,
      loss: {
        before: qualityWindow(roomSamples, w.baselineStart, w.faultPhaseStart, rel)?.lossRatio ?? null,
        during: t0 === null ? null : (qualityWindow(roomSamples, t0, w.observeEnd, rel)?.lossRatio ?? null),
        after: qualityWindow(roomSamples, w.afterStart, end, rel)?.lossRatio ?? null,
      },
      serverViews: answered,
      consistentMs,
      ghosts: last.ghosts,
      duplicates: last.duplicates,
      missing: last.missing,
    });
    if (last.ghosts.length > 0 && settled) {
      findings.push({
        id: "ghost-participants",
        severity: "high",
        accepted: false,
        title: "ghost participants",
        detail: `${room}: the server still lists ${last.ghosts.join(", ")} that no connected client owns (a stale sid, a duplicate, or a participant that is gone)`,
        atMs: null,
      });
    }
    if (last.missing.length > 0 && settled) {
      findings.push({
        id: "missing-from-server-view",
        severity: "high",
        accepted: false,
        title: "live participants missing from the server's view",
        detail: `${room}: ${last.missing.join(", ")} are connected, but ListParticipants omits them (the room's state in Redis was lost or deleted)`,
        atMs: null,
      });
    }
  }

  const before = qualityWindow(obs.samples, w.baselineStart, w.faultPhaseStart, rel);
  const during = t0 === null ? null : qualityWindow(obs.samples, t0, w.observeEnd, rel);
  const after = qualityWindow(obs.samples, w.afterStart, end, rel);
  const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
    a === null || a === undefined || b === null || b === undefined || b === 0 ? null : a / b;

  for (const f of faults) {
    if (f.confirmedAt !== null)
      timeline.push({ tMs: rel(f.confirmedAt), kind: "fault", subject: f.id, detail: `${f.id} confirmed` });
    if (f.revertedAt !== null)
      timeline.push({ tMs: rel(f.revertedAt), kind: "revert", subject: f.id, detail: `${f.id} reverted` });
  }
  timeline.push(
    { tMs: rel(w.baselineStart), kind: "phase", subject: "drill", detail: "baseline" },
    { tMs: rel(w.faultPhaseStart), kind: "phase", subject: "drill", detail: "faults" },
    { tMs: rel(w.afterStart), kind: "phase", subject: "drill", detail: "after" },
    { tMs: rel(w.end), kind: "phase", subject: "drill", detail: "end" },
  );

  return {
    t0,
    participants,
    tracks,
    rooms,
    quality: {
      before,
      during,
      after,
      lossRatioVsBaseline: ratio(after?.lossRatio, before?.lossRatio),
      bitrateVsBaseline: ratio(after?.bitrateInBps, before?.bitrateInBps),
    },
    aggregates: {
      participants: participants.length,
      affected: participants.filter((p) => p.affected).length,
      detect: distribution(participants.flatMap((p) => (p.detectMs === null ? [] : [p.detectMs]))),
      reconnect: distribution(participants.flatMap((p) => (p.reconnectMs === null ? [] : [p.reconnectMs]))),
      mediaResume: distribution(resumes),
      tracksNotResumed,
      paths,
      lostByReason,
      ghosts: ghostTotal,
      consistentMs: everConsistent && consistency.length > 0 ? Math.max(...consistency) : null,
    },
    findings,
    timeline: timeline.sort((a, b) => a.tMs - b.tMs),
  };
}

/** How long an episode kept its participant down, from its fault's T0 (open: forever). */
function episodeSpan(ep: Episode): number {
  return (ep.endT ?? Infinity) - (ep.fault.confirmedAt ?? ep.fault.injectedAt);
}

/**
 * Inbound quality over the samples whose whole window lies in [from, to]: a sample that straddles
 * a fault's start or end would blend the two states.
 */
function qualityWindow(
  samples: readonly WindowSample[],
  from: number,
  to: number,
  rel: (t: number) => number,
): QualityWindow | null {
  if (!(to > from)) return null;
  const inWindow = samples.filter((s) => s.t - s.durationMs >= from && s.t <= to);
  const inbound = inWindow.flatMap((s) => s.inbound);
  const loss = lossRatioOfSums(inbound.map((i) => ({ packetsLost: i.lost, packetsExpected: i.expected })));
  const jitters = inbound.map((i) => i.jitterS).filter((j): j is number => j !== undefined);
  const receiving = inWindow.filter((s) => s.inbound.length > 0 && s.durationMs > 0);
  const bitrates = receiving.map(
    (s) => (s.inbound.reduce((sum, i) => sum + i.bytes, 0) * 8) / (s.durationMs / 1000),
  );
  return {
    fromMs: rel(from),
    toMs: rel(to),
    lossRatio: loss.value ?? null,
    jitterP95S: jitters.length === 0 ? null : (percentile(jitters, 95, "windows").value ?? null),
    bitrateInBps: bitrates.length === 0 ? null : bitrates.reduce((a, b) => a + b, 0) / bitrates.length,
    samples: inWindow.length,
  };
}
