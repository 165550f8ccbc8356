/**
 * The cluster testbed's addresses and its components' configuration files, as data (no process, no
 * I/O): kubeconfigs, containerd's TOML, the CNI bridge, the kubelet's config and the nftables table
 * that keeps the cluster's addresses to this machine.
 */
import { stringify } from "yaml";

/** The pods' bridge; the host's address on it is the node IP, where LiveKit and the API listen. */
export const BRIDGE = "lkswarm-k8s0";
export const POD_SUBNET = "10.202.0.0/24";
export const HOST_IP = "10.202.0.1";
export const SERVICE_SUBNET = "10.203.0.0/24";
/** The first address of the service range: the `kubernetes` Service every pod is told of. */
export const API_SERVICE_IP = "10.203.0.1";
export const NODE_NAME = "lkswarm-node";
export const NFT_TABLE = "lkswarm_k8s";
/**
 * containerd's root, state and sockets and the kubelet's root: not in the run directory, whose path
 * can be too long for a unix socket (108 bytes; a test's temporary run root was), and one per
 * machine like the cluster itself. `down` removes it.
 */
export const RUNTIME_DIR = "/var/lib/lkswarm-k8s";
export const CONTAINERD_SOCKET = `${RUNTIME_DIR}/containerd/containerd.sock`;
/** The namespace of the testbed's own pods (LiveKit, Redis). */
export const TESTBED_NAMESPACE = "lkswarm-testbed";

/**
 * What the kubelet and the CNI bridge plugin change on the host, read before and put back by `down`:
 * the kubelet sets the first three (its "protect kernel defaults" checks), the bridge plugin
 * ip_forward; the rest the kubelet may set on some kernels.
 */
export const HOST_SYSCTLS = [
  "vm.overcommit_memory",
  "vm.panic_on_oom",
  "kernel.panic",
  "kernel.panic_on_oops",
  "kernel.keys.root_maxkeys",
  "kernel.keys.root_maxbytes",
  "net.ipv4.ip_forward",
] as const;

/** Paths outside the run directory the components create when absent; `down` removes the ones it saw created. */
export const HOST_PATHS = [
  "/run/containerd",
  // runc's state of the CRI's namespace, when another containerd made /run/containerd before us
  "/run/containerd/runc/k8s.io",
  "/var/lib/cni",
  "/var/log/containers",
  "/var/log/pods",
  "/var/lib/kubelet",
] as const;

export interface ClusterPorts {
  readonly api: number;
  readonly etcdClient: number;
  readonly etcdPeer: number;
  readonly kubelet: number;
  readonly kubeletHealthz: number;
  readonly controllerManager: number;
  readonly scheduler: number;
}

/** What `down` needs of a cluster testbed, in the run state. */
export interface ClusterRecord {
  /** `<run dir>/cluster`: config, certificates, etcd's data, containerd's root, the kubelet's root, logs. */
  readonly dir: string;
  readonly ports: ClusterPorts;
  readonly server: string;
  /** The admin kubeconfig: `swarm testbed env` exports it as KUBECONFIG. */
  readonly kubeconfig: string;
  /** Host settings as they were before up, put back by down. */
  readonly sysctlsBefore: Readonly<Record<string, string>>;
  /** Paths outside the run directory that did not exist before up. */
  readonly createdPaths: readonly string[];
  /** Pod network namespaces (/run/netns/cni-*) that existed before up: not ours to remove. */
  readonly netnsBefore?: readonly string[];
  /** Whether up created the bridge, the nftables table and RUNTIME_DIR (recorded before it does). */
  bridge?: true;
  runtimeDir?: true;
  nftTable?: true;
  /** The image names pods use. */
  images?: { readonly livekit: string; readonly redis: string };
}

export function kubeconfig(options: {
  server: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  user: string;
}): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "lkswarm",
        cluster: { server: options.server, "certificate-authority-data": options.ca.toString("base64") },
      },
    ],
    users: [
      {
        name: options.user,
        user: {
          "client-certificate-data": options.cert.toString("base64"),
          "client-key-data": options.key.toString("base64"),
        },
      },
    ],
    contexts: [{ name: "lkswarm", context: { cluster: "lkswarm", user: options.user } }],
    "current-context": "lkswarm",
  });
}

/** TOML strings are JSON strings for the paths we write (no control characters: checked by the caller). */
const q = (s: string): string => JSON.stringify(s);

export function containerdConfig(dir: string, pauseImage: string): string {
  const rt = `${RUNTIME_DIR}/containerd`;
  return `# containerd for the livekit-swarm cluster testbed: its data under ${RUNTIME_DIR}, CNI config in the run directory
version = 2
root = ${q(`${rt}/root`)}
state = ${q(`${rt}/state`)}
disabled_plugins = [
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing",
]
[grpc]
  address = ${q(CONTAINERD_SOCKET)}
[ttrpc]
  address = ${q(`${CONTAINERD_SOCKET}.ttrpc`)}
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = ${q(`${rt}/opt`)}
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${q(pauseImage)}
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # runc cannot lower oom_score_adj without CAP_SYS_RESOURCE, which some VMs' bounding set lacks
  # (the sandbox's -998 fails with "can't get final child's PID from pipe: EOF"): clamp to ours
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = ${q(`${dir}/cni/net.d`)}
    max_conf_num = 1
`;
}

export function cniConfig(dir: string): string {
  return JSON.stringify(
    {
      cniVersion: "0.4.0",
      name: "lkswarm",
      plugins: [
        {
          type: "bridge",
          bridge: BRIDGE,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            dataDir: `${dir}/cni/ipam`,
            ranges: [[{ subnet: POD_SUBNET, gateway: HOST_IP, rangeStart: "10.202.0.16" }]],
            routes: [{ dst: "0.0.0.0/0" }],
          },
        },
        { type: "loopback" },
      ],
    },
    null,
    2,
  );
}

export function kubeletConfig(dir: string, ports: ClusterPorts): string {
  return stringify({
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    // the node IP (the API server reaches the kubelet there for logs and exec), never a public address
    address: HOST_IP,
    port: ports.kubelet,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort: ports.kubeletHealthz,
    tlsCertFile: `${dir}/pki/kubelet-serving.crt`,
    tlsPrivateKeyFile: `${dir}/pki/kubelet-serving.key`,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: `${dir}/pki/ca.crt` },
    },
    authorization: { mode: "Webhook" },
    containerRuntimeEndpoint: `unix://${CONTAINERD_SOCKET}`,
    // containerd 1.6 lacks the CRI RuntimeConfig call, so the kubelet uses this value
    cgroupDriver: "cgroupfs",
    failCgroupV1: false,
    failSwapOn: false,
    podLogsDir: `${dir}/pod-logs`,
    resolvConf: "/etc/resolv.conf",
    clusterDomain: "cluster.local",
    // no iptables chains of the kubelet's on the host
    makeIPTablesUtilChains: false,
    // the images are imported by hand, and no registry can give them back
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: {
      "memory.available": "100Mi",
      "nodefs.available": "2%",
      "nodefs.inodesFree": "2%",
      "imagefs.available": "2%",
    },
    serializeImagePulls: false,
    maxPods: 60,
  });
}

/**
 * Keeps the cluster on this machine: nothing addressed to the pod subnet is accepted from an
 * interface other than loopback or the bridge, and nothing from a pod is forwarded anywhere but the
 * bridge (the bridge plugin turns on ip_forward). There is no kube-proxy: the one Service a pod
 * needs, the API server's, is a DNAT rule here.
 */
export function nftRules(apiPort: number): string {
  return `table ip ${NFT_TABLE} {
  chain input {
    type filter hook input priority -10; policy accept;
    ip daddr ${POD_SUBNET} iifname != { "lo", "${BRIDGE}" } drop
  }
  chain forward {
    type filter hook forward priority -10; policy accept;
    ip saddr ${POD_SUBNET} oifname != "${BRIDGE}" drop
    ip daddr ${POD_SUBNET} iifname != "${BRIDGE}" drop
  }
  chain prerouting {
    type nat hook prerouting priority -110; policy accept;
    ip daddr ${API_SERVICE_IP} tcp dport 443 dnat to ${HOST_IP}:${apiPort}
  }
}
`;
}
