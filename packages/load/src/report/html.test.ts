import { describe, expect, it } from "vitest";
/*
 * A run for tests of report.html: 3 rooms of 1 publisher and 2 subscribers over 60 s, one room
 * losing 8% of its audio from 20 s on, a reconnect burst at 30 s, and a thresholds verdict with a
 * baseline. The last room is named to break out of HTML if anything forgot to escape it.
 */
import {
  Measurements,
  evaluate,
  parseThreshold,
  runRecordOf,
  type RunRecord,
  type Threshold,
} from "@livekit-swarm/gate";
import { parseScenarioObject } from "@livekit-swarm/schema";
import { inboundTrack, windowSample } from "@livekit-swarm/test-kit";
import { RunAggregator } from "../run/aggregate.js";
import type { ParticipantPlan } from "../run/messages.js";
import { runReport, type RunReport } from "../session/outputs.js";
import { reportHtml } from "./html.js";
import { escapeHtml, scriptJson, type PageAssets } from "./page.js";

const HOSTILE_ROOM = `</script><img src=x onerror="alert('room')">`;
const ROOMS = ["room-a", "room-b", HOSTILE_ROOM];
const START_MS = Date.parse("2026-11-22T10:00:00.000Z");

function plans(): ParticipantPlan[] {
  return ROOMS.flatMap((room) =>
    ["pub", "sub-1", "sub-2"].map((identity, i) => ({
      room,
      identity,
      role: i === 0 ? ("publisher" as const) : ("subscriber" as const),
      publishAudio: i === 0,
      publishVideo: false,
      publisherIndex: 0,
      subscribe: i > 0,
      probe: false,
      expectedTracks: { audio: i > 0 ? 1 : 0, video: 0 },
      joinAtMs: i * 500,
      engine: "native" as const,
    })),
  );
}

function fixtureReport(
  thresholds: readonly string[] = ["lkswarm_inbound_loss_ratio p95 < 0.02"],
  /** lossy: which rooms lose 8% of audio from 20 s on (default the hostile one). */
  options: { readonly lossy?: "one room" | "every room" | "none"; readonly baseline?: RunRecord } = {},
): RunReport {
  const measurements = new Measurements();
  measurements.setRunWindow(START_MS);
  const all = plans();
  const agg = new RunAggregator(all, 5000, measurements);
  for (const [i, p] of all.entries()) {
    const context = { t: START_MS + 1000, room: p.room, participant: p.identity, role: p.role, worker: 0 };
    const joined = { type: "joined", joinS: 0.2 + i * 0.05, nodeId: i < 6 ? "ND_alpha" : "ND_beta" } as const;
    agg.onEvent(p.room, p.identity, joined, context.t);
    measurements.onEvent(context, joined);
  }
  for (let t = START_MS + 5000; t <= START_MS + 60_000; t += 5000) {
    for (const p of all.filter((q) => q.subscribe)) {
      const lossy =
        t > START_MS + 20_000 &&
        (options.lossy === "every room" ||
          ((options.lossy ?? "one room") === "one room" && p.room === HOSTILE_ROOM));
      const track = inboundTrack({
        key: `${p.room}-a`,
        kind: "audio",
        expected: 250,
        lost: lossy ? 20 : 0,
        bytes: 20_000,
        jitterS: lossy ? 0.025 : 0.004,
        totalSamples: 240_000,
      });
      // the hostile room's subscribers came in over ICE/TCP, the others over UDP
      const transport = p.room === HOSTILE_ROOM ? ("tcp" as const) : ("udp" as const);
      const s = {
        ...windowSample({ t, room: p.room, participant: p.identity, inbound: [track], rttS: 0.01 }),
        transport,
      };
      agg.onSample(s);
      measurements.onSample(s);
    }
  }
  for (const id of ["sub-1", "sub-2"]) {
    const t = START_MS + 31_000;
    agg.onEvent(HOSTILE_ROOM, id, { type: "reconnecting" }, t);
    agg.onEvent(HOSTILE_ROOM, id, { type: "reconnected", durationS: 1.2 }, t + 1200);
  }
  const parsed: Threshold[] = thresholds.map((text) => parseThreshold(text));
  const verdict = parsed.length > 0 ? evaluate(parsed, measurements) : undefined;
  const endMs = START_MS + 61_000;
  return runReport({
    runId: "fixture-run",
    scenario: parseScenarioObject(
      { name: "fixture", rooms: 3, subscribers: 2, "audio-publishers": 1 },
      "fixture",
    ),
    url: "ws://127.0.0.1:7880",
    participants: all.length,
    workers: 1,
    verdict,
    ...(options.baseline !== undefined ? { baseline: options.baseline } : {}),
    outcome: {
      summary: agg.summary(endMs),
      startedAt: new Date(START_MS).toISOString(),
      endedAt: new Date(endMs).toISOString(),
      durationMs: endMs - START_MS,
      endReason: "completed",
      workersLost: [],
      workerPids: [],
    },
  });
}

const ASSETS: PageAssets = { js: "/* uPlot */", css: "/* uPlot css */" };

/** The JSON the page embeds, read back as the browser would. */
function embedded(html: string): {
  charts: { id: string; lines: { value: number }[]; markers: { label: string }[] }[];
} {
  const m = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  if (m?.[1] === undefined) throw new Error("no report-data script");
  return JSON.parse(m[1]) as ReturnType<typeof embedded>;
}

describe("escaping", () => {
  it("makes every HTML-special character inert", () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;",
    );
  });

  it("keeps script JSON free of '<' so no string can close the script element", () => {
    const text = scriptJson({ room: "</script><script>alert(1)</script><!--", sep: "\u2028" });
    expect(text).not.toContain("<");
    expect(text).not.toContain("\u2028");
    expect(JSON.parse(text)).toEqual({ room: "</script><script>alert(1)</script><!--", sep: "\u2028" });
  });
});

describe("reportHtml", () => {
  const report = fixtureReport();
  const html = reportHtml(report, ASSETS);

  it("never lets a hostile room name out as markup: escaped in the tables, inert in the data", () => {
    expect(html).not.toContain(HOSTILE_ROOM);
    expect(html).not.toContain("<img");
    expect(html).toContain(escapeHtml(HOSTILE_ROOM));
    // the only </script> closers are the page's own three scripts
    expect(html.match(/<\/script>/g)).toHaveLength(3);
  });

  it("puts the failed verdict first with each threshold's observed value against its limit", () => {
    const banner = html.slice(html.indexOf('id="verdict"'), html.indexOf("</section>"));
    expect(html.indexOf('id="verdict"')).toBeLessThan(html.indexOf("<h2>Over time"));
    expect(banner).toContain("FAIL: 1 of 1 threshold failed (exit 99)");
    expect(banner).toContain('<td class="fail">fail</td>');
    expect(banner).toContain("lkswarm_inbound_loss_ratio p95 &lt; 0.02");
    expect(banner).toContain("&lt; 2.00%");
  });

  it("says pass, and names the thresholds, when they held", () => {
    const passing = reportHtml(
      fixtureReport(["lkswarm_inbound_loss_ratio p95 < 0.5", "lkswarm_join_duration_seconds p95 < 2"]),
      ASSETS,
    );
    expect(passing).toContain('class="banner pass"');
    expect(passing).toContain("PASS: 2 thresholds met");
  });

  it("says when no threshold was evaluated instead of showing a verdict", () => {
    expect(reportHtml(fixtureReport([]), ASSETS)).toContain("No thresholds were evaluated");
  });

  it("draws the run's own threshold on the loss chart and the catalog's on jitter", () => {
    const charts = embedded(html).charts;
    expect(charts.find((c) => c.id === "loss")?.lines.map((l) => l.value)).toEqual([0.02]);
    expect(charts.find((c) => c.id === "jitter")?.lines.map((l) => l.value)).toEqual([0.03]);
  });

  it("marks the reconnect burst on the time charts and the percentiles on the join histogram", () => {
    const charts = embedded(html).charts;
    expect(charts.find((c) => c.id === "loss")?.markers.map((m) => m.label)).toEqual(["reconnect burst"]);
    expect(charts.find((c) => c.id === "join")?.markers.map((m) => m.label.split(" ")[0])).toEqual([
      "p50",
      "p95",
      "p99",
    ]);
  });

  it("lists rooms worst first with sortable loss, jitter and join time", () => {
    const rooms = html.slice(
      html.indexOf('<table id="rooms"'),
      html.indexOf("</table>", html.indexOf('<table id="rooms"')),
    );
    expect(rooms).toContain('<th data-sort="desc" title="sort">loss</th>');
    expect(rooms).toContain('<th data-sort="desc" title="sort">jitter p95</th>');
    expect(rooms).toContain('<th data-sort="desc" title="sort">join p95</th>');
    const order = ["room-a", "room-b", escapeHtml(HOSTILE_ROOM)].map((r) => rooms.indexOf(`>${r}</td>`));
    expect(order[2]).toBeGreaterThan(0);
    expect(order[2]).toBeLessThan(order[0] ?? 0);
    expect(order[2]).toBeLessThan(order[1] ?? 0);
  });

  it("inlines uPlot and shows the per-node table and the configuration", () => {
    expect(html).toContain("/* uPlot */");
    expect(html).toContain('<table id="nodes"');
    expect(html).toContain(">ND_beta</td>");
    expect(html).toMatch(/<td>scenario\.rooms<\/td><td>3<\/td>/);
  });

  it("shows a per-transport table, the transport with loss first", () => {
    expect(html).toContain("<h2>Per transport</h2>");
    const table = html.slice(html.indexOf('<table id="transports"'));
    expect(table.indexOf(">tcp</td>")).toBeGreaterThan(0);
    expect(table.indexOf(">tcp</td>")).toBeLessThan(table.indexOf(">udp</td>"));
  });

  it("shows no per-engine table for a run on one engine, nor screenshots without --screenshots", () => {
    expect(html).not.toContain("<h2>Per engine</h2>");
    expect(html).not.toContain("<h2>Screenshots</h2>");
  });

  it("shows each screenshot --screenshots saved, its name escaped", () => {
    const shots = ["screenshots/r1--a.png", `screenshots/"><b>x.png`];
    const page = reportHtml({ ...fixtureReport(), screenshots: shots }, ASSETS);
    expect(page).toContain("<h2>Screenshots</h2>");
    expect(page).toContain('<img src="screenshots/r1--a.png"');
    expect(page).toContain('<img src="screenshots/&quot;&gt;&lt;b&gt;x.png"');
    expect(page).not.toContain("<b>x.png");
  });
});

describe("reportHtml against a baseline", () => {
  // a clean run's summary.json as a later run reads it, from a folder whose name is markup
  const clean = runRecordOf(
    JSON.parse(JSON.stringify(fixtureReport([], { lossy: "none" }))),
    "<b>clean</b>/summary.json",
  );
  const report = fixtureReport([], { lossy: "every room", baseline: clean });
  const html = reportHtml(report, ASSETS);
  const table = html.slice(
    html.indexOf('<table id="comparison"'),
    html.indexOf("</table>", html.indexOf('<table id="comparison"')),
  );
  const rowOf = (label: string, stat: string, kind = ""): string => {
    const row = table
      .split("<tr>")
      .find((r) => r.startsWith(`<td>${label}</td><td>${kind}</td>`) && r.includes(`<td>${stat}</td>`));
    if (row === undefined) throw new Error(`no row ${label} ${kind} ${stat} in ${table}`);
    return row;
  };

  it("shows every figure side by side after the verdict, before the charts", () => {
    expect(html.indexOf('id="comparison"')).toBeGreaterThan(html.indexOf('id="verdict"'));
    expect(html.indexOf('id="comparison"')).toBeLessThan(html.indexOf("<h2>Over time"));
    expect(table).toContain(
      "<th>baseline</th><th>this run</th><th>delta</th><th>relative</th><th>change</th>",
    );
    expect(html).toContain("baseline &lt;b&gt;clean&lt;/b&gt;/summary.json (run fixture-run)");
    expect(report.comparison?.rows.length).toBe(table.split("<tr>").length - 2);
  });

  it("loss in every room is red beyond noise; identical join times and reconnect counts grey", () => {
    expect(rowOf("loss of all packets", "total", "audio")).toMatch(
      /<td class="worse">\+\d\.\d\d pt<\/td><td class="worse">new<\/td><td class="worse">WORSE<\/td><td>DIFFERENT \(p=0\.0\d\d, n=6\/6\)/,
    );
    expect(rowOf("jitter", "p95", "audio")).toContain('<td class="worse">+525.0%</td>');
    expect(rowOf("join time", "p95")).toContain('<td class="same">same</td>');
    expect(rowOf("reconnects", "total")).toMatch(/<td class="same">same<\/td><td>no samples<\/td>/);
  });

  it("loss in one room of three is grey: 2 of 6 subscribers is within run-to-run noise", () => {
    const oneRoom = reportHtml(fixtureReport([], { baseline: clean }), ASSETS);
    expect(oneRoom).toMatch(
      /<td>loss of all packets<\/td><td>audio<\/td>.*<td class="noise">within noise<\/td><td>within noise \(p=0\.174, n=6\/6\)<\/td>/,
    );
  });

  it("summary.json carries the comparison, and without --baseline there is none", () => {
    expect((JSON.parse(JSON.stringify(report)) as RunReport).comparison?.counts.worse).toBeGreaterThan(0);
    const plain = reportHtml(fixtureReport([]), ASSETS);
    expect(plain).not.toContain('id="comparison"');
    expect(fixtureReport([]).comparison).toBeUndefined();
  });
});
