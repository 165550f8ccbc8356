import { describe, expect, it } from "vitest";
import { sampleJournal } from "../test/journal-fixture.js";
import type { DrillJournal, TimelineEvent } from "./journal.js";
import { renderDrillMarkdown, renderTimelinePlot } from "./report.js";

const T0_MS = Date.parse("2026-11-22T10:00:40.000Z");

/** The plot's lines and, for a row label, its cells from the T0 column on. */
function plotOf(journal: DrillJournal): { lines: string[]; t0: number; row: (label: string) => string } {
  const lines = renderTimelinePlot(journal).split("\n");
  const axis = lines.find((l) => l.includes("|") && l.includes("+-"));
  if (axis === undefined) throw new Error(`no axis row in:\n${lines.join("\n")}`);
  const t0 = axis.indexOf("|");
  const row = (label: string): string => {
    const line = lines.find((l) => l.startsWith(`${label} `));
    if (line === undefined) throw new Error(`no row ${label} in:\n${lines.join("\n")}`);
    return line;
  };
  return { lines, t0, row };
}

describe("renderDrillMarkdown", () => {
  const md = renderDrillMarkdown(sampleJournal());

  it("opens with the title, the verdict banner and when and where the drill ran", () => {
    const lines = md.split("\n");
    expect(lines[0]).toBe("# Chaos drill: kill-busiest-node");
    expect(lines[2]).toBe(
      "**FAIL** · drill completed · participants lost: observed 1 (stuck_reconnecting), expected max 0",
    );
    expect(md).toContain(
      "Backend `local` · started 2026-11-22T10:00:00.000Z · duration 100.0 s · T0 2026-11-22T10:00:40.000Z (first fault confirmed)",
    );
  });

  it("puts the sections in order", () => {
    const order = [
      "## Faults",
      "## Expectations",
      "## Steady state",
      "## Recovery",
      "## Timeline",
      "## Rooms",
      "## Participants",
      "## Quality",
      "## Findings",
      "## Rollbacks",
      "## Artifacts",
    ].map((h) => md.indexOf(`\n${h}\n`));
    expect(order.every((i) => i > 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(md).not.toContain("## Abort");
  });

  it("tables the fault with its confirmation, latency, evidence and revert", () => {
    expect(md).toContain(
      "| kill-busiest | node.kill | node hosting the busiest room (room-0, 3 participants) | node node2 (ND_7fQk2, pid 41873) | 0.0 s (inject 50 ms) | pid 41873 gone | 30.0 s | – |",
    );
  });

  it("marks expectations met, not met and not judged", () => {
    expect(md).toContain("| reconnect | p95 <= 20s | 9.6 s (n=2) | ✅ |");
    expect(md).toContain("| participants lost | max 0 | 1 (stuck_reconnecting) | ❌ |");
    expect(md).toContain(
      "| quality after | loss after <= 2 × before | not enough samples after recovery (90 < 120) | n/a |",
    );
  });

  it("tables the steady state before and after", () => {
    expect(md).toContain("| loss ratio | <= 0.02 | 0.002 | ✅ | – |");
    expect(md).toContain("| connected share | >= 0.9 | 0.9167 | ✅ | 11 of 12 connected |");
  });

  it("gives recovery aggregates in seconds", () => {
    expect(md).toContain("Participants affected: **3** of 12.");
    expect(md).toContain("| detect | 3 | 7.9 s | 9.1 s | 9.1 s |");
    expect(md).toContain("| reconnect | 2 | 9.2 s | 9.6 s | 9.6 s |");
    expect(md).toContain("| media resume | 1 | 10.1 s | 10.1 s | 10.1 s |");
    expect(md).toContain("Reconnect paths: resume 0 · full 2 · rejoin 0.");
    expect(md).toContain("Lost: stuck_reconnecting 1.");
    expect(md).toContain("server view consistent from 12.5 s");
  });

  it("writes null distributions as a dash", () => {
    const base = sampleJournal();
    const out = renderDrillMarkdown(
      sampleJournal({
        aggregates: { ...base.aggregates, mediaResume: { n: 0, p50: null, p95: null, max: null } },
      }),
    );
    expect(out).toContain("| media resume | 0 | – | – | – |");
  });

  it("tables rooms and participants", () => {
    expect(md).toContain(
      "| room-0 | node2 → node1 | yes | RM_room0 → RM_room0 | kill-busiest: never | 0.00% / 12.00%, media stalled / 0.05% | 12.5 s | none | none | none |",
    );
    expect(md).toContain(
      "| room-1 | node1 → node1 | no | RM_room1 → RM_room1 | never stalled | 0.00% / 0.10% / 0.05% | -20.0 s | none | none | none |",
    );
    expect(md).toContain(
      "| pub-0 | room-0 | publisher | node1 | room-on-failed-node | 9.1 s | 9.6 s | full | 1 | – | ✅ | – |",
    );
    expect(md).toContain(
      "| sub-0a | room-0 | subscriber | node3 | room-on-failed-node | 7.8 s | 9.2 s | full | 1 | 10.1 s | ✅ | – |",
    );
    expect(md).toContain(
      "| sub-0b | room-0 | subscriber | node1 | room-on-failed-node | 7.9 s | – | – | 1 | – | ❌ | stuck_reconnecting |",
    );
  });

  it("splits detect and reconnect by how the fault reached the participants", () => {
    expect(md).toContain(
      "By how the fault reached them (signal paths from the testbed's balancer log (HAProxy)):",
    );
    expect(md).toContain("| room-on-failed-node | 3 | 3 | 7.9 s / 9.1 s / 9.1 s | 9.2 s / 9.6 s / 9.6 s |");
    expect(md).toContain("| other | 9 | 0 | – / – / – | – / – / – |");
    const unknown = renderDrillMarkdown(
      sampleJournal({ aggregates: { ...sampleJournal().aggregates, signalPaths: null, byPopulation: [] } }),
    );
    expect(unknown).toContain("Signal paths: unknown for this backend");
    expect(unknown).not.toContain("| population | participants |");
  });

  it("shows a split room's instances with their nodes, and Redis' node when it differs", () => {
    const base = sampleJournal();
    const [room] = base.rooms;
    if (room === undefined) throw new Error("fixture has rooms");
    const split = {
      ...room,
      nodeAfter: "node1",
      redisNodeAfter: "node2",
      instances: [
        { sid: "RM_room0", node: "node1", participants: ["pub-0", "sub-0a", "sub-0b"] },
        { sid: "RM_late", node: "node2", participants: ["late-1"] },
      ],
    };
    expect(renderDrillMarkdown(sampleJournal({ rooms: [split] }))).toContain(
      "| room-0 | node2 → node1 (Redis: node2) | yes | RM_room0 → split: RM_room0 on node1 (pub-0, sub-0a, sub-0b) + RM_late on node2 (late-1) |",
    );
  });

  it("attributes participants to a fault when there are several", () => {
    const base = sampleJournal();
    const [fault] = base.faults;
    if (fault === undefined) throw new Error("fixture has a fault");
    const out = renderDrillMarkdown(sampleJournal({ faults: [fault, { ...fault, id: "kill-again" }] }));
    expect(out).toContain("| connected at end | lost reason | fault |");
    expect(out).toContain("| ❌ | stuck_reconnecting | kill-busiest |");
    expect(out).toContain(
      "| sub-3b | room-3 | subscriber | node1 | other | – | – | – | 0 | – | ✅ | – | – |",
    );
    expect(md).not.toContain("| lost reason | fault |");
  });

  it("tables quality in percent, milliseconds and kbit/s, with the ratios", () => {
    expect(md).toContain("| before | -30.0 s … 0.0 s | 0.20 | 4.1 | 12.4 | 1450 | 1532 | 20.0 | 360 | 120 |");
    // a cap that pushed video to 3 fps on the 180p layer shows in the window
    expect(md).toContain("| during | 0.0 s … 20.0 s | 8.10 | 31.2 | 185.5 | 980 | 1041 | 3.0 | 180 | 60 |");
    // an older journal without the video figures or the round trip says unknown
    expect(md).toContain("| after | 30.0 s … 60.0 s | 0.24 | 4.5 | – | 1420 | – | – | – | 90 |");
    expect(md).toContain("Loss after vs before: 1.20× · bitrate after vs before: 0.98×.");
    const noDuring = renderDrillMarkdown(
      sampleJournal({ quality: { ...sampleJournal().quality, during: null } }),
    );
    expect(noDuring).toContain("| during | – | – | – | – | – | – | – | – | 0 |");
    expect(md).not.toContain("(assembled)");
  });

  it("marks a frame rate no decoder measured (lean alone) and says why", () => {
    const base = sampleJournal().quality;
    const during =
      base.during === null ? null : { ...base.during, videoFpsP50: 19.5, videoFpsAssembled: true };
    const lean = renderDrillMarkdown(sampleJournal({ quality: { ...base, during } }));
    expect(lean).toContain(
      "| during | 0.0 s … 20.0 s | 8.10 | 31.2 | 185.5 | 980 | 1041 | 19.5 (assembled) | 180 | 60 |",
    );
    expect(lean).toContain("Video fps marked (assembled): no participant in the window decodes video");
  });

  it("lists findings, or says there were none", () => {
    expect(md).toContain(
      "| high | stuck-reconnecting | 7.9 s | subscriber stuck reconnecting after node kill | room-0/sub-0b entered",
    );
    const clean = renderDrillMarkdown(sampleJournal({ findings: [] }));
    expect(clean).toContain("## Findings\n\nNo LiveKit defects observed.");
  });

  it("reports an abort, rollbacks and artifacts", () => {
    const aborted = renderDrillMarkdown(
      sampleJournal({
        status: "aborted",
        verdict: "inconclusive",
        reason: "abort condition other-rooms-healthy fired",
        abort: { condition: "other-rooms-healthy", atMs: 4200, detail: "participants 7 < 9 for 3 checks" },
      }),
    );
    expect(aborted).toContain("**INCONCLUSIVE** · drill aborted · abort condition other-rooms-healthy fired");
    expect(aborted).toContain(
      "## Abort\n\nAbort condition `other-rooms-healthy` fired at 4.2 s after T0: participants 7 < 9 for 3 checks",
    );
    expect(md).toContain("| kill-busiest | start node2 | 2026-11-22T10:01:10.000Z | ✅ | – |");
    expect(md).toContain("- server logs: `logs/`");
  });

  it("escapes | and flattens newlines in table cells", () => {
    const out = renderDrillMarkdown(
      sampleJournal({
        expectations: [{ name: "a | b", expected: "x\ny", observed: "1|2", met: true }],
      }),
    );
    expect(out).toContain("| a \\| b | x y | 1\\|2 | ✅ |");
  });

  it("is pure: same journal, same report, journal untouched", () => {
    const journal = sampleJournal();
    const copy = structuredClone(journal);
    expect(renderDrillMarkdown(journal)).toBe(renderDrillMarkdown(journal));
    expect(journal).toEqual(copy);
  });

  it("embeds the timeline plot in a code block", () => {
    expect(md).toContain(`## Timeline\n\n\`\`\`\n${renderTimelinePlot(sampleJournal())}\n\`\`\``);
  });
});

describe("renderTimelinePlot", () => {
  it("marks T0 with | and labels ticks every 10 columns", () => {
    const { lines, t0 } = plotOf(sampleJournal());
    // The first event is a join at -30 s and the bucket is 1 s, so T0 is the 31st column.
    const labels = lines[0] ?? "";
    const axis = lines[1] ?? "";
    expect(axis.slice(t0 - 10, t0 + 11)).toBe("+---------|---------+");
    expect(labels.slice(t0 - 30, t0 - 26)).toBe("-30s");
    expect(labels.slice(t0 - 10, t0 - 6)).toBe("-10s");
    expect(labels.slice(t0, t0 + 3)).toBe("0s ");
    expect(labels.slice(t0 + 10, t0 + 14)).toBe("+10s");
    expect(labels.slice(t0 + 60, t0 + 64)).toBe("+60s");
    expect(lines).toContain("one column = 1 s; a cell shows the worst state within its 1 s");
  });

  it("marks the fault at its confirmation and its revert", () => {
    const { t0, row } = plotOf(sampleJournal());
    const faults = row("faults");
    expect(faults[t0]).toBe("▼");
    expect(faults[t0 + 30]).toBe("▲");
    expect(faults.replace(/ /g, "")).toBe("faults▼▲");
  });

  it("shows a publisher reconnecting after T0 and connected again after its reconnect", () => {
    const { t0, row } = plotOf(sampleJournal());
    const pub = row("room-0/pub-0");
    // pub-0: reconnecting at +9.1 s, reconnected (full) at +9.6 s.
    expect(pub.slice(t0, t0 + 9)).toBe("█".repeat(9));
    expect(pub[t0 + 9]).toBe("~");
    expect(pub.slice(t0 + 10, t0 + 61)).toBe("█".repeat(51));
  });

  it("shows a subscriber's stalled media, its reconnect and its media resuming", () => {
    const { t0, row } = plotOf(sampleJournal());
    const sub = row("room-0/sub-0a");
    // Stalled at +0.1 s, reconnecting +7.8 s, reconnected +9.2 s, media back at +10.1 s.
    expect(sub[t0 - 1]).toBe("█");
    expect(sub.slice(t0, t0 + 7)).toBe("░".repeat(7));
    expect(sub.slice(t0 + 7, t0 + 10)).toBe("~~~");
    expect(sub[t0 + 10]).toBe("░");
    expect(sub.slice(t0 + 11, t0 + 61)).toBe("█".repeat(50));
  });

  it("keeps a participant stuck reconnecting as ~ to the end, and a lost one as x", () => {
    const { t0, row } = plotOf(sampleJournal());
    expect(row("room-0/sub-0b").slice(t0 + 7, t0 + 61)).toBe("~".repeat(54));

    const base = sampleJournal();
    const lost: TimelineEvent = { tMs: 45_000, kind: "disconnected", subject: "sub-0b", detail: "timeout" };
    const plot = plotOf(sampleJournal({ timeline: [...base.timeline, lost] }));
    const sub = plot.row("room-0/sub-0b");
    expect(sub[plot.t0 + 44]).toBe("~");
    expect(sub.slice(plot.t0 + 45, plot.t0 + 61)).toBe("x".repeat(16));
  });

  it("leaves late joiners blank until they join and shows early ones connected from the start", () => {
    const { t0, row } = plotOf(sampleJournal());
    const late = row("room-1/pub-1");
    // Joined at -25 s: the first 5 one-second columns (from -30 s) are blank.
    const cellsStart = t0 - 30;
    expect(late.slice(cellsStart, cellsStart + 5)).toBe("     ");
    expect(late[cellsStart + 5]).toBe("█");
    // room-3 has no events at all: connected from the start of the plot.
    expect(row("room-3/sub-3b").slice(cellsStart)).toBe("█".repeat(91));
  });

  it("widens the bucket so a long drill fits in 100 columns", () => {
    const base = sampleJournal();
    const journal = sampleJournal({
      end: new Date(T0_MS + 900_000).toISOString(),
      timeline: [...base.timeline, { tMs: 600_000, kind: "reconnecting", subject: "pub-1", detail: "" }],
    });
    const { lines, t0, row } = plotOf(journal);
    expect(lines).toContain("one column = 10 s; a cell shows the worst state within its 10 s");
    const cellsStart = t0 - 3; // -30 s in 10 s buckets
    const pub = row("room-1/pub-1").slice(cellsStart);
    expect(pub.length).toBeLessThanOrEqual(100);
    expect(pub.length).toBe(94); // -30 s … +900 s
    expect(pub[3 + 60]).toBe("~");
    expect((lines[0] ?? "").slice(t0 + 10, t0 + 15)).toBe("+100s");
  });

  it("shows 10 s before T0 when the timeline starts later", () => {
    const journal = sampleJournal({
      timeline: [{ tMs: 2000, kind: "reconnecting", subject: "pub-0", detail: "" }],
    });
    const { t0, row } = plotOf(journal);
    const pub = row("room-0/pub-0");
    const cellsStart = t0 - 10;
    expect(pub.slice(cellsStart, t0 + 2)).toBe("█".repeat(12));
    expect(pub.slice(t0 + 2)).toBe("~".repeat(59));
  });
});
