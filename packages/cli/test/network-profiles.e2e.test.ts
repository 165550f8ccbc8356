import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunSummary } from "@livekit-swarm/load";
import type { EventContext, ParticipantEvent } from "@livekit-swarm/schema";
import {
  alive,
  clientNamespaces,
  isRoot,
  leftovers,
  runLines,
  startSwarm,
  swarm,
} from "@livekit-swarm/test-kit";
import { runDirFor } from "@livekit-swarm/testbed";

type Summary = RunSummary & {
  readonly run: { readonly workerPids: readonly number[] };
  readonly scenario: { readonly networkProfiles?: Readonly<Record<string, number>> };
};
type EventLine = EventContext & { readonly type: string; readonly event: ParticipantEvent };

function scenarioFile(profiles: string): string {
  const dir = mkdtempSync(join(tmpdir(), "swarm-profiles-"));
  const file = join(dir, "profiles.yaml");
  writeFileSync(file, `rooms: 1\nsubscribers: 3\nnetwork-profiles: ${profiles}\n`);
  return file;
}

describe.skipIf(!isRoot)(
  "network profiles in one run, against the embedded one-node LiveKit (TURN off; skipped without root: network namespaces)",
  () => {
    it("places each share of participants behind its profile: the udp-blocked ones join over TCP, the open ones over UDP, every track received", async () => {
      const before = clientNamespaces();
      const out = mkdtempSync(join(tmpdir(), "swarm-profiles-out-"));
      const run = startSwarm([
        "--scenario",
        scenarioFile("{ open: 50%, udp-blocked: 50% }"),
        // a long hold: two workers load rtc-node at once, which took over 12 s at a load average
        // of 15 on these two cores, and a worker joins nobody until it is loaded
        "--duration",
        "20s",
        "-o",
        out,
      ]);
      // the embedded testbed starts, 4 joins at 5/s, a 20 s hold and the drain: well under a minute
      // on a quiet machine; 150 s leaves room for the other engineers' builds on these two cores
      const timer = setTimeout(() => run.child.kill("SIGKILL"), 150_000);
      const code = await run.exited;
      clearTimeout(timer);
      console.log(run.stdout);
      expect(code, run.stderr).toBe(0);
      const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as Summary;
      const lines = runLines<EventLine>(join(out, "events.jsonl"));
      const transportOf = new Map(
        lines.flatMap((l) =>
          l.type === "event" && l.event.type === "transport" ? [[l.participant, l.event]] : [],
        ),
      );
      // placement interleaves (assignProfiles): publisher open, then udp-blocked, open, udp-blocked
      const byProfile = summary.scenario.networkProfiles;
      expect(byProfile).toEqual({ open: 0.5, "udp-blocked": 0.5 });
      expect(summary.participants.joined).toBe(4);
      expect(
        [...transportOf]
          .map(([who, t]) => [who, t.transport])
          .sort(([a], [b]) => String(a).localeCompare(String(b))),
      ).toEqual([
        ["lkswarm-pub-1", "udp"],
        ["lkswarm-sub-1", "tcp"],
        ["lkswarm-sub-2", "udp"],
        ["lkswarm-sub-3", "tcp"],
      ]);
      expect(summary.tracks.expected).toEqual({ audio: 3, video: 3 });
      expect(summary.tracks.receiving).toEqual({ audio: 3, video: 3 });
      expect(summary.groups?.transports?.map((g) => [g.name, g.participants, g.joined]).sort()).toEqual([
        ["open udp", 2, 2],
        ["udp-blocked tcp", 2, 2],
      ]);
      expect(run.stdout).toMatch(/^udp-blocked tcp\s+2\s/m);
      expect(run.stdout).toMatch(/^open udp\s+2\s/m);
      // nothing left: the workers, the testbed's processes, the client namespaces
      expect(summary.run.workerPids.filter(alive)).toEqual([]);
      expect(leftovers(runDirFor(`swarm-${run.child.pid ?? -1}`))).toEqual([]);
      expect(clientNamespaces()).toEqual(before);
    }, 160_000);

    it.each([
      [
        "shares that do not add up",
        "{ open: 80%, udp-blocked: 15% }",
        "the shares add up to 95.0%, not 100%: adjust them",
      ],
      [
        "an unknown profile",
        "{ open: 50%, udp-blockd: 50% }",
        '"udp-blockd" is not a profile: use open, udp-blocked, tcp-only',
      ],
    ])("refuses %s in one line, exit 1, before starting anything", async (_, profiles, says) => {
      const before = clientNamespaces();
      const r = await swarm(["--scenario", scenarioFile(profiles), "--duration", "5s"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(says);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(clientNamespaces()).toEqual(before);
    });

    it("refuses profiles against a given server: they need the testbed the run starts", async () => {
      const r = await swarm(
        [
          "--scenario",
          scenarioFile("{ open: 50%, tcp-only: 50% }"),
          "--url",
          "ws://127.0.0.1:1",
          "--duration",
          "5s",
        ],
        { LIVEKIT_API_KEY: "k", LIVEKIT_API_SECRET: "s".repeat(32) },
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("network-profiles (tcp-only) place participants in network namespaces");
      expect(r.stderr).toContain("drop --url");
    });
  },
);
