import { describe, expect, it } from "vitest";
import { sampleJournal } from "../test/journal-fixture.js";
import { renderDrillHtml } from "./report-html.js";
import { stateCounts } from "./report-timeline.js";

const ASSETS = { js: "/* uPlot */", css: "" };

describe("renderDrillHtml", () => {
  const journal = sampleJournal();
  const html = renderDrillHtml(journal, ASSETS);

  it("opens with the verdict and its expectations", () => {
    const verdict = html.indexOf('id="verdict"');
    expect(verdict).toBeGreaterThan(0);
    expect(verdict).toBeLessThan(html.indexOf("Around T0"));
    expect(html).toContain(`<h2>${journal.verdict.toUpperCase()}: `);
    expect(html).toContain('<table id="expectations"');
  });

  it("marks each confirmed fault on the timeline at its time after T0", () => {
    const data = /id="report-data">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? "{}";
    const chart = (JSON.parse(data) as { charts: { markers: { x: number; label: string }[] }[] }).charts[0];
    const fault = journal.faults[0];
    expect(chart?.markers[0]).toEqual({
      x: (fault?.confirmedMs ?? NaN) / 1000,
      label: `${fault?.id} ${fault?.type}`,
      color: "#b02a25",
    });
  });

  it("lists rooms by when their media came back, slowest first, and escapes their names", () => {
    const hostile = sampleJournal({
      rooms: journal.rooms.map((r, i) => (i === 1 ? { ...r, room: "<b>room</b>" } : r)),
    });
    const page = renderDrillHtml(hostile, ASSETS);
    expect(page).not.toContain("<b>room</b>");
    expect(page).toContain("&lt;b&gt;room&lt;/b&gt;");
    const rooms = html.slice(html.indexOf('<table id="rooms"'));
    const stalled = journal.rooms.find((r) => r.recoveries.length > 0);
    expect(stalled).toBeDefined();
    expect(rooms.indexOf(`>${stalled?.room}</td>`)).toBeLessThan(
      Math.min(
        ...journal.rooms
          .filter((r) => r.recoveries.length === 0)
          .map((r) => rooms.indexOf(`>${r.room}</td>`)),
      ),
    );
    // a stalled room's loss says its media stalled (RTP loss cannot count what never came); others' do not
    const body = rooms.slice(0, rooms.indexOf("</table>"));
    expect(body.match(/media stalled/g)?.length).toBe(
      journal.rooms.filter((r) => r.recoveries.length > 0).length,
    );
  });
});

describe("an interrupted or aborted drill's page", () => {
  const done = sampleJournal();
  const stopped = (status: "interrupted" | "aborted", condition: string, atMs: number | null) =>
    sampleJournal({
      status,
      abort: { condition, atMs, detail: "stopping: rolling back every fault" },
      expectations: done.expectations.map((e) => ({ ...e, met: null, notEvaluated: "stopped early" })),
    });

  it("says interrupted above the verdict, when, and what was measured until then", () => {
    const page = renderDrillHtml(stopped("interrupted", "interrupted", 4200), ASSETS);
    expect(page.indexOf('id="stopped"')).toBeGreaterThan(0);
    expect(page.indexOf('id="stopped"')).toBeLessThan(page.indexOf('id="verdict"'));
    expect(page).toContain(
      '<section class="banner warn" id="stopped"><h2>INTERRUPTED at T0 + 4.2 s: partial results</h2>',
    );
    expect(page).toContain(
      `${done.aggregates.participants} participants followed (${done.aggregates.affected} affected); ${done.faults.filter((f) => f.confirmedMs !== null).length} of ${done.faults.length} fault(s) confirmed`,
    );
    expect(page).toContain(`${done.expectations.length} expectation(s) not evaluated`);
    expect(page).toContain("Why: interrupted: stopping: rolling back every fault.");
  });

  it("names the abort condition; a completed drill has no such banner", () => {
    const page = renderDrillHtml(stopped("aborted", "max-participants-down", -1500), ASSETS);
    expect(page).toContain(
      '<section class="banner fail" id="stopped"><h2>ABORTED by max-participants-down at T0 - 1.5 s: partial results</h2>',
    );
    expect(renderDrillHtml(done, ASSETS)).not.toContain('id="stopped"');
  });
});

describe("stateCounts", () => {
  it("counts every participant in one state per bucket, with someone reconnecting after T0", () => {
    const journal = sampleJournal();
    const c = stateCounts(journal, 600);
    for (let i = 0; i < c.tMs.length; i++) {
      const total = (c.connected[i] ?? 0) + (c.stalled[i] ?? 0) + (c.reconnecting[i] ?? 0) + (c.lost[i] ?? 0);
      expect(total).toBeLessThanOrEqual(journal.participants.length);
    }
    expect(c.tMs.length).toBeLessThanOrEqual(600);
    expect(c.tMs.length).toBeGreaterThan(100);
    const firstReconnect = c.reconnecting.findIndex((n) => n > 0);
    expect(c.tMs[firstReconnect]).toBeGreaterThan(0);
  });
});
