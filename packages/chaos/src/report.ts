/**
 * The human report of a drill (`report.md`): what was injected, what was expected and observed, and a
 * timeline plot showing every participant's connection state around T0. Pure: a journal in, markdown out.
 */
import type {
  Distribution,
  DrillJournal,
  FaultRun,
  FaultSubject,
  ProbeResult,
  QualityWindow,
  RecoveryAggregates,
  RoomOutcome,
  TransportAggregate,
} from "./journal.js";
import { renderTimelinePlot } from "./report-timeline.js";

export { renderTimelinePlot };

const NONE = "–";

export function renderDrillMarkdown(journal: DrillJournal): string {
  const sections = [
    header(journal),
    faultsSection(journal.faults),
    section(
      "Expectations",
      table(
        ["name", "expected", "observed", "met"],
        journal.expectations.map((e) => [
          e.name,
          e.expected,
          e.observed,
          e.notEvaluated === undefined ? met(e.met) : "not evaluated",
        ]),
        "No expectations were declared.",
      ),
    ),
    steadyStateSection(journal),
    recoverySection(journal),
    section("Timeline", ["```", renderTimelinePlot(journal), "```"].join("\n")),
    roomsSection(journal),
    participantsSection(journal),
    qualitySection(journal),
    findingsSection(journal),
    journal.abort === null ? null : abortSection(journal.abort),
    section(
      "Rollbacks",
      table(
        ["fault", "action", "at", "ok", "error"],
        journal.rollbacks.map((r) => [r.fault, r.action, r.at, met(r.ok), r.error ?? NONE]),
        "No rollbacks ran.",
      ),
    ),
    section("Artifacts", artifactList(journal.artifacts)),
  ];
  return `${sections.filter((s) => s !== null).join("\n\n")}\n`;
}

function header(journal: DrillJournal): string {
  const lines = [
    `# Chaos drill: ${journal.drill.name}`,
    "",
    `**${journal.verdict.toUpperCase()}** · drill ${journal.status} · ${oneLine(journal.reason)}`,
  ];
  if (journal.drill.description.trim() !== "") lines.push("", oneLine(journal.drill.description));
  lines.push(
    "",
    [
      `Backend \`${journal.drill.backend}\``,
      `started ${journal.start}`,
      `duration ${seconds(journal.durationMs)}`,
      journal.t0 === null ? "T0 none (no fault was confirmed)" : `T0 ${journal.t0} (first fault confirmed)`,
    ].join(" · "),
    "",
    [
      `run \`${journal.runId}\``,
      `livekit-swarm ${journal.toolVersion}`,
      `host ${journal.host}`,
      ...(journal.drill.file === null ? [] : [`drill file \`${journal.drill.file}\``]),
    ].join(" · "),
  );
  return lines.join("\n");
}

function faultsSection(faults: readonly FaultRun[]): string {
  const rows = faults.map((f) => [
    f.id,
    f.type,
    f.selection,
    f.subjects.length === 0 ? NONE : f.subjects.map(subject).join(", "),
    f.confirmedMs === null
      ? "not confirmed"
      : `${seconds(f.confirmedMs)}${f.injectLatencyMs === null ? "" : ` (inject ${milliseconds(f.injectLatencyMs)})`}`,
    f.evidence ?? NONE,
    seconds(f.revertedMs),
    f.error ?? NONE,
  ]);
  return section(
    "Faults",
    table(
      ["id", "type", "selection", "subjects", "confirmed at (after T0)", "evidence", "reverted at", "error"],
      rows,
      "No faults were injected.",
    ),
  );
}

function subject(s: FaultSubject): string {
  const extra = [s.nodeId, s.pid === undefined ? undefined : `pid ${s.pid}`].filter((x) => x !== undefined);
  return `${s.kind} ${s.name}${extra.length === 0 ? "" : ` (${extra.join(", ")})`}`;
}

function steadyStateSection(journal: DrillJournal): string {
  const probes = (results: readonly ProbeResult[], when: string): string =>
    table(
      ["probe", "tolerance", "observed", "met", "detail"],
      results.map((p) => [p.name, p.tolerance, num(p.observed), met(p.met), p.detail ?? NONE]),
      `No steady-state probes ran ${when}.`,
    );
  return [
    "## Steady state",
    "",
    "### Before",
    "",
    probes(journal.steadyState.before, "before"),
    "",
    "### After",
    "",
    probes(journal.steadyState.after, "after"),
  ].join("\n");
}

function recoverySection(journal: DrillJournal): string {
  const a = journal.aggregates;
  const distribution = (name: string, d: Distribution): string[] => [
    name,
    String(d.n),
    seconds(d.p50),
    seconds(d.p95),
    seconds(d.max),
  ];
  const lost = Object.entries(a.lostByReason);
  return section(
    "Recovery",
    [
      `Participants affected: **${a.affected}** of ${a.participants}.`,
      "",
      table(
        ["after T0", "n", "p50", "p95", "max"],
        [
          distribution("detect", a.detect),
          distribution("reconnect", a.reconnect),
          distribution("media resume", a.mediaResume),
        ],
        "",
      ),
      "",
      populationsText(a),
      "",
      ...(a.byTransport !== undefined ? [transportsText(a.byTransport), ""] : []),
      `Subscribed tracks that stalled and never resumed: ${a.tracksNotResumed}.`,
      "",
      `Reconnect paths: resume ${a.paths.resume} · full ${a.paths.full} · rejoin ${a.paths.rejoin}.`,
      "",
      `Lost: ${lost.length === 0 ? "none" : lost.map(([reason, n]) => `${reason} ${n}`).join(" · ")}.`,
      "",
      `Ghosts at the end: ${a.ghosts} · server view consistent from ${a.consistentMs === null ? "never" : seconds(a.consistentMs)}.`,
    ].join("\n"),
  );
}

/** Detect and reconnect apart for those whose signalling ran through the failed node and those whose room alone was on it. */
function populationsText(a: RecoveryAggregates): string {
  if (a.signalPaths === null)
    return "Signal paths: unknown for this backend (no balancer log is read), so the participants are not split by how the fault reached them.";
  return [
    `By how the fault reached them (signal paths from ${a.signalPaths}):`,
    "",
    table(
      ["population", "participants", "affected", "detect p50 / p95 / max", "reconnect p50 / p95 / max"],
      a.byPopulation.map((p) => [
        p.population,
        String(p.participants),
        String(p.affected),
        [p.detect.p50, p.detect.p95, p.detect.max].map(seconds).join(" / "),
        [p.reconnect.p50, p.reconnect.p95, p.reconnect.max].map(seconds).join(" / "),
      ]),
      "",
    ),
  ].join("\n");
}

/** Did those behind each path (UDP, TCP, TURN) come back, how fast, and over what. */
function transportsText(rows: readonly TransportAggregate[]): string {
  return [
    "By the path their media took before the faults (docs/transport.md):",
    "",
    table(
      ["path before", "participants", "affected", "reconnect p50 / p95 / max", "back over"],
      rows.map((t) => [
        t.transport,
        String(t.participants),
        String(t.affected),
        [t.reconnect.p50, t.reconnect.p95, t.reconnect.max].map(seconds).join(" / "),
        backOverText(t),
      ]),
      "",
    ),
  ].join("\n");
}

/** "turn-udp 2" for the affected that came back, by the path they selected after; "-" for none. */
export function backOverText(t: TransportAggregate): string {
  const back = Object.entries(t.backOver).map(([transport, n]) => `${transport} ${n}`);
  return back.length === 0 ? "-" : back.join(", ");
}

/** When every subscriber of a room whose media stalled had it again, per fault. */
export function mediaBack(r: RoomOutcome): string {
  if (r.recoveries.length === 0) return "never stalled";
  return r.recoveries
    .map((x) => `${x.fault}: ${x.recoveredMs === null ? "never" : seconds(x.recoveredMs)}`)
    .join(", ");
}

/**
 * A room's loss during the faults, and when its media stalled, that it did: RTP loss counts gaps in
 * what arrived, so a stream that stopped and came back on another node (a new sequence space) has
 * none. A room behind a 48 kbit/s cap read 0.00% beside "media back 11.1 s" while its neighbours
 * read 75% and 87%, and 0.00% alone reads as a clean call.
 */
export function lossDuring(r: RoomOutcome): string {
  const loss = lossText(r.loss.during);
  return r.recoveries.length > 0 ? `${loss}, media stalled` : loss;
}

const lossText = (v: number | null): string => (v === null ? NONE : `${(v * 100).toFixed(2)}%`);

function roomsSection(journal: DrillJournal): string {
  const list = (xs: readonly string[]): string => (xs.length === 0 ? "none" : xs.join(", "));
  return section(
    "Rooms",
    table(
      [
        "room",
        "node before → after",
        "relocated",
        "room SID before → after",
        "media back (every subscriber)",
        "loss before / during / after",
        "consistent at",
        "ghosts",
        "duplicates",
        "missing",
      ],
      journal.rooms.map((r) => [
        r.room,
        // after a split brain Redis names the newest instance's node, not the one the clients are on
        `${r.nodeBefore ?? NONE} → ${r.nodeAfter ?? NONE}${r.redisNodeAfter !== r.nodeAfter ? ` (Redis: ${r.redisNodeAfter ?? NONE})` : ""}`,
        r.relocated ? "yes" : "no",
        roomSids(r),
        mediaBack(r),
        [lossText(r.loss.before), lossDuring(r), lossText(r.loss.after)].join(" / "),
        r.consistentMs === null ? "never" : seconds(r.consistentMs),
        list(r.ghosts),
        list(r.duplicates),
        list(r.missing),
      ]),
      "No rooms were observed.",
    ),
  );
}

/** The room instances its clients were in: one SID when whole, several (with their nodes) when split. */
function roomSids(r: RoomOutcome): string {
  const before = r.roomSidsBefore.length === 0 ? NONE : r.roomSidsBefore.join(", ");
  const after =
    r.instances.length === 0
      ? NONE
      : r.instances.length === 1
        ? (r.instances[0]?.sid ?? NONE)
        : `split: ${r.instances.map((i) => `${i.sid} on ${i.node ?? "?"} (${i.participants.join(", ")})`).join(" + ")}`;
  return `${before} → ${after}`;
}

function participantsSection(journal: DrillJournal): string {
  // With several faults, say which one each participant's trouble is attributed to.
  const byFault = journal.faults.length > 1;
  const head = [
    "identity",
    "room",
    "role",
    "signal via",
    "population",
    "detect",
    "reconnect",
    "path",
    "episodes",
    "media resume",
    "connected at end",
    "lost reason",
  ];
  return section(
    "Participants",
    table(
      byFault ? [...head, "fault"] : head,
      journal.participants.map((p) => [
        p.identity,
        p.room,
        p.role,
        p.signalNode ?? "unknown",
        p.population ?? NONE,
        seconds(p.detectMs),
        seconds(p.reconnectMs),
        p.path ?? NONE,
        String(p.episodes),
        seconds(p.mediaResumeMs),
        met(p.connectedAtEnd),
        p.lostReason ?? NONE,
        ...(byFault ? [p.fault ?? NONE] : []),
      ]),
      "No participants.",
    ),
  );
}

function qualitySection(journal: DrillJournal): string {
  const q = journal.quality;
  const row = (name: string, w: QualityWindow | null): string[] =>
    w === null
      ? [name, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, "0"]
      : [
          name,
          `${seconds(w.fromMs)} … ${seconds(w.toMs)}`,
          fixed(w.lossRatio === null ? null : w.lossRatio * 100, 2),
          fixed(w.jitterP95S === null ? null : w.jitterP95S * 1000, 1),
          fixed(w.rttP50S === undefined || w.rttP50S === null ? null : w.rttP50S * 1000, 1),
          fixed(w.bitrateInBps === null ? null : w.bitrateInBps / 1000, 0),
          fixed(kilo(w.wireBitrateInBps), 0),
          `${fixed(w.videoFpsP50 ?? null, 1)}${w.videoFpsAssembled === true ? " (assembled)" : ""}`,
          fixed(w.videoHeightP50 ?? null, 0),
          String(w.samples),
        ];
  const ratio = (x: number | null): string => (x === null ? NONE : `${x.toFixed(2)}×`);
  return section(
    "Quality",
    [
      table(
        [
          "window",
          "after T0",
          "loss %",
          "jitter p95 (ms)",
          "round trip p50 (ms)",
          "bitrate in (kbit/s)",
          "wire (kbit/s)",
          "video fps p50",
          "video height p50",
          "samples",
        ],
        [row("before", q.before), row("during", q.during), row("after", q.after)],
        "",
      ),
      "",
      `Loss after vs before: ${ratio(q.lossRatioVsBaseline)} · bitrate after vs before: ${ratio(q.bitrateVsBaseline)}.`,
      ...([q.before, q.during, q.after].some((w) => w?.videoFpsAssembled === true)
        ? [
            "",
            "Video fps marked (assembled): no participant in the window decodes video, so it is lean's frames assembled from RTP, which hold their rate under loss where a decoder drops frames; elsewhere the frame rate is over the decoding participants alone (docs/observability.md 4.3).",
          ]
        : []),
    ].join("\n"),
  );
}

function findingsSection(journal: DrillJournal): string {
  if (journal.findings.length === 0) return section("Findings", "No LiveKit defects observed.");
  return section(
    "Findings",
    table(
      ["severity", "id", "at", "title", "detail"],
      journal.findings.map((f) => [
        f.accepted ? `${f.severity} (accepted)` : f.severity,
        f.id,
        seconds(f.atMs),
        f.title,
        f.detail,
      ]),
      "",
    ),
  );
}

function abortSection(abort: NonNullable<DrillJournal["abort"]>): string {
  const at = abort.atMs === null ? "" : ` at ${seconds(abort.atMs)} after T0`;
  return section("Abort", `Abort condition \`${abort.condition}\` fired${at}: ${oneLine(abort.detail)}`);
}

function artifactList(artifacts: Readonly<Record<string, string>>): string {
  const entries = Object.entries(artifacts);
  if (entries.length === 0) return "None.";
  return entries.map(([name, path]) => `- ${oneLine(name)}: \`${oneLine(path)}\``).join("\n");
}

// ---------------------------------------------------------------------------------------------------
// Cells

function section(title: string, body: string): string {
  return `## ${title}\n\n${body}`;
}

function table(head: readonly string[], rows: readonly (readonly string[])[], empty: string): string {
  if (rows.length === 0) return empty;
  const row = (cells: readonly string[]): string => `| ${cells.map(cell).join(" | ")} |`;
  return [row(head), row(head.map(() => "---")), ...rows.map(row)].join("\n");
}

function cell(text: string): string {
  return oneLine(text).replace(/\|/g, "\\|");
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

function met(value: boolean | null): string {
  return value === null ? "n/a" : value ? "✅" : "❌";
}

/** `9.4 s`; null is `–`. */
export function seconds(ms: number | null): string {
  if (ms === null) return NONE;
  const tenths = Math.round(ms / 100);
  return `${(tenths === 0 ? 0 : tenths / 10).toFixed(1)} s`;
}

function milliseconds(ms: number): string {
  return `${String(Math.round(ms))} ms`;
}

/** A rate in thousands, null when unknown (older journals have no such field). */
function kilo(value: number | null | undefined): number | null {
  return value === undefined || value === null ? null : value / 1000;
}

function fixed(value: number | null, digits: number): string {
  return value === null ? NONE : value.toFixed(digits);
}

function num(value: number | null): string {
  if (value === null) return NONE;
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}
