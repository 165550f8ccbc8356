/**
 * What every kill-room-node drill end-to-end test checks, whatever the engine of its workload: the
 * journal's participants, tracks, populations and expectations, and the report's rows. The engine
 * tests (chaos-lean, chaos-browser) add what only their engine shows.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import type { DrillJournal } from "@livekit-swarm/chaos";
import { leftovers } from "@livekit-swarm/test-kit";

/**
 * The shipped kill-room-node drill's fault and expectations, after the workload. `byPopulation`
 * false bounds everyone's detect at once instead of each population's: in a one-room workload
 * either population may have nobody (all three of a browser drill's participants once signalled
 * through the room's node, so nobody was in room-on-failed-node), and a bound with no data is not
 * met.
 */
export function killBusiestRoomNode(byPopulation = true): string {
  const detect = byPopulation
    ? "    - { population: signal-via-failed-node, p95: 2s }\n    - { population: room-on-failed-node, p95: 15s }\n"
    : "    - { p95: 15s }\n";
  return `observe: 35s
faults:
  - id: kill
    type: node.kill
    target: busiest-room-node
expect:
  detect:
${detect}  reconnect: { p95: 25s }
  media-resume: { p95: 25s }
  participants-lost: 0
  ghosts: 0
`;
}

/** Every participant's path through the drill: what a failed assertion prints. */
export function story(j: DrillJournal): string {
  return [
    ...j.participants.map(
      (p) =>
        `${p.room}/${p.identity} ${p.role}: room ${String(p.roomNodeBefore)}->${String(p.roomNodeAfter)} signal ${String(p.signalNode)} ${String(p.population)} detect ${String(p.detectMs)} reconnect ${String(p.reconnectMs)} ${String(p.path)} media ${String(p.mediaResumeMs)} end ${String(p.connectedAtEnd)} ${String(p.lostReason)}${p.transportBefore !== undefined ? ` path ${p.transportBefore}->${String(p.transportAfter)}` : ""}`,
    ),
    ...j.tracks.map((t) => JSON.stringify(t)),
    ...j.findings.map((f) => `finding ${f.id}: ${f.detail}`),
    ...j.expectations.map(
      (e) => `expect ${e.name}: ${e.expected} observed ${e.observed} met ${String(e.met)}`,
    ),
  ].join("\n");
}

/** The cells of the markdown table row whose first cell is `first`. */
export function row(markdown: string, first: string): string[] {
  const line = markdown.split("\n").find((l) => l.startsWith(`| ${first} |`));
  return line === undefined
    ? []
    : line
        .split(" | ")
        .slice(1)
        .map((c) => c.replace(/ \|$/, "").trim());
}

/**
 * The drill killed the busiest room's node (at least `minHit` participants in its rooms) and
 * everyone recovered as a native drill reports it; returns the participants of the killed node's
 * rooms.
 */
export function expectKillDrillRecovered(
  j: DrillJournal,
  out: string,
  minHit: number,
): DrillJournal["participants"] {
  const why = story(j);
  const killed = j.faults[0]?.subjects[0]?.name;
  expect(killed).toMatch(/^node\d$/);
  // every participant is connected at the end; those of the dead node's rooms came back by a
  // full rejoin, as native clients do (docs/livekit-behaviour.md 2.2), on another node
  for (const p of j.participants) expect(p.connectedAtEnd, `${p.room}/${p.identity}\n${why}`).toBe(true);
  const hit = j.participants.filter((p) => p.roomNodeBefore === killed);
  expect(hit.length, why).toBeGreaterThanOrEqual(minHit);
  for (const p of hit) {
    expect(p.affected, `${p.identity}\n${why}`).toBe(true);
    expect(p.reconnectMs, `${p.identity}\n${why}`).not.toBeNull();
    expect(["full", "rejoin"], `${p.identity}\n${why}`).toContain(p.path);
    expect(p.roomNodeAfter, `${p.identity}\n${why}`).not.toBe(killed);
  }

  // media flow per subscribed track: each hit subscriber's one track (its room's publisher's
  // audio, named as native names it) stalled at the kill and resumed
  const hitSubscribers = hit.filter((p) => p.role === "subscriber");
  expect(
    j.tracks.map((t) => t.track).filter((t) => t.startsWith("unknown-")),
    why,
  ).toEqual([]);
  for (const s of hitSubscribers) {
    const publisher = hit.find((p) => p.room === s.room && p.role === "publisher")?.identity;
    const tracks = j.tracks.filter((t) => t.subscriber === `${s.room}/${s.identity}`);
    expect(
      tracks.map((t) => t.track),
      `${s.room}/${s.identity}\n${why}`,
    ).toEqual([`${String(publisher)}/audio`]);
    for (const t of tracks) {
      // ground truth: the SFU that forwarded the track is gone at T0, so the last packet is near it
      expect(t.stalledMs ?? Infinity, why).toBeGreaterThan(-1000);
      expect(t.stalledMs ?? Infinity, why).toBeLessThan(1000);
      expect(t.resumed, why).toBe(true);
      expect(t.resumedMs ?? -1, why).toBeGreaterThan(t.stalledMs ?? 0);
    }
    expect(s.mediaResumeMs, `${s.identity}\n${why}`).toBe(tracks[0]?.resumedMs);
  }
  // each hit room's media back is its slowest subscriber's resume
  for (const room of j.rooms.filter((x) => x.nodeBefore === killed)) {
    const resumed = j.tracks
      .filter((t) => t.subscriber.startsWith(`${room.room}/`))
      .map((t) => t.resumedMs ?? Infinity);
    expect(room.recoveries.find((x) => x.fault === "kill")?.recoveredMs, why).toBe(Math.max(...resumed));
  }

  // the figures per population are these participants' (native's shape: populations from the
  // balancer's log, detect and reconnect for each population anyone was in)
  expect(j.aggregates.signalPaths, why).toMatch(/balancer log/);
  for (const population of j.aggregates.byPopulation) {
    const members = j.participants.filter((p) => p.population === population.population);
    expect(population.participants).toBe(members.length);
    const detected = members.filter((p) => p.detectMs !== null);
    expect(population.detect.n, population.population).toBe(detected.length);
    if (detected.length > 0)
      expect(population.detect.max).toBe(Math.max(...detected.map((p) => p.detectMs ?? 0)));
  }
  expect(j.aggregates.mediaResume.n, why).toBe(hitSubscribers.length);
  expect(j.aggregates.reconnect.max, why).toBe(Math.max(...j.participants.map((p) => p.reconnectMs ?? 0)));
  expect(j.quality.before?.lossRatio ?? null, why).not.toBeNull();
  expect(j.quality.after?.lossRatio ?? null, why).not.toBeNull();
  // the shipped drill's expectations, judged on this engine's figures
  expect(
    j.expectations.filter((e) => e.met === null).map((e) => e.name),
    why,
  ).toEqual([]);
  expect(j.verdict, why).toBe("pass");

  // report.md: the renderer writes every section whatever the engine; what an engine could leave
  // empty is the figures, so each recovery, population, participant and quality row is read
  const report = readFileSync(join(out, "report.md"), "utf8");
  expect(report).toContain("By how the fault reached them (signal paths from ");
  for (const figure of ["detect", "reconnect", "media resume"]) {
    const cells = row(report, figure);
    expect(cells.length, `${figure} row:\n${report}`).toBe(4);
    for (const cell of cells) expect(cell, `${figure} row: ${cells.join(" | ")}`).toMatch(/^\d/);
  }
  for (const population of j.aggregates.byPopulation.filter((p) => p.affected > 0))
    expect(row(report, population.population).join(" | "), report).toMatch(/\d+(\.\d+)? s \/ /);
  for (const p of hit)
    expect(row(report, p.identity).length, `${p.identity} in report.md`).toBeGreaterThan(0);
  expect(report).not.toContain("| unknown |");
  // loss, jitter, round trip and bitrate in: native's figures, each filled. The round trip of the
  // 6 s before the fault may be empty for lean: its first reading is its first consent check's
  // answer, 5 s after it connected (CONSENT_INTERVAL_MS), and CI saw "–" there once when the joins
  // ran late on a loaded machine, with readings during and after
  for (const window of ["before", "during", "after"]) {
    const [loss, jitter, rtt, bitrate] = row(report, window).slice(1, 5);
    for (const cell of [loss, jitter, bitrate]) expect(cell, `quality ${window}:\n${report}`).toMatch(/^\d/);
    if (window !== "before") expect(rtt, `quality ${window}:\n${report}`).toMatch(/^\d/);
    else expect(rtt, `quality ${window}:\n${report}`).toMatch(/^(\d|–$)/);
  }
  const html = readFileSync(join(out, "report.html"), "utf8");
  for (const room of j.rooms) expect(html).toContain(room.room);
  expect(leftovers(String(j.deployment.runDir))).toEqual([]);
  return hit;
}

/** The drill's recovery figures in one printout (the e2e log carries them for the notes). */
export function drillFigures(label: string, j: DrillJournal): string {
  return `${label}: verdict ${j.verdict}\nrecovery: detect ${JSON.stringify(j.aggregates.detect)} reconnect ${JSON.stringify(j.aggregates.reconnect)} media ${JSON.stringify(j.aggregates.mediaResume)}\npopulations: ${JSON.stringify(j.aggregates.byPopulation)}${j.aggregates.byTransport !== undefined ? `\nby path before: ${JSON.stringify(j.aggregates.byTransport)}` : ""}\nrooms: ${JSON.stringify(j.rooms.map((x) => [x.room, x.nodeBefore, x.nodeAfter, x.recoveries]))}\n${story(j)}`;
}
