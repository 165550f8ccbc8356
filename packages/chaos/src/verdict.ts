/**
 * From measurements to a verdict. The steady state before decides whether the drill could say
 * anything at all; the expectations whether the system coped; the steady state after whether it
 * came back to where it was. Pure.
 */
import type {
  ExitCode,
  Expectations,
  FindingId,
  Percentiles,
  RecoveryBounds,
  SteadyState,
} from "@livekit-swarm/schema";
import type { DrillAnalysis } from "./analyze.js";
import {
  DRILL_EXIT,
  type DrillStatus,
  type DrillVerdict,
  type ExpectationResult,
  type FaultRun,
  type Finding,
  type ParticipantOutcome,
  type ProbeResult,
} from "./journal.js";

/** Seconds with one decimal: what a person reads in a recovery time. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(2)}%`;
}

/** Nearest rank over values where Infinity stands for "never": the p-th value, maybe Infinity. */
function nearestRank(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

function percentileExpectations(
  name: string,
  limits: Percentiles,
  values: readonly number[],
  neverWhat: string,
): ExpectationResult[] {
  const out: ExpectationResult[] = [];
  const never = values.filter((v) => v === Infinity).length;
  const entries: [string, number, number | null][] = [
    ["p50", 50, limits.p50],
    ["p95", 95, limits.p95],
    ["max", 100, limits.max],
  ];
  for (const [label, p, limit] of entries) {
    if (limit === null) continue;
    const value = nearestRank(values, p);
    const observed =
      value === undefined
        ? "no data (nobody was disrupted)"
        : value === Infinity
          ? `${never} of ${values.length} ${neverWhat}`
          : `${seconds(value)} (n=${values.length}${never > 0 ? `, ${never} ${neverWhat}` : ""})`;
    out.push({
      name: `${name} ${label}`,
      expected: `<= ${seconds(limit)}`,
      observed,
      met: value === undefined ? null : value <= limit,
    });
  }
  return out;
}

/**
 * Detect or reconnect bounds over the disrupted participants, or over one population of them. A
 * population cannot be judged without signal paths: then each bound is not met nor failed.
 */
function recoveryExpectations(
  what: string,
  bounds: RecoveryBounds,
  analysis: DrillAnalysis,
  disrupted: readonly ParticipantOutcome[],
  time: (p: ParticipantOutcome) => number | null,
  neverWhat: string,
): ExpectationResult[] {
  const { population } = bounds;
  if (population === null)
    return percentileExpectations(
      what,
      bounds,
      disrupted.map((p) => time(p) ?? Infinity),
      neverWhat,
    );
  const name = `${what} (${population})`;
  if (analysis.aggregates.signalPaths === null) {
    return percentileExpectations(name, bounds, [], neverWhat).map((r) => ({
      ...r,
      observed: "signal paths unknown for this backend: the populations cannot be told apart",
    }));
  }
  const members = disrupted.filter((p) => p.population === population);
  const unknown = disrupted.filter((p) => p.population === "unknown").length;
  return percentileExpectations(
    name,
    bounds,
    members.map((p) => time(p) ?? Infinity),
    neverWhat,
  ).map((r) => ({
    ...r,
    observed:
      (r.met === null ? `no data (nobody in ${population} was disrupted)` : r.observed) +
      (unknown > 0 ? `; ${unknown} disrupted with no signal path in the balancer log left out` : ""),
  }));
}

/** Every expectation the drill set, judged against the analysis. */
export function judgeExpectations(expect: Expectations, analysis: DrillAnalysis): ExpectationResult[] {
  const out: ExpectationResult[] = [];
  const disrupted = analysis.participants.filter((p) => p.detectMs !== null);
  for (const bounds of expect.detect ?? [])
    out.push(
      ...recoveryExpectations("detect", bounds, analysis, disrupted, (p) => p.detectMs, "never noticed"),
    );
  for (const bounds of expect.reconnect ?? [])
    out.push(
      ...recoveryExpectations(
        "reconnect",
        bounds,
        analysis,
        disrupted,
        (p) => p.reconnectMs,
        "never came back",
      ),
    );
  if (expect.mediaResume !== null) {
    out.push(
      ...percentileExpectations(
        "media resume",
        expect.mediaResume,
        analysis.tracks.map((t) => (t.resumed && t.resumedMs !== null ? Math.max(0, t.resumedMs) : Infinity)),
        "tracks never resumed",
      ),
    );
  }
  if (expect.participantsLost !== null) {
    const lost = analysis.participants.filter((p) => !p.connectedAtEnd);
    const reasons = Object.entries(analysis.aggregates.lostByReason)
      .map(([r, n]) => `${r}: ${n}`)
      .join(", ");
    out.push({
      name: "participants lost",
      expected: `<= ${expect.participantsLost}`,
      observed: `${lost.length}${lost.length > 0 ? ` (${reasons})` : ""}`,
      met: lost.length <= expect.participantsLost,
    });
  }
  if (expect.ghosts !== null) {
    const ghostly = analysis.rooms.filter((r) => r.ghosts.length > 0);
    out.push({
      name: "ghost participants",
      expected: `<= ${expect.ghosts}`,
      observed: `${analysis.aggregates.ghosts}${ghostly.length > 0 ? ` (${ghostly.map((r) => `${r.room}: ${r.ghosts.join(", ")}`).join("; ")})` : ""}`,
      met: analysis.rooms.every((r) => r.serverViews === 0)
        ? null
        : analysis.aggregates.ghosts <= expect.ghosts,
    });
  }
  if (expect.consistentWithin !== null) {
    const never = analysis.rooms
      .filter((r) => r.serverViews > 0 && r.consistentMs === null)
      .map((r) => r.room);
    const unsampled = analysis.rooms.filter((r) => r.serverViews === 0).map((r) => r.room);
    const consistent = analysis.aggregates.consistentMs;
    out.push({
      name: "server view consistent",
      expected: `within ${seconds(expect.consistentWithin)}`,
      observed:
        never.length > 0
          ? `never agreed in ${never.join(", ")}`
          : unsampled.length > 0 || consistent === null
            ? `no ListParticipants answer${unsampled.length > 0 ? ` for ${unsampled.join(", ")}` : ""}`
            : `after ${seconds(consistent)}`,
      met:
        analysis.rooms.length === 0
          ? null
          : never.length > 0
            ? false
            : unsampled.length > 0 || consistent === null
              ? null
              : consistent <= expect.consistentWithin,
    });
  }
  const q = expect.qualityAfter;
  if (q !== null) {
    const before = analysis.quality.before;
    const after = analysis.quality.after;
    if (q.maxLoss !== null) {
      const loss = after?.lossRatio ?? null;
      out.push({
        name: "loss after",
        expected: `<= ${percent(q.maxLoss)}`,
        observed: loss === null ? "no media in the after window" : percent(loss),
        met: loss === null ? null : loss <= q.maxLoss,
      });
    }
    if (q.maxLossVsBaseline !== null) {
      const a = after?.lossRatio ?? null;
      const b = before?.lossRatio ?? null;
      // a clean baseline (0%) would make any loss after an infinite ratio: compare with a 0.5% floor
      const limit = b === null ? null : Math.max(b, 0.005) * q.maxLossVsBaseline;
      out.push({
        name: "loss after vs baseline",
        expected: `<= ${q.maxLossVsBaseline}x baseline (floor 0.5%)`,
        observed:
          a === null || b === null ? "no media in a window" : `${percent(a)} after vs ${percent(b)} before`,
        met: a === null || limit === null ? null : a <= limit,
      });
    }
    if (q.minBitrateVsBaseline !== null) {
      const ratio = analysis.quality.bitrateVsBaseline;
      out.push({
        name: "bitrate after vs baseline",
        expected: `>= ${q.minBitrateVsBaseline}x baseline`,
        observed: ratio === null ? "no media in a window" : `${ratio.toFixed(2)}x`,
        met: ratio === null ? null : ratio >= q.minBitrateVsBaseline,
      });
    }
  }
  return out;
}

/**
 * Marks the findings the drill accepts, and judges the rest: one high-severity finding the drill
 * does not accept fails it, whatever its other expectations say. Every drill has this expectation.
 */
export function judgeFindings(
  findings: readonly Finding[],
  accept: readonly FindingId[],
): { readonly findings: Finding[]; readonly expectation: ExpectationResult } {
  const marked = findings.map((f) => ({ ...f, accepted: accept.includes(f.id) }));
  const high = marked.filter((f) => f.severity === "high");
  const unaccepted = high.filter((f) => !f.accepted);
  const accepted = [...new Set(high.filter((f) => f.accepted).map((f) => f.id))];
  const ids = (list: readonly Finding[]): string => {
    const counts = new Map<string, number>();
    for (const f of list) counts.set(f.id, (counts.get(f.id) ?? 0) + 1);
    return [...counts].map(([id, n]) => (n > 1 ? `${id} x${n}` : id)).join(", ");
  };
  return {
    findings: marked,
    expectation: {
      name: "high-severity findings",
      expected: accept.length === 0 ? "none" : `none besides the accepted ${accept.join(", ")}`,
      observed: [
        unaccepted.length === 0 ? "none" : `${unaccepted.length} (${ids(unaccepted)})`,
        ...(accepted.length === 0 ? [] : [`accepted: ${accepted.join(", ")}`]),
      ].join("; "),
      met: unaccepted.length === 0,
    },
  };
}

/**
 * A drill that stopped early (Ctrl-C, an abort, an error) measured only part of what its
 * expectations are about: they can neither pass nor fail. Their observed values stay, for the record.
 */
export function notEvaluated(results: readonly ExpectationResult[], reason: string): ExpectationResult[] {
  return results.map((e) => ({ ...e, met: null, notEvaluated: reason }));
}

/** What the steady-state probes read: live figures from the swarm and Prometheus answers. */
export interface SteadyStateReading {
  readonly planned: number;
  readonly connected: number;
  readonly tracksExpected: number;
  readonly tracksFlowing: number;
  readonly lossRatio: number | null;
  /** Per prometheus probe, in order: the value, or the error. */
  readonly prometheus: readonly ({ readonly value: number } | { readonly error: string })[];
}

export function probeSteadyState(steady: SteadyState, reading: SteadyStateReading): ProbeResult[] {
  const out: ProbeResult[] = [];
  if (steady.connected !== null) {
    const share = reading.planned === 0 ? 0 : reading.connected / reading.planned;
    out.push({
      name: "participants connected",
      observed: share,
      tolerance: `>= ${percent(steady.connected)}`,
      met: share >= steady.connected,
      detail: `${reading.connected} of ${reading.planned}`,
    });
  }
  if (steady.mediaFlowing !== null) {
    const share = reading.tracksExpected === 0 ? 1 : reading.tracksFlowing / reading.tracksExpected;
    out.push({
      name: "subscribed tracks receiving media",
      observed: share,
      tolerance: `>= ${percent(steady.mediaFlowing)}`,
      met: share >= steady.mediaFlowing,
      detail: `${reading.tracksFlowing} of ${reading.tracksExpected}`,
    });
  }
  if (steady.maxLoss !== null) {
    out.push({
      name: "packet loss",
      observed: reading.lossRatio,
      tolerance: `<= ${percent(steady.maxLoss)}`,
      met: reading.lossRatio !== null && reading.lossRatio <= steady.maxLoss,
      detail: reading.lossRatio === null ? "no media received in the window" : null,
    });
  }
  steady.prometheus.forEach((probe, i) => {
    const answer = reading.prometheus[i];
    const value = answer !== undefined && "value" in answer ? answer.value : null;
    const tolerance = [
      probe.min !== null ? `>= ${probe.min}` : null,
      probe.max !== null ? `<= ${probe.max}` : null,
    ]
      .filter((x) => x !== null)
      .join(" and ");
    out.push({
      name: `prometheus: ${probe.query}`,
      observed: value,
      tolerance,
      met:
        value !== null &&
        (probe.min === null || value >= probe.min) &&
        (probe.max === null || value <= probe.max),
      detail: answer !== undefined && "error" in answer ? answer.error : null,
    });
  });
  return out;
}

export interface VerdictInput {
  readonly status: DrillStatus;
  readonly before: readonly ProbeResult[];
  readonly after: readonly ProbeResult[];
  readonly faults: readonly FaultRun[];
  readonly expectations: readonly ExpectationResult[];
  /** Set when the drill stopped before its faults (bad steady state, abort, Ctrl-C, an error). */
  readonly problem: string | null;
  /** Set when the swarm lost a worker process, and participants with it (`workersLostProblem`). */
  readonly generatorLost?: string | null;
}

export interface Verdict {
  readonly verdict: DrillVerdict;
  readonly reason: string;
  readonly exitCode: ExitCode;
}

function failedProbes(probes: readonly ProbeResult[]): string {
  return probes
    .filter((p) => !p.met)
    .map((p) => `${p.name} ${p.detail ?? String(p.observed)} (wants ${p.tolerance})`)
    .join("; ");
}

/**
 * pass: steady before, every expectation met, steady after. fail: an expectation missed.
 * deviated: expectations met but the steady state did not come back. inconclusive: no steady state
 * to start from, a fault that could not be confirmed, a worker of the swarm lost, or not enough data
 * to judge.
 */
export function decideVerdict(input: VerdictInput): Verdict {
  const judged = ((): { verdict: DrillVerdict; reason: string } => {
    // stopped early: nothing measured can be trusted to be complete, not even the steady state
    if (input.status !== "completed" && input.problem !== null)
      return { verdict: "inconclusive", reason: input.problem };
    // before the steady state: a worker that died in the baseline broke it, not LiveKit
    if (input.generatorLost !== undefined && input.generatorLost !== null)
      return { verdict: "inconclusive", reason: input.generatorLost };
    if (input.before.some((p) => !p.met))
      return {
        verdict: "inconclusive",
        reason: `steady state not met before the faults: ${failedProbes(input.before)}`,
      };
    const unconfirmed = input.faults.filter((f) => f.error !== null || f.confirmedAt === null);
    if (unconfirmed.length > 0) {
      return {
        verdict: "inconclusive",
        reason: `fault ${unconfirmed.map((f) => `${f.id}: ${f.error ?? "not confirmed"}`).join("; ")}`,
      };
    }
    if (input.problem !== null) return { verdict: "inconclusive", reason: input.problem };
    const missed = input.expectations.filter((e) => e.met === false);
    if (missed.length > 0) {
      return {
        verdict: "fail",
        reason: missed.map((e) => `${e.name}: ${e.observed} (expected ${e.expected})`).join("; "),
      };
    }
    if (input.after.some((p) => !p.met))
      return {
        verdict: "deviated",
        reason: `steady state not back after the drill: ${failedProbes(input.after)}`,
      };
    const unjudged = input.expectations.filter((e) => e.met === null && e.notEvaluated === undefined);
    if (unjudged.length > 0) {
      return {
        verdict: "inconclusive",
        reason: `not enough data to judge ${unjudged.map((e) => `${e.name} (${e.observed})`).join("; ")}`,
      };
    }
    return {
      verdict: "pass",
      reason: `every expectation met (${input.expectations.length}) and the steady state held`,
    };
  })();
  const exitCode =
    input.status === "interrupted"
      ? DRILL_EXIT.interrupted
      : input.status === "aborted"
        ? DRILL_EXIT.aborted
        : judged.verdict === "pass"
          ? DRILL_EXIT.pass
          : judged.verdict === "inconclusive"
            ? DRILL_EXIT.inconclusive
            : DRILL_EXIT.failOrDeviated;
  return { ...judged, exitCode };
}
