import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunSummary } from "@livekit-swarm/load";
import type { EventContext, ParticipantEvent } from "@livekit-swarm/schema";
import { CLI, freePort, leftovers, runLines } from "@livekit-swarm/test-kit";
import {
  Testbed,
  createClientNetworks,
  namespaceExists,
  profileListing,
  reachableNodeConfig,
  removeClientNetworks,
  type ClientNetwork,
} from "@livekit-swarm/testbed";

type Summary = RunSummary & { readonly run: { readonly endReason: string } };
type EventLine = EventContext & { readonly type: string; readonly event: ParticipantEvent };

/**
 * The swarm CLI run inside a client namespace, as a user behind that firewall would run it, with
 * its summary and events.
 */
async function swarmIn(
  net: ClientNetwork,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string; summary: Summary; events: ParticipantEvent[] }> {
  const out = mkdtempSync(join(tmpdir(), `swarm-${net.profile}-`));
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      "ip",
      ["netns", "exec", net.namespace, process.execPath, CLI, ...args, "-o", out],
      { env: { ...process.env, ...env }, timeout: 120_000, killSignal: "SIGKILL" },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
  const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as Summary;
  const events = runLines<EventLine>(join(out, "events.jsonl")).flatMap((l) =>
    l.type === "event" ? [l.event] : [],
  );
  return { ...r, summary, events };
}

describe("client network profiles against a real one-node LiveKit (TURN off)", () => {
  let tb: Testbed;
  let nets: ClientNetwork[] = [];
  let port: number;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    port = await freePort();
    nets = createClientNetworks([
      { profile: "udp-blocked" },
      // signalling only: no UDP, and TCP to nothing but the signalling port
      { profile: "tcp-only", allowedTcpPorts: [port] },
    ]);
    const reach = nets[0]?.hostIp ?? "";
    tb = await Testbed.start({
      name: `e2e-client-nets-${process.pid}`,
      port,
      serverConfig: reachableNodeConfig(
        reach,
        nets.map((n) => n.hostInterface),
      ),
    });
    env = {
      LIVEKIT_URL: `ws://${reach}:${port}`,
      LIVEKIT_API_KEY: tb.apiKey,
      LIVEKIT_API_SECRET: tb.apiSecret,
    };
  }, 120_000);
  afterAll(async () => {
    removeClientNetworks(nets);
    await tb.stop();
    expect(leftovers(tb.runDir)).toEqual([]);
    expect(nets.filter((n) => namespaceExists(n.namespace))).toEqual([]);
  });

  it("confirms each profile's firewall by looking", () => {
    expect(profileListing(nets[0] as ClientNetwork)).toContain("meta l4proto udp drop");
    expect(profileListing(nets[1] as ClientNetwork)).toContain(`tcp dport ${port} accept`);
  });

  it("UDP blocked: every participant joins over ICE/TCP and receives every track; the per-transport row says tcp", async () => {
    const r = await swarmIn(
      nets[0] as ClientNetwork,
      ["--rooms", "1", "--subscribers", "2", "--duration", "8s"],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const { summary } = r;
    const transports = r.events.flatMap((e) => (e.type === "transport" ? [e] : []));
    console.log(`udp-blocked: ${JSON.stringify(transports)}\n${r.stdout}`);
    expect(summary.participants.joined).toBe(3);
    expect(transports.map((t) => [t.transport, t.protocol])).toEqual([
      ["tcp", "tcp"],
      ["tcp", "tcp"],
      ["tcp", "tcp"],
    ]);
    expect(summary.tracks.expected).toEqual({ audio: 2, video: 2 });
    expect(summary.tracks.receiving).toEqual({ audio: 2, video: 2 });
    expect(summary.groups?.transports?.map((g) => [g.name, g.joined])).toEqual([["tcp", 3]]);
    expect(r.stdout).toMatch(/^tcp\s+3\s/m);
  });

  it("UDP and TCP blocked but for signalling, no TURN: the joins fail, with the transport as the reason", async () => {
    const r = await swarmIn(
      nets[1] as ClientNetwork,
      ["--rooms", "1", "--subscribers", "1", "--duration", "60s"],
      env,
    );
    const { summary } = r;
    const failures = r.events.flatMap((e) => (e.type === "join-failed" ? [e] : []));
    console.log(`tcp-only: exit ${r.code} ${JSON.stringify(failures)}\nSTDERR ${r.stderr}`);
    // rtc-node gives up on the peer connection after 30 s; the run ends once every join has failed
    // (exit 1, "no participant could join"), well before its 60 s hold
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no participant could join");
    expect(summary.participants.joined).toBe(0);
    expect(summary.participants.joinFailures).toEqual({ no_transport: 2 });
    expect(failures.map((f) => f.message)).toEqual([
      expect.stringContaining("wait_pc_connection"),
      expect.stringContaining("wait_pc_connection"),
    ]);
  });

  // the same path, a run shorter than the joins: rtc-node would wait 30 s and lean 15 s for a
  // peer connection. Each join the run's end overtook is counted, with its reason, where before
  // the native and lean engines said nothing of it (joined 0 of 2, no join failure)
  it.each(["native", "lean"])(
    "signalling only, a 3 s run: the %s engine's joins still under way at the end count as run_ended",
    async (engine) => {
      const r = await swarmIn(
        nets[1] as ClientNetwork,
        ["--engine", engine, "--rooms", "1", "--subscribers", "1", "--duration", "3s"],
        env,
      );
      const failures = r.events.flatMap((e) => (e.type === "join-failed" ? [e] : []));
      const told = `exit ${r.code} ${JSON.stringify(r.summary.participants)} ${JSON.stringify(failures)}\nSTDERR ${r.stderr}`;
      expect(r.summary.participants, told).toMatchObject({
        planned: 2,
        joined: 0,
        joinFailures: { run_ended: 2 },
      });
      expect(failures.map((f) => f.message)).toEqual([
        "the run ended before it joined (it left before it joined)",
        "the run ended before it joined (it left before it joined)",
      ]);
      // nobody joined: exit 1, with the fix for a run that ended on joins still under way
      expect(r.code, told).toBe(1);
      expect(r.stderr).toContain("no participant joined before the run ended");
      expect(r.stdout).toMatch(
        /^ {14}run_ended: 2 still joining when the run ended .*a longer --duration gives them time$/m,
      );
    },
    90_000,
  );
});
