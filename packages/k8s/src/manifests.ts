/**
 * The Kubernetes objects of one sharded run, as data: a ConfigMap with the scenario, an Indexed Job
 * of shards, a headless Service and a PodMonitor over their /metrics, and a merge Job that collects
 * the shards' results from their pods and merges them (RBAC to read one Job and list pods). No
 * volume is shared: each pod writes to an emptyDir of its own, and each shard serves its folder
 * until the merge has it (docs/sharding.md, "Results without shared storage"). Every name is
 * checked (names.ts) before it is used; render.ts serializes, never a template.
 */
import { serverUrlProblem, type Scenario } from "@livekit-swarm/schema";
import { K8sError } from "./errors.js";
import { requireDnsLabel, requireDnsSubdomain, requireLabelValue } from "./names.js";
import type {
  ConfigMap,
  EnvVar,
  Job,
  Manifest,
  PodMonitor,
  Role,
  RoleBinding,
  Service,
  ServiceAccount,
  Volume,
} from "./types.js";
import { largestShard, participantsPerRoom, podSize, type PodSize, type ShardEngine } from "./sizing.js";

export const METRICS_PORT = 9464;
export const SCENARIO_DIR = "/etc/livekit-swarm";
export const SCENARIO_FILE = "scenario.yaml";
export const RESULTS_DIR = "/results";
/** The `node` user of the deploy/swarm image (node:20-bookworm-slim). */
const IMAGE_UID = 1000;
/** Reserve for draining, lingering and writing reports after a shard's planned end. */
const SHARD_SLACK_S = 15 * 60;
/**
 * How long a shard serves its folder for the merge to collect: a base for the merge pod to start
 * and poll, plus the whole run's results at 20 MiB/s, since every shard ends at once and the merge
 * downloads a few at a time. 20 MiB/s is a floor assumed for pod-to-pod transfer with a checksum,
 * not a measurement; a shard collected sooner ends sooner.
 */
const SERVE_BASE_S = 10 * 60;
const COLLECT_BYTES_PER_S = 20 * 2 ** 20;
/** How long the merge pod serves the merged folder for `swarm k8s fetch` before it exits. */
export const MERGE_HOLD = "1h";
/** A merge reads every shard's raw samples; a generous bound, not a measurement. */
const MERGE_RESOURCES = {
  requests: { cpu: "500m", memory: "1Gi" },
  limits: { cpu: "1", memory: "4Gi" },
} as const;
/** samples.jsonl holds about 0.75 KiB per participant per 5 s window (one record each); 2 KiB leaves room for events and reports. */
const RESULT_BYTES_PER_PARTICIPANT_WINDOW = 2048;
const WINDOW_MS = 5000;
/** A ConfigMap holds at most 1 MiB. */
const CONFIGMAP_MAX_BYTES = 1024 * 1024;
/** The Kubernetes API server's CA as every pod has it, for the merge's reads of the API. */
const SERVICE_ACCOUNT_CA = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
/** The longest suffix a name gets: `<name>-scenario`. */
const LONGEST_SUFFIX = "-scenario".length;

export interface RenderOptions {
  /** Resolved, for sizing and the deadline. */
  readonly scenario: Scenario;
  /** The scenario file as written: the pods read it from the ConfigMap. */
  readonly scenarioText: string;
  readonly shards: number;
  readonly image: string;
  readonly engine: ShardEngine;
  readonly namespace: string;
  /** A Secret with keys `api-key` and `api-secret`. */
  readonly secret: string;
  readonly url: string;
  readonly runId: string;
  /** When every shard starts its ramp. */
  readonly startAt: Date;
  /** Render time: the deadline counts from here. */
  readonly now: Date;
  /**
   * Whether the manifests include the PodMonitor: only a cluster with the Prometheus Operator's CRD
   * takes it (elsewhere `kubectl apply` fails on it, found on the first real cluster).
   */
  readonly podMonitor?: boolean;
}

/** Every object of a run, by its part. */
export interface RunObjects {
  readonly scenario: ConfigMap;
  readonly service: Service;
  readonly podMonitor: PodMonitor;
  readonly mergeAccount: ServiceAccount;
  readonly mergeRole: Role;
  readonly mergeRoleBinding: RoleBinding;
  readonly shards: Job;
  readonly merge: Job;
}

export interface RenderedRun {
  /** The shard Job's name; the other objects' names start with it. */
  readonly name: string;
  readonly objects: RunObjects;
  /** The objects in the order `kubectl apply` should create them. */
  readonly manifests: readonly Manifest[];
  readonly size: PodSize;
  readonly shards: number;
}

function requireImage(image: string): string {
  if (image === "" || /\s/.test(image))
    throw new K8sError(
      "bad-input",
      `--image ${JSON.stringify(image)}: expected an image reference such as registry.example.com/livekit-swarm:1.0`,
    );
  return image;
}

/** ws(s):// or http(s)://, with no user or password in it: the manifest is not a place for credentials. */
function requireUrl(url: string): string {
  const problem = serverUrlProblem(url);
  if (problem !== undefined) throw new K8sError("bad-input", `--url ${JSON.stringify(url)}: ${problem}`);
  if (!URL.canParse(url))
    throw new K8sError(
      "bad-input",
      `--url ${JSON.stringify(url)} is not a URL: expected wss://livekit.example.com`,
    );
  const parsed = new URL(url);
  if (!["ws:", "wss:", "http:", "https:"].includes(parsed.protocol))
    throw new K8sError(
      "bad-input",
      `--url ${JSON.stringify(url)}: expected a ws://, wss://, http:// or https:// URL of the LiveKit server`,
    );
  if (parsed.username !== "" || parsed.password !== "" || parsed.search !== "")
    throw new K8sError(
      "bad-input",
      "--url carries credentials or a query: the manifest holds the URL in the clear; put the key and secret in the Kubernetes Secret (--secret)",
    );
  return url;
}

/** How long the whole run's joins take at its pace (`num-per-second` is for the whole run). */
function rampMs(scenario: Scenario): number {
  return ((scenario.rooms * participantsPerRoom(scenario)) / scenario.numPerSecond) * 1000;
}

/** What `participants` (default: the whole run's) write in raw samples, an estimate that errs large. */
function resultsBytes(scenario: Scenario, participants?: number): number {
  const windows = Math.ceil((rampMs(scenario) + scenario.duration) / WINDOW_MS);
  return (
    (participants ?? scenario.rooms * participantsPerRoom(scenario)) *
    windows *
    RESULT_BYTES_PER_PARTICIPANT_WINDOW
  );
}

/** How long each shard serves its results for the merge (`swarm run --serve-results`). */
export function shardServingSeconds(scenario: Scenario): number {
  return SERVE_BASE_S + Math.ceil(resultsBytes(scenario) / COLLECT_BYTES_PER_S);
}

/**
 * The run's shard Job's deadline: start, the whole join ramp, the hold, slack to drain and write
 * reports, then the time a shard serves its results. The merge's collection ends by it too.
 */
export function shardDeadlineSeconds(scenario: Scenario, startAt: Date, now: Date): number {
  const waitMs = Math.max(0, startAt.getTime() - now.getTime());
  return (
    Math.ceil((waitMs + rampMs(scenario) + scenario.duration) / 1000) +
    SHARD_SLACK_S +
    shardServingSeconds(scenario)
  );
}

/**
 * A results volume's size, at least 1 GiB: for `participants` (a shard's), or by default the whole
 * run's, which the merge collects.
 */
export function resultsVolumeGiB(scenario: Scenario, participants?: number): number {
  return Math.max(1, Math.ceil(resultsBytes(scenario, participants) / 2 ** 30));
}

/** Every object of the run, in the order `kubectl apply` should create them. */
export function runManifests(options: RenderOptions): RenderedRun {
  const namespace = requireDnsLabel("--namespace", options.namespace);
  const runId = requireLabelValue("--run-id", options.runId);
  const name = requireDnsLabel(
    "the run's name (lkswarm-<run id>; shorten --run-id)",
    `lkswarm-${runId}`,
    63 - LONGEST_SUFFIX,
  );
  const secret = requireDnsSubdomain("--secret", options.secret);
  const image = requireImage(options.image);
  const url = requireUrl(options.url);
  if (Buffer.byteLength(options.scenarioText) > CONFIGMAP_MAX_BYTES)
    throw new K8sError(
      "bad-input",
      "--scenario: the file is over 1 MiB, more than a ConfigMap holds; drop comments or unused keys",
    );
  const shard = largestShard(options.scenario, options.shards);
  const size = podSize(options.scenario, options.engine, shard.participants, shard.rooms);

  const common = {
    "app.kubernetes.io/name": "livekit-swarm",
    "app.kubernetes.io/instance": name,
    "livekit-swarm/run-id": runId,
  };
  const meta = (suffix: string, component: string) => ({
    name: `${name}${suffix}`,
    namespace,
    labels: { ...common, "app.kubernetes.io/component": component },
  });
  const shardLabels = { "app.kubernetes.io/instance": name, "app.kubernetes.io/component": "shard" };
  const securityContext = {
    runAsNonRoot: true,
    runAsUser: IMAGE_UID,
    runAsGroup: IMAGE_UID,
    fsGroup: IMAGE_UID,
  };
  const containerSecurity = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };
  const results = { name: "results", mountPath: RESULTS_DIR };
  // every pod's own: the shards' folders reach the merge over HTTP, not through a shared volume
  const resultsVolume = (gib: number): Volume => ({ name: "results", emptyDir: { sizeLimit: `${gib}Gi` } });
  const mergeGiB = resultsVolumeGiB(options.scenario);
  const secretEnv = (envName: string, key: string): EnvVar => ({
    name: envName,
    valueFrom: { secretKeyRef: { name: secret, key } },
  });

  const configMap: ConfigMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: meta("-scenario", "scenario"),
    data: { [SCENARIO_FILE]: options.scenarioText },
  };
  const service: Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta("", "shard"),
    spec: {
      clusterIP: "None",
      selector: shardLabels,
      publishNotReadyAddresses: true,
      ports: [{ name: "metrics", port: METRICS_PORT, targetPort: "metrics", protocol: "TCP" }],
    },
  };
  const podMonitor: PodMonitor = {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PodMonitor",
    metadata: meta("", "shard"),
    spec: {
      selector: { matchLabels: shardLabels },
      podMetricsEndpoints: [{ port: "metrics", path: "/metrics", interval: "15s" }],
    },
  };
  const shards: Job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      ...meta("", "shard"),
      annotations: {
        "livekit-swarm/sizing": `${size.participants} participants per shard (largest of ${options.shards}) x ${size.cost.cpuSecondsPerMinute.toFixed(3)} CPU-s/p-min, ${size.cost.rssMiB.toFixed(1)} MiB each (${size.cost.source})`,
        "livekit-swarm/start-at": options.startAt.toISOString(),
      },
    },
    spec: {
      completionMode: "Indexed",
      completions: options.shards,
      parallelism: options.shards,
      // a shard is never retried (it would start late, off the common ramp); the others run on and the merge names it
      backoffLimitPerIndex: 0,
      activeDeadlineSeconds: shardDeadlineSeconds(options.scenario, options.startAt, options.now),
      template: {
        metadata: { labels: { ...common, ...shardLabels } },
        spec: {
          restartPolicy: "Never",
          subdomain: name,
          terminationGracePeriodSeconds: 60,
          securityContext,
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: "kubernetes.io/hostname",
              whenUnsatisfiable: "ScheduleAnyway",
              labelSelector: { matchLabels: shardLabels },
            },
          ],
          containers: [
            {
              name: "swarm",
              image,
              args: [
                "run",
                "--scenario",
                `${SCENARIO_DIR}/${SCENARIO_FILE}`,
                "--engine",
                options.engine,
                "--shards",
                String(options.shards),
                "--start-at",
                options.startAt.toISOString(),
                "--run-id",
                runId,
                "--workers",
                String(size.workers),
                "-o",
                RESULTS_DIR,
                "--metrics-host",
                "0.0.0.0",
                "--metrics-port",
                String(METRICS_PORT),
                // the merge pulls the shard's folder from here; the pod runs on until it has
                "--serve-results",
                `${shardServingSeconds(options.scenario)}s`,
              ],
              env: [
                { name: "LIVEKIT_URL", value: url },
                secretEnv("LIVEKIT_API_KEY", "api-key"),
                secretEnv("LIVEKIT_API_SECRET", "api-secret"),
              ],
              ports: [{ name: "metrics", containerPort: METRICS_PORT, protocol: "TCP" }],
              resources: { requests: size.requests, limits: size.limits },
              securityContext: containerSecurity,
              volumeMounts: [{ name: "scenario", mountPath: SCENARIO_DIR, readOnly: true }, results],
            },
          ],
          volumes: [
            { name: "scenario", configMap: { name: `${name}-scenario` } },
            resultsVolume(resultsVolumeGiB(options.scenario, shard.participants)),
          ],
        },
      },
    },
  };
  const account = meta("-merge", "merge");
  const serviceAccount: ServiceAccount = { apiVersion: "v1", kind: "ServiceAccount", metadata: account };
  const role: Role = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: account,
    rules: [
      // its shard count and deadline, and whether it ended
      { apiGroups: ["batch"], resources: ["jobs"], resourceNames: [name], verbs: ["get"] },
      // the shard pods' IPs and phases (a list cannot be narrowed to names)
      { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
    ],
  };
  const roleBinding: RoleBinding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: account,
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: account.name },
    subjects: [{ kind: "ServiceAccount", name: account.name, namespace }],
  };
  const merge: Job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: account,
    spec: {
      // the same inputs give the same verdict: a retry would only repeat it
      backoffLimit: 0,
      template: {
        metadata: { labels: { ...common, "app.kubernetes.io/component": "merge" } },
        spec: {
          restartPolicy: "Never",
          serviceAccountName: account.name,
          securityContext,
          containers: [
            {
              name: "merge",
              image,
              args: [
                "k8s",
                "merge",
                "--job",
                name,
                "-o",
                RESULTS_DIR,
                "--max-gib",
                String(mergeGiB),
                "--serve-results",
                MERGE_HOLD,
              ],
              // Node trusts the API server's certificate through this; the token is read from its file at each poll
              env: [{ name: "NODE_EXTRA_CA_CERTS", value: SERVICE_ACCOUNT_CA }],
              // `swarm k8s fetch` reads the merged folder here, through the API server's pod proxy
              ports: [{ name: "results", containerPort: METRICS_PORT, protocol: "TCP" }],
              resources: {
                requests: { ...MERGE_RESOURCES.requests, "ephemeral-storage": `${mergeGiB + 1}Gi` },
                limits: MERGE_RESOURCES.limits,
              },
              securityContext: containerSecurity,
              volumeMounts: [results],
            },
          ],
          // the shards' folders and the merged reports beside them
          volumes: [resultsVolume(mergeGiB + 1)],
        },
      },
    },
  };
  return {
    name,
    shards: options.shards,
    size,
    objects: {
      scenario: configMap,
      service,
      podMonitor,
      mergeAccount: serviceAccount,
      mergeRole: role,
      mergeRoleBinding: roleBinding,
      shards,
      merge,
    },
    manifests: [
      configMap,
      service,
      ...(options.podMonitor === true ? [podMonitor] : []),
      serviceAccount,
      role,
      roleBinding,
      shards,
      merge,
    ],
  };
}
