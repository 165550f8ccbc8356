import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { down } from "./down.js";
import { STATE_MAX_BYTES, parseRunState, readState } from "./state-reader.js";

const root = mkdtempSync(join(tmpdir(), "lkswarm-state-reader-"));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});
const runDir = "/tmp/run-root/probe";

/** What `swarm testbed up --nodes 2 --netns --node-cpu 0.5 --turn --prometheus` wrote, 2026-11-28. */
function written(): Record<string, unknown> {
  const node = (i: number) => ({
    name: `node${i + 1}`,
    index: i,
    ip: `10.201.87.${i * 4 + 6}`,
    iface: `lksd56ev${i + 1}`,
    httpPort: 19249 + i,
    rtcTcpPort: 29287 + i,
    rtcUdpPort: 20862 + i,
    prometheusPort: 13210 + i,
    turnUdpPort: 15090 + i,
    configFile: `${runDir}/node${i + 1}.yaml`,
    logFile: `${runDir}/node${i + 1}.log`,
    network: {
      namespace: `lksd56en${i + 1}`,
      hostInterface: `lksd56eh${i + 1}`,
      nodeInterface: `lksd56ev${i + 1}`,
      hostIp: `10.201.87.${i * 4 + 5}`,
      nodeIp: `10.201.87.${i * 4 + 6}`,
    },
    pid: 12425 + i,
    startTime: "5111800",
    nodeId: "ND_7FWcK9MJvfVJ",
  });
  return {
    version: 1,
    name: "probe",
    runDir,
    createdAt: "2026-11-28T23:28:22.950Z",
    apiKey: "API51842dfc0206",
    apiSecret: "f48a295155689515db84f032123f56a784458c5e2eaca655",
    url: "ws://127.0.0.1:12810",
    nodes: [node(0), node(1)],
    processes: [
      { role: "redis", name: "redis", pid: 12420, startTime: "5111787", logFile: `${runDir}/redis.log` },
      { role: "livekit", name: "node1", pid: 12425, startTime: "5111800", logFile: `${runDir}/node1.log` },
    ],
    namespaces: ["lksd56en1", "lksd56en2"],
    nodeCpu: 0.5,
    redis: { host: "127.0.0.1", port: 31178 },
    cpuGroups: ["lkswarm-probe-node1", "lkswarm-probe-node2"],
    balancer: { port: 12810, statsPort: 28678 },
    prometheus: { url: "http://127.0.0.1:10146" },
  };
}

function withCluster(): Record<string, unknown> {
  const dir = `${runDir}/cluster`;
  return {
    ...written(),
    nodes: [
      {
        name: "node1",
        index: 0,
        ip: "10.202.0.1",
        httpPort: 7880,
        rtcTcpPort: 7881,
        rtcUdpPort: 7882,
        prometheusPort: 6789,
        configFile: `${dir}/conf/livekit-node1.yaml`,
        logFile: "",
        podMarker: `${runDir}#node1`,
        pid: -1,
      },
    ],
    cluster: {
      dir,
      ports: {
        api: 1,
        etcdClient: 2,
        etcdPeer: 3,
        kubelet: 4,
        kubeletHealthz: 5,
        controllerManager: 6,
        scheduler: 7,
      },
      server: "https://10.202.0.1:16443",
      kubeconfig: `${dir}/admin.kubeconfig`,
      sysctlsBefore: { "vm.overcommit_memory": "0", "kernel.panic": "0", "net.ipv4.ip_forward": "1" },
      createdPaths: ["/var/lib/cni", "/var/log/pods"],
      netnsBefore: ["cni-1b2c3d4e-aaaa-bbbb-cccc-0123456789ab"],
      bridge: true,
      nftTable: true,
      images: { livekit: "localhost/lkswarm-livekit:v1.13.5", redis: "localhost/lkswarm-redis:7.0.15" },
    },
  };
}

const parse = (v: unknown): unknown => parseRunState(JSON.stringify(v), runDir, `${runDir}/state.json`);

/** `v` with `path` (dotted, [i] for lists) set to `value`. */
function edited(v: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(v);
  const keys = path.split(".").flatMap((k) => k.split(/\[(\d+)\]/).filter(Boolean));
  let at: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
  at[keys.at(-1) ?? ""] = value;
  return copy;
}

describe("a testbed's state read back", () => {
  it("reads what up writes, a cluster testbed's too", () => {
    const state = parse(written()) as {
      nodes: { network?: { hostInterface: string } }[];
      cpuGroups: string[];
    };
    expect(state.nodes[1]?.network?.hostInterface).toBe("lksd56eh2");
    expect(state.cpuGroups).toEqual(["lkswarm-probe-node1", "lkswarm-probe-node2"]);
    expect((parse(withCluster()) as { cluster: { createdPaths: string[] } }).cluster.createdPaths).toEqual([
      "/var/lib/cni",
      "/var/log/pods",
    ]);
  });

  // each of these would have steered `down`, run as root, at something not the testbed's
  it.each([
    [
      "cluster.createdPaths[0]",
      "/etc",
      /cluster\.createdPaths\[0\]: "\/etc" is not a path up makes/,
      withCluster,
    ],
    ["cluster.dir", "/", /cluster\.dir: expected "\/tmp\/run-root\/probe\/cluster"/, withCluster],
    [
      "cluster.sysctlsBefore",
      { "kernel.core_pattern": "|/bin/sh" },
      /sysctlsBefore\.kernel\.core_pattern: is not a setting up changes/,
      withCluster,
    ],
    [
      "cluster.sysctlsBefore",
      { "kernel.panic": "1; reboot" },
      /sysctlsBefore\.kernel\.panic: "1; reboot" is not a number/,
      withCluster,
    ],
    [
      "cluster.kubeconfig",
      "/root/.kube/config",
      /cluster\.kubeconfig: "\/root\/.kube\/config" is not inside/,
      withCluster,
    ],
    [
      "nodes[0].network.hostInterface",
      "eth0",
      /nodes\[0\]\.network\.hostInterface: "eth0" is not a name the testbed gives/,
      written,
    ],
    [
      "namespaces[1]",
      "someone-elses",
      /namespaces\[1\]: "someone-elses" is not a namespace the testbed makes/,
      written,
    ],
    ["cpuGroups[0]", "lkswarm-../../x", /cpuGroups\[0\]: .* is not a cpu group the testbed makes/, written],
    ["cpuGroups[0]", "system.slice", /cpuGroups\[0\]: "system.slice" is not a cpu group/, written],
    ["nodes[0].configFile", "/etc/passwd", /nodes\[0\]\.configFile: "\/etc\/passwd" is not inside/, written],
    ["nodes[0].configFile", `${runDir}/../other/x.yaml`, /is not inside the testbed's folder/, written],
    ["runDir", "/", /runDir: expected the folder it is in/, written],
    [
      "processes[0].pid",
      "1",
      /processes\[0\]\.pid: expected a whole number from 1 to 4194304, got "1"/,
      written,
    ],
    ["processes[0].pid", 0, /processes\[0\]\.pid: expected a whole number from 1/, written],
    [
      "processes[0].role",
      "init",
      /processes\[0\]\.role: expected one of livekit, redis, haproxy, prometheus, kubernetes, got "init"/,
      written,
    ],
    [
      "processes[0].startTime",
      "12 34",
      /processes\[0\]\.startTime: "12 34" is not a process start time/,
      written,
    ],
    [
      "nodes[0].httpPort",
      99999,
      /nodes\[0\]\.httpPort: expected a whole number from 1 to 65535, got 99999/,
      written,
    ],
    ["nodes[0].podMarker", "/x#node1", /nodes\[0\]\.podMarker: expected/, written],
    ["nodes", null, /nodes: expected a list, got null/, written],
    [
      "nodes",
      Array.from({ length: 65 }, () => ({})),
      /nodes: holds 65 entries, more than a testbed makes \(64\)/,
      written,
    ],
    ["nodes[0]", 7, /nodes\[0\]: expected an object, got 7/, written],
    ["url", "ws://127.0.0.1:1\n", /url: holds a control character: "ws:\/\/127.0.0.1:1\\n"/, written],
    ["name", "\u001b[31mred", /name: holds a control character: "\\u001b\[31mred"/, written],
    ["version", 2, /version: expected 1, got 2/, written],
    ["nodeCpu", Number.POSITIVE_INFINITY, /nodeCpu: expected cores from 0.01 to 256, got null/, written],
  ] as const)("refuses %s = %j in one line naming the field", (path, value, message, base) => {
    let err: unknown;
    try {
      parse(edited(base(), path, value));
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ reason: "bad-state" });
    const text = (err as Error).message;
    expect(text).toMatch(message);
    expect(text.startsWith(`${runDir}/state.json: `)).toBe(true);
    expect(text).not.toContain("\n");
    expect(text).toMatch(/nothing it names was stopped or removed/);
  });

  it("refuses what is not JSON, or not an object", () => {
    expect(() => parseRunState("{", runDir)).toThrow(/state\.json: not JSON \(/);
    expect(() => parseRunState("null", runDir)).toThrow(
      /state\.json: the file: expected an object, got null/,
    );
    expect(() => parseRunState("[1]", runDir)).toThrow(/expected an object, got \[1\]/);
  });

  it("reads none where there is none, refuses a file too big or not a file, and down touches nothing it names", async () => {
    const dir = join(root, "tb");
    mkdirSync(dir, { recursive: true });
    expect(readState(dir)).toBeUndefined();
    writeFileSync(join(dir, "state.json"), " ".repeat(STATE_MAX_BYTES + 1));
    expect(() => readState(dir)).toThrow(/is 4194305 bytes, larger than a testbed's state can be \(4 MiB\)/);
    rmSync(join(dir, "state.json"));
    mkdirSync(join(dir, "state.json"));
    expect(() => readState(dir)).toThrow(/state\.json: is not a regular file/);
    rmSync(join(dir, "state.json"), { recursive: true });
    // a hostile state: down refuses it before it would delete eth0 or /etc
    const hostile = JSON.stringify(edited(written(), "nodes[0].network.hostInterface", "eth0")).replaceAll(
      runDir,
      dir,
    );
    writeFileSync(join(dir, "state.json"), hostile);
    await expect(down(dir)).rejects.toMatchObject({ reason: "bad-state" });
    await expect(down(dir)).rejects.toThrow(
      /nodes\[0\]\.network\.hostInterface: "eth0" is not a name the testbed gives/,
    );
  });
});
