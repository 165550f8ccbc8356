/**
 * The swarm's own health, judged on every run whether it has thresholds or not: every planned
 * participant joined and stayed, every track LiveKit owed arrived, no worker was lost, and the
 * generator kept up. Each failed check names its side. The generator's side (a worker died, a
 * browser exited, a worker's event loop full or its CPU quota run out, the machine used up or
 * crowded with its loop late or rtc-node stalled, lean's native media thread running its ticks
 * late, see generator-load.ts) makes every figure
 * suspect, so the run is inconclusive (exit 2) whatever LiveKit did; so does a crowded machine
 * or a worker whose engines loaded late, on which only what a starved swarm produces went unserved
 * (starvedUnserved). Participants
 * (never joined, dropped, still reconnecting) or tracks unserved while those checks held fail the
 * run (exit 99).
 * Pure: the session applies it.
 */
import type { Verdict } from "@livekit-swarm/gate";
import { ExitCode } from "@livekit-swarm/schema";
import type { RunSummary } from "./aggregate.js";
import { OWED_AFTER_MS } from "./delivery.js";
import { NOT_STARTED, RUN_ENDED } from "./messages.js";
import { generatorLoss } from "./standings.js";
import {
  MACHINE_CROWDED_BUSY,
  percent,
  saturationMessage,
  startedLate,
  workerName,
  type GeneratorLoad,
} from "./generator-load.js";

export type HealthSide = "generator" | "livekit";

export interface HealthCheck {
  readonly name: "participants" | "tracks" | "workers" | "generator";
  readonly ok: boolean;
  /** Whose failure a failed check is. */
  readonly side: HealthSide;
  readonly text: string;
}

export interface RunHealth {
  /** healthy; `generator`: the swarm could not measure (inconclusive); `livekit`: LiveKit did not serve. */
  readonly status: "healthy" | HealthSide;
  readonly checks: readonly HealthCheck[];
  /**
   * The code the run exits with (`withExitCode`), which is not always the one its status gives (2
   * for `generator`, 99 for `livekit`): nobody joined (1), interrupted (130, 143), a merge missing
   * shards (1), its output folder lost (1). The banners name it, never another; absent where the
   * health was judged without it (a summary.json of an older version).
   */
  readonly exitCode?: ExitCode;
}

/** How many of `counts` (reason to participants) are the generator's: a process or browser that went away. */
function generatorCount(counts: Readonly<Record<string, number>>): number {
  return Object.entries(counts)
    .filter(([r]) => generatorLoss(r))
    .reduce((a, [, n]) => a + n, 0);
}

/**
 * A participant still reconnecting at the end this long was not taken back by LiveKit (its node
 * killed, its signalling gone); one that began less than this before the end is too soon to judge.
 */
export const RECONNECT_GRACE_S = 5;

/**
 * Join failures a starved swarm can cause by itself: no answer in time, or the run ended first. Any
 * other reason (unauthorized, no_transport, server_limit, ...) is an answer LiveKit or the network
 * gave, whatever the machine's load.
 */
const SLOW_JOIN = new Set(["timeout", RUN_ENDED]);

/** Participants whose link broke during the run: reconnects, drops, still reconnecting at the end. */
export function linksLost(p: RunSummary["participants"]): number {
  const dropped = Object.values(p.disconnects).reduce((a, b) => a + b, 0);
  return p.reconnects + (p.reconnectingAtEndS?.length ?? 0) + dropped;
}

/**
 * The generator's check when the machine was crowded (MACHINE_CROWDED_BUSY in half the hold's
 * windows), or a worker still loading its engines through half the hold (`startedLate`), and what
 * went unserved is only what a starved swarm produces by itself: joins that never
 * finished or timed out, tracks that never came, and no link broken on the way. Its event loop may
 * have been on time: rtc-node's threads, the worker's sockets and LiveKit beside it (the embedded
 * node, a testbed) all waited for the same cores. Seen in CI, 2026-11-29: voice-ai beside two busy
 * loops joined 0 of 100 for 15 s on loopback, then all, its loop's p99 under 50 ms and fewer than
 * two rtc-node stalls, and the run blamed LiveKit (exit 99). A failure with an answer (a refused
 * join, a dropped or reconnecting link: a node killed beside a busy neighbour) stays LiveKit's. A
 * worker that loaded late began its joins late, and the run's end cut them off as `run_ended`.
 * Undefined when this does not apply.
 */
function starvedUnserved(summary: RunSummary, load: GeneratorLoad, unserved: boolean): string | undefined {
  if (!unserved || linksLost(summary.participants) > 0) return undefined;
  const answered = Object.entries(summary.participants.joinFailures).some(
    ([reason, n]) => n > 0 && !SLOW_JOIN.has(reason) && reason !== NOT_STARTED && !generatorLoss(reason),
  );
  if (answered) return undefined;
  const w = load.workers.find((x) => x.crowded === true);
  if (w === undefined) {
    const late = load.workers.find(startedLate);
    return late === undefined
      ? undefined
      : `${workerName(late)} was still loading its engines in ${late.startingWindows ?? 0} of ${late.windows} windows of the hold ` +
          "while joins went unanswered or tracks never came, with no link broken: its participants began late or not at all " +
          "for the generator's own reasons, not LiveKit's. Give the generator more CPU, or the run a longer --duration";
  }
  return (
    `the machine's cores were >= ${percent(MACHINE_CROWDED_BUSY)} busy in ${w.crowdedWindows ?? 0} of ${w.windows} windows ` +
    `(${workerName(w)}, machine ${percent(w.meanMachineBusy ?? 0)} busy, mean) while joins went unanswered or tracks never came, ` +
    "with no link broken: other processes (LiveKit beside the swarm, other work) held the cores it needed, and its threads and " +
    "sockets waited for them as LiveKit's did, so the swarm cannot tell LiveKit's failure from its own. " +
    "Keep other work off the generator's machine, or put LiveKit on another one, and run again"
  );
}

/** What a run's never-started participants waited for: their worker's engines, or their browsers. */
function waitedFor(summary: RunSummary, n: number): string {
  const workers = (summary.generator?.workers ?? []).filter((w) => w.unstarted === true).map(workerName);
  return workers.length > 0
    ? `${workers.join(", ")} still loading ${workers.length === 1 ? "its" : "their"} engines when the run ended`
    : `${n === 1 ? "its browser" : "their browsers"} still starting`;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/**
 * `missing`: a merge's participants whose shard did not finish (killed, failed, absent), planned but
 * in no figure; counted in the planned total and lost on the generator's side.
 */
export function runHealth(
  summary: RunSummary,
  workersLost: number,
  missing?: { readonly participants: number; readonly shards: readonly number[] },
): RunHealth {
  const { tracks } = summary;
  const unfinished = missing?.participants ?? 0;
  const people = { ...summary.participants, planned: summary.participants.planned + unfinished };
  const checks: HealthCheck[] = [];

  // never began to join (a browser still waiting for its Chromium): the generator's, not LiveKit's
  const notStarted = people.joinFailures[NOT_STARTED] ?? 0;
  // gone with their process before they joined (a worker that died during the ramp): the generator's
  const lostJoining = people.lostJoining ?? 0;
  // the run ended before their turn to join came (stopped during its ramp): neither side's failure
  const notDue = people.notDue ?? 0;
  const neverJoined = people.planned - unfinished - people.joined - notStarted - lostJoining - notDue;
  const lostBy = Object.entries(people.disconnects);
  const lostToGenerator = generatorCount(people.disconnects);
  const reconnecting = people.reconnectingAtEndS ?? [];
  const stuck = reconnecting.filter((s) => s >= RECONNECT_GRACE_S);
  const lost = Math.max(0, people.joined - people.connectedAtEnd - reconnecting.length);
  const lostToLiveKit = Math.max(0, lost - lostToGenerator);
  const reasons = lostBy.map(([r, n]) => `${r} ${n}`).join(", ");
  const longest = (reconnecting[0] ?? 0).toFixed(1);
  checks.push({
    name: "participants",
    ok: neverJoined === 0 && lostToLiveKit === 0 && stuck.length === 0,
    side: "livekit",
    text:
      `${people.joined} of ${people.planned} planned joined` +
      (lost > 0 ? `, ${lost} lost before the end (${reasons})` : "") +
      (stuck.length > 0
        ? `, ${stuck.length} still reconnecting at the end after ${RECONNECT_GRACE_S} s and more (the longest ${longest} s): LiveKit had not taken ${stuck.length === 1 ? "it" : "them"} back`
        : "") +
      (reconnecting.length > stuck.length
        ? `, ${reconnecting.length - stuck.length} reconnecting for under ${RECONNECT_GRACE_S} s at the end (too soon to judge)`
        : "") +
      (neverJoined > 0 ? `, ${neverJoined} never joined` : "") +
      (notDue > 0 ? `, ${notDue} not yet due to join when the run ended` : "") +
      (notStarted > 0 ? `, ${notStarted} never started (the generator's: see workers)` : "") +
      (lostJoining > 0
        ? `, ${lostJoining} lost with their process before joining (the generator's: see workers)`
        : "") +
      (unfinished > 0
        ? `, ${unfinished} in ${plural(missing?.shards.length ?? 0, "shard")} that did not finish (${(missing?.shards ?? []).join(", ")}), in no figure`
        : ""),
  });

  if (tracks.owed !== undefined && tracks.neverReceived !== undefined) {
    const owed = tracks.owed.audio + tracks.owed.video;
    const lacking = tracks.neverReceived.audio + tracks.neverReceived.video;
    const who = tracks.undelivered ?? [];
    const names = who.slice(0, 5).join("; ") + (who.length > 5 ? `; and ${who.length - 5} more` : "");
    checks.push({
      name: "tracks",
      ok: lacking === 0,
      side: "livekit",
      text:
        owed === 0 && tracks.expected.audio + tracks.expected.video > 0
          ? `no track owed yet: a subscriber is owed its publishers' tracks once they shared the room for ${OWED_AFTER_MS / 1000} s, and none did (hold the run longer to judge delivery)`
          : lacking === 0
            ? `${owed} of ${owed} owed tracks received`
            : `${lacking} of ${owed} owed tracks never received a packet (${tracks.neverReceived.audio} audio, ${tracks.neverReceived.video} video): ${names}`,
    });
  }

  const carriedOff = lostToGenerator + lostJoining;
  const workersOk = workersLost === 0 && carriedOff === 0 && unfinished === 0 && notStarted === 0;
  checks.push({
    name: "workers",
    ok: workersOk,
    side: "generator",
    text: workersOk
      ? "no worker or browser lost"
      : [
          unfinished > 0 ? `${plural(missing?.shards.length ?? 0, "shard")} lost` : undefined,
          workersLost > 0 ? `${plural(workersLost, "worker process", "worker processes")} died` : undefined,
          carriedOff > 0
            ? `${plural(carriedOff, "participant")} lost with the process that carried ${carriedOff === 1 ? "it" : "them"}` +
              (lostJoining > 0 ? ` (${lostJoining} of them before they joined)` : "")
            : undefined,
          notStarted > 0
            ? `${plural(notStarted, "participant")} never started: the run ended while ${notStarted === 1 ? "it" : "they"} waited for the generator (${waitedFor(summary, notStarted)}): run fewer participants per machine, give the generator more CPU, or hold longer`
            : undefined,
        ]
          .filter((x) => x !== undefined)
          .join(", "),
  });

  const load = summary.generator;
  if (load !== undefined && load.workers.length > 0) {
    const unserved = checks.some((c) => !c.ok && c.side === "livekit");
    const behind = saturationMessage(load) ?? starvedUnserved(summary, load, unserved);
    checks.push({
      name: "generator",
      ok: behind === undefined,
      side: "generator",
      text: behind ?? "kept up",
    });
  }

  const failed = checks.filter((c) => !c.ok);
  const status = failed.some((c) => c.side === "generator")
    ? "generator"
    : failed.length > 0
      ? "livekit"
      : "healthy";
  return { status, checks };
}

/** The code a status gives a finished run, before what else ended it (`judgedExitCode`). */
const STATUS_CODE = {
  healthy: ExitCode.ok,
  generator: ExitCode.inconclusive,
  livekit: ExitCode.thresholdsFailed,
} as const;

/** `health` naming `code`, the code the run exits with. */
export function withExitCode(health: RunHealth, code: ExitCode): RunHealth {
  return { status: health.status, checks: health.checks, exitCode: code };
}

/**
 * The code a health names, if it holds one that is an exit code: read back from a summary.json, a
 * hand-edited code may be anything.
 */
export function exitCodeOf(health: RunHealth | undefined): ExitCode | undefined {
  const said: unknown = health?.exitCode;
  return typeof said === "number" && Number.isInteger(said) && said >= 0 && said <= 255
    ? (said as ExitCode)
    : undefined;
}

/**
 * What failed thresholds say of the exit: 99, or the run's other code, which its health decided
 * (inconclusive, nobody joined, interrupted): two banners never name two codes.
 */
export function failedCode(exitCode: ExitCode | undefined): string {
  return exitCode === undefined || exitCode === ExitCode.thresholdsFailed
    ? "(exit 99)"
    : `(the run exits ${exitCode}: see health)`;
}

/** The banner that heads the summary, the reports and the step summary: the status, then each check. */
export function healthLines(health: RunHealth): string[] {
  const code = exitCodeOf(health) ?? STATUS_CODE[health.status];
  // stopped by Ctrl-C or SIGTERM: a failed check may be the stop's doing (engines still loading, a
  // join cut short), and neither side's verdict is earned
  const stopped = code === ExitCode.interrupted || code === ExitCode.terminated;
  const head = {
    healthy: "health: ok",
    generator: `health: INCONCLUSIVE (exit ${code}): the swarm itself did not keep up, so its figures are not LiveKit's`,
    livekit: `health: FAILED (exit ${code}): participants or tracks went unserved while the swarm's own checks held (its workers, their event loops and CPU)`,
  }[health.status];
  const shown =
    stopped && health.status !== "healthy"
      ? `health: INTERRUPTED (exit ${code}): the run was stopped before its end, so a check failed below may be the stop's doing (a worker still loading, a join cut short)`
      : head;
  return [shown, ...health.checks.map((c) => `  ${c.ok ? "ok     " : "FAILED "} ${c.name}: ${c.text}`)];
}

/**
 * A finished run's code: inconclusive (2) when the swarm itself did not keep up, whatever the
 * thresholds say (its figures are not LiveKit's); 99 when LiveKit did not serve every participant
 * and track, or a `fail` threshold broke; 0 otherwise.
 */
export function judgedExitCode(health: RunHealth, verdict: Verdict | undefined): ExitCode {
  if (health.status !== "healthy") return STATUS_CODE[health.status];
  return verdict !== undefined && !verdict.passed ? ExitCode.thresholdsFailed : ExitCode.ok;
}
