/**
 * The compose stack as an operator without a registry brings it up: `deploy/compose/local.sh up`
 * builds every image on this machine (Debian base, livekit-server from setup, Debian's Redis and
 * Prometheus, the swarm from this checkout), starts a Docker engine of its own and
 * docker-compose.yml with deploy/compose/local.yml; Prometheus scrapes both LiveKit nodes and the
 * canary and evaluates the repo's alert rules; stopping the canary raises LiveKitCanaryDown; `down`
 * leaves no process, interface or firewall rule. The stages share one stack and run in order.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runCommand, waitFor } from "@livekit-swarm/test-kit";

const REPO = join(import.meta.dirname, "..", "..", "..");
const SCRIPT = join(REPO, "deploy", "compose", "local.sh");
const PROMETHEUS = "http://127.0.0.1:9090";
// the script's own engine, never one a user has pointed DOCKER_HOST at
const ENV = { DOCKER_HOST: "" };

interface Vector {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

async function query(expr: string): Promise<Vector[]> {
  const res = await fetch(`${PROMETHEUS}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: Vector[] } };
  expect(body.status, `${expr}: ${body.error ?? ""}`).toBe("success");
  return body.data.result;
}

const sh = (cmd: string, args: readonly string[]): string => execFileSync(cmd, args, { encoding: "utf8" });
/** What the stack may add to the host and must take away: interfaces, namespaces, firewall rules. */
function hostState(): { links: string[]; iptables: string; nft: string } {
  return {
    links: sh("ip", ["-o", "link", "show"])
      .split("\n")
      .map((l) => l.split(":")[1]?.trim() ?? "")
      .filter((n) => n !== "")
      .sort(),
    iptables: sh("iptables-save", [])
      .replace(/^#.*$/gm, "")
      .replace(/\[\d+:\d+\]/g, ""),
    nft: sh("nft", ["list", "ruleset"]),
  };
}

const engineProcesses = (): string[] =>
  sh("ps", ["-eo", "pid=,args="])
    .split("\n")
    .filter((l) => l.includes("/run/lkswarm-docker") || /\bdocker-proxy\b/.test(l));

/** The alerting and recording rules of the repo's rule files, the ones the stack's Prometheus must load. */
function ruleCount(): number {
  let n = 0;
  for (const f of ["swarm.rules.yaml", "livekit.rules.yaml"]) {
    const doc = parse(readFileSync(join(REPO, "alerts", f), "utf8")) as { groups: { rules: unknown[] }[] };
    n += doc.groups.reduce((a, g) => a + g.rules.length, 0);
  }
  return n;
}

describe("the compose stack without a registry (deploy/compose/local.sh)", () => {
  const before = hostState();

  afterAll(async () => {
    // whatever a failed stage left: the stack, the engine, and the engine's images (about 1.4 GB)
    await runCommand("bash", [SCRIPT, "down", "--purge"], ENV, 120_000);
  }, 130_000);

  it("refuses an unknown command or option with its usage and exit code 2", async () => {
    const bad = await runCommand("bash", [SCRIPT, "start"], ENV, 10_000);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("usage: local.sh up | status | down [--purge]");
    const opt = await runCommand("bash", [SCRIPT, "up", "--purge"], ENV, 10_000);
    expect(opt.code).toBe(2);
    expect(opt.stderr).toContain("unknown argument --purge");
  });

  it("up: every image built here, the stack started, ports published on loopback only", async () => {
    const up = await runCommand("bash", [SCRIPT, "up"], ENV, 900_000);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(up.stderr).toContain("no Grafana");
    const ps = await runCommand("bash", [SCRIPT, "status"], ENV, 30_000);
    for (const svc of ["redis", "livekit-1", "livekit-2", "canary", "prometheus"])
      expect(ps.stdout, ps.stdout).toMatch(new RegExp(`livekit-swarm_${svc}_1 .* Up`));
    expect(ps.stdout).not.toContain("grafana");
    // docker-proxy holds each published port: on 127.0.0.1, never on every address
    const published = sh("ss", ["-Hlntup"])
      .split("\n")
      .filter((l) => l.includes('"docker-proxy"'))
      .map((l) => l.split(/\s+/)[4]);
    expect(published.sort()).toEqual(
      ["7880", "7881", "7891", "7892", "7901", "7902", "9090"].map((p) => `127.0.0.1:${p}`).sort(),
    );
  }, 960_000);

  it("Prometheus scrapes both LiveKit nodes and the canary, whose 2 participants LiveKit counts on the room's node and the WebSocket's", async () => {
    await waitFor(
      async () => {
        const up = await query("up");
        return up.length === 3 && up.every((v) => v.value[1] === "1");
      },
      { timeoutMs: 90_000, intervalMs: 1000, debugName: "three targets up (livekit-1, livekit-2, canary)" },
    );
    const up = await query("up");
    expect(up.map((v) => `${v.metric.job} ${v.metric.instance}`).sort()).toEqual([
      "livekit livekit-1:6789",
      "livekit livekit-2:6789",
      "swarm canary:9464",
    ]);
    await waitFor(
      async () => {
        const c = await query('sum(lkswarm_participants{scenario="canary",state="connected"})');
        return c[0]?.value[1] === "2";
      },
      { timeoutMs: 90_000, intervalMs: 1000, debugName: "the canary's 2 participants connected" },
    );
    // LiveKit counts a participant on its room's node and on the node carrying its WebSocket
    // (livekit-1, the canary's URL): 2 on each when the room went to livekit-2, 2 and 0 otherwise
    let seen = "";
    await waitFor(
      async () => {
        const rooms = await query('livekit_room_total{job="livekit"} > 0');
        const counted = await query('livekit_participant_total{job="livekit"}');
        const of = (i: string): string | undefined => counted.find((v) => v.metric.instance === i)?.value[1];
        seen = `rooms on ${rooms.map((v) => v.metric.instance).join(",")}; participants ${counted.map((v) => `${v.metric.instance}=${v.value[1]}`).join(", ")}`;
        if (rooms.length !== 1) return false;
        const roomOn2 = rooms[0]?.metric.instance === "livekit-2:6789";
        return of("livekit-1:6789") === "2" && of("livekit-2:6789") === (roomOn2 ? "2" : "0");
      },
      {
        timeoutMs: 60_000,
        intervalMs: 1000,
        debugName: () => `LiveKit's nodes counting the canary (${seen})`,
      },
    );
    const rules = (await (await fetch(`${PROMETHEUS}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { health: string; name: string; lastError?: string }[] }[] };
    };
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    expect(loaded.length).toBe(ruleCount());
    const unhealthy = loaded.filter((r) => r.health === "err").map((r) => `${r.name}: ${r.lastError ?? ""}`);
    expect(unhealthy).toEqual([]);
    expect(await query('ALERTS{alertname=~"LiveKitCanary.*"}')).toEqual([]);
  }, 300_000);

  it("the canary stopped: the stack's Prometheus raises LiveKitCanaryDown from the repo's rules", async () => {
    const stop = await runCommand(
      "docker-compose",
      [
        "-p",
        "livekit-swarm",
        "-f",
        join(REPO, "docker-compose.yml"),
        "-f",
        join(REPO, "deploy/compose/local.yml"),
        "stop",
        "canary",
      ],
      { DOCKER_HOST: "unix:///run/lkswarm-docker/docker.sock" },
      60_000,
    );
    expect(stop.code, stop.stderr).toBe(0);
    await waitFor(async () => (await query('ALERTS{alertname="LiveKitCanaryDown"}')).length > 0, {
      timeoutMs: 90_000,
      intervalMs: 1000,
      debugName: "LiveKitCanaryDown pending or firing",
    });
    expect((await query('up{job="swarm"}'))[0]?.value[1]).toBe("0");
  }, 180_000);

  it("down leaves nothing: no engine process or docker-proxy, interface, namespace or firewall rule", async () => {
    const down = await runCommand("bash", [SCRIPT, "down"], ENV, 120_000);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toContain("down: nothing of the stack runs");
    expect(engineProcesses()).toEqual([]);
    expect(hostState()).toEqual(before);
    await expect(fetch(`${PROMETHEUS}/-/ready`)).rejects.toThrow();
    // down again is harmless: nothing to stop
    const again = await runCommand("bash", [SCRIPT, "down"], ENV, 60_000);
    expect(again.code, again.stderr).toBe(0);
  }, 180_000);
});
