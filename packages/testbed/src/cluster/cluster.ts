/**
 * A single-node Kubernetes cluster as a testbed kind: etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler, containerd (with runc and the CNI bridge) and the kubelet, started as the
 * testbed's own detached processes from the binaries scripts/setup built (`--kubernetes`), with
 * LiveKit and Redis running as pods. Every component listens on loopback or on the host's address on
 * the pods' bridge, which nftables keeps to this machine. Everything it changes on the host is
 * recorded in the run state before it is changed, so `down` (clusterDown) undoes it even after the
 * controlling process died. docs/cluster.md says what runs where and what down removes.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findBinary, TOOLS_BIN, LIVEKIT_SERVER_VERSION } from "../binaries.js";
import { TestbedError } from "../errors.js";
import { launch } from "../launch.js";
import { pickFreePort } from "../ports.js";
import { tailLines } from "../processes.js";
import { makePrivateDir, writeState, type RunState } from "../state.js";
import { waitFor } from "../wait.js";
import { adminCredentials, apiCall, apiCreate, apiGet, items, record, type ApiCredentials } from "./api.js";
import {
  API_SERVICE_IP,
  BRIDGE,
  HOST_IP,
  HOST_PATHS,
  HOST_SYSCTLS,
  CONTAINERD_SOCKET,
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
import { podNamespaces, readSysctl, run, tryRun } from "./host.js";
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

/** The tail of a component's log, for a failure message. */
export function componentLog(cluster: ClusterRecord, name: string, lines = 15): string[] {
  return tailLines(join(cluster.dir, "logs", `${name}.log`), lines);
}
