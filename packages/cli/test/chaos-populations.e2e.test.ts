/**
 * Who a node failure reaches, and how, on a real 3-node LiveKit behind HAProxy: the drill reads the
 * balancer's log to learn which node carried each participant's signalling, splits the detect and
 * reconnect times by population, attributes each participant to the fault that hit its room or its
 * signal node, and times each room's media recovery. 4 rooms x (1 audio publisher + 2 subscribers)
 * = 12 participants, as in chaos.e2e.test.ts.
 *
 * The balancer deals signalling round-robin (and the drill's own RoomService calls advance it), so
 * which participants signal through the killed node is chance: about a third of them. A run where
 * nobody (or everybody in the dead node's rooms) signalled through it cannot show the two
 * populations apart; the assertions say so with the participants' paths rather than pass vacuously.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { DrillJournal, ParticipantOutcome } from "@livekit-swarm/chaos";
import { drillWorkload, leftovers, swarm, writeDrill } from "@livekit-swarm/test-kit";

const WORKLOAD = `${drillWorkload("", "{ nodes: 3 }")}observe: 35s\n`;

const dir = mkdtempSync(join(tmpdir(), "chaos-populations-e2e-"));

async function runDrill(name: string, body: string): Promise<{ journal: DrillJournal; out: string }> {
  const file = writeDrill(dir, name, `${WORKLOAD}${body}`);
  const out = join(dir, `${name}-out`);
  // testbed start, room placement (2.5 s apart), 6 s baseline, 35 s observation, 6 s after window
  // and the rollback: about 70 s on an idle 2-core machine, so 240 s leaves room for a loaded one
  const r = await swarm(["chaos", "run", file, "-o", out], {}, 240_000);
  const journal = JSON.parse(readFileSync(join(out, "journal.json"), "utf8")) as DrillJournal;
  expect(journal.status, r.stderr).toBe("completed");
  return { journal, out };
}

function paths(j: DrillJournal): string {
  return j.participants
    .map(
      (p) =>
        `${p.room}/${p.identity}: room ${String(p.roomNodeBefore)} signal ${String(p.signalNode)} ${String(p.population)} fault ${String(p.fault)} detect ${String(p.detectMs)}`,
    )
    .join("\n");
}

/** One room's timeline, tracks and findings: what a failed assertion about it prints. */
function roomStory(j: DrillJournal, room: string): string {
  const rows = j.timeline.filter((e) => e.subject.startsWith(`${room}/`) || e.subject === room);
  return [
    ...rows.map((e) => `${e.tMs} ${e.kind} ${e.subject} ${e.detail}`),
    ...j.tracks.filter((t) => t.subscriber.startsWith(`${room}/`)).map((t) => JSON.stringify(t)),
    ...j.findings.map((f) => `finding ${f.id}: ${f.detail}`),
  ].join("\n");
}

function detects(members: readonly ParticipantOutcome[]): number[] {
  return members.map((p) => p.detectMs ?? Infinity);
}

/** Node names a drill's testbed ran, from the journal's deployment record. */
function nodeNames(j: DrillJournal): string[] {
  const nodes = j.deployment.nodes;
  if (!Array.isArray(nodes)) throw new Error("the journal does not list the testbed's nodes");
  return nodes.map((n: { name: string }) => n.name);
}

describe("node failure populations on a 3-node testbed", () => {
  it("a node kill reports the signal-via-dead-node and room-on-dead-node detect times apart", async () => {
    const { journal: j, out } = await runDrill(
      "kill-populations",
      `faults:
  - id: kill
    type: node.kill
    target: busiest-room-node
expect:
  detect:
    - { population: signal-via-failed-node, max: 5s }
    - { population: room-on-failed-node, p50: 20s, max: 20s }
`,
    );
    const why = paths(j);
    expect(j.aggregates.signalPaths, why).toMatch(/balancer log/);
    // every participant's signalling was found in the balancer's log, on a node of the testbed
    const nodes = nodeNames(j);
    for (const p of j.participants) expect(nodes, `${p.room}/${p.identity}\n${why}`).toContain(p.signalNode);

    const killed = j.faults[0]?.subjects[0]?.name;
    const viaDead = j.participants.filter((p) => p.population === "signal-via-failed-node");
    const roomOnDead = j.participants.filter((p) => p.population === "room-on-failed-node");
    const other = j.participants.filter((p) => p.population === "other");
    expect(viaDead.map((p) => p.signalNode)).toEqual(viaDead.map(() => killed));
    for (const p of roomOnDead) {
      expect(p.roomNodeBefore, why).toBe(killed);
      expect(p.signalNode, why).not.toBe(killed);
    }
    expect(viaDead.length + roomOnDead.length + other.length).toBe(j.participants.length);
    expect(viaDead.length, `nobody signalled through ${String(killed)}:\n${why}`).toBeGreaterThan(0);
    expect(
      roomOnDead.length,
      `everyone in ${String(killed)}'s rooms signalled through it:\n${why}`,
    ).toBeGreaterThan(0);

    // Signal through the dead node: its WebSocket closes with the process and the SDK reports
    // Reconnecting at once (measured 9-116 ms after SIGKILL, docs/livekit-behaviour.md 2.2). 3 s
    // leaves room for a loaded 2-core machine and is still far below the relay timeout that
    // sets the other population's time.
    for (const p of viaDead)
      expect(p.detectMs ?? Infinity, `${p.room}/${p.identity}\n${why}`).toBeLessThan(3000);
    // Room on the dead node, signal elsewhere: nothing reaches the client until the signal node's
    // relay to the dead node times out (signal_relay.retry_timeout 7.5 s; measured 7.5-12.5 s).
    // 5 s below and 20 s above leave room for T0's own timing and a loaded machine.
    for (const p of roomOnDead) {
      expect(p.detectMs ?? Infinity, `${p.room}/${p.identity}\n${why}`).toBeGreaterThanOrEqual(5000);
      expect(p.detectMs ?? Infinity, `${p.room}/${p.identity}\n${why}`).toBeLessThanOrEqual(20_000);
    }
    // the clients no fault reached see no reconnect of their own
    for (const p of other) expect(p.detectMs, `${p.room}/${p.identity}\n${why}`).toBeNull();

    // the journal's per-population figures are these participants' figures
    const byPopulation = new Map(j.aggregates.byPopulation.map((a) => [a.population, a]));
    expect(byPopulation.get("signal-via-failed-node")?.detect.max).toBe(Math.max(...detects(viaDead)));
    expect(byPopulation.get("room-on-failed-node")?.detect.max).toBe(Math.max(...detects(roomOnDead)));
    // the drill judged its population-scoped expectations on them
    expect(j.expectations.map((e) => e.name)).toEqual(
      expect.arrayContaining([
        "detect (signal-via-failed-node) max",
        "detect (room-on-failed-node) p50",
        "detect (room-on-failed-node) max",
      ]),
    );
    const report = readFileSync(join(out, "report.md"), "utf8");
    expect(report).toContain("| signal-via-failed-node |");
    expect(report).toContain("| room-on-failed-node |");
    expect(readFileSync(join(out, "junit.xml"), "utf8")).toContain('name="detect (room-on-failed-node) max"');
    expect(leftovers(String(j.deployment.runDir))).toEqual([]);
    console.log(
      `populations: ${JSON.stringify(j.aggregates.byPopulation)}\nrooms: ${JSON.stringify(j.rooms.map((r) => [r.room, r.nodeBefore, r.recoveries]))}`,
    );
  }, 300_000);

  it("two nodes killed at once: each participant is attributed to its own node's fault, and each room's recovery is timed", async () => {
    const { journal: j, out } = await runDrill(
      "kill-two",
      `faults:
  - { id: kill-1, type: node.kill, target: { node: 1 }, at: 0s }
  - { id: kill-2, type: node.kill, target: { node: 2 }, at: 0s }
expect:
  participants-lost: 0
`,
    );
    const why = paths(j);
    const killedBy = new Map(j.faults.map((f) => [f.id, f.subjects[0]?.name]));
    expect([...killedBy.values()].sort()).toEqual(["node1", "node2"]);
    expect(j.faults.every((f) => f.confirmedMs !== null)).toBe(true);

    // every disruption is attributed to a fault that failed the participant's room node or its
    // signal node, kill-1's too (the latest-fault rule gave every one to kill-2, injected after it)
    const disrupted = j.participants.filter((p) => p.detectMs !== null);
    expect(disrupted.length, why).toBeGreaterThan(0);
    for (const p of disrupted) {
      const reachedBy = [...killedBy]
        .filter(([, node]) => node === p.roomNodeBefore || node === p.signalNode)
        .map(([id]) => id);
      expect(reachedBy, `${p.room}/${p.identity}\n${why}`).toContain(p.fault);
    }
    expect(disrupted.filter((p) => p.fault === "kill-1").length, why).toBeGreaterThan(0);

    // each room the kills hit gets its media back once every stalled subscriber receives again,
    // timed from the fault that hit it; a room where one never did has no time, and the drill says
    // why in its verdict (LiveKit's recovery is what is measured here, not assumed)
    const hitRooms = j.rooms.filter((r) => r.nodeBefore === "node1" || r.nodeBefore === "node2");
    expect(hitRooms.length, JSON.stringify(j.rooms)).toBeGreaterThanOrEqual(2);
    let timed = 0;
    for (const room of hitRooms) {
      const fault = room.nodeBefore === "node1" ? "kill-1" : "kill-2";
      const recovery = room.recoveries.find((r) => r.fault === fault);
      const told = `${room.room}: ${JSON.stringify(room.recoveries)}\n${roomStory(j, room.room)}`;
      expect(recovery, told).toBeDefined();
      expect(recovery?.subscribers, told).toBe(2);
      const stalls = j.tracks.filter((t) => t.subscriber.startsWith(`${room.room}/`) && t.fault === fault);
      const silent = stalls.filter((t) => !t.resumed);
      if (silent.length === 0) {
        expect(recovery?.recoveredMs, told).toBe(Math.max(...stalls.map((t) => t.resumedMs ?? Infinity)));
        // every subscriber had media again within what the drill watched: the 35 s observation and
        // the 6 s after it (LiveKit's recovery once took 37.2 s here on an idle machine, run alone;
        // the drill timed it, as it should)
        expect(recovery?.recoveredMs ?? Infinity, told).toBeLessThan(41_000);
        timed++;
        continue;
      }
      expect(recovery?.recoveredMs, told).toBeNull();
      // a subscriber left without media is a finding, or it or the track's publisher is a lost
      // participant (seen in CI: LiveKit disconnected the publisher with duplicate_identity after
      // its full reconnect, when its abandoned resume completed late), and fails the drill
      const outcome = (who: string) => j.participants.find((p) => `${p.room}/${p.identity}` === who);
      for (const t of silent) {
        const named = j.findings.some((f) => f.detail.includes(t.subscriber));
        const publisher = `${room.room}/${t.track.slice(0, t.track.lastIndexOf("/"))}`;
        const lost = [t.subscriber, publisher].filter((who) => outcome(who)?.connectedAtEnd === false);
        expect(named || lost.length > 0, told).toBe(true);
        for (const who of lost) expect(outcome(who)?.lostReason, `${who}\n${told}`).not.toBeNull();
      }
      expect(j.verdict, told).not.toBe("pass");
      console.log(`room without media at the end of the observation (LiveKit's doing, reported):\n${told}`);
    }
    expect(timed, JSON.stringify(j.rooms)).toBeGreaterThan(0);
    const report = readFileSync(join(out, "report.md"), "utf8");
    expect(report).toContain("media back (every subscriber)");
    expect(readFileSync(join(out, "junit.xml"), "utf8")).toMatch(
      /name="media-back\.[^"]+" value="kill-[12]: /,
    );
    expect(leftovers(String(j.deployment.runDir))).toEqual([]);
    console.log(`rooms: ${JSON.stringify(j.rooms.map((r) => [r.room, r.nodeBefore, r.recoveries]))}\n${why}`);
  }, 300_000);
});
