/**
 * The cluster testbed as a user drives it: `swarm testbed up --kubernetes` from cold (a real
 * Kubernetes v1.34.2 built by setup: etcd, API server, controller-manager, scheduler, containerd,
 * kubelet), LiveKit and Redis as host-network pods, kubectl through `testbed env`, a swarm against
 * the pods, drills of the Kubernetes backend (the pod hosting a room killed mid-call, the Redis pod
 * lost), a LiveKit pod killed and replaced, and `testbed down` leaving nothing on the host. The
 * stages share one cluster (one per machine) and run in order.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { DrillJournal } from "@livekit-swarm/chaos";
import { drillWorkload, runCommand as run, swarm, waitFor, writeDrill } from "@livekit-swarm/test-kit";
import { Testbed, processesMentioning } from "@livekit-swarm/testbed";

const NAME = `e2e-k8s-${process.pid}`;
const REPO = join(import.meta.dirname, "..", "..", "..");
const IMAGE = "localhost/livekit-swarm:e2e";
const SYSCTLS = ["vm.overcommit_memory", "kernel.panic", "kernel.panic_on_oops", "net.ipv4.ip_forward"];
const sysctl = (name: string): string =>
  readFileSync(`/proc/sys/${name.replaceAll(".", "/")}`, "utf8").trim();

function kubectl(args: readonly string[], vars: Record<string, string>): string {
  return execFileSync(join(toolsBin(), "kubernetes", "kubectl"), args, {
    encoding: "utf8",
    env: { ...process.env, ...vars },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 30_000,
  });
}

function toolsBin(): string {
  return process.env.LIVEKIT_SWARM_TOOLS ?? join(REPO, ".tools", "bin");
}

/** Listening sockets of processes whose pid is in `pids`, as `ss` prints them (address:port). */
function listeners(pids: ReadonlySet<number>): string[] {
  const text = execFileSync("ss", ["-Hlntup"], { encoding: "utf8" });
  return text
    .split("\n")
    .filter((l) => [...l.matchAll(/pid=(\d+)/g)].some((m) => pids.has(Number(m[1]))))
    .map((l) => `${l.split(/\s+/)[0]} ${l.split(/\s+/)[4]} ${/users:\(\("([^"]+)"/.exec(l)?.[1] ?? "?"}`);
}

const readJournal = (out: string): DrillJournal =>
  JSON.parse(readFileSync(join(out, "journal.json"), "utf8")) as DrillJournal;

/** A drill's target on this file's cluster testbed; `redisPort` for the faults that find or hit Redis. */
function k8sTarget(redisPort?: number): string {
  return `target:
  backend: kubernetes
  url: \${LIVEKIT_URL}
  api-key: \${LIVEKIT_API_KEY}
  api-secret: \${LIVEKIT_API_SECRET}
  namespace: lkswarm-testbed
  node-selector: app.kubernetes.io/name=livekit
${
  redisPort === undefined
    ? ""
    : `  redis-selector: app.kubernetes.io/name=redis
  redis-port: ${String(redisPort)}
`
}`;
}

/** Runs a drill file to its end: it completed, and the CLI's exit code is the one its verdict calls for. */
async function runDrill(
  file: string,
  env: Record<string, string>,
): Promise<{ run: Awaited<ReturnType<typeof swarm>>; journal: DrillJournal }> {
  const out = `${file.replace(/\.yaml$/, "")}-out`;
  const run = await swarm(["chaos", "run", file, "-o", out], env, 240_000);
  const journal = readJournal(out);
  expect(run.code, run.stderr).toBe({ pass: 0, fail: 1, deviated: 1, inconclusive: 2 }[journal.verdict]);
  expect(journal.status).toBe("completed");
  return { run, journal };
}

const before = Object.fromEntries(SYSCTLS.map((s) => [s, sysctl(s)]));

describe("the cluster testbed (swarm testbed up --kubernetes)", () => {
  let up = false;
  let vars: Record<string, string> = {};
  // what swarm runs kubectl with (chaos, k8s fetch): setup's build first (the machine's may be another version)
  const kubectlEnv = () => ({ ...vars, PATH: `${join(toolsBin(), "kubernetes")}:${process.env.PATH ?? ""}` });
  afterAll(async () => {
    if (up) await swarm(["testbed", "down", "--name", NAME], {}, 180_000);
  });

  it("comes up from cold: kubectl through env sees v1.34.2, a Ready node and host-network pods; nothing listens on a wildcard address", async () => {
    const started = Date.now();
    const result = await swarm(
      ["testbed", "up", "--kubernetes", "--nodes", "2", "--name", NAME],
      {},
      300_000,
    );
    up = true;
    expect(result.code, `up: ${result.stderr}\n${result.stdout}`).toBe(0);
    const upSeconds = (Date.now() - started) / 1000;
    expect(result.stdout).toContain("as pods of a Kubernetes v1.34.2 cluster");

    const exported = await swarm(["testbed", "env", "--name", NAME]);
    expect(exported.code).toBe(0);
    vars = Object.fromEntries(
      [...exported.stdout.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1] ?? "", m[2] ?? ""]),
    );
    expect(Object.keys(vars).sort()).toEqual([
      "CONTAINERD_ADDRESS",
      "CONTAINERD_NAMESPACE",
      "KUBECONFIG",
      "LIVEKIT_API_KEY",
      "LIVEKIT_API_SECRET",
      "LIVEKIT_URL",
    ]);

    // the user's kubectl, with nothing but KUBECONFIG: a real API server with a Ready node and the pods
    const version = JSON.parse(kubectl(["version", "-o", "json"], vars)) as {
      serverVersion?: { gitVersion?: string };
    };
    expect(version.serverVersion?.gitVersion).toBe("v1.34.2");
    const nodes = JSON.parse(kubectl(["get", "nodes", "-o", "json"], vars)) as {
      items: { status: { conditions: { type: string; status: string }[] } }[];
    };
    expect(nodes.items).toHaveLength(1);
    expect(nodes.items[0]?.status.conditions.find((c) => c.type === "Ready")?.status).toBe("True");
    const pods = JSON.parse(kubectl(["get", "pods", "-n", "lkswarm-testbed", "-o", "json"], vars)) as {
      items: { metadata: { name: string }; spec: { hostNetwork?: boolean }; status: { phase: string } }[];
    };
    expect(pods.items.map((p) => p.metadata.name.replace(/-[a-z0-9]+-[a-z0-9]+$/, "")).sort()).toEqual([
      "livekit-node1",
      "livekit-node2",
      "redis",
    ]);
    for (const p of pods.items) {
      expect(p.status.phase, p.metadata.name).toBe("Running");
      expect(p.spec.hostNetwork, `${p.metadata.name} on the host's network`).toBe(true);
    }

    // nothing of the cluster listens on a wildcard address: loopback or the bridge's host address only
    const tb = Testbed.attach(NAME);
    const clusterPids = new Set(
      tb
        .status()
        .processes.filter((p) => p.role === "kubernetes")
        .map((p) => p.pid),
    );
    const open = listeners(clusterPids);
    expect(open.length, open.join("\n")).toBeGreaterThan(5);
    expect(
      open.filter((l) => !/ (127\.0\.0\.1|10\.202\.0\.1):\d+ /.test(l)),
      `listeners of the cluster's components:\n${open.join("\n")}`,
    ).toEqual([]);

    console.log(`cluster testbed: up from cold in ${upSeconds.toFixed(1)} s`);
  }, 300_000);

  it("serves media from its pods: a swarm on this host, 6 of 6 joined, 4 of 4 tracks", async () => {
    const out = mkdtempSync(join(tmpdir(), "k8s-swarm-"));
    const run = await swarm(
      [
        "--rooms",
        "2",
        "--video-publishers",
        "0",
        "--audio-publishers",
        "1",
        "--subscribers",
        "2",
        "--duration",
        "8s",
        "--stats-interval",
        "2s",
        "-o",
        out,
      ],
      vars,
      120_000,
    );
    expect(run.code, `swarm against the cluster: ${run.stderr}`).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as {
      participants: { planned: number; joined: number };
      tracks?: unknown;
    };
    expect(summary.participants.planned).toBe(6);
    expect(summary.participants.joined, run.stdout).toBe(6);
    expect(run.stdout).toMatch(/audio 4\/4 receiving at the end/);
  }, 180_000);

  it("a sharded run as a user runs it: the image built with buildah, 3 shards of 6 audio rooms as an Indexed Job, the merge Job's verdict read back with swarm k8s fetch, equal to a local merge of the same shard files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "k8s-shards-"));
    const archive = join(dir, "swarm.oci.tar");
    // the image from this checkout, no registry: a Debian base from debootstrap, the host's Node, buildah
    // asynchronously: a build of minutes must not hold the test worker's event loop (vitest's RPC times out)
    const build = await run(
      "bash",
      [join(REPO, "deploy/swarm/local/build.sh"), "-t", IMAGE, "-o", archive],
      {},
      600_000,
    );
    expect(build.code, `deploy/swarm/local/build.sh: ${build.stderr.slice(-3000)}`).toBe(0);
    expect(build.stderr).toContain(`${IMAGE} runs: swarm --version says`);
    // into the cluster's containerd: ctr reads CONTAINERD_ADDRESS and CONTAINERD_NAMESPACE from testbed env
    const imported = await run("ctr", ["images", "import", archive], vars, 180_000);
    expect(imported.code, imported.stderr).toBe(0);
    kubectl(
      [
        "create",
        "secret",
        "generic",
        "livekit-api",
        `--from-literal=api-key=${vars.LIVEKIT_API_KEY ?? ""}`,
        `--from-literal=api-secret=${vars.LIVEKIT_API_SECRET ?? ""}`,
      ],
      vars,
    );
    const scenario = join(dir, "shards.yaml");
    writeFileSync(
      scenario,
      "name: k8s-shards\nrooms: 6\naudio-publishers: 1\nvideo-publishers: 0\nsubscribers: 2\nduration: 15s\nnum-per-second: 10\n",
    );
    // a start far enough ahead for three pods to be scheduled and load rtc-node under their CPU limits
    const rendered = await swarm(
      [
        "k8s",
        "render",
        "--scenario",
        scenario,
        "--shards",
        "3",
        "--image",
        IMAGE,
        "--run-id",
        "e2e-k8s",
        "--start-in",
        "45s",
        "-o",
        dir,
      ],
      vars,
    );
    expect(rendered.code, rendered.stderr).toBe(0);
    kubectl(["apply", "-f", join(dir, "lkswarm-e2e-k8s.yaml")], vars);
    const fetched = join(dir, "fetched");
    const fetch = await swarm(["k8s", "fetch", "--run-id", "e2e-k8s", "-o", fetched], kubectlEnv(), 300_000);
    expect(fetch.code, `${fetch.stdout}\n${fetch.stderr}`).toBe(0);
    expect(fetch.stdout).toContain("over 3 of 3 shard(s)");
    const merged = JSON.parse(readFileSync(join(fetched, "summary.json"), "utf8")) as Record<
      string,
      unknown
    > & {
      participants: { planned: number; joined: number; connectedAtEnd: number };
      tracks: { expected: { audio: number }; receiving: { audio: number } };
    };
    expect(merged.participants).toMatchObject({ planned: 18, joined: 18, connectedAtEnd: 18 });
    expect(merged.tracks.expected.audio).toBe(12);
    expect(merged.tracks.receiving.audio).toBe(12);
    // the merge Job's figures are the ones a merge of the same shard files gives here
    const local = join(dir, "local");
    for (const i of [0, 1, 2])
      cpSync(join(fetched, `shard-${i}`), join(local, `shard-${i}`), { recursive: true });
    const again = await swarm(["merge", local, "-o", join(local, "merged")]);
    expect(again.code, again.stderr).toBe(0);
    const mine = JSON.parse(readFileSync(join(local, "merged", "summary.json"), "utf8")) as Record<
      string,
      unknown
    >;
    for (const key of [
      "participants",
      "tracks",
      "loss",
      "counters",
      "figures",
      "joinSeconds",
      "firstFrameSeconds",
    ])
      expect(mine[key], key).toEqual(merged[key]);
    // every shard pod and the merge pod ended by themselves once collected and fetched
    await waitFor(
      () => {
        const phases = kubectl(
          [
            "get",
            "pods",
            "-l",
            "app.kubernetes.io/instance=lkswarm-e2e-k8s",
            "-o",
            "jsonpath={.items[*].status.phase}",
          ],
          vars,
        );
        return phases.split(" ").length === 4 && phases.split(" ").every((p) => p === "Succeeded");
      },
      { timeoutMs: 60_000, debugName: "the shard pods and the merge pod Succeeded" },
    );
  }, 900_000);

  it("drills on the Kubernetes backend: the pod hosting a room killed mid-call, everyone back; the Redis pod lost", async () => {
    const dir = mkdtempSync(join(tmpdir(), "k8s-drills-"));
    const target = k8sTarget(Testbed.attach(NAME).redis?.port);
    const drillEnv = kubectlEnv();
    const kill = writeDrill(
      dir,
      "k8s-kill",
      `${target}${drillWorkload()}observe: 25s
faults:
  - id: kill
    type: node.kill
    target: busiest-room-node
expect:
  reconnect: { p95: 30s }
  media-resume: { p95: 30s }
  participants-lost: 0
`,
    );
    const { run: k, journal: kj } = await runDrill(kill, drillEnv);
    const [fault] = kj.faults;
    expect(fault?.error ?? null, k.stdout).toBeNull();
    expect(fault?.evidence).toMatch(
      /pod livekit-node\d-\S+ \(uid [0-9a-f-]+\) gone, replaced or terminating/,
    );
    const killed = fault?.subjects[0]?.name;
    expect(killed).toMatch(/^livekit-node\d-/);
    // the rooms on the killed pod: their participants were disrupted, came back, and nobody was lost
    const hit = kj.participants.filter((p) => p.affected);
    expect(hit.length, JSON.stringify(kj.participants, null, 1)).toBeGreaterThanOrEqual(3);
    for (const p of kj.participants)
      expect(p.connectedAtEnd, `${p.room}/${p.identity}: ${String(p.lostReason)}`).toBe(true);
    for (const p of hit) expect(p.reconnectMs, `${p.room}/${p.identity} reconnected`).not.toBeNull();
    expect(
      kj.steadyState.after.every((c) => c.met),
      JSON.stringify(kj.steadyState.after),
    ).toBe(true);
    expect(kj.verdict, k.stdout).toBe("pass");

    const lose = writeDrill(
      dir,
      "k8s-redis",
      `${target}${drillWorkload("  rejoin: true\n")}observe: 25s
faults:
  - id: redis
    type: redis.kill
expect:
  participants-lost: 12
`,
    );
    const { run: r, journal: rj } = await runDrill(lose, drillEnv);
    expect(rj.faults[0]?.error ?? null, r.stdout).toBeNull();
    expect(rj.faults[0]?.evidence).toMatch(/pod redis-\S+ \(uid [0-9a-f-]+\) gone, replaced or terminating/);
    // the recreated Redis is empty: LiveKit's view of the rooms is what the drill reports, whatever it is
    expect(
      rj.verdict === "pass" || rj.findings.some((f) => f.id === "missing-from-server-view"),
      r.stdout,
    ).toBe(true);
  }, 600_000);

  it("a network fault without Chaos Mesh fails in one line naming it, before the swarm starts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "k8s-netchaos-"));
    const file = writeDrill(
      dir,
      "k8s-loss",
      `${k8sTarget()}${drillWorkload()}observe: 10s
faults:
  - id: loss
    type: net.loss
    target: busiest-room-node
    ratio: 10%
    direction: egress
    duration: 5s
`,
    );
    const r = await swarm(["chaos", "run", file, "-o", join(dir, "out")], kubectlEnv(), 60_000);
    expect(r.code, r.stdout).toBe(2);
    expect(r.stdout).toContain(
      "loss (net.loss): network faults on Kubernetes need Chaos Mesh, and this cluster has no NetworkChaos",
    );
    // asked before anything ran: no participant ever joined
    const j = readJournal(join(dir, "out"));
    expect(j.participants.length).toBe(12);
    expect(j.participants.every((p) => p.lostReason === "never_joined")).toBe(true);
  }, 120_000);

  it("a LiveKit pod deleted by hand is replaced by its Deployment, and the testbed finds the new process", async () => {
    const tb = Testbed.attach(NAME);
    const first = tb.nodes[0];
    expect(first?.alive, "node1's process found on the host").toBe(true);
    const oldPid = first?.pid ?? 0;
    const podName = kubectl(
      [
        "get",
        "pods",
        "-n",
        "lkswarm-testbed",
        "-l",
        "livekit-swarm/node=node1",
        "-o",
        "jsonpath={.items[0].metadata.name}",
      ],
      vars,
    );
    kubectl(
      ["delete", "pod", "-n", "lkswarm-testbed", podName, "--grace-period=0", "--force", "--wait=false"],
      vars,
    );
    await waitFor(
      () => {
        const now = Testbed.attach(NAME).nodes[0];
        return now !== undefined && now.alive && now.pid !== oldPid;
      },
      // the kubelet notices the kill, the ReplicaSet makes a pod, the kubelet starts it: seconds on an idle machine
      { timeoutMs: 60_000, debugName: "a new node1 process after its pod was deleted" },
    );
    await waitFor(async () => (await fetch(`${vars.LIVEKIT_URL?.replace(/^ws/, "http") ?? ""}/`)).ok, {
      timeoutMs: 30_000,
      debugName: "LiveKit answering through the balancer again",
    });
  }, 180_000);

  it("down leaves nothing: no process, shim, mount, bridge, pod namespace, nftables table or kubepods cgroup; the sysctls as they were", async () => {
    const runDir = Testbed.attach(NAME).runDir;
    const down = await swarm(["testbed", "down", "--name", NAME], {}, 180_000);
    up = false;
    expect(down.code, `down: ${down.stderr}`).toBe(0);
    expect(down.stdout).toContain("bridge lkswarm-k8s0");

    // what down must leave: no process, pod cgroup, mount, bridge, namespace, nftables table; the sysctls as they were
    expect(processesMentioning(runDir), "processes naming the run directory").toEqual([]);
    const shims = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })
      .split("\n")
      .filter((l) => l.includes(`${runDir}/cluster`));
    expect(shims).toEqual([]);
    expect(
      existsSync("/sys/fs/cgroup/cpu/kubepods") || existsSync("/sys/fs/cgroup/memory/kubepods"),
      "kubepods cgroups",
    ).toBe(false);
    const mounts = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .filter(
        (l) =>
          l.includes(runDir) ||
          l.includes("/var/lib/lkswarm-k8s") ||
          l.includes("/run/netns/cni-") ||
          l.includes("/run/containerd"),
      );
    expect(mounts).toEqual([]);
    expect(existsSync("/var/lib/lkswarm-k8s"), "containerd's and the kubelet's folder").toBe(false);
    expect(execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" })).not.toContain("lkswarm-k8s0");
    expect(execFileSync("ip", ["netns", "list"], { encoding: "utf8" })).not.toMatch(/^cni-/m);
    expect(execFileSync("nft", ["list", "tables"], { encoding: "utf8" })).not.toContain("lkswarm_k8s");
    expect(Object.fromEntries(SYSCTLS.map((s) => [s, sysctl(s)]))).toEqual(before);
    expect(
      existsSync("/run/netns") ? readdirSync("/run/netns").filter((f) => f.startsWith("cni-")) : [],
    ).toEqual([]);
  }, 180_000);
});
