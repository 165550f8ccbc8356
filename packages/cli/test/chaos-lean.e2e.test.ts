/**
 * The shipped kill-room-node drill's fault and expectations with the lean engine, on a real 3-node
 * LiveKit (Redis, HAProxy, a network namespace per node), run through the CLI as a user runs it:
 * 4 rooms x (1 audio publisher + 2 subscribers), all lean. Every lean participant must come back,
 * its media flow must be reported per track as the native engine's is (stall and resume named
 * `<publisher>/audio`), and the journal and reports must carry the native drill's figures: detect,
 * reconnect and media resume per population, media back per room, quality before/during/after.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { DrillJournal } from "@livekit-swarm/chaos";
import { drillWorkload, leftovers, swarm, writeDrill } from "@livekit-swarm/test-kit";

const dir = mkdtempSync(join(tmpdir(), "chaos-lean-e2e-"));

/** Every participant's path through the drill: what a failed assertion prints. */
function story(j: DrillJournal): string {
  return [
    ...j.participants.map(
      (p) =>
        `${p.room}/${p.identity} ${p.role}: room ${String(p.roomNodeBefore)}->${String(p.roomNodeAfter)} signal ${String(p.signalNode)} ${String(p.population)} detect ${String(p.detectMs)} reconnect ${String(p.reconnectMs)} ${String(p.path)} media ${String(p.mediaResumeMs)} end ${String(p.connectedAtEnd)} ${String(p.lostReason)}`,
    ),
    ...j.tracks.map((t) => JSON.stringify(t)),
    ...j.findings.map((f) => `finding ${f.id}: ${f.detail}`),
    ...j.expectations.map(
      (e) => `expect ${e.name}: ${e.expected} observed ${e.observed} met ${String(e.met)}`,
    ),
  ].join("\n");
}

/** The cells of the markdown table row whose first cell is `first`. */
function row(markdown: string, first: string): string[] {
  const line = markdown.split("\n").find((l) => l.startsWith(`| ${first} |`));
  return line === undefined
    ? []
    : line
        .split(" | ")
        .slice(1)
        .map((c) => c.replace(/ \|$/, "").trim());
}

describe("a chaos drill with the lean engine", () => {
  it("kill the busiest room's node: every lean participant reconnects, media stalls and resumes per track, the report reads like native's", async () => {
    const file = writeDrill(
      dir,
      "kill-lean",
      `${drillWorkload("  engine: lean\n", "{ nodes: 3 }")}observe: 35s
faults:
  - id: kill
    type: node.kill
    target: busiest-room-node
expect:
  detect:
    - { population: signal-via-failed-node, p95: 2s }
    - { population: room-on-failed-node, p95: 15s }
  reconnect: { p95: 25s }
  media-resume: { p95: 25s }
  participants-lost: 0
  ghosts: 0
`,
    );
    const out = join(dir, "kill-lean-out");
    // testbed start, room placement, 6 s baseline, 35 s observation, 6 s after window and the
    // rollback: about 70 s on an idle 2-core machine, 240 s leaves room for a loaded one
    const r = await swarm(["chaos", "run", file, "-o", out], {}, 240_000);
    const j = JSON.parse(readFileSync(join(out, "journal.json"), "utf8")) as DrillJournal;
    const why = story(j);
    expect(j.status, r.stderr).toBe("completed");
    expect(r.stderr).not.toMatch(/does not report yet|run the drill's workload with engine native/);

    const killed = j.faults[0]?.subjects[0]?.name;
    expect(killed).toMatch(/^node\d$/);
    // every lean participant is connected at the end; those of the dead node's rooms came back by a
    // full rejoin, as native clients do (docs/livekit-behaviour.md 2.2), on another node
    for (const p of j.participants) expect(p.connectedAtEnd, `${p.room}/${p.identity}\n${why}`).toBe(true);
    const hit = j.participants.filter((p) => p.roomNodeBefore === killed);
    expect(hit.length, why).toBeGreaterThanOrEqual(3);
    for (const p of hit) {
      expect(p.affected, `${p.identity}\n${why}`).toBe(true);
      expect(p.reconnectMs, `${p.identity}\n${why}`).not.toBeNull();
      expect(["full", "rejoin"], `${p.identity}\n${why}`).toContain(p.path);
      expect(p.roomNodeAfter, `${p.identity}\n${why}`).not.toBe(killed);
    }

    // media flow per subscribed track, from lean's RTP counts: each hit subscriber's one track (its
    // room's publisher's audio, named as native names it) stalled at the kill and resumed
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
    // the shipped drill's expectations, judged on lean's figures
    expect(
      j.expectations.filter((e) => e.met === null).map((e) => e.name),
      why,
    ).toEqual([]);
    expect(j.verdict, why).toBe("pass");

    // report.md: the renderer writes every section whatever the engine; what lean could leave
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
    // loss, jitter, bitrate in and on the wire: native's figures, each filled
    for (const window of ["before", "during", "after"])
      for (const cell of row(report, window).slice(1, 5))
        expect(cell, `quality ${window}:\n${report}`).toMatch(/^\d/);
    // the wire adds each packet's RTP header (12 bytes at least, LiveKit's audio-level extension on
    // top) and 38 bytes of IP, UDP and SRTP tag (stats TRANSPORT_OVERHEAD_BYTES) to the payload:
    // at Opus's 50 packets a second, 20 kbit/s at least and, with 40 bytes of extensions, 36 at most
    const before = j.quality.before;
    const overhead = (before?.wireBitrateInBps ?? 0) - (before?.bitrateInBps ?? 0);
    expect(overhead, JSON.stringify(before)).toBeGreaterThanOrEqual(50 * (12 + 38) * 8 * 0.9);
    expect(overhead, JSON.stringify(before)).toBeLessThanOrEqual(50 * (12 + 40 + 38) * 8 * 1.1);
    const html = readFileSync(join(out, "report.html"), "utf8");
    for (const room of j.rooms) expect(html).toContain(room.room);
    expect(leftovers(String(j.deployment.runDir))).toEqual([]);
    console.log(
      `lean kill-room-node: verdict ${j.verdict}\nrecovery: detect ${JSON.stringify(j.aggregates.detect)} reconnect ${JSON.stringify(j.aggregates.reconnect)} media ${JSON.stringify(j.aggregates.mediaResume)}\npopulations: ${JSON.stringify(j.aggregates.byPopulation)}\nrooms: ${JSON.stringify(j.rooms.map((x) => [x.room, x.nodeBefore, x.nodeAfter, x.recoveries]))}\n${why}`,
    );
  }, 300_000);
});
