/**
 * A single-node Kubernetes cluster as a testbed kind: etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler, containerd (with runc and the CNI bridge) and the kubelet, started as the
 * testbed's own detached processes from the binaries scripts/setup built (`--kubernetes`), with
 * LiveKit and Redis running as pods. Every component listens on loopback or on the host's address on
 * the pods' bridge, which nftables keeps to this machine. Everything it changes on the host is
 * recorded in the run state before it is changed, so `down` (clusterDown) undoes it even after the
 * controlling process died. docs/cluster.md says what runs where and what down removes.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { messageOf } from "@livekit-swarm/schema";
import { findBinary, TOOLS_BIN, LIVEKIT_SERVER_VERSION } from "../binaries.js";
import { TestbedError } from "../errors.js";
import { launch } from "../launch.js";
import { pickFreePort } from "../ports.js";
import { isOurProcess, processStartTime, sleep, tailLines, terminate } from "../processes.js";
import { makePrivateDir, writeState, type RunState } from "../state.js";
import { waitFor } from "../wait.js";
import {
  adminCredentials,
  apiCall,
  apiCreate,
  apiDelete,
  apiGet,
  items,
  record,
  type ApiCredentials,
} from "./api.js";
import {
  API_SERVICE_IP,
  BRIDGE,
  HOST_IP,
  HOST_PATHS,
  HOST_SYSCTLS,
  CONTAINERD_SOCKET,
  NFT_TABLE,
  NODE_NAME,
  RUNTIME_DIR,
  SERVICE_SUBNET,
  POD_SUBNET,
  TESTBED_NAMESPACE,
  cniConfig,
  containerdConfig,
  kubeconfig,
  kubeletConfig,
  nftRules,
  type ClusterPorts,
  type ClusterRecord,
} from "./config.js";
import { PAUSE_IMAGE, imageSpecs, importImages } from "./images.js";
import { CLIENTS, makeClusterPki, type ClientName } from "./pki.js";

const KUBERNETES_BINARIES = [
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kubelet",
  "kubectl",
  "etcd",
  "pause",
] as const;
type KubernetesBinary = (typeof KUBERNETES_BINARIES)[number];

/** Where scripts/setup --kubernetes puts Kubernetes, etcd and pause. */
export function kubernetesBin(name: KubernetesBinary): string {
  return join(TOOLS_BIN, "kubernetes", name);
}

function run(command: string, args: readonly string[], input?: string): string {
  return execFileSync(command, args, {
    encoding: "utf8",
    input,
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
}

function tryRun(command: string, args: readonly string[]): boolean {
  try {
    run(command, args);
    return true;
  } catch {
    return false;
  }
}

/** Refuses, before anything is touched, what would make the cluster fail half-way. */
export function checkClusterPrerequisites(): void {
  if (process.getuid?.() !== 0)
    throw new TestbedError(
      "needs-root",
      "--kubernetes needs root (containerd, the kubelet, a bridge and nftables): run as root",
    );
  const missing = KUBERNETES_BINARIES.filter((b) => !existsSync(kubernetesBin(b)));
  if (missing.length > 0)
    throw new TestbedError(
      "missing-binary",
      `the cluster testbed's ${missing.join(", ")} not found in ${join(TOOLS_BIN, "kubernetes")}: run \`bash scripts/setup --kubernetes\` (builds Kubernetes v1.34.2 and etcd from the Go module proxy, about 10 minutes the first time)`,
    );
  for (const [bin, pkg] of [
    ["containerd", "containerd"],
    ["ctr", "containerd"],
    ["runc", "runc"],
  ] as const) {
    try {
      findBinary(bin);
    } catch {
      throw new TestbedError(
        "missing-binary",
        `${bin} not found: run \`bash scripts/setup --kubernetes\` or \`apt-get install ${pkg}\``,
      );
    }
  }
  if (!existsSync("/usr/lib/cni/bridge"))
    throw new TestbedError(
      "missing-binary",
      "the CNI bridge plugin (/usr/lib/cni/bridge) not found: run `bash scripts/setup --kubernetes` or `apt-get install containernetworking-plugins`",
    );
  findBinary("openssl");
  if (tryRun("ip", ["link", "show", BRIDGE]))
    throw new TestbedError(
      "already-running",
      `the bridge ${BRIDGE} exists: another cluster testbed is up (one per machine: its kubelet owns the kubepods cgroups); run \`swarm testbed down --all\``,
    );
  if (existsSync(RUNTIME_DIR))
    throw new TestbedError(
      "already-running",
      `${RUNTIME_DIR} exists: a cluster testbed is up or was not taken down; run \`swarm testbed down --all\` (or remove the folder when no testbed owns it)`,
    );
  if (existsSync("/sys/fs/cgroup/cpu/kubepods") || existsSync("/sys/fs/cgroup/kubepods"))
    throw new TestbedError(
      "already-running",
      "a kubelet's kubepods cgroup exists on this host: another Kubernetes node runs here, or a cluster testbed was not taken down (`swarm testbed down --all`)",
    );
}

/** containerd's pod network namespaces on this host (`/run/netns/cni-*`), ours or not. */
function podNamespaces(): string[] {
  try {
    return readdirSync("/run/netns").filter((f) => f.startsWith("cni-"));
  } catch {
    return [];
  }
}

function readSysctl(name: string): string | undefined {
  try {
    return readFileSync(`/proc/sys/${name.replaceAll(".", "/")}`, "utf8").trim();
  } catch {
    return undefined;
  }
}

function writeSysctl(name: string, value: string): void {
  try {
    writeFileSync(`/proc/sys/${name.replaceAll(".", "/")}`, value);
  } catch {
    // a read-only one here was never changed either
  }
}

export interface ClusterOptions {
  readonly readyTimeoutMs: number;
  readonly livekitBin: string;
  readonly redisBin: string | undefined;
}

/** Starts the cluster's components (not yet the LiveKit pods) and records each in `state`. */
export async function startCluster(state: RunState, options: ClusterOptions): Promise<ApiCredentials> {
  const dir = join(state.runDir, "cluster");
  if (/["\\]/.test(dir) || Array.from(dir).some((c) => c < " "))
    throw new TestbedError(
      "bad-option",
      `the run directory ${JSON.stringify(dir)} holds a quote, backslash or control character: set LIVEKIT_SWARM_RUN_ROOT to a plain path`,
    );
  const ports: ClusterPorts = {
    api: await pickFreePort(),
    etcdClient: await pickFreePort(),
    etcdPeer: await pickFreePort(),
    kubelet: await pickFreePort(),
    kubeletHealthz: await pickFreePort(),
    controllerManager: await pickFreePort(),
    scheduler: await pickFreePort(),
  };
  const server = `https://${HOST_IP}:${ports.api}`;
  const sysctlsBefore: Record<string, string> = {};
  for (const name of HOST_SYSCTLS) {
    const value = readSysctl(name);
    if (value !== undefined) sysctlsBefore[name] = value;
  }
  const cluster: ClusterRecord = {
    dir,
    ports,
    server,
    kubeconfig: join(dir, "admin.kubeconfig"),
    sysctlsBefore,
    createdPaths: HOST_PATHS.filter((p) => !existsSync(p)),
    netnsBefore: podNamespaces(),
  };
  state.cluster = cluster;
  writeState(state);

  for (const sub of ["pki", "conf", "logs", "cni/net.d", "cni/ipam", "pod-logs", "images", "etcd"])
    makePrivateDir(join(dir, sub));
  cluster.runtimeDir = true;
  writeState(state);
  makePrivateDir(join(RUNTIME_DIR, "containerd"));
  makePrivateDir(join(RUNTIME_DIR, "kubelet"));

  // the bridge first: the API server, the kubelet and LiveKit listen on its host address
  cluster.bridge = true;
  writeState(state);
  run("ip", ["link", "add", BRIDGE, "type", "bridge"]);
  run("ip", ["addr", "add", `${HOST_IP}/24`, "dev", BRIDGE]);
  run("ip", ["link", "set", BRIDGE, "up"]);
  cluster.nftTable = true;
  writeState(state);
  run("nft", ["-f", "-"], nftRules(ports.api));

  makeClusterPki(join(dir, "pki"), { hostIp: HOST_IP, serviceIp: API_SERVICE_IP, nodeName: NODE_NAME });
  const pki = (f: string) => join(dir, "pki", f);
  const kubeconfigOf = (client: ClientName, file: string) => {
    writeFileSync(
      file,
      kubeconfig({
        server,
        ca: readFileSync(pki("ca.crt")),
        cert: readFileSync(pki(`${client}.crt`)),
        key: readFileSync(pki(`${client}.key`)),
        user: CLIENTS[client].user,
      }),
      { mode: 0o600 },
    );
    return file;
  };
  const conf = (f: string) => join(dir, "conf", f);
  kubeconfigOf("admin", cluster.kubeconfig);
  kubeconfigOf("controller-manager", conf("controller-manager.kubeconfig"));
  kubeconfigOf("scheduler", conf("scheduler.kubeconfig"));
  kubeconfigOf("kubelet", conf("kubelet.kubeconfig"));
  writeFileSync(conf("containerd.toml"), containerdConfig(dir, PAUSE_IMAGE));
  writeFileSync(join(dir, "cni/net.d/10-lkswarm.conflist"), cniConfig(dir));
  writeFileSync(conf("kubelet.yaml"), kubeletConfig(dir, ports));

  const log = (name: string) => join(dir, "logs", `${name}.log`);
  const etcd = launch(
    state,
    "kubernetes",
    "etcd",
    kubernetesBin("etcd"),
    [
      "--name",
      "lkswarm",
      "--data-dir",
      join(dir, "etcd"),
      "--listen-client-urls",
      `http://127.0.0.1:${ports.etcdClient}`,
      "--advertise-client-urls",
      `http://127.0.0.1:${ports.etcdClient}`,
      "--listen-peer-urls",
      `http://127.0.0.1:${ports.etcdPeer}`,
      "--initial-advertise-peer-urls",
      `http://127.0.0.1:${ports.etcdPeer}`,
      "--initial-cluster",
      `lkswarm=http://127.0.0.1:${ports.etcdPeer}`,
      "--initial-cluster-state",
      "new",
      "--listen-metrics-urls",
      "",
      "--log-level",
      "warn",
    ],
    log("etcd"),
  );
  await waitFor(async () => (await fetch(`http://127.0.0.1:${ports.etcdClient}/health`)).ok, {
    timeoutMs: options.readyTimeoutMs,
    debugName: "etcd /health",
    exited: etcd.exited,
    logFile: log("etcd"),
  });

  const apiserver = launch(
    state,
    "kubernetes",
    "kube-apiserver",
    kubernetesBin("kube-apiserver"),
    [
      `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
      `--bind-address=${HOST_IP}`,
      `--secure-port=${ports.api}`,
      `--advertise-address=${HOST_IP}`,
      `--tls-cert-file=${pki("apiserver.crt")}`,
      `--tls-private-key-file=${pki("apiserver.key")}`,
      `--client-ca-file=${pki("ca.crt")}`,
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${pki("sa.pub")}`,
      `--service-account-signing-key-file=${pki("sa.key")}`,
      `--service-cluster-ip-range=${SERVICE_SUBNET}`,
      "--authorization-mode=Node,RBAC",
      "--enable-admission-plugins=NodeRestriction",
      `--kubelet-client-certificate=${pki("apiserver-kubelet-client.crt")}`,
      `--kubelet-client-key=${pki("apiserver-kubelet-client.key")}`,
      "--kubelet-preferred-address-types=InternalIP",
      "--allow-privileged=false",
      "--profiling=false",
      "--v=1",
    ],
    log("kube-apiserver"),
  );
  const creds = adminCredentials(dir, server);
  await waitFor(async () => (await apiCall(creds, "GET", "/readyz", undefined, 2000)).status === 200, {
    timeoutMs: Math.max(options.readyTimeoutMs, 60_000),
    debugName: "kube-apiserver /readyz",
    exited: apiserver.exited,
    logFile: log("kube-apiserver"),
  });

  launch(
    state,
    "kubernetes",
    "kube-controller-manager",
    kubernetesBin("kube-controller-manager"),
    [
      `--kubeconfig=${conf("controller-manager.kubeconfig")}`,
      `--authentication-kubeconfig=${conf("controller-manager.kubeconfig")}`,
      `--authorization-kubeconfig=${conf("controller-manager.kubeconfig")}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${ports.controllerManager}`,
      `--service-account-private-key-file=${pki("sa.key")}`,
      `--root-ca-file=${pki("ca.crt")}`,
      `--cluster-signing-cert-file=${pki("ca.crt")}`,
      `--cluster-signing-key-file=${pki("ca.key")}`,
      "--use-service-account-credentials=true",
      `--service-cluster-ip-range=${SERVICE_SUBNET}`,
      `--cluster-cidr=${POD_SUBNET}`,
      "--allocate-node-cidrs=true",
      "--node-cidr-mask-size=24",
      "--leader-elect=false",
      "--profiling=false",
      "--v=1",
    ],
    log("kube-controller-manager"),
  );
  launch(
    state,
    "kubernetes",
    "kube-scheduler",
    kubernetesBin("kube-scheduler"),
    [
      `--kubeconfig=${conf("scheduler.kubeconfig")}`,
      `--authentication-kubeconfig=${conf("scheduler.kubeconfig")}`,
      `--authorization-kubeconfig=${conf("scheduler.kubeconfig")}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${ports.scheduler}`,
      "--leader-elect=false",
      "--profiling=false",
      "--v=1",
    ],
    log("kube-scheduler"),
  );

  const containerd = launch(
    state,
    "kubernetes",
    "containerd",
    findBinary("containerd"),
    ["--config", conf("containerd.toml")],
    log("containerd"),
  );
  const socket = CONTAINERD_SOCKET;
  await waitFor(() => existsSync(socket), {
    timeoutMs: options.readyTimeoutMs,
    debugName: "containerd's socket",
    exited: containerd.exited,
    logFile: log("containerd"),
  });
  await waitFor(() => tryRun("ctr", ["--address", socket, "version"]), {
    timeoutMs: options.readyTimeoutMs,
    debugName: "containerd answering ctr version",
    exited: containerd.exited,
    logFile: log("containerd"),
  });

  const specs = imageSpecs(
    {
      pause: kubernetesBin("pause"),
      livekit: options.livekitBin,
      redis: options.redisBin ?? findBinary("redis-server"),
    },
    LIVEKIT_SERVER_VERSION,
  );
  const [, livekitImage, redisImage] = importImages(specs, join(dir, "images"), (args) =>
    run("ctr", ["--address", socket, "--namespace", "k8s.io", ...args]),
  );
  if (livekitImage === undefined || redisImage === undefined)
    throw new Error("images: three specs give three names");
  cluster.images = { livekit: livekitImage, redis: redisImage };
  writeState(state);

  const kubelet = launch(
    state,
    "kubernetes",
    "kubelet",
    kubernetesBin("kubelet"),
    [
      `--config=${conf("kubelet.yaml")}`,
      `--kubeconfig=${conf("kubelet.kubeconfig")}`,
      `--root-dir=${join(RUNTIME_DIR, "kubelet")}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${HOST_IP}`,
      "--v=1",
    ],
    log("kubelet"),
  );
  await waitFor(
    async () => {
      const node = record(await apiGet(creds, `/api/v1/nodes/${NODE_NAME}`));
      const conditions = record(node.status).conditions;
      return (
        Array.isArray(conditions) &&
        conditions.some((c) => record(c).type === "Ready" && record(c).status === "True")
      );
    },
    {
      timeoutMs: Math.max(options.readyTimeoutMs, 60_000),
      debugName: `node ${NODE_NAME} Ready`,
      exited: kubelet.exited,
      logFile: log("kubelet"),
    },
  );

  await apiCreate(creds, "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: TESTBED_NAMESPACE },
  });
  // the controller-manager makes each namespace's default ServiceAccount; a pod is refused before it exists
  await waitFor(
    async () => {
      await apiGet(creds, `/api/v1/namespaces/${TESTBED_NAMESPACE}/serviceaccounts/default`);
      await apiGet(creds, "/api/v1/namespaces/default/serviceaccounts/default");
      return true;
    },
    { timeoutMs: Math.max(options.readyTimeoutMs, 60_000), debugName: "the default ServiceAccounts" },
  );
  return creds;
}

/** Pods of every namespace, with their phase (the testbed's and whatever the user applied). */
export async function podList(
  creds: ApiCredentials,
): Promise<{ namespace: string; name: string; phase: string; ready: boolean }[]> {
  return items(await apiGet(creds, "/api/v1/pods")).map((p) => {
    const meta = record(p.metadata);
    const status = record(p.status);
    const conditions = Array.isArray(status.conditions) ? status.conditions.map(record) : [];
    return {
      namespace: String(meta.namespace),
      name: String(meta.name),
      phase: String(status.phase),
      ready: conditions.some((c) => c.type === "Ready" && c.status === "True"),
    };
  });
}

/** Host processes of the pods' containers: every task in the kubelet's cgroups. */
function podProcesses(): number[] {
  const pids = new Set<number>();
  const walk = (dir: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
      for (const pid of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n"))
        if (/^\d+$/.test(pid)) pids.add(Number(pid));
    } catch {
      return;
    }
    for (const e of entries) walk(join(dir, e));
  };
  for (const root of kubepodsGroups()) walk(root);
  return [...pids];
}

/** The kubelet's kubepods cgroup in every hierarchy (cgroup v1) or the unified one. */
function kubepodsGroups(): string[] {
  let hierarchies: string[];
  try {
    hierarchies = readdirSync("/sys/fs/cgroup").map((h) => join("/sys/fs/cgroup", h));
  } catch {
    return [];
  }
  return [...hierarchies, "/sys/fs/cgroup"].map((h) => join(h, "kubepods")).filter((g) => existsSync(g));
}

/** rmdir a cgroup tree, children first (a cgroup folder holds only control files, so rmdir works). */
function removeGroupTree(dir: string): void {
  let children: string[] = [];
  try {
    children = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return;
  }
  for (const c of children) removeGroupTree(join(dir, c));
  try {
    rmdirSync(dir);
  } catch {
    // still holds a process (reported by the caller's check) or already gone
  }
}

function mountsUnder(prefixes: readonly string[]): string[] {
  let text: string;
  try {
    text = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return [];
  }
  const points = text
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((p): p is string => p !== undefined)
    // mountinfo escapes spaces and the like as \040
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  return [
    ...new Set(
      points.filter((p) =>
        prefixes.some((prefix) => p === prefix.replace(/\/$/, "") || p.startsWith(prefix)),
      ),
    ),
  ].sort((a, b) => b.length - a.length);
}

export interface ClusterDownReport {
  readonly stopped: string[];
  readonly removed: string[];
  /** What could not be removed, with why: `down` says it, the e2e test fails on it. */
  readonly left: string[];
}

/**
 * Takes the cluster down and puts the host back: pods deleted through the API while it answers (the
 * kubelet tears their networks down), then every pod process killed by cgroup, the components
 * stopped, the kubelet's and containerd's mounts unmounted, the pod namespaces, bridge, nftables
 * table and kubepods cgroups removed, the sysctls restored and the folders it created removed.
 * Idempotent, and works from the state alone.
 */
export async function clusterDown(state: RunState): Promise<ClusterDownReport> {
  const cluster = state.cluster;
  const report: ClusterDownReport = { stopped: [], removed: [], left: [] };
  if (cluster === undefined) return report;
  const components = (names: readonly string[]) =>
    state.processes.filter((p) => p.role === "kubernetes" && names.includes(p.name));
  const stop = async (names: readonly string[], graceMs: number) => {
    await Promise.all(
      components(names).map(async (p) => {
        if (!isOurProcess(p.pid, p.startTime)) return;
        await terminate(p.pid, p.startTime, graceMs);
        report.stopped.push(`${p.name} (pid ${p.pid})`);
      }),
    );
  };

  const apiUp = components(["kube-apiserver"]).some((p) => isOurProcess(p.pid, p.startTime));
  const kubeletUp = components(["kubelet"]).some((p) => isOurProcess(p.pid, p.startTime));
  if (apiUp && kubeletUp && existsSync(join(cluster.dir, "pki", "admin.key"))) {
    const creds = adminCredentials(cluster.dir, cluster.server);
    try {
      // controllers first, so nothing makes a pod again; then the pods, which the kubelet tears down
      const namespaces = items(await apiGet(creds, "/api/v1/namespaces")).map((n) =>
        String(record(n.metadata).name),
      );
      for (const ns of namespaces) {
        for (const kind of [
          "apps/v1/namespaces/NS/deployments",
          "apps/v1/namespaces/NS/statefulsets",
          "apps/v1/namespaces/NS/daemonsets",
          "apps/v1/namespaces/NS/replicasets",
          "batch/v1/namespaces/NS/jobs",
        ])
          await apiDelete(creds, `/apis/${kind.replace("NS", ns)}?propagationPolicy=Background`);
        await apiDelete(creds, `/api/v1/namespaces/${ns}/pods?gracePeriodSeconds=2`);
      }
      const deadline = Date.now() + 45_000;
      while (Date.now() < deadline && (await podList(creds)).length > 0) await sleep(500);
    } catch {
      // an API that stopped answering: the pods' processes are killed by cgroup below
    }
  }
  await stop(["kubelet"], 5000);
  // whatever a pod still runs (the API was down, or a pod outlived the wait): kill it by its cgroup
  for (const pid of podProcesses()) {
    try {
      process.kill(pid, "SIGKILL");
      report.stopped.push(`pod process (pid ${pid})`);
    } catch {
      // gone already
    }
  }
  await stop(["containerd"], 5000);
  // containerd's shims outlive it; they are told apart by the socket in their command line
  for (const pid of shimProcesses()) {
    await terminate(pid, processStartTime(pid), 2000);
    report.stopped.push(`containerd shim (pid ${pid})`);
  }
  await stop(["kube-scheduler", "kube-controller-manager", "kube-apiserver"], 5000);
  await stop(["etcd"], 5000);

  // the pods' network namespaces are containerd's cni-*: only those made since up, so that another
  // CNI user's (podman, a second runtime) are left alone; /run/containerd may be another
  // containerd's (Docker's), and our tasks' mounts live under RUNTIME_DIR
  const ours = podNamespaces().filter((ns) => !(cluster.netnsBefore ?? []).includes(ns));
  for (const m of mountsUnder([
    `${cluster.dir}/`,
    `${RUNTIME_DIR}/`,
    ...ours.map((ns) => `/run/netns/${ns}`),
  ])) {
    if (tryRun("umount", [m]) || tryRun("umount", ["-l", m])) report.removed.push(`mount ${m}`);
    else report.left.push(`mount ${m} (umount failed)`);
  }
  try {
    for (const f of readdirSync("/run/netns"))
      if (ours.includes(f)) {
        rmSync(join("/run/netns", f), { force: true });
        report.removed.push(`netns ${f}`);
      }
  } catch {
    // no /run/netns: nothing of ours there
  }
  if (cluster.bridge === true && tryRun("ip", ["link", "show", BRIDGE])) {
    if (tryRun("ip", ["link", "del", BRIDGE])) report.removed.push(`bridge ${BRIDGE}`);
    else report.left.push(`bridge ${BRIDGE}`);
  }
  if (cluster.nftTable === true && tryRun("nft", ["list", "table", "ip", NFT_TABLE])) {
    if (tryRun("nft", ["delete", "table", "ip", NFT_TABLE]))
      report.removed.push(`nftables table ${NFT_TABLE}`);
    else report.left.push(`nftables table ${NFT_TABLE}`);
  }
  for (const group of kubepodsGroups()) {
    removeGroupTree(group);
    if (existsSync(group)) report.left.push(`cgroup ${group} (still holds a process)`);
    else report.removed.push(`cgroup ${group}`);
  }
  for (const [name, value] of Object.entries(cluster.sysctlsBefore)) {
    if (readSysctl(name) !== value) {
      writeSysctl(name, value);
      report.removed.push(`sysctl ${name} back to ${value}`);
    }
  }
  for (const path of cluster.createdPaths) {
    if (!existsSync(path)) continue;
    try {
      rmSync(path, { recursive: true, force: true });
      report.removed.push(path);
    } catch (err) {
      report.left.push(`${path}: ${messageOf(err)}`);
    }
  }
  // containerd's snapshots are hundreds of MB and useless once the cluster is gone; logs stay
  if (cluster.runtimeDir === true && existsSync(RUNTIME_DIR)) {
    if (mountsUnder([`${RUNTIME_DIR}/`]).length === 0) {
      rmSync(RUNTIME_DIR, { recursive: true, force: true });
      report.removed.push(RUNTIME_DIR);
    } else report.left.push(`${RUNTIME_DIR} (still has mounts)`);
  }
  for (const sub of ["etcd", "images"]) rmSync(join(cluster.dir, sub), { recursive: true, force: true });
  return report;
}

function shimProcesses(): number[] {
  const socket = CONTAINERD_SOCKET;
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmdline.startsWith("/usr/bin/containerd-shim") && cmdline.includes(socket))
        found.push(Number(entry));
    } catch {
      // ended while we looked
    }
  }
  return found;
}

/** The tail of a component's log, for a failure message. */
export function componentLog(cluster: ClusterRecord, name: string, lines = 15): string[] {
  return tailLines(join(cluster.dir, "logs", `${name}.log`), lines);
}
