import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunSummary } from "@livekit-swarm/load";
import type { EventContext, ParticipantEvent, WindowSample } from "@livekit-swarm/schema";
import { leftovers, runLines, swarm, testbedEnv } from "@livekit-swarm/test-kit";
import { Testbed } from "@livekit-swarm/testbed";

type Summary = RunSummary & { readonly run: { readonly endReason: string } };
type EventLine = EventContext & { readonly event: ParticipantEvent };

describe("the selected ICE candidate pair, per participant, against a real one-node LiveKit", () => {
  let tb: Testbed;

  beforeAll(async () => {
    tb = await Testbed.start({ name: `e2e-transport-${process.pid}` });
  });
  afterAll(async () => {
    await tb.stop();
    expect(leftovers(tb.runDir)).toEqual([]);
  });

  it("on loopback every participant, native and lean, selects host UDP; the summary's per-transport row holds them all", async () => {
    const out = mkdtempSync(join(tmpdir(), "swarm-transport-"));
    // mixed: lean in bulk, the first subscriber of each room native (a latency probe): both engines
    const r = await swarm(
      [
        ...["--engine", "mixed", "--rooms", "2", "--subscribers", "2"],
        ...["--latency-probes", "1", "--duration", "8s", "--num-per-second", "10", "-o", out],
      ],
      testbedEnv(tb),
    );
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as Summary;
    const events = runLines<EventLine & { type: string }>(join(out, "events.jsonl")).filter(
      (l) => l.type === "event",
    );
    const transports = events.filter((l) => l.event.type === "transport");
    const joined = events.filter((l) => l.event.type === "joined");
    console.log(`transport events: ${JSON.stringify(transports.map((l) => l.event))}`);
    expect(summary.participants.joined).toBe(6);
    // one selection per participant: nothing moved on a quiet loopback
    expect(new Set(transports.map((l) => l.participant + l.room)).size).toBe(6);
    expect(transports).toHaveLength(6);
    for (const { event } of transports) {
      expect(event).toMatchObject({ type: "transport", transport: "udp", local: "host", protocol: "udp" });
    }
    expect(summary.groups?.transports?.map((g) => [g.name, g.joined])).toEqual([["udp", 6]]);
    // lean timed its ICE, within its own join; rtc-node does not say, so its events carry none
    const joinOf = new Map(
      joined.map((l) => [l.room + l.participant, l.event.type === "joined" ? l.event.joinS : 0]),
    );
    const timed = transports.flatMap((l) =>
      l.event.type === "transport" && l.event.iceS !== undefined
        ? [{ iceS: l.event.iceS, joinS: joinOf.get(l.room + l.participant) ?? 0 }]
        : [],
    );
    expect(timed).toHaveLength(4);
    for (const t of timed) {
      expect(t.iceS).toBeGreaterThan(0);
      expect(t.iceS).toBeLessThan(t.joinS);
    }
    // every sample of a joined participant names the class
    const samples = runLines<WindowSample>(join(out, "samples.jsonl"));
    expect(samples.length).toBeGreaterThan(0);
    expect(samples.filter((s) => s.transport !== "udp")).toEqual([]);
    expect(r.stdout).toMatch(/^udp\s+6\s/m);
  });
});
